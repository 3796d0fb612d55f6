/** CAR export → import moves evidence between stores (and into any IPFS node) unchanged. */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { CarBlockIterator } from '@ipld/car/iterator';
import { CarWriter } from '@ipld/car/writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLiuhenError } from '../../src/errors.js';
import { createKeyring, openEvidenceStore, parseEvidenceCid as parseCid, type EvidenceStore, type Keyring, type PutResult } from '../../src/store/index.js';
import { chunked, cleanup, collect, pattern, tempDir } from './helpers.js';

const AGENCY = 'AG-440300';
const REC_A = '01HZY3K5V8Q9R2T4W6X8Z0A1AA';
const REC_B = '01HZY3K5V8Q9R2T4W6X8Z0A1BB';

async function carBytes(store: EvidenceStore, cids: string[]): Promise<Buffer> {
  const sink = new PassThrough();
  const done = collect(sink);
  await store.exportCar(cids, sink);
  return done;
}

describe('CAR export and import', () => {
  let work: string;
  let ring: Keyring;
  let source: EvidenceStore;
  let a: PutResult;
  let b: PutResult;
  const dataA = pattern(262_144 * 3 + 17, 40); // several blocks
  const dataB = pattern(5000, 41); // one block

  beforeAll(async () => {
    work = await tempDir('liuhen-car-');
    ring = await createKeyring(join(work, 'keyring.json'), 'correct horse battery staple', { agencies: [AGENCY], scrypt: { N: 2 ** 14 } });
    source = await openEvidenceStore({ kind: 'local', dir: join(work, 'src') }, ring);
    a = await source.put(chunked(dataA), { recordId: REC_A, agency: AGENCY });
    b = await source.put(dataB, { recordId: REC_B, agency: AGENCY });
  });
  afterAll(async () => {
    await source.close();
    ring.close();
    await cleanup(work);
  });

  it('export → file → import into a fresh store: same CIDs, same plaintext', async () => {
    const file = join(work, 'evidence.car');
    await source.exportCar([a.cid, b.cid], createWriteStream(file));
    const fresh = await openEvidenceStore({ kind: 'local', dir: join(work, 'dst') }, ring);
    expect(await fresh.has(a.cid)).toBe(false);
    const roots = await fresh.importCar(createReadStream(file));
    expect(roots).toEqual([a.cid, b.cid]);
    expect(await fresh.has(a.cid)).toBe(true);
    expect((await collect(fresh.get(a.cid, { recordId: REC_A, expectedSha256: a.sha256 }))).equals(dataA)).toBe(true);
    expect(await fresh.verify(b.cid, { recordId: REC_B })).toEqual({ sha256: b.sha256, size: dataB.length });
    // re-importing is harmless
    expect(await fresh.importCar(createReadStream(file))).toEqual([a.cid, b.cid]);
    await fresh.close();
  });

  it('writes a standard CARv1 with the roots in order and the blocks re-hashable', async () => {
    const car = await carBytes(source, [a.cid, b.cid]);
    const it = await CarBlockIterator.fromBytes(car);
    expect((await it.getRoots()).map(String)).toEqual([a.cid, b.cid]);
    const cids: string[] = [];
    for await (const block of it) cids.push(block.cid.toString());
    expect(cids[0]).toBe(a.cid); // depth first, root first (as `ipfs dag export`)
    expect(cids).toContain(b.cid);
    expect(cids.length).toBe(1 + 4 + 1); // root + 4 leaves of A, one raw block for B
    expect(car.indexOf(dataB.subarray(0, 32))).toBe(-1); // ciphertext only
  });

  it('refuses a CAR with a block that does not match its CID', async () => {
    const car = await carBytes(source, [b.cid]);
    car[car.length - 20]! ^= 1;
    const fresh = await openEvidenceStore({ kind: 'local', dir: join(work, 'bad1') }, ring);
    await expect(fresh.importCar(car)).rejects.toSatisfy((e) => isLiuhenError(e, 'STORE_INTEGRITY'));
    expect(await fresh.has(b.cid)).toBe(false);
    await fresh.close();
  });

  it('refuses a truncated CAR, an incomplete DAG, a CARv2 and an oversized section', async () => {
    const fresh = await openEvidenceStore({ kind: 'local', dir: join(work, 'bad2') }, ring);
    const car = await carBytes(source, [a.cid]);
    await expect(fresh.importCar(car.subarray(0, car.length - 100))).rejects.toSatisfy((e) => isLiuhenError(e, 'STORE_INTEGRITY'));

    // only the root block of A: its leaves are missing
    const { writer, out } = CarWriter.create([parseCid(a.cid)]);
    const parts = collect(out as AsyncIterable<Uint8Array>);
    const first = (await CarBlockIterator.fromBytes(car))[Symbol.asyncIterator]();
    await writer.put((await first.next()).value);
    await writer.close();
    await expect(fresh.importCar(await parts)).rejects.toSatisfy((e) => isLiuhenError(e, 'STORE_INTEGRITY') && /incomplete/.test(e.message));
    expect(await fresh.has(a.cid)).toBe(false);

    const v2 = Buffer.concat([Buffer.from('0aa16776657273696f6e02', 'hex'), Buffer.alloc(100)]);
    await expect(fresh.importCar(v2)).rejects.toSatisfy((e) => isLiuhenError(e, 'STORE_INTEGRITY') && /CARv2/.test(e.message));

    // header, then a section claiming 2^40 bytes: refused from its length, nothing allocated
    const header = car.subarray(0, 1 + car[0]!);
    const huge = Buffer.concat([header, Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x20]), Buffer.alloc(64)]);
    await expect(fresh.importCar(huge)).rejects.toSatisfy((e) => isLiuhenError(e, 'STORE_INTEGRITY'));
    await fresh.close();
  });

  it('export of a missing object fails and destroys the sink instead of ending it', async () => {
    const events: string[] = [];
    const sink = new Writable({
      write(_c, _e, cb) {
        cb();
      },
    });
    sink.on('finish', () => events.push('finish'));
    sink.on('close', () => events.push('close'));
    const missing = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku';
    await expect(source.exportCar([a.cid, missing], sink)).rejects.toSatisfy((e) => isLiuhenError(e, 'STORE_NOT_FOUND'));
    expect(events).not.toContain('finish');
    await expect(source.exportCar([], sink)).rejects.toSatisfy((e) => isLiuhenError(e, 'INVALID_INPUT'));
  });

  it('a CAR file on disk is ciphertext only', async () => {
    const file = join(work, 'b.car');
    await source.exportCar([b.cid], createWriteStream(file));
    expect((await readFile(file)).indexOf(dataB.subarray(100, 140))).toBe(-1);
    await writeFile(file, ''); // keep the temp folder small
  });
});
