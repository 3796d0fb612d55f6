import { hashLeaf } from '../merkle/hasher.js';
import { toHex, type Hex } from '../util/hex.js';
import { canonicalBytes } from './jcs.js';
import type { LiuhenRecord } from './schema.js';

/** leaf = SHA-256(0x00 ‖ JCS(record)) — RFC 6962 §2.1 leaf hash over the RFC 8785 form, `sig` included. */
export function recordLeaf(record: LiuhenRecord): Hex {
  return toHex(hashLeaf(canonicalBytes(record)));
}

/** The bytes the device signs: a domain tag, then JCS of the record without `sig`. */
export function signingBytes(record: LiuhenRecord): Uint8Array {
  const { sig: _sig, ...unsigned } = record;
  const body = canonicalBytes(unsigned);
  const tag = new TextEncoder().encode(SIGNING_TAG);
  const out = new Uint8Array(tag.length + body.length);
  out.set(tag);
  out.set(body, tag.length);
  return out;
}

/** Domain separation: a record signature can never be replayed as any other Ed25519-signed message. */
export const SIGNING_TAG = 'liuhen-record/1\n';
