/**
 * EvidenceRegistry.anchor: per-agency batch chains (seq, prevRoot).
 */
import { describe, expect, test } from 'vitest';
import {
  AGENCY_A,
  AGENCY_B,
  AGENCY_ROLE,
  anchorNext,
  batchOf,
  buildFixture,
  connect,
  createFixture,
  eventsOf,
  expectRevert,
  mined,
  now,
  root,
  setNextTimestamp,
  wallet,
  ZERO32,
} from './fixtures.js';

const load = createFixture(buildFixture);
const T0 = 1_700_000_000n;

describe('anchor', () => {
  test('first batch: seq 1, prevRoot zero, stored and announced', async () => {
    const { registry, agencyA } = await load();
    const r1 = root('a1');
    const at = (await now()) + 10n;
    await setNextTimestamp(at);
    const asA = connect(registry, agencyA);
    expect(await asA.anchor.staticCall(r1, 42n, ZERO32, T0, T0 + 5n)).toBe(1n);
    const receipt = await mined(asA.anchor(r1, 42n, ZERO32, T0, T0 + 5n));
    expect(eventsOf(registry, receipt)).toEqual([['BatchAnchored', [AGENCY_A, 1n, r1, 42n, ZERO32, T0, T0 + 5n]]]);
    expect(await batchOf(registry, r1)).toEqual({
      prevRoot: ZERO32,
      seq: 1n,
      size: 42n,
      firstCapturedAt: T0,
      lastCapturedAt: T0 + 5n,
      anchoredAt: at,
      blockNumber: BigInt(receipt.blockNumber),
      cosignerCount: 0n,
      notarizedAt: 0n,
    });
    expect([...(await registry.latest(AGENCY_A))]).toEqual([1n, r1]);
    expect(await registry.isNotarized(AGENCY_A, r1)).toBe(false);
    expect([...(await registry.cosigners(AGENCY_A, r1))]).toEqual([]);
  });

  test('chained batches: seq increments and prevRoot must be the last root', async () => {
    const { registry, agencyA } = await load();
    const roots = [root('c1'), root('c2'), root('c3'), root('c4')];
    let prev = ZERO32;
    for (const [i, r] of roots.entries()) {
      const receipt = await mined(connect(registry, agencyA).anchor(r, BigInt(i + 1), prev, T0, T0));
      expect(eventsOf(registry, receipt)).toEqual([['BatchAnchored', [AGENCY_A, BigInt(i + 1), r, BigInt(i + 1), prev, T0, T0]]]);
      expect((await batchOf(registry, r)).prevRoot).toBe(prev);
      prev = r;
    }
    expect([...(await registry.latest(AGENCY_A))]).toEqual([4n, roots[3]]);
  });

  test('a capture span of one instant is fine; a reversed one is refused', async () => {
    const { registry, agencyA } = await load();
    const asA = connect(registry, agencyA);
    await expectRevert(registry, asA.anchor(root('x'), 1n, ZERO32, T0 + 1n, T0), 'EvidenceRegistryInvalidCaptureSpan', [T0 + 1n, T0]);
    await mined(asA.anchor(root('x'), 1n, ZERO32, T0, T0));
  });

  test('wrong prevRoot: zero after the first batch, a stale root, a random root, nonzero before the first', async () => {
    const { registry, agencyA } = await load();
    const asA = connect(registry, agencyA);
    await expectRevert(registry, asA.anchor(root('w1'), 1n, root('nope'), T0, T0), 'EvidenceRegistryUnexpectedPrevRoot', [AGENCY_A, ZERO32, root('nope')]);
    await anchorNext(registry, agencyA, root('w1'));
    await anchorNext(registry, agencyA, root('w2'));
    for (const given of [ZERO32, root('w1'), root('nope')]) {
      await expectRevert(registry, asA.anchor(root('w3'), 1n, given, T0, T0), 'EvidenceRegistryUnexpectedPrevRoot', [AGENCY_A, root('w2'), given]);
    }
  });

  test('a root is anchored once per agency', async () => {
    const { registry, agencyA } = await load();
    await anchorNext(registry, agencyA, root('r1'));
    await anchorNext(registry, agencyA, root('r2'));
    // Replayed by the same agency, with the correct or the original prevRoot.
    for (const prev of [root('r2'), ZERO32]) {
      await expectRevert(registry, connect(registry, agencyA).anchor(root('r1'), 10n, prev, T0, T0), 'EvidenceRegistryRootAlreadyAnchored', [
        AGENCY_A,
        root('r1'),
        1n,
      ]);
    }
  });

  test('root squatting: another agency anchoring the same root first does not stop its owner (issue 9.2)', async () => {
    const { registry, agencyA, agencyB } = await load();
    await anchorNext(registry, agencyA, root('s1'));
    // B sees A's next root (e.g. in the mempool) and anchors it first, as its own batch.
    const squat = await mined(connect(registry, agencyB).anchor(root('s2'), 10n, ZERO32, T0, T0));
    expect(eventsOf(registry, squat)).toEqual([['BatchAnchored', [AGENCY_B, 1n, root('s2'), 10n, ZERO32, T0, T0]]]);
    // A's own anchor of that root still succeeds, as A's batch 2.
    const mine = await mined(connect(registry, agencyA).anchor(root('s2'), 7n, root('s1'), T0 + 1n, T0 + 2n));
    expect(eventsOf(registry, mine)).toEqual([['BatchAnchored', [AGENCY_A, 2n, root('s2'), 7n, root('s1'), T0 + 1n, T0 + 2n]]]);
    expect((await batchOf(registry, root('s2'), AGENCY_A)).seq).toBe(2n);
    expect((await batchOf(registry, root('s2'), AGENCY_A)).size).toBe(7n);
    expect((await batchOf(registry, root('s2'), AGENCY_B)).seq).toBe(1n);
    expect([...(await registry.latest(AGENCY_A))]).toEqual([2n, root('s2')]);
    expect([...(await registry.latest(AGENCY_B))]).toEqual([1n, root('s2')]);
    // A squatted copy of a root A already anchored is harmless too.
    await mined(connect(registry, agencyB).anchor(root('s1'), 1n, root('s2'), T0, T0));
    expect((await batchOf(registry, root('s1'), AGENCY_A)).seq).toBe(1n);
  });

  test('zero root and empty batch are refused', async () => {
    const { registry, agencyA } = await load();
    const asA = connect(registry, agencyA);
    await expectRevert(registry, asA.anchor(ZERO32, 1n, ZERO32, T0, T0), 'EvidenceRegistryZeroRoot', []);
    await expectRevert(registry, asA.anchor(root('e'), 0n, ZERO32, T0, T0), 'EvidenceRegistryEmptyBatch', []);
  });

  test('a caller without AGENCY_ROLE cannot anchor (also after being unbound)', async () => {
    const { registry, outsider, admin, agencyA } = await load();
    for (const caller of [outsider, admin]) {
      await expectRevert(registry, connect(registry, caller).anchor(root('o'), 1n, ZERO32, T0, T0), 'AccessControlUnauthorizedAccount', [
        caller.address,
        AGENCY_ROLE,
      ]);
    }
    await mined(registry.unbindAgency(agencyA.address));
    await expectRevert(registry, connect(registry, agencyA).anchor(root('o'), 1n, ZERO32, T0, T0), 'AccessControlUnauthorizedAccount', [
      agencyA.address,
      AGENCY_ROLE,
    ]);
  });

  test('two agencies have independent chains', async () => {
    const { registry, agencyA, agencyB } = await load();
    await anchorNext(registry, agencyA, root('A1'));
    const b1 = await anchorNext(registry, agencyB, root('B1'));
    expect(eventsOf(registry, b1)).toEqual([['BatchAnchored', [AGENCY_B, 1n, root('B1'), 10n, ZERO32, T0, T0 + 60n]]]);
    await anchorNext(registry, agencyA, root('A2'));
    // B cannot continue A's chain.
    await expectRevert(registry, connect(registry, agencyB).anchor(root('B2'), 1n, root('A2'), T0, T0), 'EvidenceRegistryUnexpectedPrevRoot', [
      AGENCY_B,
      root('B1'),
      root('A2'),
    ]);
    expect([...(await registry.latest(AGENCY_A))]).toEqual([2n, root('A2')]);
    expect([...(await registry.latest(AGENCY_B))]).toEqual([1n, root('B1')]);
  });

  test('a second station of the same agency continues the same chain (key rotation)', async () => {
    const { registry, agencyA, others } = await load();
    await anchorNext(registry, agencyA, root('k1'));
    const station = others[0];
    await mined(registry.unbindAgency(agencyA.address));
    await mined(registry.bindAgency(station.address, AGENCY_A));
    const receipt = await anchorNext(registry, station, root('k2'));
    expect(eventsOf(registry, receipt)).toEqual([['BatchAnchored', [AGENCY_A, 2n, root('k2'), 10n, root('k1'), T0, T0 + 60n]]]);
  });

  test('sizes up to 2^64 - 1 are stored as given', async () => {
    const { registry, agencyA } = await load();
    const max = 2n ** 64n - 1n;
    await anchorNext(registry, agencyA, root('big'), max, 0n, max);
    const b = await batchOf(registry, root('big'));
    expect([b.size, b.firstCapturedAt, b.lastCapturedAt]).toEqual([max, 0n, max]);
  });

  test('views for unknown roots and agencies are zero', async () => {
    const { registry } = await load();
    const unknown = root('unknown');
    expect(Object.values(await batchOf(registry, unknown)).every((v) => v === 0n || v === ZERO32)).toBe(true);
    expect([...(await registry.latest(AGENCY_B))]).toEqual([0n, ZERO32]);
    expect(await registry.isNotarized(AGENCY_A, unknown)).toBe(false);
    expect([...(await registry.cosigners(AGENCY_A, unknown))]).toEqual([]);
    expect(await registry.attestedAt(AGENCY_A, unknown, wallet('n').address)).toBe(0n);
    await expectRevert(registry, registry.attestationDigest(AGENCY_A, unknown, 1n), 'EvidenceRegistryBatchNotAnchored', [AGENCY_A, unknown]);
  });
});
