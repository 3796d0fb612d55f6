/**
 * EvidenceRegistry.verifyInclusion: RFC 9162 §2.1.3.2 over SHA-256 (RFC 6962 hashing).
 *
 * 1. Every transparency-dev/merkle inclusion probe (test/vectors/inclusion-probes.json):
 *    true exactly where `wantErr` is false.
 * 2. Trees of 1..20 leaves built by an independent reference below (RFC 6962 §2.1
 *    MTH and §2.1.1 PATH, recursive, no shared code with the SDK): every index
 *    verifies, and every mutation of proof, leaf, index or root does not.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import hre from 'hardhat';
import type { Contract } from 'ethers';
import { deployRegistry } from './fixtures.js';

interface Probe {
  probe: string;
  desc: string;
  leafIndex: bigint;
  treeSize: bigint;
  root: string;
  leafHash: string;
  proof: string[];
  wantErr: boolean;
}

/** Parses the probes keeping leafIndex/treeSize exact (one probe uses 2^64 - 1, beyond a double). */
function loadProbes(): Probe[] {
  const text = readFileSync(new URL('../vectors/inclusion-probes.json', import.meta.url), 'utf8');
  const exact = text.replace(/"(leafIndex|treeSize)":\s*(\d+)/g, '"$1":"$2"');
  const raw = JSON.parse(exact) as { probes: Array<Omit<Probe, 'leafIndex' | 'treeSize'> & { leafIndex: string; treeSize: string }> };
  return raw.probes.map((p) => ({ ...p, leafIndex: BigInt(p.leafIndex), treeSize: BigInt(p.treeSize) }));
}

// ─── Independent RFC 6962 reference ──────────────────────────────────────────

function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}
const leafHash = (data: Buffer): Buffer => sha256(Buffer.from([0x00]), data);
const nodeHash = (left: Buffer, right: Buffer): Buffer => sha256(Buffer.from([0x01]), left, right);

