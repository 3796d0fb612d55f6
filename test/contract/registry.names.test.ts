/**
 * EvidenceRegistry (version 2): display names of agencies and notaries
 * (issue 14), and the checkpoint that continues an agency's batch chain from
 * an earlier registry (a deliberate migration, issue 16.3).
 */
import { describe, expect, test } from 'vitest';
import {
  AGENCY_A,
  AGENCY_B,
  anchorNext,
  batchOf,
  buildFixture,
  connect,
  createFixture,
  DEFAULT_ADMIN_ROLE,
  eventsOf,
  expectRevert,
  mined,
  root,
  ZERO32,
  ZERO_ADDRESS,
} from './fixtures.js';

const load = createFixture(buildFixture);
const T0 = 1_700_000_000n;

describe('display names', () => {
  test('the admin names an agency and a notary; AgencyNamed / NotaryNamed; an empty name removes it', async () => {
    const { registry, notaries } = await load();
    const receipt = await mined(registry.setAgencyName(AGENCY_A, '济南市城市管理局'));
    expect(eventsOf(registry, receipt)).toEqual([['AgencyNamed', [AGENCY_A, '济南市城市管理局']]]);
    expect(await registry.agencyName(AGENCY_A)).toBe('济南市城市管理局');
    expect(await registry.agencyName(AGENCY_B)).toBe('');
    const n = await mined(registry.setNotaryName(notaries[0].address, '济南市泉城公证处'));
    expect(eventsOf(registry, n)).toEqual([['NotaryNamed', [notaries[0].address, '济南市泉城公证处']]]);
    expect(await registry.notaryName(notaries[0].address)).toBe('济南市泉城公证处');
    const cleared = await mined(registry.setAgencyName(AGENCY_A, ''));
    expect(eventsOf(registry, cleared)).toEqual([['AgencyNamed', [AGENCY_A, '']]]);
    expect(await registry.agencyName(AGENCY_A)).toBe('');
  });

  test('a notary keeps its name after its role is revoked (past co-signatures stay named)', async () => {
    const { registry, notaries } = await load();
    await mined(registry.setNotaryName(notaries[4].address, '公证处'));
    await mined(registry.revokeRole(await registry.NOTARY_ROLE(), notaries[4].address));
    expect(await registry.notaryName(notaries[4].address)).toBe('公证处');
  });

  test('refusals: not the admin, zero agency or address, name longer than 256 bytes (UTF-8)', async () => {
    const { registry, agencyA, outsider } = await load();
    for (const caller of [agencyA, outsider]) {
      await expectRevert(registry, connect(registry, caller).setAgencyName(AGENCY_A, 'x'), 'AccessControlUnauthorizedAccount', [
        caller.address,
        DEFAULT_ADMIN_ROLE,
      ]);
      await expectRevert(registry, connect(registry, caller).setNotaryName(caller.address, 'x'), 'AccessControlUnauthorizedAccount', [
        caller.address,
        DEFAULT_ADMIN_ROLE,
      ]);
    }
    await expectRevert(registry, registry.setAgencyName(ZERO32, 'x'), 'EvidenceRegistryZeroAgency', []);
    await expectRevert(registry, registry.setNotaryName(ZERO_ADDRESS, 'x'), 'EvidenceRegistryInvalidAccount', [ZERO_ADDRESS]);
    // 86 Chinese characters = 258 bytes.
    await expectRevert(registry, registry.setAgencyName(AGENCY_A, '局'.repeat(86)), 'EvidenceRegistryNameTooLong', [258n, 256n]);
    await expectRevert(registry, registry.setNotaryName(agencyA.address, 'n'.repeat(257)), 'EvidenceRegistryNameTooLong', [257n, 256n]);
    await mined(registry.setAgencyName(AGENCY_A, 'a'.repeat(256)));
  });
});

describe('setAgencyCheckpoint', () => {
  test('the first batch after a checkpoint continues its seq and must chain to its root', async () => {
    const { registry, agencyA } = await load();
    const old = root('old-registry-last');
    const receipt = await mined(registry.setAgencyCheckpoint(AGENCY_A, 41n, old));
    expect(eventsOf(registry, receipt)).toEqual([['AgencyCheckpointSet', [AGENCY_A, 41n, old]]]);
    expect([...(await registry.latest(AGENCY_A))]).toEqual([41n, old]);
    // Starting a fresh chain is refused: prevRoot must be the checkpoint's root.
    await expectRevert(registry, connect(registry, agencyA).anchor(root('n1'), 1n, ZERO32, T0, T0), 'EvidenceRegistryUnexpectedPrevRoot', [
      AGENCY_A,
      old,
      ZERO32,
    ]);
    const first = await anchorNext(registry, agencyA, root('n1'));
    expect(eventsOf(registry, first)).toEqual([['BatchAnchored', [AGENCY_A, 42n, root('n1'), 10n, old, T0, T0 + 60n]]]);
    await anchorNext(registry, agencyA, root('n2'));
    expect((await batchOf(registry, root('n2'))).seq).toBe(43n);
    expect((await batchOf(registry, root('n2'))).prevRoot).toBe(root('n1'));
    expect([...(await registry.latest(AGENCY_A))]).toEqual([43n, root('n2')]);
    // The checkpoint root itself is no batch of this registry.
    expect((await batchOf(registry, old)).seq).toBe(0n);
  });

  test('refusals: not the admin, zero agency, zero seq or root, a chain already started or checkpointed', async () => {
    const { registry, agencyA, outsider } = await load();
    await expectRevert(registry, connect(registry, agencyA).setAgencyCheckpoint(AGENCY_A, 1n, root('x')), 'AccessControlUnauthorizedAccount', [
      agencyA.address,
      DEFAULT_ADMIN_ROLE,
    ]);
    await expectRevert(registry, connect(registry, outsider).setAgencyCheckpoint(AGENCY_A, 1n, root('x')), 'AccessControlUnauthorizedAccount', [
      outsider.address,
      DEFAULT_ADMIN_ROLE,
    ]);
    await expectRevert(registry, registry.setAgencyCheckpoint(ZERO32, 1n, root('x')), 'EvidenceRegistryZeroAgency', []);
    await expectRevert(registry, registry.setAgencyCheckpoint(AGENCY_A, 0n, root('x')), 'EvidenceRegistryInvalidCheckpoint', [0n, root('x')]);
    await expectRevert(registry, registry.setAgencyCheckpoint(AGENCY_A, 3n, ZERO32), 'EvidenceRegistryInvalidCheckpoint', [3n, ZERO32]);
    await anchorNext(registry, agencyA, root('a1'));
    await expectRevert(registry, registry.setAgencyCheckpoint(AGENCY_A, 9n, root('x')), 'EvidenceRegistryAgencyChainStarted', [AGENCY_A, root('a1')]);
    await mined(registry.setAgencyCheckpoint(AGENCY_B, 9n, root('b')));
    await expectRevert(registry, registry.setAgencyCheckpoint(AGENCY_B, 10n, root('c')), 'EvidenceRegistryAgencyChainStarted', [AGENCY_B, root('b')]);
  });
});
