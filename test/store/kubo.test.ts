/**
 * The Kubo backend. A Kubo daemon cannot run on CI machines (its npm package
 * downloads a binary), so the round-trip tests run only when LIUHEN_IPFS_API
 * names the RPC endpoint of a private node, e.g.
 *   LIUHEN_IPFS_API=http://127.0.0.1:5001 npx vitest run test/store/kubo.test.ts
 * (optionally LIUHEN_IPFS_AUTH="Bearer …" for an authenticating proxy).
 */
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLiuhenError } from '../../src/errors.js';
import { cidOf, openEvidenceStore, openKuboBackend, type EvidenceStore, type KuboBackend } from '../../src/store/index.js';
import { startFakeKubo, type FakeKubo } from './fixtures/fake-kubo.js';
import { chunked, cleanup, collect, collectUntilError, expectCode, pattern, tempDir, testWrapper } from './helpers.js';

const API = process.env.LIUHEN_IPFS_API;
const HEADERS = process.env.LIUHEN_IPFS_AUTH ? { authorization: process.env.LIUHEN_IPFS_AUTH } : undefined;
const RECORD = '01HZY3K5V8Q9R2T4W6X8Z0A1K1';

describe('kubo backend without a daemon', () => {
  it('an unreachable node is STORE_UNAVAILABLE, with no credentials in the error', async () => {
    const secret = 'hunter2-very-secret';
    let error: unknown;
    try {
      await openKuboBackend({ url: `http://admin:${secret}@127.0.0.1:9/`, headers: { authorization: `Bearer ${secret}` }, connectTimeoutMs: 2000 });
    } catch (e) {
      error = e;
    }
    expectCode(error, 'STORE_UNAVAILABLE');
    const text = `${(error as Error).message} ${JSON.stringify((error as { details?: unknown }).details)}`;
    expect(text).toContain('http://127.0.0.1:9');
    expect(text).not.toContain(secret);
    expect(text).not.toContain('admin');
  });

  it('rejects a non-http URL', async () => {
    await expect(openKuboBackend({ url: 'ftp://127.0.0.1:5001' })).rejects.toSatisfy((e) => isLiuhenError(e, 'CONFIG_INVALID'));
  });
});

