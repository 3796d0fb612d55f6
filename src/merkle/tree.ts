import { fail } from '../errors.js';
import { hash } from 'node:crypto';
import { HASH_SIZE } from './hasher.js';

const NODE_INPUT = Buffer.alloc(1 + 2 * HASH_SIZE, 0x01);

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
  private wordViews: Uint32Array[] | undefined;

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
        // node = SHA-256(0x01 ‖ left ‖ right); left and right are adjacent in the level buffer.
        level.copy(NODE_INPUT, 1, i * HASH_SIZE, (i + 2) * HASH_SIZE);
        // As a 'binary' (latin1) string, one char per byte, rather than a Buffer: a Buffer per node was
        // most of a node's cost (1.4 → 0.6 µs; a million-leaf tree's root 1.9 → ~0.8 s).
        next.write(hash('sha256', NODE_INPUT, 'binary'), j * HASH_SIZE, HASH_SIZE, 'latin1');
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
   * The hashes are read-only views into the tree (no copies: a million proofs
   * would otherwise mean twenty million allocations).
   */
  inclusionProof(index: number): Buffer[] {
    this.checkIndex(index);
    const path: Buffer[] = [];
    let i = index;
    let n = this.size;
    for (let d = 0; d < this.levels.length - 1; d++) {
      const sibling = i ^ 1;
      if (sibling < n) {
        path.push(this.levels[d]!.subarray(sibling * HASH_SIZE, (sibling + 1) * HASH_SIZE));
      }
      i >>= 1;
      n = (n + 1) >> 1;
    }
    return path;
  }

  /**
   * The same proof as `inclusionProof`, packed into one buffer of 32-byte
   * hashes: one allocation per proof, for bulk work (all receipts of a batch).
   */
  inclusionProofPacked(index: number): Buffer {
    this.checkIndex(index);
    const words = this.words;
    let len = 0;
    for (let d = 0, i = index, n = this.size; d < words.length - 1; d++, i >>= 1, n = (n + 1) >> 1) if ((i ^ 1) < n) len++;
    const out = Buffer.allocUnsafe(len * HASH_SIZE);
    const o = new Uint32Array(out.buffer, out.byteOffset, len * 8);
    let k = 0;
    // Word-by-word copies in JS: no native call per hash (20 per proof, 20 million for a 1M batch).
    for (let d = 0, i = index, n = this.size; d < words.length - 1; d++, i >>= 1, n = (n + 1) >> 1) {
      const sibling = i ^ 1;
      if (sibling >= n) continue;
      const w = words[d]!;
      for (let x = 0, from = sibling * 8; x < 8; x++) o[k++] = w[from + x]!;
    }
    return out;
  }

  /** The levels as 32-bit word views, for word-wise copies (built lazily). */
  private get words(): Uint32Array[] {
    return (this.wordViews ??= this.levels.map((l) => {
      // Buffers from the pool may be unaligned; copy those once into an aligned buffer.
      const aligned = l.byteOffset % 4 === 0 ? l : Buffer.from(l);
      return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.length / 4);
    }));
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
