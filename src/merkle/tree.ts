import { fail } from '../errors.js';
import { hashChildren, HASH_SIZE } from './hasher.js';

/** Largest batch a tree accepts; bounds every inclusion proof to ⌈log₂ MAX_TREE_SIZE⌉ = 20 hashes. */
export const MAX_TREE_SIZE = 1 << 20;
export const MAX_PROOF_LENGTH = 20;

/**
 * An RFC 6962 Merkle tree over leaf hashes, built level by level: each level
 * pairs nodes left to right and promotes an odd last node unchanged (never
 * duplicated), which yields exactly MTH of RFC 6962 §2.1 (split at the largest
 * power of two below n). All levels are kept so that every inclusion proof is
 * a walk of ⌈log₂ n⌉ lookups.
 */
export class MerkleTree {
  /** levels[0] = leaf hashes; levels[last] = [root]. Each level is one contiguous buffer. */
  private readonly levels: Buffer[];
  readonly size: number;

  private constructor(levels: Buffer[], size: number) {
    this.levels = levels;
    this.size = size;
  }

  /** Requires 1 <= leaves.length <= MAX_TREE_SIZE and 32-byte leaf hashes. */
  static fromLeafHashes(leaves: readonly Uint8Array[] | Buffer): MerkleTree {
    const packed = Buffer.isBuffer(leaves) ? leaves : packLeaves(leaves);
    if (packed.length % HASH_SIZE !== 0) fail('INVALID_INPUT', `leaf hashes must be ${HASH_SIZE} bytes each`);
    const size = packed.length / HASH_SIZE;
    if (size === 0) fail('MERKLE_EMPTY_TREE', 'a batch needs at least one record; empty batches are refused');
    if (size > MAX_TREE_SIZE) fail('MERKLE_TREE_TOO_LARGE', `tree size ${size} exceeds the maximum ${MAX_TREE_SIZE}`);
    const levels = [packed];
    let level = packed;
    let n = size;
    while (n > 1) {
      const next = Buffer.allocUnsafe(Math.ceil(n / 2) * HASH_SIZE);
      let j = 0;
      for (let i = 0; i + 1 < n; i += 2, j++) {
        hashChildren(level.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE), level.subarray((i + 1) * HASH_SIZE, (i + 2) * HASH_SIZE)).copy(next, j * HASH_SIZE);
      }
      if (n % 2 === 1) level.copy(next, j * HASH_SIZE, (n - 1) * HASH_SIZE, n * HASH_SIZE);
      levels.push(next);
      level = next;
      n = Math.ceil(n / 2);
    }
    return new MerkleTree(levels, size);
  }

  get root(): Buffer {
    return Buffer.from(this.levels[this.levels.length - 1]!.subarray(0, HASH_SIZE));
  }

  leaf(index: number): Buffer {
    this.checkIndex(index);
    return Buffer.from(this.levels[0]!.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE));
  }

  /**
   * Inclusion proof (audit path) for leaf `index`, RFC 9162 §2.1.3.1, ordered
   * from the leaf up. Requires 0 <= index < size. In the level-by-level view,
   * a node without a right sibling is promoted and contributes nothing.
   */
  inclusionProof(index: number): Buffer[] {
    this.checkIndex(index);
    const path: Buffer[] = [];
    let i = index;
    let n = this.size;
    for (let d = 0; d < this.levels.length - 1; d++) {
      const sibling = i ^ 1;
      if (sibling < n) {
        path.push(Buffer.from(this.levels[d]!.subarray(sibling * HASH_SIZE, (sibling + 1) * HASH_SIZE)));
      }
      i >>= 1;
      n = Math.ceil(n / 2);
    }
    return path;
  }

  private checkIndex(index: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) {
      fail('MERKLE_INDEX_OUT_OF_RANGE', `index ${index} out of range for tree size ${this.size}`);
    }
  }
}

function packLeaves(leaves: readonly Uint8Array[]): Buffer {
  const out = Buffer.allocUnsafe(leaves.length * HASH_SIZE);
  leaves.forEach((leaf, i) => {
    if (leaf.length !== HASH_SIZE) fail('INVALID_INPUT', `leaf hash ${i} is ${leaf.length} bytes, want ${HASH_SIZE}`);
    out.set(leaf, i * HASH_SIZE);
  });
  return out;
}
