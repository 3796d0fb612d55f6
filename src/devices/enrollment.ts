import type { ContractRunner, Signer } from 'ethers';
import { fail } from '../errors.js';
import { agencyArg, decodeRegistryError, deviceKindValue, registryInterface, RegistryClient, type DeviceKind, type OnChainDevice } from '../chain/registry.js';
import type { ExistenceProof } from './authenticity.js';
import { authenticityOf, enrolledKeyAt, type Authenticity } from './authenticity.js';

/**
 * Device enrollment on a version 2 registry (issue 13), for a station or a
 * body-camera dock: the agency's bound anchoring key (or the registry admin)
 * enrolls a device's Ed25519 public key, rotates it, revokes it with the time
 * from which it must be considered compromised. Device ids are the agency's
 * own names (scoped to it on chain); keys are 32-byte Ed25519 public keys in
 * 0x hex, as `DeviceKey.publicKey` gives them.
 */

export interface EnrollParameters {
  agency: string;
  deviceId: string;
  kind: DeviceKind;
  publicKey: string;
  /** Unix seconds from which the key signs for the device. */
  validFrom: number;
}

export interface RotateParameters {
  agency: string;
  deviceId: string;
  publicKey: string;
  validFrom: number;
}

export interface RevokeParameters {
  agency: string;
  deviceId: string;
  /** Index of the key in the device's history (0 = the first; see `RegistryClient.device`). */
  keyIndex: number;
  /** Unix seconds from which the key must be considered compromised (no later than now). */
  compromisedAt: number;
  reason: string;
}

const KEY32 = /^0x[0-9a-fA-F]{64}$/;

function checkKey(publicKey: string): string {
  if (!KEY32.test(publicKey)) fail('INVALID_INPUT', 'a device public key must be 32 bytes (Ed25519) in 0x hex');
  return publicKey.toLowerCase();
}

function checkTime(t: number, what: string): number {
  if (!Number.isSafeInteger(t) || t < 0) fail('INVALID_INPUT', `${what} must be unix seconds (a non-negative integer)`);
  return t;
}

export function encodeEnrollDevice(p: EnrollParameters): string {
  return registryInterface.encodeFunctionData('enrollDevice', [
    agencyArg(p.agency),
    p.deviceId,
    deviceKindValue(p.kind),
    checkKey(p.publicKey),
    checkTime(p.validFrom, 'validFrom'),
  ]);
}

export function encodeRotateDeviceKey(p: RotateParameters): string {
  return registryInterface.encodeFunctionData('rotateDeviceKey', [agencyArg(p.agency), p.deviceId, checkKey(p.publicKey), checkTime(p.validFrom, 'validFrom')]);
}

export function encodeRevokeDeviceKey(p: RevokeParameters): string {
  if (!Number.isSafeInteger(p.keyIndex) || p.keyIndex < 0) fail('INVALID_INPUT', 'keyIndex must be a non-negative integer');
  return registryInterface.encodeFunctionData('revokeDeviceKey', [
    agencyArg(p.agency),
    p.deviceId,
    p.keyIndex,
    checkTime(p.compromisedAt, 'compromisedAt'),
    p.reason,
  ]);
}

/** Sends `data` to the registry from `signer` and waits for it to be mined; a revert is CHAIN_REVERTED naming the registry's error. */
async function sendTo(registry: string, signer: Signer, data: string, what: string): Promise<{ txHash: string; blockNumber: number }> {
  try {
    const tx = await signer.sendTransaction({ to: registry, data });
    const receipt = await tx.wait();
    if (!receipt || receipt.status !== 1) fail('CHAIN_REVERTED', `${what} reverted`);
    return { txHash: receipt.hash, blockNumber: receipt.blockNumber };
  } catch (e) {
    throw decodeRegistryError(e, what);
  }
}

/** Ensures the registry keeps enrollments (version 2). */
async function requireV2(registry: string, runner: ContractRunner): Promise<void> {
  if ((await new RegistryClient(registry, runner).version()) !== 2)
    fail('REGISTRY_MISSING', `registry ${registry} is version 1, which keeps no device enrollments: move to version 2 with \`liuhen registry migrate\``);
}

export async function enrollDevice(registry: string, signer: Signer, p: EnrollParameters) {
  await requireV2(registry, signer);
  return sendTo(registry, signer, encodeEnrollDevice(p), 'enrollDevice');
}

export async function rotateDeviceKey(registry: string, signer: Signer, p: RotateParameters) {
  await requireV2(registry, signer);
  return sendTo(registry, signer, encodeRotateDeviceKey(p), 'rotateDeviceKey');
}

export async function revokeDeviceKey(registry: string, signer: Signer, p: RevokeParameters) {
  await requireV2(registry, signer);
  return sendTo(registry, signer, encodeRevokeDeviceKey(p), 'revokeDeviceKey');
}

/** Every device of `agency` ever enrolled (ids from the registry's events), with its current key history. */
export async function listDevices(client: RegistryClient, agency: string, fromBlock = 0): Promise<OnChainDevice[]> {
  const ids = [...new Set((await client.deviceEvents(agency, fromBlock)).map((e) => e.deviceId))];
  const devices = await Promise.all(ids.map((id) => client.device(agency, id)));
  return devices.filter((d): d is OnChainDevice => d !== undefined);
}

/** The enrolled stations of `agency` that ever held `publicKey` (from the registry's events). */
export async function stationsWithKey(client: RegistryClient, agency: string, publicKey: string, fromBlock = 0): Promise<OnChainDevice[]> {
  const pk = publicKey.toLowerCase();
  const ids = [...new Set((await client.deviceEvents(agency, fromBlock)).filter((e) => e.type !== 'revoked' && e.publicKey === pk).map((e) => e.deviceId))];
  const devices = await Promise.all(ids.map((id) => client.device(agency, id)));
  return devices.filter((d): d is OnChainDevice => d?.kind === 'station');
}

/** Everything `authenticityOf` needs, read from the registry, and its answer. */
export async function checkRecordAuthenticity(
  client: RegistryClient,
  p: { agency: string; device: string; capturedAt: number; signingKey: string | undefined; existedBy?: ExistenceProof; fromBlock?: number },
): Promise<Authenticity> {
  if ((await client.version()) === 1) return authenticityOf({ ...p, deviceHistory: undefined, enrollmentAvailable: false });
  // The device's own key decides first (authenticityOf): the stations (a scan of the registry's events) are
  // looked up only when it does not — the ingest-time check of POST /v1/records/signed runs this for every upload.
  const deviceHistory = await client.device(p.agency, p.device);
  if (p.signingKey !== undefined && enrolledKeyAt(deviceHistory, p.signingKey, p.capturedAt) !== undefined)
    return authenticityOf({ ...p, deviceHistory, stations: [] });
  return authenticityOf({ ...p, ...(await enrollmentFacts(client, p)) });
}

/** What the registry says about a record's device and signing key (the reads of `checkRecordAuthenticity`). */
export async function enrollmentFacts(
  client: RegistryClient,
  p: { agency: string; device: string; signingKey: string | undefined; fromBlock?: number },
): Promise<{ deviceHistory: OnChainDevice | undefined; stations?: OnChainDevice[]; enrollmentAvailable?: false }> {
  if ((await client.version()) === 1) return { deviceHistory: undefined, enrollmentAvailable: false };
  const [deviceHistory, stations] = await Promise.all([
    client.device(p.agency, p.device),
    p.signingKey ? stationsWithKey(client, p.agency, p.signingKey, p.fromBlock) : Promise.resolve([]),
  ]);
  return { deviceHistory, stations };
}
