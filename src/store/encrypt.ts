/**
 * One streaming pass over the plaintext: hash it (SHA-256, node:crypto) and
 * encrypt it into an LHEV object (see format.ts), in constant memory. The
 * ciphertext is pulled by the consumer, so its pace sets the pace of reading
 * the source (backpressure end to end).
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { fail, isLiuhenError } from '../errors.js';
import { byteChunks, ChunkWriter, type ByteSource } from './bytes.js';
import {
  DATA_KEY_BYTES,
  DEFAULT_SEGMENT_SIZE,
  encodeHeader,
  FORMAT_VERSION,
  MAX_SEGMENT_SIZE,
  MAX_SEGMENTS,
  MIN_SEGMENT_SIZE,
  NONCE_PREFIX_BYTES,
  segmentAad,
  segmentNonce,
  SUITE_AES256GCM_STREAM,
  TAG_BYTES,
  wrapAad,
} from './format.js';
import type { KeyWrapper } from './keys.js';
import { CHUNK_SIZE } from './unixfs.js';
import { checkAgency, checkKeyId, checkRecordId } from './validate.js';

export interface EncryptOptions {
  /** Record the evidence belongs to; bound into every segment. */
  recordId: string;
  /** The agency's active KEK. */
  wrapper: KeyWrapper;
  /** Plaintext bytes per segment. @default 65536 */
  segmentSize?: number;
  /** Size of the ciphertext chunks yielded (the IPFS chunk size lets the importer take them without copying). @default 262144 */
  chunkSize?: number;
  /** Refuse plaintext longer than this (`STORE_TOO_LARGE`). @default no limit but 2^32 segments */
  maxBytes?: number;
  /** Called with the plaintext bytes hashed and encrypted so far. */
  onProgress?: (bytesDone: number) => void;
}

export interface EncryptSummary {
  /** SHA-256 of the plaintext, lowercase hex without 0x (as `sha256sum` prints it). */
  sha256: string;
  /** Plaintext bytes. */
  size: number;
  /** Bytes of the encrypted object (header + segments). */
  storedSize: number;
  /** KEK that wrapped the data key. */
  keyId: string;
}

export interface EncryptedEvidence {
  /** The encrypted object, header first. Iterate it once. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** The plaintext digest and sizes; requires `chunks` to have been read to the end. */
  summary(): EncryptSummary;
}

export function checkSegmentSize(value: number | undefined): number {
  const s = value ?? DEFAULT_SEGMENT_SIZE;
  if (!Number.isInteger(s) || s < MIN_SEGMENT_SIZE || s > MAX_SEGMENT_SIZE) {
    fail('INVALID_INPUT', `segmentSize must be an integer in ${MIN_SEGMENT_SIZE}..${MAX_SEGMENT_SIZE}, got ${String(value)}`);
  }
  return s;
}

/** Encrypt `source` into an LHEV object under a fresh random data key wrapped by `options.wrapper`. */
export function encryptEvidence(source: ByteSource | Uint8Array, options: EncryptOptions): EncryptedEvidence {
  const recordId = checkRecordId(options.recordId);
  const segmentSize = checkSegmentSize(options.segmentSize);
  const chunkSize = options.chunkSize ?? CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) fail('INVALID_INPUT', 'chunkSize must be a positive integer');
  const maxBytes = options.maxBytes ?? Number.MAX_SAFE_INTEGER;
  const wrapper = options.wrapper;
  if (wrapper === null || typeof wrapper !== 'object' || typeof wrapper.wrap !== 'function') fail('INVALID_INPUT', 'encryptEvidence needs a key wrapper');
  checkAgency(wrapper.agency);
  checkKeyId(wrapper.keyId);
  let summary: EncryptSummary | undefined;

  async function* generate(): AsyncGenerator<Uint8Array, void, undefined> {
    const dataKey = randomBytes(DATA_KEY_BYTES);
    try {
      const noncePrefix = randomBytes(NONCE_PREFIX_BYTES);
      const fields = { version: FORMAT_VERSION, suite: SUITE_AES256GCM_STREAM, segmentSize, noncePrefix, agency: wrapper.agency, keyId: wrapper.keyId };
      let wrappedKey: Uint8Array;
      try {
        wrappedKey = await wrapper.wrap(dataKey, wrapAad(recordId, fields));
      } catch (cause) {
        if (isLiuhenError(cause)) throw cause;
        fail('STORE_KEY', `key ${wrapper.keyId} could not wrap the data key`, { details: { keyId: wrapper.keyId }, cause });
      }
      const header = encodeHeader({ ...fields, wrappedKey });
      const aad = segmentAad(recordId, header);
      const out = new ChunkWriter(chunkSize);
      const hash = createHash('sha256');
      out.write(header);
      let storedSize = header.length;
      let index = 0;
      let size = 0;

      const seal = (plain: Uint8Array, last: boolean): void => {
        if (index >= MAX_SEGMENTS) fail('STORE_TOO_LARGE', `evidence exceeds 2^32 segments of ${segmentSize} bytes`);
        const c = createCipheriv('aes-256-gcm', dataKey, segmentNonce(noncePrefix, index, last), { authTagLength: TAG_BYTES });
        c.setAAD(aad);
        out.write(c.update(plain));
        c.final();
        out.write(c.getAuthTag());
        storedSize += plain.byteLength + TAG_BYTES;
        index++;
      };

      // A full segment stays pending until more bytes arrive: only then is it known not to be the last.
      const pending = Buffer.allocUnsafe(segmentSize);
      let pendingLen = 0;
      for await (const chunk of byteChunks(source)) {
        size += chunk.byteLength;
        if (size > maxBytes) fail('STORE_TOO_LARGE', `evidence is larger than the limit of ${maxBytes} bytes`, { details: { maxBytes } });
        hash.update(chunk);
        let off = 0;
        while (off < chunk.byteLength) {
          if (pendingLen === segmentSize) {
            seal(pending, false);
            pendingLen = 0;
          } else if (pendingLen === 0 && chunk.byteLength - off > segmentSize) {
            // A whole segment with more bytes after it: seal it in place, no copy.
            seal(chunk.subarray(off, off + segmentSize), false);
            off += segmentSize;
          } else {
            const k = Math.min(segmentSize - pendingLen, chunk.byteLength - off);
            chunk.copy(pending, pendingLen, off, off + k);
            pendingLen += k;
            off += k;
          }
          for (const c of out.drain()) yield c; // hand over each full chunk at once: a huge input chunk is never doubled
        }
        options.onProgress?.(size);
      }
      seal(pending.subarray(0, pendingLen), true);
      for (const c of out.end()) yield c;
      summary = { sha256: hash.digest('hex'), size, storedSize, keyId: wrapper.keyId };
    } finally {
      dataKey.fill(0);
    }
  }

  return {
    chunks: generate(),
    summary() {
      if (summary === undefined) fail('STORE_INTEGRITY', 'the encrypted stream was not read to its end');
      return summary;
    },
  };
}
