/**
 * EvidenceRegistry (version 2) device enrollment: enroll, rotate, revoke,
 * scoped to the agency the caller is bound to (or governance), with every
 * custom error and event and their arguments (issue 13).
 */
import { describe, expect, test } from 'vitest';
import { keccak256, toUtf8Bytes } from 'ethers';
import { AGENCY_A, AGENCY_B, buildFixture, connect, createFixture, eventsOf, expectRevert, mined, now, plain, setNextTimestamp, ZERO32 } from './fixtures.js';

const load = createFixture(buildFixture);
const T0 = 1_700_000_000n;
const KIND = { None: 0n, BodyCamera: 1n, Terminal: 2n, Station: 3n } as const;
const ID = 'JN-CG-BC-0001';
const H = keccak256(toUtf8Bytes(ID));
const key = (label: string): string => keccak256(toUtf8Bytes(`device-key:${label}`));

/** The device and its key history as plain values: [kind, keyCount, enrolledAt], [[publicKey, validFrom, validUntil, compromisedAt, revokedAt], …]. */
async function deviceOf(registry: Awaited<ReturnType<typeof load>>['registry'], agency: string, hash: string): Promise<{ device: unknown; keys: unknown }> {
  return { device: plain(await registry.device(agency, hash)), keys: plain(await registry.deviceKeys(agency, hash)) };
}

describe('enrollDevice', () => {
  test('the bound agency enrolls a device: stored with its first key, DeviceEnrolled with the id', async () => {
    const { registry, agencyA } = await load();
    const at = (await now()) + 5n;
    await setNextTimestamp(at);
    const receipt = await mined(connect(registry, agencyA).enrollDevice(AGENCY_A, ID, KIND.BodyCamera, key('a0'), T0));
    expect(eventsOf(registry, receipt)).toEqual([['DeviceEnrolled', [AGENCY_A, H, ID, KIND.BodyCamera, key('a0'), T0]]]);
    expect(await deviceOf(registry, AGENCY_A, H)).toEqual({
      device: [KIND.BodyCamera, 1n, at],
      keys: [[key('a0'), T0, 0n, 0n, 0n]],
    });
  });

  test('device ids are scoped to their agency: B may enroll the same id, and sees nothing of A', async () => {
    const { registry, agencyA, agencyB } = await load();
    await mined(connect(registry, agencyA).enrollDevice(AGENCY_A, ID, KIND.BodyCamera, key('a0'), T0));
    expect(await deviceOf(registry, AGENCY_B, H)).toEqual({ device: [KIND.None, 0n, 0n], keys: [] });
    await mined(connect(registry, agencyB).enrollDevice(AGENCY_B, ID, KIND.Terminal, key('b0'), T0 + 1n));
    expect((await deviceOf(registry, AGENCY_A, H)).keys).toEqual([[key('a0'), T0, 0n, 0n, 0n]]);
    expect((await deviceOf(registry, AGENCY_B, H)).keys).toEqual([[key('b0'), T0 + 1n, 0n, 0n, 0n]]);
  });

  test('governance (the admin) may enroll for any agency; an outsider or another agency may not', async () => {
    const { registry, admin, agencyB, outsider } = await load();
    await mined(connect(registry, admin).getFunction('enrollDevice')(AGENCY_A, 'STATION-1', KIND.Station, key('s'), T0));
    expect((await deviceOf(registry, AGENCY_A, keccak256(toUtf8Bytes('STATION-1')))).device).toEqual([KIND.Station, 1n, expect.any(BigInt)]);
    for (const caller of [agencyB, outsider]) {
      await expectRevert(registry, connect(registry, caller).enrollDevice(AGENCY_A, ID, KIND.BodyCamera, key('x'), T0), 'EvidenceRegistryNotDeviceController', [
        caller.address,
        AGENCY_A,
      ]);
    }
  });

  test("an unbound station loses control of its agency's devices", async () => {
    const { registry, agencyA } = await load();
    await mined(registry.unbindAgency(agencyA.address));
    await expectRevert(registry, connect(registry, agencyA).enrollDevice(AGENCY_A, ID, KIND.BodyCamera, key('a0'), T0), 'EvidenceRegistryNotDeviceController', [
      agencyA.address,
      AGENCY_A,
    ]);
  });

  test('refusals: zero agency, empty or too long id, kind None, zero key, already enrolled', async () => {
    const { registry, agencyA, admin } = await load();
    const asA = connect(registry, agencyA);
    await expectRevert(
      registry,
      connect(registry, admin).getFunction('enrollDevice')(ZERO32, ID, KIND.BodyCamera, key('a'), T0),
      'EvidenceRegistryZeroAgency',
      [],
    );
    await expectRevert(registry, asA.enrollDevice(AGENCY_A, '', KIND.BodyCamera, key('a'), T0), 'EvidenceRegistryInvalidDeviceId', [0n]);
    await expectRevert(registry, asA.enrollDevice(AGENCY_A, 'x'.repeat(129), KIND.BodyCamera, key('a'), T0), 'EvidenceRegistryInvalidDeviceId', [129n]);
    await mined(asA.enrollDevice(AGENCY_A, 'x'.repeat(128), KIND.BodyCamera, key('a'), T0)); // the bound itself is allowed
    await expectRevert(registry, asA.enrollDevice(AGENCY_A, ID, KIND.None, key('a'), T0), 'EvidenceRegistryInvalidDeviceKind', [KIND.None]);
    await expectRevert(registry, asA.enrollDevice(AGENCY_A, ID, KIND.BodyCamera, ZERO32, T0), 'EvidenceRegistryZeroDeviceKey', []);
    await mined(asA.enrollDevice(AGENCY_A, ID, KIND.BodyCamera, key('a0'), T0));
    await expectRevert(registry, asA.enrollDevice(AGENCY_A, ID, KIND.Terminal, key('a1'), T0 + 1n), 'EvidenceRegistryDeviceAlreadyEnrolled', [AGENCY_A, H]);
  });

  test('a kind outside the enum is refused by the ABI decoder (no custom error)', async () => {
    const { registry, agencyA } = await load();
    await expect(connect(registry, agencyA).enrollDevice(AGENCY_A, ID, 4n, key('a'), T0)).rejects.toThrow();
  });
});

