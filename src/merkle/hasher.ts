import { createHash, hash } from 'node:crypto';

/**
 * RFC 6962 §2.1 / RFC 9162 §2.1.1 hasher with domain separation:
 * leaf = SHA-256(0x00 ‖ data), node = SHA-256(0x01 ‖ left ‖ right).
 * The prefixes make a leaf impossible to pass off as an inner node (second preimage).
 */
const LEAF_PREFIX = Buffer.from([0x00]);

export const HASH_SIZE = 32;

/** A string is hashed as its UTF-8 bytes (a record's JCS text, without copying it to a buffer first). */
export function hashLeaf(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/**
 * The leaf hash of a string's UTF-8 bytes, in lower hex, in one call: the 0x00
 * prefix is the string's first code point, U+0000, one 0x00 byte in UTF-8.
 */
export function hashLeafText(text: string): string {
  return hash('sha256', `\u0000${text}`, 'hex');
}

/** Reused input buffer: one-shot `crypto.hash` over 65 bytes is ~2× faster than a Hash object. */
const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE);

export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  nodeInput[0] = 0x01;
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return hash('sha256', nodeInput, 'buffer');
}

/** MTH({}) = SHA-256() — only used to report; empty batches are refused. */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}
