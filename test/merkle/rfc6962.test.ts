import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hashLeaf, MerkleTree, rootFromInclusionProof, verifyInclusion } from '../../src/merkle/index.js';
import { hashLeafText } from '../../src/merkle/hasher.js';
import { isLiuhenError } from '../../src/errors.js';

const vectors = JSON.parse(readFileSync(new URL('../vectors/rfc6962.json', import.meta.url), 'utf8'));
const probes = JSON.parse(readFileSync(new URL('../vectors/inclusion-probes.json', import.meta.url), 'utf8')).probes as Array<{
  probe: string;
  desc: string;
  leafIndex: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[];
  wantErr: boolean;
}>;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (h: string) => Buffer.from(h.replace(/^0x/, ''), 'hex');

// Independent reference: the recursive definitions of RFC 6962 §2.1 (MTH) and §2.1.1 (PATH),
// written straight from the RFC text, sharing no code with src/merkle.
const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const k = (n: number) => {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
};
function mth(d: Buffer[]): Buffer {
  if (d.length === 1) return sha(Buffer.from([0]), d[0]!);
  const s = k(d.length);
  return sha(Buffer.from([1]), mth(d.slice(0, s)), mth(d.slice(s)));
}
function path(m: number, d: Buffer[]): Buffer[] {
  if (d.length === 1) return [];
  const s = k(d.length);
  return m < s ? [...path(m, d.slice(0, s)), mth(d.slice(s))] : [...path(m - s, d.slice(s)), mth(d.slice(0, s))];
}

describe('RFC 6962 tree heads', () => {
  const leaves: Buffer[] = vectors.leaves_hex.map((h: string) => Buffer.from(h, 'hex'));
  for (let n = 1; n <= 8; n++) {
    it(`root of the first ${n} CT test leaves`, () => {
      const tree = MerkleTree.fromLeafHashes(leaves.slice(0, n).map(hashLeaf));
      expect(hex(tree.root)).toBe(vectors.roots[String(n)]);
    });
  }
  it('refuses an empty batch', () => {
    expect(() => MerkleTree.fromLeafHashes([])).toThrow(expect.objectContaining({ code: 'MERKLE_EMPTY_TREE' }));
  });
});

describe('transparency-dev inclusion probes', () => {
  it('has the 98 probes', () => expect(probes.length).toBe(98));
  for (const p of probes) {
    it(`${p.probe}: ${p.wantErr ? 'rejects' : 'accepts'}`, () => {
      const run = () => verifyInclusion(p.leafIndex, p.treeSize, unhex(p.leafHash), p.proof.map(unhex), unhex(p.root));
      if (p.wantErr) {
        let err: unknown;
        try {
          run();
        } catch (e) {
          err = e;
        }
        expect(isLiuhenError(err), `probe ${p.probe} must fail with a coded error`).toBe(true);
      } else {
        expect(run).not.toThrow();
      }
    });
  }
});

describe('every inclusion proof up to size 70 against the RFC 6962 reference', () => {
  const data = Array.from({ length: 70 }, (_, i) => Buffer.from(`record-${i}`));
  it('proofs and roots agree with the recursive definitions', () => {
    let checked = 0;
    for (let n = 1; n <= 70; n++) {
      const d = data.slice(0, n);
      const tree = MerkleTree.fromLeafHashes(d.map(hashLeaf));
      const refRoot = mth(d);
      expect(hex(tree.root), `root n=${n}`).toBe(hex(refRoot));
      for (let m = 0; m < n; m++) {
        const proof = tree.inclusionProof(m);
        expect(proof.map(hex), `path m=${m} n=${n}`).toEqual(path(m, d).map(hex));
        expect(hex(rootFromInclusionProof(m, n, hashLeaf(d[m]!), proof))).toBe(hex(refRoot));
        // The same proof must not verify at a neighbouring index. (A neighbouring size can
        // legitimately give the same root, e.g. index 0 of sizes 3 and 4; receipts bind the
        // size through the batch, which the anchor check compares with the chain.)
        for (const mi of [m - 1, m + 1]) {
          if (mi < 0 || mi >= n) continue;
          expect(() => verifyInclusion(mi, n, hashLeaf(d[m]!), proof, refRoot), `m=${mi} n=${n}`).toThrow();
        }
        checked++;
      }
    }
    expect(checked).toBe((70 * 71) / 2);
  });
});

describe('preconditions', () => {
  const tree = MerkleTree.fromLeafHashes([1, 2, 3, 4, 5].map((i) => hashLeaf(Buffer.from([i]))));
  it('index out of range', () => {
    expect(() => tree.inclusionProof(5)).toThrow(expect.objectContaining({ code: 'MERKLE_INDEX_OUT_OF_RANGE' }));
    expect(() => verifyInclusion(5, 5, tree.leaf(0), [], tree.root)).toThrow(/index is beyond size: 5 >= 5/);
  });
  it('wrong proof size names both numbers', () => {
    expect(() => verifyInclusion(0, 5, tree.leaf(0), tree.inclusionProof(0).slice(1), tree.root)).toThrow(/wrong proof size 2, want 3/);
  });
  it('root mismatch carries both roots', () => {
    const proof = tree.inclusionProof(1);
    proof[0] = Buffer.alloc(32, 7);
    try {
      verifyInclusion(1, 5, tree.leaf(1), proof, tree.root);
      expect.unreachable();
    } catch (e) {
      expect(isLiuhenError(e, 'MERKLE_ROOT_MISMATCH')).toBe(true);
      expect((e as any).details.expected).toBe(`0x${hex(tree.root)}`);
    }
  });
});

describe('the leaf hash of a string (hashLeafText, the journal’s one-call form)', () => {
  it('equals hashLeaf of its UTF-8 bytes, for ASCII, CJK, astral characters and an embedded U+0000', () => {
    for (const text of ['', '{"a":1}', '济南城管〔2026〕12号', 'cam 😀', 'a\u0000b']) {
      expect(hashLeafText(text)).toBe(hashLeaf(new TextEncoder().encode(text)).toString('hex'));
    }
  });
});
