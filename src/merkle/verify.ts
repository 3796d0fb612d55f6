import { fail, LiuhenError } from '../errors.js';
import { hashChildren, HASH_SIZE } from './hasher.js';
import { equalBytes, toHex } from '../util/hex.js';

/**
 * RFC 9162 §2.1.3.2 inclusion verification, in transparency-dev/merkle's
 * vocabulary (decompInclProof, chainInner, chainInnerRight, chainBorderRight).
 * Everything here takes untrusted input: index and size are checked first.
 */

/** Splits the proof into the inner part (below the point where index and size-1 paths diverge) and the border. */
export function decompInclProof(index: bigint, size: bigint): { inner: number; border: number } {
  const inner = bitLength(index ^ (size - 1n));
  const border = popCount(index >> BigInt(inner));
  return { inner, border };
}

/**
 * Root implied by `leafHash` at `index` in a tree of `size` with audit path `proof`.
 * Requires 0 <= index < size and proof.length == inner + border; errors say which precondition failed.
 */
export function rootFromInclusionProof(index: number | bigint, size: number | bigint, leafHash: Uint8Array, proof: readonly Uint8Array[]): Buffer {
  const idx = BigInt(index);
  const sz = BigInt(size);
  if (sz <= 0n || idx < 0n || idx >= sz) {
    fail('MERKLE_INDEX_OUT_OF_RANGE', `index is beyond size: ${idx} >= ${sz}`);
  }
  if (leafHash.length !== HASH_SIZE) fail('INVALID_INPUT', `leaf hash is ${leafHash.length} bytes, want ${HASH_SIZE}`);
  const { inner, border } = decompInclProof(idx, sz);
  if (proof.length !== inner + border) {
    fail('MERKLE_WRONG_PROOF_SIZE', `wrong proof size ${proof.length}, want ${inner + border}`);
  }
  for (const [i, p] of proof.entries()) {
    if (p.length !== HASH_SIZE) fail('MERKLE_WRONG_PROOF_SIZE', `proof element ${i} is ${p.length} bytes, want ${HASH_SIZE}`);
  }
  let res = chainInner(Buffer.from(leafHash), proof.slice(0, inner), idx);
  res = chainBorderRight(res, proof.slice(inner));
  return res;
}

/** Throws MERKLE_ROOT_MISMATCH (carrying both roots) unless the proof leads to `root`. */
export function verifyInclusion(index: number | bigint, size: number | bigint, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  const calculated = rootFromInclusionProof(index, size, leafHash, proof);
  if (!equalBytes(calculated, root)) {
    throw new LiuhenError('MERKLE_ROOT_MISMATCH', `calculated root ${toHex(calculated)} does not match expected root ${toHex(root)}`, {
      details: { calculated: toHex(calculated), expected: toHex(root) },
    });
  }
}

/** Hashes along the inner part: the side of each sibling is given by the bits of index. */
function chainInner(seed: Buffer, proof: readonly Uint8Array[], index: bigint): Buffer {
  let acc = seed;
  proof.forEach((h, i) => {
    acc = ((index >> BigInt(i)) & 1n) === 0n ? hashChildren(acc, h) : hashChildren(h, acc);
  });
  return acc;
}

/** The border: every remaining sibling lies to the left (the right border of the tree). */
function chainBorderRight(seed: Buffer, proof: readonly Uint8Array[]): Buffer {
  let acc = seed;
  for (const h of proof) acc = hashChildren(h, acc);
  return acc;
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

function popCount(x: bigint): number {
  let n = 0;
  for (let v = x; v > 0n; v >>= 1n) n += Number(v & 1n);
  return n;
}
