/**
 * The encrypted evidence object ("LHEV", version 1). Consensus-critical: the
 * bytes below are what gets a CID and what a court re-opens years later.
 * Parse strictly; never change a field's meaning within a version.
 *
 * Object = header ‖ segment_0 ‖ … ‖ segment_{n-1}   (n ≥ 1)
 *
 * Header (all integers big-endian):
 * | offset | size | field                                                      |
 * |--------|------|------------------------------------------------------------|
 * | 0      | 4    | magic "LHEV" (4c 48 45 56)                                 |
 * | 4      | 1    | format version = 1                                         |
 * | 5      | 1    | suite = 1: AES-256-GCM, STREAM nonces, 16-byte tags        |
 * | 6      | 2    | H, total header length in bytes (this table, all of it)    |
 * | 8      | 4    | S, plaintext bytes per segment (1 KiB ≤ S ≤ 16 MiB)        |
 * | 12     | 7    | nonce prefix P (random per object)                         |
 * | 19     | 1    | La, agency length (1..31)                                  |
 * | 20     | La   | agency code (printable ASCII)                              |
 * | …      | 1    | Lk, key id length (1..255)                                 |
 * | …      | Lk   | key id of the KEK (printable ASCII)                        |
 * | …      | 2    | Lw, wrapped data key length (1..1024)                      |
 * | …      | Lw   | data key wrapped by the KEK (wrapper-specific bytes)       |
 *
 * Segment i = AES-256-GCM(dataKey, nonce_i, aad, plaintext_i) ‖ tag_i (16 bytes).
 * Every segment but the last holds exactly S plaintext bytes; the last holds
 * 0..S (an empty file is one empty last segment: its 16-byte tag alone).
 *
 * nonce_i = P (7 bytes) ‖ uint32(i) ‖ last (0x01 for the final segment, else 0x00)
 *   — the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár
 *   ("Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
 *   CRYPTO 2015), with Tink's 7+4+1 layout. Reordering changes i, dropping the
 *   tail leaves a segment whose `last` byte is wrong: both fail the tag.
 *
 * aad (every segment) = SHA-256("liuhen/evidence/v1/segment" ‖ 0x00 ‖ len8(recordId) ‖ recordId ‖ header)
 *   — binds the record id and every header byte (wrapped key included).
 *
 * The data key is wrapped with
 * wrapAad = "liuhen/evidence/v1/dek" ‖ 0x00 ‖ len8(recordId) ‖ recordId ‖ version ‖ suite ‖ S ‖ P ‖ len8(agency) ‖ agency ‖ len8(keyId) ‖ keyId
 *   — so a data key only unwraps for the record it was made for.
 */
import { createHash } from 'node:crypto';
import { fail } from '../errors.js';
import type { ByteReader } from './bytes.js';
import { MAX_AGENCY_BYTES, MAX_KEY_ID_BYTES } from './validate.js';

export const MAGIC = Buffer.from('LHEV', 'latin1');
export const FORMAT_VERSION = 1;
export const SUITE_AES256GCM_STREAM = 1;
export const TAG_BYTES = 16;
export const NONCE_PREFIX_BYTES = 7;
export const DATA_KEY_BYTES = 32;
export const MIN_SEGMENT_SIZE = 1024;
export const MAX_SEGMENT_SIZE = 16 * 1024 * 1024;
/** Default plaintext segment: 64 KiB (0.02 % tag overhead, 64 KiB held back at most). */
export const DEFAULT_SEGMENT_SIZE = 64 * 1024;
export const MAX_WRAPPED_KEY_BYTES = 1024;
/** Segment indexes are 32-bit: at most 2^32 segments per object. */
export const MAX_SEGMENTS = 2 ** 32;

const FIXED_BYTES = 8 + 4 + NONCE_PREFIX_BYTES + 1 + 1 + 2; // 23 + La + Lk + Lw
export const MAX_HEADER_BYTES = FIXED_BYTES + MAX_AGENCY_BYTES + MAX_KEY_ID_BYTES + MAX_WRAPPED_KEY_BYTES;

const PRINTABLE = /^[\x21-\x7e]+$/;

export interface ObjectHeader {
  version: number;
  suite: number;
  segmentSize: number;
  noncePrefix: Uint8Array;
  agency: string;
  keyId: string;
  wrappedKey: Uint8Array;
}

/** Serialise a header. Requires fields already validated by the caller. */
export function encodeHeader(h: ObjectHeader): Buffer {
  const agency = Buffer.from(h.agency, 'latin1');
  const keyId = Buffer.from(h.keyId, 'latin1');
  const size = FIXED_BYTES + agency.length + keyId.length + h.wrappedKey.byteLength;
  if (h.wrappedKey.byteLength < 1 || h.wrappedKey.byteLength > MAX_WRAPPED_KEY_BYTES) {
    fail('STORE_KEY', `wrapped data key must be 1..${MAX_WRAPPED_KEY_BYTES} bytes, got ${h.wrappedKey.byteLength}`);
  }
  const b = Buffer.alloc(size);
  let o = 0;
  MAGIC.copy(b, o);
  o += 4;
  b[o++] = h.version;
  b[o++] = h.suite;
  b.writeUInt16BE(size, o);
  o += 2;
  b.writeUInt32BE(h.segmentSize, o);
  o += 4;
  b.set(h.noncePrefix, o);
  o += NONCE_PREFIX_BYTES;
  b[o++] = agency.length;
  agency.copy(b, o);
  o += agency.length;
  b[o++] = keyId.length;
  keyId.copy(b, o);
  o += keyId.length;
  b.writeUInt16BE(h.wrappedKey.byteLength, o);
  o += 2;
  b.set(h.wrappedKey, o);
  o += h.wrappedKey.byteLength;
  return b;
}

