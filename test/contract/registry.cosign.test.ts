/**
 * EvidenceRegistry.cosign: EIP-712 notary attestations, k-of-n.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import hre from 'hardhat';
import { Signature, concat, recoverAddress, type TransactionReceipt } from 'ethers';
import {
  AGENCY_A,
  anchorNext,
  attest,
  batchOf,
  buildFixture,
  byAddress,
  CLOCK_SKEW,
  connect,
  createFixture,
  digestOf,
  eventArgs,
  eventsOf,
  expectRevert,
  malleate,
  messageFor,
  mined,
  NOTARY_ROLE,
  now,
  root,
  setNextTimestamp,
  signAttestation,
  ZERO32,
  type AttestationInput,
  type Fixture,
} from './fixtures.js';

const load = createFixture(async () => {
  const fx = await buildFixture();
  // Two anchored batches of agency A; the attestations below are over the second.
  await anchorNext(fx.registry, fx.agencyA, root('first'), 7n);
  await anchorNext(fx.registry, fx.agencyA, root('second'), 9n);
  return fx;
});

const R = root('second');
let fx: Fixture;
let anchoredAt: bigint;

beforeEach(async () => {
  fx = await load();
  anchoredAt = (await batchOf(fx.registry, R)).anchoredAt as bigint;
});

/** Sends a cosign transaction from an account that is neither agency nor notary. */
function cosign(attestations: AttestationInput[], batchRoot = R): Promise<TransactionReceipt> {
  return mined(connect(fx.registry, fx.outsider).cosign(AGENCY_A, batchRoot, attestations));
}

