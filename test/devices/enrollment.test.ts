/**
 * Device enrollment through the SDK (src/devices) on a real chain (Anvil):
 * enroll, rotate, revoke with a compromise time, list, and the authenticity
 * level `checkRecordAuthenticity` gives records signed by the device, by a
 * rotated key, by a revoked key before and after the compromise time, by the
 * station, by an unenrolled key and by another agency's device.
 */
import { ContractFactory, encodeBytes32String, JsonRpcProvider, NonceManager, type Contract, type HDNodeWallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../src/chain/deploy.js';
import { evidenceRegistryArtifact } from '../../src/chain/registry-artifact.js';
import { evidenceRegistryV1Artifact } from '../../src/chain/registry-v1-artifact.js';
import { RegistryClient } from '../../src/chain/registry.js';
import { checkRecordAuthenticity, enrollDevice, listDevices, revokeDeviceKey, rotateDeviceKey } from '../../src/devices/index.js';
import { isLiuhenError } from '../../src/errors.js';
import { DeviceKey } from '../../src/record/device-key.js';
import { startAnvil, type Anvil } from '../notary/anvil.js';

const A = 'JN-CGJ';
const B = 'JN-SCJGJ';
const DAY = 86_400;
const T0 = 1_700_000_000;

let anvil: Anvil;
let provider: JsonRpcProvider;
let client: RegistryClient;
let stationA: HDNodeWallet;
let stationB: HDNodeWallet;

async function deploy(artifact: { abi: readonly unknown[]; bytecode: string }): Promise<string> {
  const admin = new NonceManager(devAccount(31337, 0, provider));
  const registry = (await new ContractFactory(artifact.abi as never, artifact.bytecode, admin).deploy(await admin.getAddress())) as Contract;
  await registry.waitForDeployment();
  await (await registry.getFunction('bindAgency')(stationA.address, encodeBytes32String(A))).wait();
  await (await registry.getFunction('bindAgency')(stationB.address, encodeBytes32String(B))).wait();
  return registry.getAddress();
}

beforeAll(async () => {
  anvil = await startAnvil();
  provider = new JsonRpcProvider(anvil.url, undefined, { cacheTimeout: -1, pollingInterval: 50 });
  stationA = devAccount(31337, 1, provider);
  stationB = devAccount(31337, 2, provider);
  client = new RegistryClient(await deploy(evidenceRegistryArtifact), provider);
}, 60_000);

afterAll(() => {
  provider?.destroy();
  anvil?.stop();
});

describe('devices on a real chain', () => {
  const camKey1 = DeviceKey.generate();
  const camKey2 = DeviceKey.generate();
  const stationKey = DeviceKey.generate();
  const foreign = DeviceKey.generate();

  it('enroll, rotate, revoke, list', async () => {
    await enrollDevice(client.address, stationA, { agency: A, deviceId: 'BC-1', kind: 'body-camera', publicKey: camKey1.publicKey, validFrom: T0 });
    await enrollDevice(client.address, stationA, { agency: A, deviceId: 'station-01', kind: 'station', publicKey: stationKey.publicKey, validFrom: T0 });
    await enrollDevice(client.address, stationB, { agency: B, deviceId: 'BC-1', kind: 'body-camera', publicKey: foreign.publicKey, validFrom: T0 });
    await rotateDeviceKey(client.address, stationA, { agency: A, deviceId: 'BC-1', publicKey: camKey2.publicKey, validFrom: T0 + 10 * DAY });
    await revokeDeviceKey(client.address, stationA, { agency: A, deviceId: 'BC-1', keyIndex: 1, compromisedAt: T0 + 15 * DAY, reason: 'reported stolen' });
    const devices = await listDevices(client, A);
    expect(devices.map((d) => [d.deviceId, d.kind, d.keys.length])).toEqual([
      ['BC-1', 'body-camera', 2],
      ['station-01', 'station', 1],
    ]);
    expect(devices[0]!.keys[1]).toMatchObject({ publicKey: camKey2.publicKey, validFrom: T0 + 10 * DAY, compromisedAt: T0 + 15 * DAY });
    expect((await client.deviceEvents(A)).map((e) => e.type)).toEqual(['enrolled', 'enrolled', 'rotated', 'revoked']);
  }, 60_000);

  it("another agency cannot change A's devices: CHAIN_REVERTED EvidenceRegistryNotDeviceController", async () => {
    await expect(
      rotateDeviceKey(client.address, stationB, { agency: A, deviceId: 'BC-1', publicKey: foreign.publicKey, validFrom: T0 + 30 * DAY }),
    ).rejects.toSatisfy((e) => isLiuhenError(e, 'CHAIN_REVERTED') && /EvidenceRegistryNotDeviceController/.test((e as Error).message));
  });

  it('the authenticity level of each kind of record', async () => {
    const level = async (signingKey: string | undefined, capturedAt: number, device = 'BC-1', existedBy?: number) =>
      (
        await checkRecordAuthenticity(client, {
          agency: A,
          device,
          capturedAt,
          signingKey,
          ...(existedBy !== undefined && { existedBy: { time: existedBy, source: 'anchor' as const } }),
        })
      ).level;
    expect(await level(camKey1.publicKey, T0 + DAY, 'BC-1', T0 + DAY + 60)).toBe('device-signed');
    // Captured offline for a week with the first key, uploaded and anchored after the rotation.
    expect(await level(camKey1.publicKey, T0 + 7 * DAY, 'BC-1', T0 + 14 * DAY)).toBe('device-signed');
    // The revoked key: anchored before the stated compromise time → still the device's; after → flagged, whatever capturedAt says.
    expect(await level(camKey2.publicKey, T0 + 11 * DAY, 'BC-1', T0 + 12 * DAY)).toBe('device-signed');
    expect(await level(camKey2.publicKey, T0 + 11 * DAY, 'BC-1', T0 + 16 * DAY)).toBe('revoked-key');
    // A phone without a key of its own: the station signed at upload.
    expect(await level(stationKey.publicKey, T0 + DAY, 'phone-7', T0 + DAY + 5)).toBe('station-signed');
    // Unknown key; B's device of the same id; no signature.
    expect(await level(DeviceKey.generate().publicKey, T0 + DAY)).toBe('unenrolled-key');
    expect(await level(foreign.publicKey, T0 + DAY)).toBe('unenrolled-key');
    expect(await level(undefined, T0 + DAY)).toBe('unenrolled-key');
  }, 60_000);

  it('a version 1 registry keeps no enrollments: enrollment-unknown, and enrolling is refused with a coded error', async () => {
    const v1 = new RegistryClient(await deploy(evidenceRegistryV1Artifact), provider);
    expect((await checkRecordAuthenticity(v1, { agency: A, device: 'BC-1', capturedAt: T0, signingKey: camKey1.publicKey })).level).toBe('enrollment-unknown');
    await expect(
      enrollDevice(v1.address, stationA, { agency: A, deviceId: 'BC-1', kind: 'body-camera', publicKey: camKey1.publicKey, validFrom: T0 }),
    ).rejects.toSatisfy((e) => isLiuhenError(e, 'REGISTRY_MISSING'));
  }, 60_000);
});
