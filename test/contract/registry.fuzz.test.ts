/**
 * Seeded random attestation sets against an independent model of the cosign
 * rules. Each step draws signers among notaries and non-notaries, an order
 * (mostly ascending, sometimes shuffled or with a duplicate), and corruptions
 * (malleated s, bad v, bad length, a signature over other batch fields,
 * dates outside the clock skew); now and then the admin changes the threshold
 * or the notary set. The contract must accept exactly the calls the model
 * accepts, fail on the first bad attestation with the model's error, emit the
 * model's events, and keep `isNotarized == (distinct co-signers >= threshold)`.
 *
 * The model recovers signers with ethers (not the contract) and applies the
 * rules in the documented order: length, low s, v, ascending order, NOTARY_ROLE,
 * not in the future, not before the anchoring.
 */
import { expect, test } from 'vitest';
import hre from 'hardhat';
import { Signature, getBytes, hexlify, recoverAddress, type Wallet } from 'ethers';
import {
  AGENCY_A,
  anchorNext,
  batchOf,
  buildFixture,
  CLOCK_SKEW,
  connect,
  digestOf,
  eventsOf,
  malleate,
  messageFor,
  mined,
  NOTARY_ROLE,
  now,
  revertOf,
  root,
  SECP256K1_N,
  signAttestation,
  wallet,
  type AttestationInput,
  type BatchAttestationMessage,
} from './fixtures.js';

/** Override with LIUHEN_FUZZ_SEED=<integer> to explore other draws. */
const SEED = Number(process.env.LIUHEN_FUZZ_SEED ?? 0x11a4e5);
const STEPS = 160;