describe('cosign: accepted', () => {
  test('attestationDigest is the EIP-712 digest of BatchAttestation over the stored batch', async () => {
    const at = anchoredAt + 5n;
    const message = await messageFor(fx.registry, R, at);
    expect(message).toEqual({ root: R, agency: AGENCY_A, seq: 2n, size: 9n, prevRoot: root('first'), attestedAt: at });
    expect(await fx.registry.attestationDigest(AGENCY_A, R, at)).toBe(digestOf(fx.domain, message));
  });

  test('3-of-5: each new co-signer is recorded and announced; BatchNotarized when the threshold is reached', async () => {
    const { registry, notaries } = fx;
    await mined(registry.setNotaryThreshold(3));
    const at = anchoredAt + 1n;
    const signers = notaries.slice(0, 3);
    const attestations = await attest(fx, R, signers, at);
    const receipt = await cosign(attestations);
    const block = await hre.ethers.provider.getBlock(receipt.blockNumber);
    expect(eventsOf(registry, receipt)).toEqual([
      ['BatchCosigned', [AGENCY_A, R, signers[0].address, at, attestations[0].signature]],
      ['BatchCosigned', [AGENCY_A, R, signers[1].address, at, attestations[1].signature]],
      ['BatchCosigned', [AGENCY_A, R, signers[2].address, at, attestations[2].signature]],
      ['BatchNotarized', [AGENCY_A, R, 3n]],
    ]);
    expect(await registry.isNotarized(AGENCY_A, R)).toBe(true);
    expect([...(await registry.cosigners(AGENCY_A, R))]).toEqual(signers.map((s) => s.address));
    for (const s of signers) expect(await registry.attestedAt(AGENCY_A, R, s.address)).toBe(at);
    expect(await registry.attestedAt(AGENCY_A, R, notaries[3].address)).toBe(0n);
    const b = await batchOf(registry, R);
    expect([b.cosignerCount, b.notarizedAt]).toEqual([3n, BigInt(block!.timestamp)]);
    // The other batch is untouched.
    expect(await registry.isNotarized(AGENCY_A, root('first'))).toBe(false);
  });

  test('BatchNotarized is emitted once, in the call that reaches the threshold, after the co-signer that reached it', async () => {
    const { registry, notaries } = fx;
    await mined(registry.setNotaryThreshold(3));
    const at = anchoredAt;
    const first = await cosign(await attest(fx, R, [notaries[1], notaries[3]], at));
    expect(eventArgs(registry, first, 'BatchNotarized')).toEqual([]);
    expect(await registry.isNotarized(AGENCY_A, R)).toBe(false);

    const second = await cosign(await attest(fx, R, [notaries[0], notaries[4]], at));
    expect(eventsOf(registry, second).map(([name, args]) => [name, args[2]])).toEqual([
      ['BatchCosigned', notaries[0].address],
      ['BatchNotarized', 3n],
      ['BatchCosigned', notaries[4].address],
    ]);
    expect(await registry.isNotarized(AGENCY_A, R)).toBe(true);

    const third = await cosign(await attest(fx, R, [notaries[2]], at));
    expect(eventsOf(registry, third).map(([name]) => name)).toEqual(['BatchCosigned']);
    expect((await batchOf(registry, R)).cosignerCount).toBe(5n);
  });

  test('anyone may carry the attestations, including the agency and a notary-less account', async () => {
    const { registry, notaries, agencyA } = fx;
    const attestations = await attest(fx, R, [notaries[2]], anchoredAt);
    const receipt = await mined(connect(registry, agencyA).cosign(AGENCY_A, R, attestations));
    expect(eventsOf(registry, receipt)).toEqual([
      ['BatchCosigned', [AGENCY_A, R, notaries[2].address, anchoredAt, attestations[0].signature]],
      ['BatchNotarized', [AGENCY_A, R, 1n]],
    ]);
  });

  test('resubmission does not count twice and emits nothing; the first attestedAt stays', async () => {
    const { registry, notaries } = fx;
    await mined(registry.setNotaryThreshold(2));
    const once = await attest(fx, R, [notaries[0]], anchoredAt + 1n);
    await cosign(once);
    expect(eventsOf(registry, await cosign(once))).toEqual([]);
    // Same notary, a later attestation: still skipped.
    const later = await attest(fx, R, [notaries[0]], anchoredAt + 2n);
    expect(eventsOf(registry, await cosign(later))).toEqual([]);
    expect(await registry.attestedAt(AGENCY_A, R, notaries[0].address)).toBe(anchoredAt + 1n);
    expect((await batchOf(registry, R)).cosignerCount).toBe(1n);
    expect(await registry.isNotarized(AGENCY_A, R)).toBe(false);
    // Mixed: the known one is skipped, the new one counts and completes the threshold.
    const mixed = [...(await attest(fx, R, [notaries[0], notaries[1]], anchoredAt + 3n))];
    expect(eventsOf(registry, await cosign(mixed))).toEqual([
      ['BatchCosigned', [AGENCY_A, R, notaries[1].address, anchoredAt + 3n, mixed[1].signature]],
      ['BatchNotarized', [AGENCY_A, R, 2n]],
    ]);
    expect([...(await registry.cosigners(AGENCY_A, R))]).toEqual([notaries[0].address, notaries[1].address]);
  });

  test('attestedAt may be up to the clock skew after the block and before the anchoring', async () => {
    const { registry, notaries } = fx;
    const next = (await now()) + 100n;
    const early = anchoredAt - CLOCK_SKEW;
    const late = next + CLOCK_SKEW;
    const attestations = [...(await attest(fx, R, [notaries[0]], early)), ...(await attest(fx, R, [notaries[1]], late))];
    await setNextTimestamp(next);
    await cosign(attestations);
    expect(await registry.attestedAt(AGENCY_A, R, notaries[0].address)).toBe(early);
    expect(await registry.attestedAt(AGENCY_A, R, notaries[1].address)).toBe(late);
  });

  test('signers are counted per batch', async () => {
    const { registry, notaries } = fx;
    await cosign(await attest(fx, R, [notaries[0]], anchoredAt));
    const other = root('first');
    const otherAnchoredAt = (await batchOf(registry, other)).anchoredAt as bigint;
    const receipt = await cosign(await attest(fx, other, [notaries[0]], otherAnchoredAt), other);
    expect(eventArgs(registry, receipt, 'BatchCosigned').map((a) => a[1])).toEqual([other]);
    expect(await registry.isNotarized(AGENCY_A, other)).toBe(true);
  });
});

