/**
 * The LHEV object format: round trips and the tamper suite. Every mutation
 * must fail closed with a coded error, and the consumer must receive no
 * plaintext from the tampered segment onward (none at all for a one-segment
 * object).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LiuhenError } from '../../src/errors.js';
import {
  aesGcmKeyWrapper,
  decryptEvidence,
  encryptEvidence,
  parseEvidenceHeader as parseHeader,
  staticKeyResolver,
  EVIDENCE_TAG_BYTES as TAG_BYTES,
  type KeyWrapper,
} from '../../src/store/index.js';
import { chunked, collect, collectUntilError, expectCode, pattern } from './helpers.js';

const S = 1024; // smallest segment size: many segments from small inputs
const RECORD = '01HZY3K5V8Q9R2T4W6X8Z0A1B2';
const kek = Buffer.alloc(32, 0x42);
const wrapper = aesGcmKeyWrapper({ keyId: 'kek-test', agency: 'AG-01', kek });
const keys = staticKeyResolver([wrapper]);

async function seal(
  plain: Uint8Array,
  w: KeyWrapper = wrapper,
  recordId = RECORD,
  segmentSize = S,
): Promise<{ object: Buffer; sha256: string; headerLength: number }> {
  const e = encryptEvidence(chunked(plain, 777), { recordId, wrapper: w, segmentSize, chunkSize: 4096 });
  const object = await collect(e.chunks);
  const headerLength = object.readUInt16BE(6);
  return { object, sha256: e.summary().sha256, headerLength };
}

function open(object: Uint8Array, options: { recordId?: string; expectedSha256?: string; keys?: typeof keys } = {}) {
  return decryptEvidence(chunked(object, 1000), {
    recordId: options.recordId ?? RECORD,
    keys: options.keys ?? keys,
    ...(options.expectedSha256 ? { expectedSha256: options.expectedSha256 } : {}),
  });
}

/** Segment boundaries inside an object of `plainLength` bytes. */
function segmentsOf(headerLength: number, plainLength: number): { start: number; end: number }[] {
  const n = Math.max(1, Math.ceil(plainLength / S));
  const out = [];
  for (let i = 0; i < n; i++) {
    const body = i < n - 1 ? S : plainLength - S * (n - 1);
    const start = headerLength + i * (S + TAG_BYTES);
    out.push({ start, end: start + body + TAG_BYTES });
  }
  return out;
}

/** Requires a failure with a coded error and `received` to be whole segments before `firstBadSegment`. */
function expectFailClosed(r: { received: Buffer; error: unknown }, plain: Buffer, firstBadSegment: number): void {
  expect(r.error).toBeInstanceOf(LiuhenError);
  expectCode(r.error, 'STORE_DECRYPT_FAILED', 'STORE_INTEGRITY', 'STORE_KEY');
  expect(r.received.length).toBeLessThanOrEqual(firstBadSegment * S);
  expect(r.received.length % S).toBe(0);
  expect(r.received.equals(plain.subarray(0, r.received.length))).toBe(true);
}

