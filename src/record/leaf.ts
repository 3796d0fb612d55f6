import { hashLeafText } from '../merkle/hasher.js';
import type { Hex } from '../util/hex.js';
import { canonicalize } from './jcs.js';
import type { LiuhenRecord } from './schema.js';

/** leaf = SHA-256(0x00 ‖ JCS(record)) — RFC 6962 §2.1 leaf hash over the RFC 8785 form, `sig` included. */
export function recordLeaf(record: LiuhenRecord): Hex {
  return leafOfCanonical(canonicalize(record));
}

/** The leaf of a record given its JCS text (when the caller has it already). */
export function leafOfCanonical(canonical: string): Hex {
  return `0x${hashLeafText(canonical)}`;
}

/** The bytes the device signs: a domain tag, then JCS of the record without `sig`. */
export function signingBytes(record: LiuhenRecord): Uint8Array {
  const { sig: _sig, ...unsigned } = record;
  return signingBytesOfCanonical(canonicalize(unsigned));
}

/** The signed bytes given the JCS text of the record without `sig`. */
export function signingBytesOfCanonical(canonicalUnsigned: string): Uint8Array {
  return utf8.encode(SIGNING_TAG + canonicalUnsigned);
}

/** Domain separation: a record signature can never be replayed as any other Ed25519-signed message. */
export const SIGNING_TAG = 'liuhen-record/1\n';

const utf8 = new TextEncoder();
