import { generateKeyPairSync } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { chainWith, recordTemplate, signatureMember, type ChainedRecord, type UnchainedRecord } from '../../src/record/chain.js';
import { DeviceKey, verifyRecordSignature } from '../../src/record/device-key.js';
import { canonicalize, canonicalTemplate, fillTemplate, jcsMember } from '../../src/record/jcs.js';
import { recordLeaf } from '../../src/record/leaf.js';
import { SIGNING_WORKERS_ENV, signingPool, SigningPool } from '../../src/record/signing-pool.js';
import { ZERO32 } from '../../src/util/hex.js';

const unchained = (i: number, extra: Partial<UnchainedRecord> = {}): UnchainedRecord => ({
  v: 1,
  id: `01JDQ7Z8X9Y0ABCDEFGHJK${String(i).padStart(4, '0')}`,
  agency: 'JN-CG',
  device: 'cam-01',
  officer: '37010001',
  kind: 'photo',
  media: { type: 'image/jpeg', size: i, sha256: 'a'.repeat(64) },
  capturedAt: '2026-11-27T09:30:00+08:00',
  salt: `0x${'11'.repeat(16)}`,
  ...extra,
});

/** What signing one record at a time gives: the reference every run must equal. */
function oneByOne(key: DeviceKey, records: UnchainedRecord[], seq = 0, prev: string = ZERO32): ChainedRecord[] {
  return records.map((r) => {
    const record = key.signSync({ ...r, seq: ++seq, prev } as never);
    prev = recordLeaf(record);
    return { record, leaf: prev as never, canonical: canonicalize(record) };
  });
}

describe('JCS of an object with members added (canonicalTemplate + fillTemplate)', () => {
  const names = ['a', 'Z', 'prev', 'seq', 'sig', 'salt', 'stage', 'v', 'é', '\u0080', 'A1', 'body', 'zz', '€', '😀'];
  it('equals canonicalize of the merged object, wherever the added members sort and whichever are left out', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 300; round++) {
      const base: Record<string, unknown> = {};
      const extra: Record<string, unknown> = {};
      for (const n of names) {
        const r = rand();
        const value = r < 0.3 ? Math.floor(rand() * 1e6) : r < 0.6 ? `s${rand()}` : { n: [1, 'x', null], [n]: true };
        if (rand() < 0.5) base[n] = value;
        else if (rand() < 0.4) extra[n] = rand() < 0.2 ? undefined : value;
      }
      const slots = Object.keys(extra).sort();
      const members = slots.map((n) => (extra[n] === undefined ? undefined : jcsMember(n, extra[n])));
      expect(fillTemplate(canonicalTemplate(base, slots), members)).toBe(canonicalize({ ...base, ...extra }));
    }
  });
  it('refuses a slot the object already has, slots out of order, and the wrong number of members', () => {
    const code = expect.objectContaining({ code: 'JCS_UNSUPPORTED_VALUE' });
    expect(() => canonicalTemplate({ seq: 1 }, ['seq'])).toThrow(code);
    expect(() => canonicalTemplate({}, ['seq', 'prev'])).toThrow(code);
    expect(() => fillTemplate(canonicalTemplate({}, ['a', 'b']), [undefined])).toThrow(code);
  });
  it('refuses what canonicalize refuses', () => {
    expect(() => canonicalTemplate({ x: Number.NaN }, [])).toThrow(expect.objectContaining({ code: 'JCS_UNSUPPORTED_VALUE' }));
    expect(() => canonicalTemplate(new Date() as never, [])).toThrow(expect.objectContaining({ code: 'JCS_UNSUPPORTED_VALUE' }));
    expect(() => jcsMember('\uD800', 1)).toThrow(expect.objectContaining({ code: 'JCS_UNSUPPORTED_VALUE' }));
    expect(() => canonicalTemplate({ x: 'a\uDC00' }, [])).toThrow(expect.objectContaining({ code: 'JCS_UNSUPPORTED_VALUE' }));
    expect(canonicalTemplate({ x: 'a\uD83D\uDE00' }, [])).toEqual(['"x":"a\uD83D\uDE00"']);
  });
  it('the signature member written around its value equals its JCS', () => {
    const key = `0x${'ab'.repeat(32)}` as const;
    const value = `0x${'cd'.repeat(64)}` as const;
    expect(signatureMember(key)(value)).toBe(jcsMember('sig', { alg: 'Ed25519', key, value }));
  });
});