describe('round trip', () => {
  it.each([0, 1, S - 1, S, S + 1, 3 * S, 3 * S + 5, 100_000])('%d bytes', async (n) => {
    const plain = pattern(n, 2);
    const { object, sha256, headerLength } = await seal(plain);
    expect(sha256).toBe(createHash('sha256').update(plain).digest('hex'));
    const segments = Math.max(1, Math.ceil(n / S));
    expect(object.length).toBe(headerLength + n + segments * TAG_BYTES);
    expect((await collect(open(object, { expectedSha256: sha256 }))).equals(plain)).toBe(true);
  });

  it('an empty file is one final empty segment: header + a 16-byte tag', async () => {
    const { object, headerLength, sha256 } = await seal(new Uint8Array(0));
    expect(object.length).toBe(headerLength + TAG_BYTES);
    expect(sha256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect((await collect(open(object))).length).toBe(0);
    // without its tag the empty file is truncated, not empty
    expectCode((await collectUntilError(open(object.subarray(0, headerLength)))).error, 'STORE_INTEGRITY');
  });

  it('the object is ciphertext: same input twice gives unrelated objects (fresh data key, fresh nonce prefix)', async () => {
    const plain = pattern(3000, 4);
    const a = await seal(plain);
    const b = await seal(plain);
    expect(a.object.equals(b.object)).toBe(false);
    expect(a.object.indexOf(plain.subarray(0, 32))).toBe(-1);
  });

  it('writes a self-describing header', async () => {
    const { object, headerLength } = await seal(pattern(10, 1));
    const h = parseHeader(object.subarray(0, headerLength));
    expect(object.subarray(0, 4).toString('latin1')).toBe('LHEV');
    expect(h).toMatchObject({ version: 1, suite: 1, segmentSize: S, agency: 'AG-01', keyId: 'kek-test' });
    expect(h.noncePrefix).toHaveLength(7);
    expect(h.wrappedKey).toHaveLength(60);
  });
});

describe('tamper suite (fails closed)', () => {
  const plain = pattern(3 * S + 100, 9); // 4 segments
  const single = pattern(500, 10); // 1 segment

  it('bit flip in every header field', async () => {
    for (const data of [plain, single]) {
      const { object, headerLength } = await seal(data);
      for (let i = 0; i < headerLength; i++) {
        const bad = Buffer.from(object);
        bad[i]! ^= 0x01;
        const r = await collectUntilError(open(bad));
        expect(r.error, `header byte ${i}`).toBeInstanceOf(LiuhenError);
        expect(r.received.length, `header byte ${i}`).toBe(0);
      }
    }
  });

  it('bit flip anywhere in the segments (every byte of a 4-segment object)', async () => {
    const { object, headerLength } = await seal(plain);
    const segs = segmentsOf(headerLength, plain.length);
    for (let i = headerLength; i < object.length; i++) {
      const bad = Buffer.from(object);
      bad[i]! ^= 0x80;
      const seg = segs.findIndex((s) => i >= s.start && i < s.end);
      const r = await collectUntilError(open(bad));
      expectCode(r.error, 'STORE_DECRYPT_FAILED');
      expect((r.error as LiuhenError).details?.segment).toBe(seg);
      expect(r.received.equals(plain.subarray(0, seg * S)), `byte ${i}`).toBe(true);
    }
  });

  it('bit flip in a tag', async () => {
    const { object, headerLength } = await seal(plain);
    const segs = segmentsOf(headerLength, plain.length);
    const bad = Buffer.from(object);
    bad[segs[1]!.end - 1]! ^= 0x01; // last byte of segment 1's tag
    expectFailClosed(await collectUntilError(open(bad)), plain, 1);
  });

  it('truncation: the last segment dropped', async () => {
    const { object, headerLength } = await seal(plain);
    const segs = segmentsOf(headerLength, plain.length);
    const r = await collectUntilError(open(object.subarray(0, segs[3]!.start)));
    expectCode(r.error, 'STORE_DECRYPT_FAILED'); // segment 2 is not marked last
    expectFailClosed(r, plain, 2);
  });

  it('truncation: cut in the middle of a segment, and inside a tag', async () => {
    const { object, headerLength } = await seal(plain);
    const segs = segmentsOf(headerLength, plain.length);
    expectFailClosed(await collectUntilError(open(object.subarray(0, segs[1]!.start + 100))), plain, 1);
    expectFailClosed(await collectUntilError(open(object.subarray(0, segs[3]!.end - 3))), plain, 3);
    expectFailClosed(await collectUntilError(open(object.subarray(0, segs[0]!.start + 5))), plain, 0);
  });

  it('truncation of a one-segment file releases nothing', async () => {
    const { object } = await seal(single);
    for (const cut of [1, TAG_BYTES, 100, object.length - 1]) {
      const r = await collectUntilError(open(object.subarray(0, object.length - cut)));
      expect(r.error).toBeInstanceOf(LiuhenError);
      expect(r.received.length).toBe(0);
    }
  });

  it('segments swapped', async () => {
    const { object, headerLength } = await seal(plain);
    const [a, b] = segmentsOf(headerLength, plain.length);
    const bad = Buffer.concat([object.subarray(0, a!.start), object.subarray(b!.start, b!.end), object.subarray(a!.start, a!.end), object.subarray(b!.end)]);
    expectFailClosed(await collectUntilError(open(bad)), plain, 0);
  });

  it('a segment duplicated or replayed from another object', async () => {
    const { object, headerLength } = await seal(plain);
    const segs = segmentsOf(headerLength, plain.length);
    const dup = Buffer.concat([object.subarray(0, segs[2]!.start), object.subarray(segs[1]!.start, segs[1]!.end), object.subarray(segs[2]!.start)]);
    expectFailClosed(await collectUntilError(open(dup)), plain, 2);
    const other = await seal(plain); // same plaintext, same key and record: different data key
    const spliced = Buffer.concat([object.subarray(0, segs[1]!.start), other.object.subarray(segs[1]!.start)]);
    expectFailClosed(await collectUntilError(open(spliced)), plain, 1);
  });

  it('trailing garbage (1 byte, a tag’s worth, a whole copied segment)', async () => {
    const { object, headerLength } = await seal(plain);
    const segs = segmentsOf(headerLength, plain.length);
    for (const tail of [Buffer.from([0]), Buffer.alloc(TAG_BYTES, 7), object.subarray(segs[3]!.start, segs[3]!.end)]) {
      expectFailClosed(await collectUntilError(open(Buffer.concat([object, tail]))), plain, 3);
    }
    const one = await seal(single);
    expect((await collectUntilError(open(Buffer.concat([one.object, Buffer.from([1])])))).received.length).toBe(0);
  });

  it('wrong KEK under the same key id: the data key does not unwrap', async () => {
    const { object } = await seal(plain);
    const impostor = aesGcmKeyWrapper({ keyId: 'kek-test', agency: 'AG-01', kek: Buffer.alloc(32, 0x43) });
    const r = await collectUntilError(open(object, { keys: staticKeyResolver([impostor]) }));
    expectCode(r.error, 'STORE_DECRYPT_FAILED');
    expect(r.received.length).toBe(0);
  });

  it('a KEK the keyring does not hold, or of another agency', async () => {
    const { object } = await seal(plain);
    const other = aesGcmKeyWrapper({ keyId: 'kek-other', agency: 'AG-01', kek });
    expectCode((await collectUntilError(open(object, { keys: staticKeyResolver([other]) }))).error, 'STORE_KEY');
    const wrongAgency = aesGcmKeyWrapper({ keyId: 'kek-test', agency: 'AG-02', kek });
    expectCode((await collectUntilError(open(object, { keys: staticKeyResolver([wrongAgency]) }))).error, 'STORE_KEY');
  });

  it('wrong record id', async () => {
    const { object } = await seal(plain);
    const r = await collectUntilError(open(object, { recordId: '01HZY3K5V8Q9R2T4W6X8Z0A1B3' }));
    expectCode(r.error, 'STORE_DECRYPT_FAILED');
    expect(r.received.length).toBe(0);
  });

  it('expectedSha256 mismatch: the last segment is held back', async () => {
    const { object, sha256 } = await seal(plain);
    const wrong = `${sha256.slice(0, 63)}${sha256.endsWith('0') ? '1' : '0'}`;
    const r = await collectUntilError(open(object, { expectedSha256: wrong }));
    expectCode(r.error, 'STORE_INTEGRITY');
    expect(r.received.equals(plain.subarray(0, 3 * S))).toBe(true); // never the whole file
    const one = await seal(single);
    const r1 = await collectUntilError(open(one.object, { expectedSha256: wrong }));
    expectCode(r1.error, 'STORE_INTEGRITY');
    expect(r1.received.length).toBe(0);
    // a 0x-prefixed digest is accepted
    expect((await collect(open(object, { expectedSha256: `0x${sha256}` }))).equals(plain)).toBe(true);
  });

  it('no plaintext of a segment is released before its tag checks (the consumer sees the error first)', async () => {
    const { object, headerLength } = await seal(single);
    const bad = Buffer.from(object);
    bad[headerLength]! ^= 1; // first ciphertext byte of the only segment
    const seen: Uint8Array[] = [];
    await expect(
      (async () => {
        for await (const c of open(bad)) seen.push(c);
      })(),
    ).rejects.toThrow(LiuhenError);
    expect(seen).toHaveLength(0);
  });
});

describe('input checks', () => {
  it('rejects bad record ids, segment sizes and digests with INVALID_INPUT', () => {
    const bad = [
      () => encryptEvidence(new Uint8Array(1), { recordId: '', wrapper }),
      () => encryptEvidence(new Uint8Array(1), { recordId: 'has space', wrapper }),
      () => encryptEvidence(new Uint8Array(1), { recordId: 'x'.repeat(129), wrapper }),
      () => encryptEvidence(new Uint8Array(1), { recordId: RECORD, wrapper, segmentSize: 100 }),
      () => decryptEvidence(chunked(new Uint8Array(1)), { recordId: RECORD, keys, expectedSha256: 'abc' }),
    ];
    for (const f of bad) {
      try {
        f();
        throw new Error('accepted');
      } catch (e) {
        expectCode(e, 'INVALID_INPUT');
      }
    }
  });

  it('rejects a chunk that is not bytes', async () => {
    const e = encryptEvidence(
      (async function* () {
        yield 'text' as unknown as Uint8Array;
      })(),
      { recordId: RECORD, wrapper },
    );
    expectCode((await collectUntilError(e.chunks)).error, 'INVALID_INPUT');
  });

  it('maps a failing source to FILE_UNREADABLE and refuses more than maxBytes', async () => {
    const failing = (async function* () {
      yield new Uint8Array(10);
      throw new Error('disk gone');
    })();
    expectCode((await collectUntilError(encryptEvidence(failing, { recordId: RECORD, wrapper }).chunks)).error, 'FILE_UNREADABLE');
    expectCode((await collectUntilError(encryptEvidence(pattern(5000), { recordId: RECORD, wrapper, maxBytes: 4999 }).chunks)).error, 'STORE_TOO_LARGE');
  });
});
