/** The EvidenceStore over the local backend: one pass in, verified plaintext out, ciphertext only at rest. */
import { createHash } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLiuhenError, LiuhenError } from '../../src/errors.js';
import { cidOf, createKeyring, LocalBackend, openEvidenceStore, type EvidenceStore, type Keyring } from '../../src/store/index.js';
import { chunked, cleanup, collect, collectUntilError, expectCode, filesUnder, pattern, tempDir } from './helpers.js';

const RECORD = '01HZY3K5V8Q9R2T4W6X8Z0A1B2';
const AGENCY = 'AG-310000';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('local evidence store', () => {
  let dir: string;
  let ring: Keyring;
  let store: EvidenceStore;

  beforeAll(async () => {
    dir = await tempDir();
    ring = await createKeyring(join(dir, 'keyring.json'), 'correct horse battery staple', { agencies: [AGENCY], scrypt: { N: 2 ** 14 } });
    store = await openEvidenceStore({ kind: 'local', dir }, ring);
  });
  afterAll(async () => {
    await store.close();
    ring.close();
    await cleanup(dir);
  });

  it('put hashes the plaintext like sha256sum and get returns it, for a Readable, an async iterable and bytes', async () => {
    const data = pattern(1024 * 1024 + 1, 11);
    for (const source of [Readable.from([data.subarray(0, 5), data.subarray(5)]), chunked(data, 65_537), data]) {
      const r = await store.put(source, { recordId: RECORD, agency: AGENCY });
      expect(r.sha256).toBe(sha(data));
      expect(r.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(r.size).toBe(data.length);
      expect(r.storedSize).toBeGreaterThan(data.length);
      expect(r.keyId).toBe(ring.forAgency(AGENCY).keyId);
      expect(r.cid).toMatch(/^bafy/);
      expect((await collect(store.get(r.cid, { recordId: RECORD, expectedSha256: r.sha256 }))).equals(data)).toBe(true);
    }
  });

  it('stores an empty file', async () => {
    const r = await store.put(new Uint8Array(0), { recordId: RECORD, agency: AGENCY });
    expect(r).toMatchObject({ size: 0, sha256: sha(new Uint8Array(0)) });
    expect(r.cid).toMatch(/^bafk/); // one raw block
    expect((await collect(store.get(r.cid, { recordId: RECORD }))).length).toBe(0);
  });

  it('the CID is the Kubo CID of the stored ciphertext object', async () => {
    const r = await store.put(pattern(700_000, 12), { recordId: RECORD, agency: AGENCY });
    const backend = await LocalBackend.open(dir);
    const object = await collect(backend.cat((await import('../../src/store/index.js')).parseEvidenceCid(r.cid)));
    expect(object.length).toBe(r.storedSize);
    expect(await cidOf(object)).toBe(r.cid);
  });

  it('reports progress as it goes', async () => {
    const seen: number[] = [];
    const data = pattern(3 * 1024 * 1024, 13);
    await store.put(chunked(data, 262_144), { recordId: RECORD, agency: AGENCY, onProgress: (n) => seen.push(n) });
    expect(seen.length).toBeGreaterThanOrEqual(10);
    expect(seen.every((n, i) => i === 0 || n > seen[i - 1]!)).toBe(true);
    expect(seen.at(-1)).toBe(data.length);
  });

  it('verify() re-reads, decrypts and hashes the whole object', async () => {
    const data = pattern(200_000, 14);
    const r = await store.put(data, { recordId: RECORD, agency: AGENCY });
    expect(await store.verify(r.cid, { recordId: RECORD, expectedSha256: r.sha256 })).toEqual({ sha256: sha(data), size: data.length });
    await expect(store.verify(r.cid, { recordId: RECORD, expectedSha256: sha(Buffer.from('other')) })).rejects.toSatisfy((e) =>
      isLiuhenError(e, 'STORE_INTEGRITY'),
    );
  });

  it('the plaintext appears nowhere under the data folder', async () => {
    const unit = Buffer.from('LIUHEN-PLAINTEXT-MARKER:face+home+plate 0123456789abcdefghijklmn'); // 64 bytes
    expect(unit).toHaveLength(64);
    const data = Buffer.concat(Array.from({ length: 40_000 }, () => unit)); // 2.5 MiB
    const r = await store.put(chunked(data, 100_000), { recordId: RECORD, agency: AGENCY });
    expect(await store.has(r.cid)).toBe(true);
    const files = await filesUnder(dir);
    expect(files.some((f) => f.endsWith('.car'))).toBe(true);
    for (const f of files) {
      const bytes = await readFile(f);
      expect(bytes.indexOf(unit), f).toBe(-1);
      expect(bytes.indexOf(unit.subarray(0, 24)), f).toBe(-1);
    }
    expect((await collect(store.get(r.cid, { recordId: RECORD }))).equals(data)).toBe(true);
  });

  it('has / get of a CID that is not stored', async () => {
    const absent = await cidOf(Buffer.from('never stored'));
    expect(await store.has(absent)).toBe(false);
    expectCode((await collectUntilError(store.get(absent, { recordId: RECORD }))).error, 'STORE_NOT_FOUND');
    await expect(store.verify(absent, { recordId: RECORD })).rejects.toSatisfy((e) => isLiuhenError(e, 'STORE_NOT_FOUND'));
  });

  it('validates inputs with coded errors', async () => {
    const bad: Array<() => unknown> = [
      () => store.get('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG', { recordId: RECORD }), // CIDv0
      () => store.get('not-a-cid', { recordId: RECORD }),
      () => store.get('bafyreihdb57fdysx5h35urvxz64ros7zvywshber7id6t6c6fek37jgyfe', { recordId: RECORD }), // dag-cbor
      () => store.get('bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4', { recordId: 'bad id' }),
      () => store.get('bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4', { recordId: RECORD, expectedSha256: 'zz' }),
    ];
    for (const f of bad) {
      try {
        f();
        throw new Error('accepted');
      } catch (e) {
        expectCode(e, 'INVALID_INPUT');
      }
    }
    await expect(store.put(new Uint8Array(1), { recordId: RECORD, agency: 'AG-UNKNOWN' })).rejects.toSatisfy((e) => isLiuhenError(e, 'STORE_KEY'));
    await expect(store.put(new Uint8Array(1), { recordId: RECORD, agency: 'bad agency' })).rejects.toSatisfy((e) => isLiuhenError(e, 'INVALID_INPUT'));
    await expect(store.put('text' as unknown as Uint8Array, { recordId: RECORD, agency: AGENCY })).rejects.toSatisfy((e) => isLiuhenError(e, 'INVALID_INPUT'));
    await expect(store.put(pattern(5000), { recordId: RECORD, agency: AGENCY, maxBytes: 4096 })).rejects.toSatisfy((e) => isLiuhenError(e, 'STORE_TOO_LARGE'));
  });

  it('a source that fails leaves no object and no temporary file behind', async () => {
    const before = (await filesUnder(dir)).length;
    const failing = (async function* () {
      yield pattern(600_000, 15);
      throw new Error('camera unplugged');
    })();
    await expect(store.put(failing, { recordId: RECORD, agency: AGENCY })).rejects.toSatisfy((e) => isLiuhenError(e, 'FILE_UNREADABLE'));
    expect((await filesUnder(dir)).length).toBe(before);
  });

  it('a wrong record id gets nothing', async () => {
    const r = await store.put(pattern(10_000, 16), { recordId: RECORD, agency: AGENCY });
    const out = await collectUntilError(store.get(r.cid, { recordId: '01HZY3K5V8Q9R2T4W6X8Z0A1B3' }));
    expectCode(out.error, 'STORE_DECRYPT_FAILED');
    expect(out.received.length).toBe(0);
  });

  it('tampered ciphertext re-imported into the store gets a new CID and fails closed under the same record id', async () => {
    const data = pattern(300_000, 17);
    const r = await store.put(data, { recordId: RECORD, agency: AGENCY });
    const backend = await LocalBackend.open(dir);
    const { parseEvidenceCid: parseCid } = await import('../../src/store/index.js');
    const object = Buffer.from(await collect(backend.cat(parseCid(r.cid))));
    object[Math.floor(object.length / 2)]! ^= 0x04;
    const forged = (await backend.add(chunked(object))).toString();
    expect(forged).not.toBe(r.cid);
    const out = await collectUntilError(store.get(forged, { recordId: RECORD }));
    expectCode(out.error, 'STORE_DECRYPT_FAILED');
    expect(out.received.length).toBeLessThan(data.length / 2);
    expect(out.received.equals(data.subarray(0, out.received.length))).toBe(true);
  });

  it('an object file altered on disk is refused (its block no longer matches its CID)', async () => {
    const data = pattern(600_000, 18);
    const r = await store.put(data, { recordId: RECORD, agency: AGENCY });
    const file = (await filesUnder(join(dir, 'objects'))).find((f) => f.endsWith(`${r.cid}.car`))!;
    const bytes = await readFile(file);
    bytes[bytes.length - 10]! ^= 0x01;
    await writeFile(file, bytes);
    const out = await collectUntilError(store.get(r.cid, { recordId: RECORD }));
    expectCode(out.error, 'STORE_INTEGRITY', 'STORE_DECRYPT_FAILED');
    expect(out.received.length).toBeLessThan(data.length);
    // a file truncated on disk, too
    await writeFile(file, bytes.subarray(0, 1000));
    expectCode((await collectUntilError(store.get(r.cid, { recordId: RECORD }))).error, 'STORE_INTEGRITY');
  });

  it('concurrent puts do not interfere', async () => {
    const inputs = [1, 2, 3, 4].map((i) => pattern(400_000 + i, 20 + i));
    const results = await Promise.all(inputs.map((d) => store.put(chunked(d, 50_000), { recordId: RECORD, agency: AGENCY })));
    for (const [i, r] of results.entries()) expect((await collect(store.get(r.cid, { recordId: RECORD }))).equals(inputs[i]!)).toBe(true);
    expect(await readdir(join(dir, 'incoming'))).toEqual([]);
  });

  it('refuses use after close', async () => {
    const other = await openEvidenceStore({ kind: 'local', dir }, ring);
    await other.close();
    await expect(other.put(new Uint8Array(1), { recordId: RECORD, agency: AGENCY })).rejects.toBeInstanceOf(LiuhenError);
    expect(() => other.get('bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4', { recordId: RECORD })).toThrow(/closed/);
  });

  it('rejects an invalid config', async () => {
    await expect(openEvidenceStore({ kind: 'ftp' } as never, ring)).rejects.toSatisfy((e) => isLiuhenError(e, 'CONFIG_INVALID'));
    await expect(openEvidenceStore({ kind: 'local', dir, segmentSize: 10 }, ring)).rejects.toSatisfy((e) => isLiuhenError(e, 'INVALID_INPUT'));
  });

  it('accepts a single key wrapper instead of a resolver', async () => {
    const single = await openEvidenceStore({ kind: 'local', dir, segmentSize: 4096 }, ring.forAgency(AGENCY));
    const r = await single.put(pattern(10_000, 30), { recordId: RECORD, agency: AGENCY });
    expect((await collect(store.get(r.cid, { recordId: RECORD }))).equals(pattern(10_000, 30))).toBe(true);
    await single.close();
  });
});
