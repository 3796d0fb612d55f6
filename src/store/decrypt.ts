/**
 * Open an LHEV object (see format.ts) back into verified plaintext, failing
 * closed. Hostile input: the stored object (disk, network, CAR file).
 *
 * Guarantees, in order:
 * - the header is parsed strictly (`STORE_INTEGRITY`), its KEK is looked up
 *   by key id (`STORE_KEY`) and the data key unwrapped with the record id
 *   bound (`STORE_DECRYPT_FAILED`);
 * - each segment's plaintext is released only after its GCM tag checked
 *   (`STORE_DECRYPT_FAILED` names the segment): a flipped bit, a swapped or
 *   dropped segment, a cut or a tail of garbage never yields that segment's
 *   bytes or any after it;
 * - the plaintext is re-hashed on the way; the LAST segment is held back
 *   until the whole file's SHA-256 is known and, when `expectedSha256` is
 *   given, equal to it (else `STORE_INTEGRITY`). A consumer that sees an
 *   error must discard what it received: a mismatching file is never fully
 *   released.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { fail, isLiuhenError } from '../errors.js';
import { ByteReader } from './bytes.js';
import { MAX_SEGMENTS, readHeader, segmentAad, segmentNonce, TAG_BYTES, wrapAad } from './format.js';
import type { KeyResolver, KeyWrapper } from './keys.js';
import { checkRecordId, normaliseSha256 } from './validate.js';

export interface DecryptOptions {
  /** Record the evidence was stored for. */
  recordId: string;
  /** Finds the KEK named in the header. */
  keys: KeyResolver;
  /** SHA-256 of the plaintext (hex, optional 0x): checked before the last segment is released. */
  expectedSha256?: string;
  /** Called once, before the last segment is released, with the digest and size of the plaintext. */
  onVerified?: (result: { sha256: string; size: number }) => void;
}

/** Decrypt and verify an LHEV object read from `ciphertext`. */
export function decryptEvidence(ciphertext: AsyncIterable<Uint8Array>, options: DecryptOptions): AsyncGenerator<Uint8Array, void, undefined> {
  const recordId = checkRecordId(options.recordId);
  const expected = options.expectedSha256 === undefined ? undefined : normaliseSha256(options.expectedSha256);
  return generate(ciphertext, recordId, options.keys, expected, options.onVerified);
}

async function* generate(
  ciphertext: AsyncIterable<Uint8Array>,
  recordId: string,
  keys: KeyResolver,
  expected: string | undefined,
  onVerified: DecryptOptions['onVerified'],
): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = new ByteReader(ciphertext);
  let dataKey: Buffer | undefined;
  try {
    const { header, bytes } = await readHeader(reader);
    let wrapper: KeyWrapper;
    try {
      wrapper = await keys.byId(header.keyId);
    } catch (cause) {
      if (isLiuhenError(cause)) throw cause;
      fail('STORE_KEY', `key ${header.keyId} named in the object is not available`, { details: { keyId: header.keyId }, cause });
    }
    if (wrapper.agency !== header.agency) {
      fail('STORE_KEY', `key ${header.keyId} belongs to agency ${wrapper.agency}, the object names ${header.agency}`, {
        details: { keyId: header.keyId },
      });
    }
    try {
      dataKey = Buffer.from(await wrapper.unwrap(header.wrappedKey, wrapAad(recordId, header)));
    } catch (cause) {
      if (isLiuhenError(cause, 'STORE_DECRYPT_FAILED')) throw cause;
      fail('STORE_DECRYPT_FAILED', 'the data key does not unwrap: wrong KEK, wrong record id, or altered header', { details: { keyId: header.keyId }, cause });
    }
    if (dataKey.length !== 32) fail('STORE_DECRYPT_FAILED', 'the unwrapped data key is not 32 bytes');
    const aad = segmentAad(recordId, bytes);
    const full = header.segmentSize + TAG_BYTES;
    const hash = createHash('sha256');
    let size = 0;
    for (let index = 0; ; index++) {
      // One byte of look-ahead tells a full middle segment from a full last one.
      const have = await reader.fill(full + 1);
      const last = have <= full;
      if (last && have < TAG_BYTES) {
        fail('STORE_INTEGRITY', `evidence object truncated: segment ${index} is ${have} bytes, shorter than its tag`, { details: { segment: index } });
      }
      if (index >= MAX_SEGMENTS) fail('STORE_INTEGRITY', 'evidence object has more than 2^32 segments');
      const seg = reader.take(last ? have : full);
      const body = seg.subarray(0, seg.length - TAG_BYTES);
      const d = createDecipheriv('aes-256-gcm', dataKey, segmentNonce(header.noncePrefix, index, last), { authTagLength: TAG_BYTES });
      d.setAAD(aad);
      d.setAuthTag(seg.subarray(seg.length - TAG_BYTES));
      const plain = d.update(body); // not released until final() has checked the tag
      try {
        d.final();
      } catch {
        plain.fill(0);
        fail(
          'STORE_DECRYPT_FAILED',
          `evidence segment ${index} failed authentication: the object was altered, truncated, reordered or extended, or the key or record id is wrong`,
          {
            details: { segment: index },
          },
        );
      }
      hash.update(plain);
      size += plain.length;
      if (!last) {
        yield plain;
        continue;
      }
      const sha256 = hash.digest('hex');
      if (expected !== undefined && sha256 !== expected) {
        plain.fill(0);
        fail('STORE_INTEGRITY', `evidence SHA-256 mismatch: got ${sha256}, want ${expected}; discard the bytes received`, {
          details: { got: sha256, want: expected, size },
        });
      }
      onVerified?.({ sha256, size });
      if (plain.length > 0) yield plain;
      return;
    }
  } finally {
    dataKey?.fill(0);
    await reader.cancel();
  }
}