describe('cosign: rejected', () => {
  test('unanchored root', async () => {
    const unknown = root('never');
    const attestations = await attest(fx, R, [fx.notaries[0]], anchoredAt);
    await expectRevert(fx.registry, cosign(attestations, unknown), 'EvidenceRegistryBatchNotAnchored', [AGENCY_A, unknown]);
  });

  test('empty attestation list', async () => {
    await expectRevert(fx.registry, cosign([]), 'EvidenceRegistryNoAttestations', []);
  });

  test('unsorted signers', async () => {
    const { notaries } = fx;
    const attestations = await attest(fx, R, [notaries[0], notaries[2], notaries[1]], anchoredAt);
    await expectRevert(fx.registry, cosign(attestations), 'EvidenceRegistryUnsortedSigners', [2n, notaries[2].address, notaries[1].address]);
  });

  test('duplicate signer in one call, with identical or different attestations', async () => {
    const { notaries } = fx;
    const same = await attest(fx, R, [notaries[1], notaries[1]], anchoredAt);
    await expectRevert(fx.registry, cosign(same), 'EvidenceRegistryDuplicateSigner', [1n, notaries[1].address]);
    const different = [...(await attest(fx, R, [notaries[1]], anchoredAt)), ...(await attest(fx, R, [notaries[1]], anchoredAt + 1n))];
    await expectRevert(fx.registry, cosign(different), 'EvidenceRegistryDuplicateSigner', [1n, notaries[1].address]);
  });

  test('signer without NOTARY_ROLE', async () => {
    const { strangers } = fx;
    await expectRevert(fx.registry, cosign(await attest(fx, R, [strangers[0]], anchoredAt)), 'EvidenceRegistryNotNotary', [0n, strangers[0].address]);
  });

  test('high-s malleated signature (s → n − s, v flipped) is refused although ecrecover would accept it', async () => {
    const { notaries, registry } = fx;
    const [valid] = await attest(fx, R, [notaries[0]], anchoredAt);
    const twin = malleate(valid.signature);
    // The twin is a valid ecrecover input for the same signer: only the low-s rule rejects it.
    const digest = await registry.attestationDigest(AGENCY_A, R, anchoredAt);
    const parsed = Signature.from(valid.signature);
    const highS = BigInt(twin.s);
    expect(highS > 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n).toBe(true);
    expect(parsed.v).not.toBe(Number.parseInt(twin.signature.slice(-2), 16));
    expect(recoverAddress(digest, valid.signature)).toBe(notaries[0].address);
    await expectRevert(registry, cosign([{ attestedAt: anchoredAt, signature: twin.signature }]), 'EvidenceRegistryInvalidSignatureS', [0n, twin.s]);
  });

  test('signature length other than 65 (including EIP-2098 compact 64-byte signatures)', async () => {
    const { notaries } = fx;
    const [valid] = await attest(fx, R, [notaries[0]], anchoredAt);
    const compact = Signature.from(valid.signature).compactSerialized;
    await expectRevert(fx.registry, cosign([{ attestedAt: anchoredAt, signature: compact }]), 'EvidenceRegistryInvalidSignatureLength', [0n, 64n]);
    await expectRevert(
      fx.registry,
      cosign([{ attestedAt: anchoredAt, signature: concat([valid.signature, '0x00']) }]),
      'EvidenceRegistryInvalidSignatureLength',
      [0n, 66n],
    );
    await expectRevert(fx.registry, cosign([{ attestedAt: anchoredAt, signature: '0x' }]), 'EvidenceRegistryInvalidSignatureLength', [0n, 0n]);
  });

  test('v other than 27/28 and r = 0 recover to no address', async () => {
    const { notaries } = fx;
    const [valid] = await attest(fx, R, [notaries[0]], anchoredAt);
    const badV = `${valid.signature.slice(0, -2)}1d`;
    await expectRevert(fx.registry, cosign([{ attestedAt: anchoredAt, signature: badV }]), 'EvidenceRegistryInvalidSignature', [0n]);
    const zeroR = `0x${'00'.repeat(32)}${valid.signature.slice(66)}`;
    await expectRevert(fx.registry, cosign([{ attestedAt: anchoredAt, signature: zeroR }]), 'EvidenceRegistryInvalidSignature', [0n]);
  });

  test('a signature over any other value recovers to another address and fails', async () => {
    const { registry, notaries, domain } = fx;
    const truth = await messageFor(registry, R, anchoredAt);
    const variants = [
      { seq: 1n },
      { seq: 3n },
      { size: 10n },
      { size: 8n },
      { prevRoot: ZERO32 },
      { prevRoot: root('other') },
      { agency: `0x${'11'.repeat(32)}` },
      { root: root('first') },
      { attestedAt: anchoredAt + 1n },
    ];
    for (const override of variants) {
      const signature = signAttestation(notaries[0], domain, { ...truth, ...override });
      const recovered = recoverAddress(digestOf(domain, truth), signature);
      expect(recovered).not.toBe(notaries[0].address);
      await expectRevert(registry, cosign([{ attestedAt: anchoredAt, signature }]), 'EvidenceRegistryNotNotary', [0n, recovered]);
    }
    // Another chain or another registry (domain separation).
    for (const d of [
      { ...domain, chainId: 1n },
      { ...domain, verifyingContract: notaries[4].address },
      { ...domain, version: '1' },
    ]) {
      const signature = signAttestation(notaries[0], d, truth);
      const recovered = recoverAddress(digestOf(domain, truth), signature);
      await expectRevert(registry, cosign([{ attestedAt: anchoredAt, signature }]), 'EvidenceRegistryNotNotary', [0n, recovered]);
    }
  });

  test('attestedAt beyond the clock skew in the future or before the anchoring', async () => {
    const { notaries } = fx;
    const next = (await now()) + 100n;
    const future = next + CLOCK_SKEW + 1n;
    await setNextTimestamp(next);
    await expectRevert(fx.registry, cosign(await attest(fx, R, [notaries[0]], future)), 'EvidenceRegistryAttestationInFuture', [0n, future, next + CLOCK_SKEW]);
    const past = anchoredAt - CLOCK_SKEW - 1n;
    await expectRevert(fx.registry, cosign(await attest(fx, R, [notaries[0]], past)), 'EvidenceRegistryAttestationBeforeAnchor', [
      0n,
      past,
      anchoredAt - CLOCK_SKEW,
    ]);
  });

  test('one bad attestation rejects the whole call: nothing is recorded', async () => {
    const { registry, notaries, strangers } = fx;
    const signers = [notaries[0], notaries[1], strangers[2]].sort(byAddress);
    await expectRevert(registry, cosign(await attest(fx, R, signers, anchoredAt)), 'EvidenceRegistryNotNotary', [
      BigInt(signers.indexOf(strangers[2])),
      strangers[2].address,
    ]);
    expect((await batchOf(registry, R)).cosignerCount).toBe(0n);
  });
});