describe('rotateDeviceKey', () => {
  test('a new key takes over at validFrom: the old key gets validUntil, DeviceKeyRotated with the index', async () => {
    const { registry, agencyA } = await load();
    const asA = connect(registry, agencyA);
    await mined(asA.enrollDevice(AGENCY_A, ID, KIND.BodyCamera, key('a0'), T0));
    expect(await asA.rotateDeviceKey.staticCall(AGENCY_A, ID, key('a1'), T0 + 100n)).toBe(1n);
    const receipt = await mined(asA.rotateDeviceKey(AGENCY_A, ID, key('a1'), T0 + 100n));
    expect(eventsOf(registry, receipt)).toEqual([['DeviceKeyRotated', [AGENCY_A, H, ID, 1n, key('a1'), T0 + 100n]]]);
    await mined(asA.rotateDeviceKey(AGENCY_A, ID, key('a2'), T0 + 200n));
    const { device, keys } = await deviceOf(registry, AGENCY_A, H);
    expect((device as bigint[]).slice(0, 2)).toEqual([KIND.BodyCamera, 3n]);
    expect(keys).toEqual([
      [key('a0'), T0, T0 + 100n, 0n, 0n],
      [key('a1'), T0 + 100n, T0 + 200n, 0n, 0n],
      [key('a2'), T0 + 200n, 0n, 0n, 0n],
    ]);
  });

  test('rotating after a revocation keeps the revoked key as revoked (no validUntil)', async () => {
    const { registry, agencyA } = await load();
    const asA = connect(registry, agencyA);
    await mined(asA.enrollDevice(AGENCY_A, ID, KIND.BodyCamera, key('a0'), T0));
    await mined(asA.revokeDeviceKey(AGENCY_A, ID, 0, T0 + 50n, 'stolen'));
    await mined(asA.rotateDeviceKey(AGENCY_A, ID, key('a1'), T0 + 60n));
    const keys = (await deviceOf(registry, AGENCY_A, H)).keys as bigint[][];
    expect(keys[0]!.slice(0, 4)).toEqual([key('a0'), T0, 0n, T0 + 50n]);
    expect(keys[1]).toEqual([key('a1'), T0 + 60n, 0n, 0n, 0n]);
  });

  test('refusals: not the controller, not enrolled, zero key, validFrom not after the current key', async () => {
    const { registry, agencyA, agencyB } = await load();
    const asA = connect(registry, agencyA);
    await expectRevert(registry, asA.rotateDeviceKey(AGENCY_A, ID, key('a1'), T0), 'EvidenceRegistryDeviceNotEnrolled', [AGENCY_A, H]);
    await mined(asA.enrollDevice(AGENCY_A, ID, KIND.BodyCamera, key('a0'), T0));
    await expectRevert(registry, connect(registry, agencyB).rotateDeviceKey(AGENCY_A, ID, key('b'), T0 + 1n), 'EvidenceRegistryNotDeviceController', [
      agencyB.address,
      AGENCY_A,
    ]);
    // B's own namespace has no such device.
    await expectRevert(registry, connect(registry, agencyB).rotateDeviceKey(AGENCY_B, ID, key('b'), T0 + 1n), 'EvidenceRegistryDeviceNotEnrolled', [
      AGENCY_B,
      H,
    ]);
    await expectRevert(registry, asA.rotateDeviceKey(AGENCY_A, ID, ZERO32, T0 + 1n), 'EvidenceRegistryZeroDeviceKey', []);
    for (const from of [T0, T0 - 1n]) {
      await expectRevert(registry, asA.rotateDeviceKey(AGENCY_A, ID, key('a1'), from), 'EvidenceRegistryInvalidValidFrom', [from, T0]);
    }
    await expectRevert(registry, asA.rotateDeviceKey(AGENCY_A, '', key('a1'), T0 + 1n), 'EvidenceRegistryInvalidDeviceId', [0n]);
  });

  test("governance may rotate an agency's device key", async () => {
    const { registry, agencyA, admin } = await load();
    await mined(connect(registry, agencyA).enrollDevice(AGENCY_A, ID, KIND.BodyCamera, key('a0'), T0));
    const receipt = await mined(connect(registry, admin).getFunction('rotateDeviceKey')(AGENCY_A, ID, key('g'), T0 + 1n));
    expect(eventsOf(registry, receipt)).toEqual([['DeviceKeyRotated', [AGENCY_A, H, ID, 1n, key('g'), T0 + 1n]]]);
  });
});