describe('kubo backend against a fake RPC server (protocol check; no Kubo needed)', () => {
  let fake: FakeKubo;
  let work: string;
  let store: EvidenceStore;
  const wrapper = testWrapper('AG-KUBO');
  const AUTH = 'Bearer test-token';

  beforeAll(async () => {
    work = await tempDir('liuhen-fake-kubo-');
    fake = await startFakeKubo(join(work, 'node'), { auth: AUTH });
    store = await openEvidenceStore({ kind: 'kubo', url: fake.url, headers: { authorization: AUTH }, locateTimeoutMs: 2000 }, wrapper);
  });
  afterAll(async () => {
    await store?.close();
    await fake?.close();
    await cleanup(work);
  });

  it('adds with cid-version=1, raw-leaves, the 256 KiB chunker, sha2-256 and a pin; cats it back', async () => {
    const data = pattern(1024 * 1024 + 1, 60);
    const r = await store.put(chunked(data), { recordId: RECORD, agency: 'AG-KUBO' });
    const add = fake.calls.find((c) => c.path === 'add')!;
    expect(Object.fromEntries(add.query)).toMatchObject({
      'cid-version': '1',
      'raw-leaves': 'true',
      chunker: 'size-262144',
      hash: 'sha2-256',
      pin: 'true',
      trickle: 'false',
    });
    expect(add.auth).toBe(AUTH);
    expect((await collect(store.get(r.cid, { recordId: RECORD, expectedSha256: r.sha256 }))).equals(data)).toBe(true);
  });

  it('has() asks the node offline; a missing CID is STORE_NOT_FOUND', async () => {
    const absent = await cidOf(pattern(64, 61));
    expect(await store.has(absent)).toBe(false);
    expect(
      fake.calls
        .filter((c) => c.path === 'block/stat')
        .at(-1)!
        .query.get('offline'),
    ).toBe('true');
    expectCode((await collectUntilError(store.get(absent, { recordId: RECORD }))).error, 'STORE_NOT_FOUND');
  });

  it('exports and imports CARs through dag/export and dag/import', async () => {
    const data = pattern(600_000, 62);
    const r = await store.put(data, { recordId: RECORD, agency: 'AG-KUBO' });
    const sink = new PassThrough();
    const car = collect(sink);
    await store.exportCar([r.cid], sink);
    const bytes = await car;
    const other = await startFakeKubo(join(work, 'node2'));
    const second = await openEvidenceStore({ kind: 'kubo', url: other.url }, wrapper);
    expect(await second.importCar(bytes)).toEqual([r.cid]);
    expect(other.calls.find((c) => c.path === 'dag/import')!.query.get('pin-roots')).toBe('true');
    expect((await collect(second.get(r.cid, { recordId: RECORD }))).equals(data)).toBe(true);
    await second.close();
    await other.close();
  });

  it('a refused auth is STORE_UNAVAILABLE; user:pass in the URL becomes a Basic header', async () => {
    await expect(openEvidenceStore({ kind: 'kubo', url: fake.url }, wrapper)).rejects.toSatisfy(
      (e) => isLiuhenError(e, 'STORE_UNAVAILABLE') && /401/.test(e.message),
    );
    const other = await startFakeKubo(join(work, 'node3'), { auth: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` });
    const u = new URL(other.url);
    u.username = 'ops';
    u.password = 's3cret';
    const viaUrl = await openEvidenceStore({ kind: 'kubo', url: u.toString() }, wrapper);
    await viaUrl.close();
    await other.close();
  });
});

describe.skipIf(!API)(`kubo backend against ${API ?? 'a private node'} (skipped: set LIUHEN_IPFS_API=http://127.0.0.1:5001 to run)`, () => {
  let store: EvidenceStore;
  let backend: KuboBackend;
  let work: string;
  const wrapper = testWrapper('AG-KUBO');

  beforeAll(async () => {
    work = await tempDir('liuhen-kubo-');
    store = await openEvidenceStore({ kind: 'kubo', url: API!, ...(HEADERS ? { headers: HEADERS } : {}), locateTimeoutMs: 3000 }, wrapper);
    backend = await openKuboBackend({ url: API!, ...(HEADERS ? { headers: HEADERS } : {}), locateTimeoutMs: 3000 });
  });
  afterAll(async () => {
    await store?.close();
    await backend?.close();
    await cleanup(work);
  });

  it('adds with the same CID as the local backend (`--cid-version=1 --raw-leaves`)', async () => {
    for (const data of [Buffer.from('hello world\n'), pattern(1024 * 1024 + 1, 50), pattern(262_144 * 175 + 1, 51)]) {
      const cid = await backend.add(chunked(data));
      expect(cid.toString()).toBe(await cidOf(data));
      expect((await collect(backend.cat(cid))).equals(data)).toBe(true);
    }
  });

  it('put → get round trip through the node, ciphertext only', async () => {
    const data = pattern(3 * 1024 * 1024 + 5, 52);
    const r = await store.put(chunked(data), { recordId: RECORD, agency: 'AG-KUBO' });
    expect(await store.has(r.cid)).toBe(true);
    expect((await collect(store.get(r.cid, { recordId: RECORD, expectedSha256: r.sha256 }))).equals(data)).toBe(true);
    const stored = await collect(backend.cat((await import('../../src/store/index.js')).parseEvidenceCid(r.cid)));
    expect(await cidOf(stored)).toBe(r.cid);
    expect(stored.indexOf(data.subarray(0, 32))).toBe(-1);
  });

  it('a CID the node does not hold is STORE_NOT_FOUND', async () => {
    const absent = await cidOf(pattern(64, 53));
    expect(await store.has(absent)).toBe(false);
    expectCode((await collectUntilError(store.get(absent, { recordId: RECORD }))).error, 'STORE_NOT_FOUND');
  }, 20_000);

  it('CAR export from the node imports into a local store with the same CID', async () => {
    const data = pattern(700_000, 54);
    const r = await store.put(data, { recordId: RECORD, agency: 'AG-KUBO' });
    const sink = new PassThrough();
    const car = collect(sink);
    await store.exportCar([r.cid], sink);
    const local = await openEvidenceStore({ kind: 'local', dir: join(work, 'local') }, wrapper);
    expect(await local.importCar(await car)).toEqual([r.cid]);
    expect((await collect(local.get(r.cid, { recordId: RECORD }))).equals(data)).toBe(true);
    await local.close();
  });
});