describe('notary revocation and threshold changes', () => {
  test('co-signatures recorded while a notary held the role keep counting after its revocation; the threshold is the current one', async () => {
    const { registry, notaries } = fx;
    await mined(registry.setNotaryThreshold(2));
    await cosign(await attest(fx, R, [notaries[0], notaries[1]], anchoredAt));
    expect(await registry.isNotarized(AGENCY_A, R)).toBe(true);

    await mined(registry.revokeRole(NOTARY_ROLE, notaries[0].address));
    expect(await registry.hasRole(NOTARY_ROLE, notaries[0].address)).toBe(false);
    // Still 2 recorded co-signers >= threshold 2: the batch stays notarized.
    expect(await registry.isNotarized(AGENCY_A, R)).toBe(true);
    expect([...(await registry.cosigners(AGENCY_A, R))]).toEqual([notaries[0].address, notaries[1].address]);

    // The revoked notary can no longer co-sign, not even as a resubmission.
    await expectRevert(registry, cosign(await attest(fx, R, [notaries[0]], anchoredAt)), 'EvidenceRegistryNotNotary', [0n, notaries[0].address]);
    const other = root('first');
    const otherAt = (await batchOf(registry, other)).anchoredAt as bigint;
    await expectRevert(registry, cosign(await attest(fx, other, [notaries[0]], otherAt), other), 'EvidenceRegistryNotNotary', [0n, notaries[0].address]);

    // A raised threshold applies to past batches too, until more notaries co-sign.
    await mined(registry.setNotaryThreshold(3));
    expect(await registry.isNotarized(AGENCY_A, R)).toBe(false);
    const receipt = await cosign(await attest(fx, R, [notaries[2]], anchoredAt));
    // BatchNotarized was already emitted for R (when it first reached 2): not again.
    expect(eventsOf(registry, receipt).map(([name]) => name)).toEqual(['BatchCosigned']);
    expect(await registry.isNotarized(AGENCY_A, R)).toBe(true);
  });

  test('a lowered threshold makes isNotarized true at once; BatchNotarized comes with the next new co-signer', async () => {
    const { registry, notaries } = fx;
    await mined(registry.setNotaryThreshold(3));
    await cosign(await attest(fx, R, [notaries[0], notaries[1]], anchoredAt));
    expect(await registry.isNotarized(AGENCY_A, R)).toBe(false);
    await mined(registry.setNotaryThreshold(2));
    expect(await registry.isNotarized(AGENCY_A, R)).toBe(true);
    expect((await batchOf(registry, R)).notarizedAt).toBe(0n);
    const receipt = await cosign(await attest(fx, R, [notaries[2]], anchoredAt));
    expect(eventArgs(registry, receipt, 'BatchNotarized')).toEqual([[AGENCY_A, R, 3n]]);
  });
});