describe('revokeDeviceKey', () => {
  test('revokes a past key with the stated compromise time: stored with the block time, DeviceKeyRevoked with the reason', async () => {
    const { registry, agencyA } = await load();
    const asA = connect(registry, agencyA);
    await mined(asA.enrollDevice(AGENCY_A, ID, KIND.BodyCamera, key('a0'), T0));
    await mined(asA.rotateDeviceKey(AGENCY_A, ID, key('a1'), T0 + 100n));
    const at = (await now()) + 7n;
    await setNextTimestamp(at);
    const reason = '执法记录仪于巡逻中遗失';
    const receipt = await mined(asA.revokeDeviceKey(AGENCY_A, ID, 0, T0 + 40n, reason));
    expect(eventsOf(registry, receipt)).toEqual([['DeviceKeyRevoked', [AGENCY_A, H, ID, 0n, key('a0'), T0 + 40n, reason]]]);
    expect((await deviceOf(registry, AGENCY_A, H)).keys).toEqual([
      [key('a0'), T0, T0 + 100n, T0 + 40n, at],
      [key('a1'), T0 + 100n, 0n, 0n, 0n],
    ]);
  });

  test('a compromise time equal to the block time is allowed, a later one is refused', async () => {
    const { registry, agencyA } = await load();
    const asA = connect(registry, agencyA);
    await mined(asA.enrollDevice(AGENCY_A, ID, KIND.BodyCamera, key('a0'), T0));
    const at = (await now()) + 10n;
    await setNextTimestamp(at);
    await expectRevert(registry, asA.revokeDeviceKey(AGENCY_A, ID, 0, at + 1n, 'x'), 'EvidenceRegistryCompromiseInFuture', [at + 1n, at]);
    await setNextTimestamp(at + 1n);
    await mined(asA.revokeDeviceKey(AGENCY_A, ID, 0, at + 1n, ''));
  });

  test('refusals: not the controller, not enrolled, unknown key, already revoked, reason too long', async () => {
    const { registry, agencyA, agencyB } = await load();
    const asA = connect(registry, agencyA);
    await expectRevert(registry, asA.revokeDeviceKey(AGENCY_A, ID, 0, T0, 'x'), 'EvidenceRegistryDeviceNotEnrolled', [AGENCY_A, H]);
    await mined(asA.enrollDevice(AGENCY_A, ID, KIND.BodyCamera, key('a0'), T0));
    await expectRevert(registry, connect(registry, agencyB).revokeDeviceKey(AGENCY_A, ID, 0, T0, 'x'), 'EvidenceRegistryNotDeviceController', [
      agencyB.address,
      AGENCY_A,
    ]);
    await expectRevert(registry, asA.revokeDeviceKey(AGENCY_A, ID, 1, T0, 'x'), 'EvidenceRegistryUnknownDeviceKey', [AGENCY_A, H, 1n, 1n]);
    await expectRevert(registry, asA.revokeDeviceKey(AGENCY_A, ID, 0, T0, 'r'.repeat(257)), 'EvidenceRegistryNameTooLong', [257n, 256n]);
    const receipt = await mined(asA.revokeDeviceKey(AGENCY_A, ID, 0, T0, 'r'.repeat(256)));
    const block = await receipt.getBlock();
    await expectRevert(registry, asA.revokeDeviceKey(AGENCY_A, ID, 0, T0, 'again'), 'EvidenceRegistryDeviceKeyAlreadyRevoked', [
      AGENCY_A,
      H,
      0n,
      BigInt(block.timestamp),
    ]);
  });

  test("governance may revoke an agency's device key", async () => {
    const { registry, agencyA, admin } = await load();
    await mined(connect(registry, agencyA).enrollDevice(AGENCY_A, ID, KIND.BodyCamera, key('a0'), T0));
    const receipt = await mined(connect(registry, admin).getFunction('revokeDeviceKey')(AGENCY_A, ID, 0, T0, 'court order'));
    expect(eventsOf(registry, receipt)).toEqual([['DeviceKeyRevoked', [AGENCY_A, H, ID, 0n, key('a0'), T0, 'court order']]]);
  });
});
