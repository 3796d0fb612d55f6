import type { Signer } from 'ethers';
import {
  connectChain,
  devAccount,
  enrollDevice,
  isLiuhenError,
  readConfig,
  RegistryClient,
  revokeDeviceKey,
  type Connection,
  type DeviceKind,
} from '../src/index.js';

/**
 * The device part of `npm run demo` (issue 13): the dev agencies' stations
 * (the gateway's key, which signs what `POST /v1/records` receives) and body
 * cameras are enrolled on the running system's registry, and later the
 * stolen camera's key is revoked with the time from which it is compromised.
 * A device already enrolled (a previous run on the same chain) is left as it is.
 *
 * Sent by the registry's admin (governance, the dev deployer account — the
 * embedded chain is a dev chain), not by the agencies' anchoring keys as
 * `liuhen device enroll` does: those keys are in use by the running
 * anchorers, whose outboxes own their nonces, and a second sender on the same
 * account could take a nonce an anchor transaction was signed for.
 */
export interface DemoEnrollmentParameters {
  dataDir: string;
  rpc: string | undefined;
  registry: string | undefined;
  /** agency → the station's Ed25519 public key. */
  stations: Record<string, string>;
  cameras: { agency: string; device: string; publicKey: string }[];
  /** Unix seconds from which the keys sign. */
  validFrom: number;
  say: (line: string) => void;
}

export interface DemoEnrollment {
  connection: Connection;
  registry: string;
  signer: Signer;
}

/** Enrolls the demo's devices; undefined (said, not fatal) when the system's registry keeps no enrollments or cannot be reached. */
export async function enrollDemoDevices(p: DemoEnrollmentParameters): Promise<DemoEnrollment | undefined> {
  if (!p.rpc || !p.registry) {
    p.say('device enrollment skipped: the running system names no chain');
    return undefined;
  }
  const expectedChainId = readConfig(p.dataDir).chain?.chainId;
  const connection = await connectChain({ rpc: p.rpc, ...(expectedChainId !== undefined ? { expectedChainId } : {}) });
  const registry = p.registry;
  const client = new RegistryClient(registry, connection.provider);
  if ((await client.version()) !== 2) {
    p.say('device enrollment skipped: the registry is version 1 (no enrollments); `liuhen registry migrate` moves to version 2');
    connection.provider.destroy();
    return undefined;
  }
  let signer: Signer;
  try {
    signer = devAccount(connection.chainId, 0, connection.provider);
  } catch (e) {
    p.say(`device enrollment skipped: ${(e as Error).message}`);
    connection.provider.destroy();
    return undefined;
  }
  const enroll = async (agency: string, deviceId: string, kind: DeviceKind, publicKey: string) => {
    if (await client.device(agency, deviceId)) return p.say(`  ${agency} ${deviceId}: already enrolled`);
    await enrollDevice(registry, signer, { agency, deviceId, kind, publicKey, validFrom: p.validFrom });
    p.say(`  ${agency} enrolled ${kind} ${deviceId} (key ${publicKey.slice(0, 12)}…)`);
  };
  try {
    p.say('device enrollment on the registry (issue 13):');
    for (const [agency, key] of Object.entries(p.stations)) await enroll(agency, `STATION-${agency}`, 'station', key);
    for (const c of p.cameras) await enroll(c.agency, c.device, 'body-camera', c.publicKey);
    return { connection, registry, signer };
  } catch (e) {
    p.say(`device enrollment failed: ${isLiuhenError(e) ? `${e.code} ${e.message}` : (e as Error).message}`);
    connection.provider.destroy();
    return undefined;
  }
}

/** Revokes the camera's first key as compromised from the chain's latest block time; returns that time (unix seconds). */
export async function revokeStolenCamera(e: DemoEnrollment, p: { agency: string; device: string; reason: string }): Promise<number> {
  try {
    const latest = await e.connection.provider.getBlock('latest');
    const compromisedAt = latest!.timestamp;
    await revokeDeviceKey(e.registry, e.signer, { agency: p.agency, deviceId: p.device, keyIndex: 0, compromisedAt, reason: p.reason });
    return compromisedAt;
  } finally {
    e.connection.provider.destroy();
  }
}