function corrupt(message: string, details?: Record<string, unknown>): never {
  fail('STORE_INTEGRITY', `evidence object header: ${message}`, details ? { details } : undefined);
}

/**
 * Strict parse of a complete header buffer (exactly H bytes). Hostile input:
 * the stored object. Every length is checked before it is used.
 */
export function parseHeader(b: Buffer): ObjectHeader {
  if (b.length < FIXED_BYTES) corrupt('truncated');
  if (!b.subarray(0, 4).equals(MAGIC)) corrupt('not an LHEV evidence object (bad magic)');
  const version = b[4]!;
  if (version !== FORMAT_VERSION) corrupt(`unsupported format version ${version}, want ${FORMAT_VERSION}`, { version });
  const suite = b[5]!;
  if (suite !== SUITE_AES256GCM_STREAM) corrupt(`unsupported cipher suite ${suite}`, { suite });
  const size = b.readUInt16BE(6);
  if (size !== b.length) corrupt(`length field says ${size} bytes, have ${b.length}`);
  const segmentSize = b.readUInt32BE(8);
  if (segmentSize < MIN_SEGMENT_SIZE || segmentSize > MAX_SEGMENT_SIZE) corrupt(`segment size ${segmentSize} out of range`);
  let o = 12;
  const noncePrefix = new Uint8Array(b.subarray(o, o + NONCE_PREFIX_BYTES));
  o += NONCE_PREFIX_BYTES;
  const la = b[o++]!;
  if (la < 1 || la > MAX_AGENCY_BYTES || o + la + 1 > size) corrupt('bad agency length');
  const agency = b.toString('latin1', o, o + la);
  o += la;
  const lk = b[o++]!;
  if (lk < 1 || o + lk + 2 > size) corrupt('bad key id length');
  const keyId = b.toString('latin1', o, o + lk);
  o += lk;
  const lw = b.readUInt16BE(o);
  o += 2;
  if (lw < 1 || lw > MAX_WRAPPED_KEY_BYTES || o + lw !== size) corrupt('bad wrapped key length');
  const wrappedKey = new Uint8Array(b.subarray(o, o + lw));
  if (!PRINTABLE.test(agency) || !PRINTABLE.test(keyId) || keyId.length > MAX_KEY_ID_BYTES) corrupt('agency or key id is not printable ASCII');
  return { version, suite, segmentSize, noncePrefix, agency, keyId, wrappedKey };
}

/** Read and parse the header at the front of an object. Returns the header and its exact bytes. */
export async function readHeader(reader: ByteReader): Promise<{ header: ObjectHeader; bytes: Buffer }> {
  if ((await reader.fill(8)) < 8) corrupt('truncated (object shorter than a header)');
  const peek = reader.take(8);
  if (!peek.subarray(0, 4).equals(MAGIC)) corrupt('not an LHEV evidence object (bad magic)');
  const size = peek.readUInt16BE(6);
  if (size < FIXED_BYTES || size > MAX_HEADER_BYTES) corrupt(`header length ${size} out of range`);
  if ((await reader.fill(size - 8)) < size - 8) corrupt('truncated header');
  const bytes = Buffer.concat([peek, reader.take(size - 8)]);
  return { header: parseHeader(bytes), bytes };
}

function lp8(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

/** nonce_i = P ‖ uint32be(i) ‖ last. Requires 0 ≤ i < 2^32. */
export function segmentNonce(prefix: Uint8Array, index: number, last: boolean): Buffer {
  const n = Buffer.allocUnsafe(12);
  n.set(prefix, 0);
  n.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  n[11] = last ? 1 : 0;
  return n;
}

/** The associated data of every segment of an object (see the file comment). */
export function segmentAad(recordId: string, headerBytes: Uint8Array): Buffer {
  return createHash('sha256').update('liuhen/evidence/v1/segment\0', 'latin1').update(lp8(recordId)).update(headerBytes).digest();
}

/** The associated data the data key is wrapped with (see the file comment). */
export function wrapAad(recordId: string, h: Omit<ObjectHeader, 'wrappedKey'>): Buffer {
  const fixed = Buffer.alloc(6);
  fixed[0] = h.version;
  fixed[1] = h.suite;
  fixed.writeUInt32BE(h.segmentSize, 2);
  return Buffer.concat([Buffer.from('liuhen/evidence/v1/dek\0', 'latin1'), lp8(recordId), fixed, Buffer.from(h.noncePrefix), lp8(h.agency), lp8(h.keyId)]);
}

/** Bytes an object of `plaintextSize` occupies with a header of `headerSize` bytes. */
export function storedSizeOf(plaintextSize: number, segmentSize: number, headerSize: number): number {
  const segments = Math.max(1, Math.ceil(plaintextSize / segmentSize));
  return headerSize + plaintextSize + segments * TAG_BYTES;
}