/** mulberry32: small, seedable, good enough to draw test cases. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Corruption = 'none' | 'highS' | 'badV' | 'length' | 'otherField' | 'future' | 'beforeAnchor';

interface RootModel {
  root: string;
  anchoredAt: bigint;
  message: (attestedAt: bigint) => BatchAttestationMessage;
  attested: Map<string, bigint>;
  order: string[];
  notarizedEmitted: boolean;
}

type Outcome = { ok: true; events: Array<[string, unknown[]]> } | { ok: false; name: string; args: unknown[] };

test(`random attestation sets (seed ${SEED}, ${STEPS} steps) match the model`, async () => {
  const rand = prng(SEED);
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];

  const fx = await buildFixture();
  const { registry, agencyA, domain } = fx;
  const keys: Wallet[] = [...fx.notaries, ...fx.strangers, wallet('fuzz-extra-0'), wallet('fuzz-extra-1')];
  const notarySet = new Set(fx.notaries.map((n) => n.address));
  let threshold = 3n;
  await mined(registry.setNotaryThreshold(threshold));

  const roots: RootModel[] = [];
  for (let i = 0; i < 4; i++) {
    const r = root(`fuzz-${i}`);
    await anchorNext(registry, agencyA, r, BigInt(1 + i * 1000));
    const anchoredAt = (await batchOf(registry, r)).anchoredAt as bigint;
    const base = await messageFor(registry, r, 0n);
    roots.push({
      root: r,
      anchoredAt,
      message: (attestedAt) => ({ ...base, attestedAt }),
      attested: new Map(),
      order: [],
      notarizedEmitted: false,
    });
  }
  const asCarrier = connect(registry, fx.outsider);
  const stats = { accepted: 0, notarized: 0, rejected: new Map<string, number>() };

  for (let step = 0; step < STEPS; step++) {
    // Occasionally, governance acts.
    if (rand() < 0.06) {
      if (rand() < 0.5) {
        const wanted = BigInt(1 + int(notarySet.size));
        await mined(registry.setNotaryThreshold(wanted));
        threshold = wanted;
      } else {
        const key = pick(keys);
        if (notarySet.has(key.address)) {
          if (BigInt(notarySet.size - 1) >= threshold) {
            await mined(registry.revokeRole(NOTARY_ROLE, key.address));
            notarySet.delete(key.address);
          } else {
            const reverted = await revertOf(registry, registry.revokeRole(NOTARY_ROLE, key.address));
            expect(reverted).toEqual({
              name: 'EvidenceRegistryUnreachableNotaryThreshold',
              args: [BigInt(notarySet.size - 1), threshold],
            });
          }
        } else {
          await mined(registry.grantRole(NOTARY_ROLE, key.address));
          notarySet.add(key.address);
        }
      }
      expect(await registry.notaryCount()).toBe(BigInt(notarySet.size));
      expect(await registry.notaryThreshold()).toBe(threshold);
    }

    const target = pick(roots);
    const blockTime = (await now()) + BigInt(1 + int(5));

    // Draw the attestations: [intended signer, attestation, corruption].
    const count = 1 + int(4);
    const entries: Array<{ signer: Wallet; attestation: AttestationInput }> = [];
    for (let i = 0; i < count; i++) {
      // Distinct signers (duplicates are added on purpose below), mostly current notaries.
      const unused = keys.filter((key) => !entries.some((e) => e.signer === key));
      const unusedNotaries = unused.filter((key) => notarySet.has(key.address));
      const signer = rand() < 0.85 && unusedNotaries.length > 0 ? pick(unusedNotaries) : pick(unused);
      const corruption: Corruption = rand() < 0.9 ? 'none' : pick(['highS', 'badV', 'length', 'otherField', 'future', 'beforeAnchor'] as const);
      let attestedAt = target.anchoredAt - 200n + BigInt(int(200));
      if (corruption === 'future') attestedAt = blockTime + CLOCK_SKEW + 1n + BigInt(int(1000));
      if (corruption === 'beforeAnchor') attestedAt = target.anchoredAt - CLOCK_SKEW - 1n - BigInt(int(1000));
      let message = target.message(attestedAt);
      if (corruption === 'otherField') {
        message = pick([
          { ...message, seq: message.seq + 1n },
          { ...message, size: message.size + 1n },
          { ...message, prevRoot: root('elsewhere') },
          { ...message, agency: `0x${'42'.repeat(32)}` },
        ]);
      }
      let signature = signAttestation(signer, domain, message);
      if (corruption === 'highS') signature = malleate(signature).signature;
      if (corruption === 'badV') signature = `${signature.slice(0, -2)}${pick(['00', '01', '1d', 'ff'])}`;
      if (corruption === 'length') {
        const bytes = getBytes(signature);
        signature = rand() < 0.5 ? hexlify(bytes.slice(0, int(65))) : hexlify(new Uint8Array([...bytes, ...new Uint8Array(1 + int(3))]));
      }
      entries.push({ signer, attestation: { attestedAt, signature } });
    }
    const r = rand();
    if (r < 0.7) {
      entries.sort((a, b) => (BigInt(a.signer.address) < BigInt(b.signer.address) ? -1 : 1));
    } else if (r < 0.85) {
      for (let i = entries.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [entries[i], entries[j]] = [entries[j], entries[i]];
      }
    } else {
      entries.sort((a, b) => (BigInt(a.signer.address) < BigInt(b.signer.address) ? -1 : 1));
      const k = int(entries.length);
      entries.splice(k + 1, 0, entries[k]);
    }
    const attestations = entries.map((e) => e.attestation);

    const outcome = model(target, attestations, blockTime, notarySet, threshold);
    await hre.network.provider.send('evm_setNextBlockTimestamp', [Number(blockTime)]);
    if (outcome.ok) {
      stats.accepted++;
      const receipt = await mined(asCarrier.cosign(AGENCY_A, target.root, attestations));
      expect(BigInt((await hre.ethers.provider.getBlock(receipt.blockNumber))!.timestamp)).toBe(blockTime);
      expect(eventsOf(registry, receipt)).toEqual(outcome.events);
      stats.notarized += outcome.events.filter(([name]) => name === 'BatchNotarized').length;
    } else {
      stats.rejected.set(outcome.name, (stats.rejected.get(outcome.name) ?? 0) + 1);
      expect(await revertOf(registry, asCarrier.cosign(AGENCY_A, target.root, attestations))).toEqual({
        name: outcome.name,
        args: outcome.args,
      });
    }

    // isNotarized of every root (the threshold may have moved), the co-signer list of the one touched.
    const notarized = await Promise.all(roots.map((m) => registry.isNotarized(AGENCY_A, m.root) as Promise<boolean>));
    expect(notarized).toEqual(roots.map((m) => BigInt(m.attested.size) >= threshold));
    expect([...(await registry.cosigners(AGENCY_A, target.root))]).toEqual(target.order);
  }

  for (const m of roots) {
    for (const [notary, at] of m.attested) expect(await registry.attestedAt(AGENCY_A, m.root, notary)).toBe(at);
    expect((await batchOf(registry, m.root)).cosignerCount).toBe(BigInt(m.attested.size));
  }
  // The draw must exercise both sides and most rejection reasons.
  expect(stats.accepted).toBeGreaterThan(40);
  expect(stats.notarized).toBeGreaterThan(0);
  expect([...stats.rejected.keys()].sort()).toEqual(
    [
      'EvidenceRegistryAttestationBeforeAnchor',
      'EvidenceRegistryAttestationInFuture',
      'EvidenceRegistryDuplicateSigner',
      'EvidenceRegistryInvalidSignature',
      'EvidenceRegistryInvalidSignatureLength',
      'EvidenceRegistryInvalidSignatureS',
      'EvidenceRegistryNotNotary',
      'EvidenceRegistryUnsortedSigners',
    ].sort(),
  );

  /** The cosign rules, applied independently of the contract; updates `m` when the call is accepted. */
  function model(m: RootModel, list: AttestationInput[], blockTimestamp: bigint, notaries: Set<string>, k: bigint): Outcome {
    let previous = 0n;
    const signers: string[] = [];
    for (const [i, a] of list.entries()) {
      const index = BigInt(i);
      const bytes = getBytes(a.signature);
      if (bytes.length !== 65) return { ok: false, name: 'EvidenceRegistryInvalidSignatureLength', args: [index, BigInt(bytes.length)] };
      const s = hexlify(bytes.slice(32, 64));
      if (BigInt(s) > SECP256K1_N / 2n) return { ok: false, name: 'EvidenceRegistryInvalidSignatureS', args: [index, s] };
      const v = bytes[64];
      if (v !== 27 && v !== 28) return { ok: false, name: 'EvidenceRegistryInvalidSignature', args: [index] };
      const signer = recoverAddress(digestOf(domain, m.message(a.attestedAt)), Signature.from(a.signature));
      if (BigInt(signer) === previous) return { ok: false, name: 'EvidenceRegistryDuplicateSigner', args: [index, signer] };
      if (BigInt(signer) < previous) {
        return { ok: false, name: 'EvidenceRegistryUnsortedSigners', args: [index, signers[signers.length - 1], signer] };
      }
      previous = BigInt(signer);
      signers.push(signer);
      if (!notaries.has(signer)) return { ok: false, name: 'EvidenceRegistryNotNotary', args: [index, signer] };
      const latestAllowed = blockTimestamp + CLOCK_SKEW;
      if (a.attestedAt > latestAllowed) {
        return { ok: false, name: 'EvidenceRegistryAttestationInFuture', args: [index, a.attestedAt, latestAllowed] };
      }
      const earliestAllowed = m.anchoredAt - CLOCK_SKEW;
      if (a.attestedAt < earliestAllowed) {
        return { ok: false, name: 'EvidenceRegistryAttestationBeforeAnchor', args: [index, a.attestedAt, earliestAllowed] };
      }
    }
    const events: Array<[string, unknown[]]> = [];
    for (const [i, a] of list.entries()) {
      const signer = signers[i];
      if (m.attested.has(signer)) continue;
      m.attested.set(signer, a.attestedAt);
      m.order.push(signer);
      events.push(['BatchCosigned', [AGENCY_A, m.root, signer, a.attestedAt, a.signature]]);
      if (!m.notarizedEmitted && BigInt(m.attested.size) >= k) {
        m.notarizedEmitted = true;
        events.push(['BatchNotarized', [AGENCY_A, m.root, BigInt(m.attested.size)]]);
      }
    }
    return { ok: true, events };
  }
});