describe('signing a run of one device (DeviceKey.chain)', () => {
  const key = DeviceKey.generate();
  const run = Array.from({ length: 12 }, (_, i) => unchained(i, i % 3 ? { stage: 'onsite', case: 'JN(2026)1' } : {}));

  it('a short run, signed inline, equals signing one record at a time', async () => {
    const head = { seq: 41, leaf: `0x${'cd'.repeat(32)}` } as const;
    expect(await key.chain(head, run.slice(0, 2))).toEqual(oneByOne(key, run.slice(0, 2), 41, head.leaf));
  });

  it('a burst, signed on a signing thread, equals signing one record at a time', async () => {
    const chained = await key.chain({ seq: 0, leaf: ZERO32 }, run);
    expect(signingPool.threads).toBeGreaterThan(0);
    expect(chained).toEqual(oneByOne(key, run));
    for (const c of chained) {
      expect(verifyRecordSignature(c.record)).toBe(true);
      expect(recordLeaf(c.record)).toBe(c.leaf);
      expect(canonicalize(c.record)).toBe(c.canonical);
    }
  });

  it('any other signer gives the same run, one record at a time', async () => {
    const plain = { sign: (r: never) => key.signSync(r) };
    expect(await chainWith(plain, { seq: 0, leaf: ZERO32 }, run)).toEqual(oneByOne(key, run));
  });

  it("a plain signer whose signature does not verify (another record's, a weak key) is refused", async () => {
    const wrong = {
      sign: (r: never) => ({ ...(r as object), sig: (key.signSync({ ...(r as object), officer: 'someone else' } as never) as { sig: unknown }).sig }) as never,
    };
    await expect(chainWith(wrong, { seq: 0, leaf: ZERO32 }, run.slice(0, 1))).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    const weak = { sign: (r: never) => ({ ...(r as object), sig: { alg: 'Ed25519', key: `0x${'00'.repeat(32)}`, value: `0x${'00'.repeat(64)}` } }) as never };
    await expect(chainWith(weak, { seq: 0, leaf: ZERO32 }, run.slice(0, 1))).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
  });

  it('a plain signer returning a malformed sig is refused (only its sig is ever taken)', async () => {
    const liar = { sign: (r: never) => ({ ...(key.signSync(r as never) as object), sig: { alg: 'RSA' } }) as never };
    await expect(chainWith(liar, { seq: 0, leaf: ZERO32 }, run.slice(0, 1))).rejects.toMatchObject({ code: 'INVALID_RECORD' });
  });
});

describe('signing threads that fail: the run is signed inline instead, and nothing is lost', () => {
  const key = DeviceKey.generate();
  const run = Array.from({ length: 5 }, (_, i) => unchained(i));
  const templates = run.map(recordTemplate);
  const head = { seq: 0, leaf: ZERO32 } as const;
  const evalWorker = (code: string) => () => new Worker(code, { eval: true });
  const answering = (reply: string) =>
    evalWorker(`const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(${reply}));`);
  const privateKeyOf = (k: DeviceKey) => (k as unknown as { privateKey: never }).privateKey;
  const chainOn = (pool: SigningPool) => pool.chain(privateKeyOf(key), key.publicKey, head, run, templates);

  it('a thread that dies', async () => {
    const pool = new SigningPool(1, evalWorker('process.exit(7)'));
    expect(pool.wants(run.length)).toBe(true);
    expect(await chainOn(pool)).toEqual(oneByOne(key, run));
    expect(pool.threads).toBe(0);
    expect(pool.wants(run.length)).toBe(false);
  });

  it('a thread that answers with an error, too few signatures, holes, or strings that are not signatures', async () => {
    for (const reply of [
      "{ id: m.id, error: 'no key' }",
      '{ id: m.id, links: [] }',
      '{ id: m.id, links: Array(15).fill(1) }',
      "{ id: m.id, links: 'x' }",
      '{ id: m.id, links: new Array(15) }',
      "{ id: m.id, links: Array(15).fill('not hex') }",
    ]) {
      const pool = new SigningPool(1, answering(reply));
      expect(await chainOn(pool)).toEqual(oneByOne(key, run));
      expect(pool.wants(run.length)).toBe(false);
    }
  });

  it('a thread that never answers is stopped after the run timeout', async () => {
    const pool = new SigningPool(1, evalWorker("require('node:worker_threads').parentPort.on('message', () => {});"), 200);
    expect(await chainOn(pool)).toEqual(oneByOne(key, run));
    expect(pool.threads).toBe(0);
  });

  it('with no threads configured, every run is signed inline; a key that cannot sign is SIGNING_FAILED', async () => {
    const pool = new SigningPool(0);
    expect(pool.wants(10_000)).toBe(false);
    expect(await chainOn(pool)).toEqual(oneByOne(key, run));
    expect(pool.threads).toBe(0);
    const x25519 = generateKeyPairSync('x25519').privateKey;
    await expect(pool.chain(x25519, key.publicKey, head, run, templates)).rejects.toMatchObject({ code: 'SIGNING_FAILED' });
  });

  it(`${SIGNING_WORKERS_ENV}: 0 signs inline; a malformed value is CONFIG_INVALID`, () => {
    const saved = process.env[SIGNING_WORKERS_ENV];
    try {
      process.env[SIGNING_WORKERS_ENV] = '0';
      expect(new SigningPool().wants(100)).toBe(false);
      for (const bad of ['two', '-1', '1.5', '500']) {
        process.env[SIGNING_WORKERS_ENV] = bad;
        expect(() => new SigningPool().wants(100)).toThrow(
          expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/LIUHEN_SIGNING_WORKERS/) }),
        );
      }
    } finally {
      if (saved === undefined) delete process.env[SIGNING_WORKERS_ENV];
      else process.env[SIGNING_WORKERS_ENV] = saved;
    }
  });
});