/** Largest power of two strictly below n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes, RFC 6962 §2.1 (n >= 1). */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0];
  const k = split(leaves.length);
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** PATH(m, D[n]), RFC 6962 §2.1.1: siblings from the leaf up. */
function path(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return m < k ? [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))] : [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

const hex = (b: Buffer): string => `0x${b.toString('hex')}`;
const flip = (h: string, bit: number): string => {
  const b = Buffer.from(h.slice(2), 'hex');
  b[bit >> 3] ^= 1 << (bit & 7);
  return hex(b);
};

let registry: Contract;
let registryAddress: string;

/** `verifyInclusion` through a bare `eth_call`, without the Contract wrapper's per-call overhead. */
async function verifyRaw(r: string, leaf: string, index: number | bigint, size: number | bigint, proof: string[]): Promise<boolean> {
  const data = registry.interface.encodeFunctionData('verifyInclusion', [r, leaf, index, size, proof]);
  const result: string = await hre.network.provider.send('eth_call', [{ to: registryAddress, data }, 'latest']);
  return registry.interface.decodeFunctionResult('verifyInclusion', result)[0] as boolean;
}

beforeAll(async () => {
  const [admin] = await hre.ethers.getSigners();
  registry = await deployRegistry(admin);
  registryAddress = await registry.getAddress();
});

describe('reference sanity', () => {
  test('the reference reproduces the RFC 6962 test vector roots', () => {
    const vectors = JSON.parse(readFileSync(new URL('../vectors/rfc6962.json', import.meta.url), 'utf8')) as {
      leaves_hex: string[];
      roots: Record<string, string>;
    };
    const leaves = vectors.leaves_hex.map((h) => leafHash(Buffer.from(h, 'hex')));
    for (const [n, want] of Object.entries(vectors.roots)) {
      expect(mth(leaves.slice(0, Number(n))).toString('hex')).toBe(want);
    }
  });
});

describe('transparency-dev inclusion probes', () => {
  const probes = loadProbes();

  test('the vector file holds the 98 probes, 6 of them valid', () => {
    expect(probes.length).toBe(98);
    expect(probes.filter((p) => !p.wantErr).length).toBe(6);
  });

  /** Hashes of another length than 32 bytes cannot be passed as `bytes32`: such probes fail at ABI encoding. */
  const representable = (p: Probe): boolean => [p.root, p.leafHash, ...p.proof].every((h) => h.length === 66);

  test('probes with hashes of another length than 32 bytes all want an error and cannot be ABI-encoded', () => {
    const odd = probes.filter((p) => !representable(p));
    expect(odd.length).toBeGreaterThan(0);
    for (const p of odd) {
      expect(p.wantErr).toBe(true);
      expect(() => registry.interface.encodeFunctionData('verifyInclusion', [p.root, p.leafHash, p.leafIndex, p.treeSize, p.proof])).toThrow(
        /incorrect data length/,
      );
    }
  });

  test.each(probes.filter(representable).map((p) => [p.probe, p] as const))('%s', async (_name, p) => {
    const ok: boolean = await registry.verifyInclusion(p.root, p.leafHash, p.leafIndex, p.treeSize, p.proof);
    expect(ok).toBe(!p.wantErr);
  });
});

describe('trees of 1..20 leaves from the reference', () => {
  const trees = Array.from({ length: 20 }, (_, i) => {
    const n = i + 1;
    const leaves = Array.from({ length: n }, (_, j) => leafHash(Buffer.from(`liuhen record ${n}/${j}`)));
    return { n, leaves, root: hex(mth(leaves)) };
  });

  test.each(trees.map((t) => [t.n, t] as const))('size %i: every index verifies, every mutation fails', async (_n, t) => {
    const { n, leaves, root } = t;
    const calls: Array<Promise<boolean>> = [];
    const want: boolean[] = [];
    const check = (r: string, leaf: string, index: number | bigint, size: number | bigint, proof: string[], expected: boolean): void => {
      calls.push(verifyRaw(r, leaf, index, size, proof));
      want.push(expected);
    };
    for (let m = 0; m < n; m++) {
      const leaf = hex(leaves[m]);
      const proof = path(m, leaves).map(hex);
      check(root, leaf, m, n, proof, true);
      // Mutated proof: one element (rotating with the index) with a bit flipped, an element dropped, added,
      // or the first two swapped.
      if (proof.length > 0) {
        const i = m % proof.length;
        check(
          root,
          leaf,
          m,
          n,
          proof.map((p, j) => (j === i ? flip(p, (m * 7 + n) % 256) : p)),
          false,
        );
      }
      if (proof.length > 0) {
        check(root, leaf, m, n, proof.slice(0, -1), false);
        check(root, leaf, m, n, proof.slice(1), false);
      }
      check(root, leaf, m, n, [...proof, root], false);
      check(root, leaf, m, n, [leaf, ...proof], false);
      if (proof.length > 1) check(root, leaf, m, n, [proof[1], proof[0], ...proof.slice(2)], false);
      // Wrong leaf, root or index; index out of range.
      check(root, flip(leaf, 0), m, n, proof, false);
      check(flip(root, 255), leaf, m, n, proof, false);
      if (m + 1 < n) check(root, leaf, m + 1, n, proof, false);
      if (m > 0) check(root, leaf, m - 1, n, proof, false);
      check(root, leaf, n, n, proof, false);
      check(root, leaf, 2n ** 256n - 1n, n, proof, false);
    }
    // The empty tree and a size of zero never verify.
    check(root, hex(leaves[0]), 0, 0, [], false);
    const results = await Promise.all(calls);
    expect(results).toEqual(want);
  });

  test('a proof against the root of a neighbouring size with the same path shape fails', async () => {
    // Leaf 0 of an 8-leaf tree against the 7-leaf root with size 7 (same path shape for index 0).
    const t7 = trees[6];
    const t8 = trees[7];
    const p8 = path(0, t8.leaves).map(hex);
    expect(await registry.verifyInclusion(t7.root, hex(t8.leaves[0]), 0, 7, p8)).toBe(false);
  });

  test('large trees: the last leaf of 2^64 - 1 and leaf 0 of 2^64 leaves', async () => {
    // Build a path through a huge, sparse tree: siblings are arbitrary hashes; the root is recomputed by the reference rule.
    const leaf = leafHash(Buffer.from('big'));
    const siblings = Array.from({ length: 64 }, (_, i) => leafHash(Buffer.from(`s${i}`)));
    // Leaf 0 of a 2^64 tree: 64 right siblings.
    let r = leaf;
    for (const s of siblings) r = nodeHash(r, s);
    expect(await registry.verifyInclusion(hex(r), hex(leaf), 0n, 2n ** 64n, siblings.map(hex))).toBe(true);
    // The size is an input, not proven by the path: 2^64 - 1 leaves have the same path shape for index 0 and
    // verify too (the registry binds the size to the root at anchoring); 2^63 leaves do not.
    expect(await registry.verifyInclusion(hex(r), hex(leaf), 0n, 2n ** 64n - 1n, siblings.map(hex))).toBe(true);
    expect(await registry.verifyInclusion(hex(r), hex(leaf), 0n, 2n ** 63n, siblings.map(hex))).toBe(false);
    expect(await registry.verifyInclusion(hex(r), hex(leaf), 0n, 2n ** 64n + 1n, siblings.map(hex))).toBe(false);
    // Last leaf (index 2^64 - 2) of a 2^64 - 1 tree: 63 left siblings (complete subtrees 2^63, ..., 2).
    let q = leaf;
    for (const s of siblings.slice(0, 63)) q = nodeHash(s, q);
    expect(await registry.verifyInclusion(hex(q), hex(leaf), 2n ** 64n - 2n, 2n ** 64n - 1n, siblings.slice(0, 63).map(hex))).toBe(true);
  });
});
