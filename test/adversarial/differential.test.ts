/**
 * Differential checks where two implementations exist (issue 9):
 * - the SDK's RFC 9162 §2.1.3.2 inclusion verifier (src/merkle/verify.ts)
 *   against the registry's Solidity `verifyInclusion`, on random trees with
 *   random valid and mutated proofs and on random garbage (fast-check, the
 *   Hardhat in-process network): they must agree on every input;
 * - the SDK's RFC 8785 JCS (src/record/jcs.ts) against the `canonicalize`
 *   package on random JSON: identical output wherever the SDK accepts the
 *   value (it refuses, by design, lone surrogates — I-JSON, RFC 7493 §2.1).
 */
import { createHash } from 'node:crypto';
import canonicalizeReference from 'canonicalize';
import type { Contract } from 'ethers';
import fc from 'fast-check';
import hre from 'hardhat';
import { beforeAll, describe, expect, test } from 'vitest';
import { isLiuhenError } from '../../src/errors.js';
import { MerkleTree } from '../../src/merkle/tree.js';
import { verifyInclusion } from '../../src/merkle/verify.js';
import { canonicalize } from '../../src/record/jcs.js';
import { deployRegistry } from '../contract/fixtures.js';

let registry: Contract;
let address: string;

beforeAll(async () => {
  const [admin] = await hre.ethers.getSigners();
  registry = await deployRegistry(admin!);
  address = await registry.getAddress();
});

const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}`;
const leafHash = (i: number, salt: number) =>
  createHash('sha256')
    .update(Buffer.from([0]))
    .update(`leaf ${salt}/${i}`)
    .digest();

/** The SDK's answer: true, false (root mismatch), or false for a malformed proof (a coded refusal). */
function tsVerify(index: bigint, size: bigint, leaf: Uint8Array, proof: Uint8Array[], root: Uint8Array): boolean {
  try {
    verifyInclusion(index, size, leaf, proof, root);
    return true;
  } catch (e) {
    if (isLiuhenError(e)) return false;
    throw e;
  }
}

async function solVerify(index: bigint, size: bigint, leaf: Uint8Array, proof: Uint8Array[], root: Uint8Array): Promise<boolean> {
  const data = registry.interface.encodeFunctionData('verifyInclusion', [hex(root), hex(leaf), index, size, proof.map(hex)]);
  try {
    const result: string = await hre.network.provider.send('eth_call', [{ to: address, data }, 'latest']);
    return registry.interface.decodeFunctionResult('verifyInclusion', result)[0] as boolean;
  } catch {
    return false; // a revert is a refusal too
  }
}

const mutation = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('flipProof' as const), at: fc.nat(), bit: fc.nat(255) }),
  fc.record({ kind: fc.constant('index' as const), delta: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ kind: fc.constant('size' as const), delta: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ kind: fc.constant('leaf' as const), bit: fc.nat(255) }),
  fc.record({ kind: fc.constant('root' as const), bit: fc.nat(255) }),
  fc.constant({ kind: 'dropLast' as const }),
  fc.constant({ kind: 'appendOne' as const }),
);

const flip = (b: Uint8Array, bit: number) => {
  const c = Buffer.from(b);
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
};

describe('inclusion: TypeScript and Solidity agree', () => {
  test('random trees (1..300 leaves), every kind of mutation', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), mutation, async (n, seed, pick, m) => {
        const tree = MerkleTree.fromLeafHashes(Array.from({ length: n }, (_, i) => leafHash(i, seed)));
        const i = pick % n;
        let index = BigInt(i);
        let size = BigInt(n);
        let leaf: Uint8Array = tree.leaf(i);
        let proof: Uint8Array[] = tree.inclusionProof(i);
        let root: Uint8Array = tree.root;
        switch (m.kind) {
          case 'none':
            break;
          case 'flipProof':
            if (proof.length > 0) proof = proof.map((p, k) => (k === m.at % proof.length ? flip(p, m.bit) : p));
            break;
          case 'index':
            index = index + BigInt(m.delta) < 0n ? 0n : index + BigInt(m.delta);
            break;
          case 'size':
            size = size + BigInt(m.delta) < 0n ? 0n : size + BigInt(m.delta);
            break;
          case 'leaf':
            leaf = flip(leaf, m.bit);
            break;
          case 'root':
            root = flip(root, m.bit);
            break;
          case 'dropLast':
            proof = proof.slice(0, -1);
            break;
          case 'appendOne':
            proof = [...proof, leafHash(0, seed + 1)];
            break;
        }
        const ts = tsVerify(index, size, leaf, proof, root);
        const sol = await solVerify(index, size, leaf, proof, root);
        expect(sol, `n=${n} i=${i} ${JSON.stringify(m)}`).toBe(ts);
        if (m.kind === 'none') expect(ts).toBe(true);
      }),
      { numRuns: 300 },
    );
  }, 300_000);

  test('random garbage (index, size, proof of any length): the same answer', async () => {
    const h32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        h32,
        fc.array(h32, { maxLength: 70 }),
        h32,
        async (index, size, leaf, proof, root) => {
          expect(await solVerify(index, size, leaf, proof, root)).toBe(tsVerify(index, size, leaf, proof, root));
        },
      ),
      { numRuns: 200 },
    );
  }, 300_000);
});

describe('JCS: the SDK and the canonicalize package agree', () => {
  const hasLoneSurrogate = (v: unknown): boolean =>
    JSON.stringify(v).match(/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i) !== null;

  test('random JSON values (full Unicode strings, doubles, deep nesting)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6, stringUnit: 'binary' }), (v) => {
        let ours: string | undefined;
        try {
          ours = canonicalize(v);
        } catch (e) {
          // The SDK refuses only what I-JSON forbids; the reference would emit it.
          expect(isLiuhenError(e), String(e)).toBe(true);
          expect(hasLoneSurrogate(v)).toBe(true);
          return;
        }
        expect(ours).toBe(canonicalizeReference(v));
      }),
      { numRuns: 2000 },
    );
  });

  test('numbers: every double serialises as the reference does (ECMAScript Number.prototype.toString)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        expect(canonicalize({ n: d })).toBe(canonicalizeReference({ n: d }));
      }),
      { numRuns: 5000 },
    );
  });
});
