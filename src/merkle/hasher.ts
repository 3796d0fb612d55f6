import { createHash } from 'node:crypto';

/**
 * RFC 6962 §2.1 / RFC 9162 §2.1.1 hasher with domain separation:
 * leaf = SHA-256(0x00 ‖ data), node = SHA-256(0x01 ‖ left ‖ right).
 * The prefixes make a leaf impossible to pass off as an inner node (second preimage).
 */
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

export const HASH_SIZE = 32;

export function hashLeaf(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** MTH({}) = SHA-256() — only used to report; empty batches are refused. */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}
