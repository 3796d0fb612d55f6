import type { DeviceKind, OnChainDevice, OnChainDeviceKey } from '../chain/registry.js';

/**
 * How strong the "before the chain" evidence of a record is (issue 13), from
 * the key that signed it and the registry's enrollment history. Pure: the
 * caller gathers the facts (the record's signing key, the device histories,
 * the times the record is proven to have existed).
 *
 * The levels, strongest first, in words a judge understands:
 * - `device-signed` — 由登记的执法设备在采集时签名: signed at capture by the
 *   device the agency enrolled on the registry, with a key valid for it then.
 * - `station-signed` — 由登记的工作站在上传时签名（设备无密钥）: the device had
 *   no key of its own; the agency's enrolled station signed when it received
 *   the file.
 * - `revoked-key` — 签名密钥已被吊销: signed by an enrolled key that the agency
 *   later declared compromised, and the record is not proven to have existed
 *   before the stated compromise time. Nothing says it is forged, nothing says
 *   it is authentic.
 * - `unenrolled-key` — 签名密钥未登记: signed by a key the agency never enrolled
 *   for this device (or for any of its stations) at that time — another
 *   agency's device, an unknown key, or no signature.
 * - `enrollment-unknown` — 无法查询设备登记: the registry keeps no enrollments
 *   (version 1) or could not be asked.
 */
export type AuthenticityLevel = 'device-signed' | 'station-signed' | 'revoked-key' | 'unenrolled-key' | 'enrollment-unknown';

/** Human wording of each level (Chinese first, then English), for verdicts, pages and certificates. */
export const AUTHENTICITY_WORDS: Readonly<Record<AuthenticityLevel, { zh: string; en: string }>> = {
  'device-signed': { zh: '由登记的执法设备在采集时签名', en: 'signed at capture by the enrolled device' },
  'station-signed': { zh: '由登记的工作站在上传时签名（设备无密钥）', en: 'signed at upload by the enrolled station (the device had no key)' },
  'revoked-key': {
    zh: '签名密钥已被吊销，且无法证明记录早于声明的泄露时间',
    en: 'signed by a key revoked as compromised; not proven to exist before the stated compromise time',
  },
  'unenrolled-key': { zh: '签名密钥未在登记簿中登记', en: 'not signed by an enrolled key' },
  'enrollment-unknown': { zh: '无法查询设备登记', en: 'device enrollment could not be checked' },
};

/**
 * The stable code and check status of each level — the verifier's `device`
 * check and the ingest-time flag of `POST /v1/records/signed` use the same
 * codes. Only the two enrolled levels pass; the others are a `warn` (a fact
 * a judge must read), or `skipped` when nothing could be checked.
 */
export const AUTHENTICITY_CODES: Readonly<Record<AuthenticityLevel, { status: 'pass' | 'warn' | 'skipped'; code: string }>> = {
  'device-signed': { status: 'pass', code: 'DEVICE_SIGNED' },
  'station-signed': { status: 'pass', code: 'STATION_SIGNED' },
  'revoked-key': { status: 'warn', code: 'DEVICE_KEY_REVOKED' },
  'unenrolled-key': { status: 'warn', code: 'DEVICE_KEY_UNENROLLED' },
  'enrollment-unknown': { status: 'skipped', code: 'DEVICE_ENROLLMENT_UNKNOWN' },
};

/** The time a record is proven to have existed, and by whom. The anchor's block time is proof; the journal's time is the station's word. */
export interface ExistenceProof {
  /** Unix seconds. */
  time: number;
  source: 'anchor' | 'journal';
}

export interface AuthenticityInput {
  /** The record's agency and device id, and its capture time (device clock: never trusted for revocations). */
  agency: string;
  device: string;
  /** Unix seconds. */
  capturedAt: number;
  /** The Ed25519 public key that signed the record (0x hex), or undefined when unsigned. */
  signingKey: string | undefined;
  /** The enrollment history of (agency, device); undefined when not enrolled. */
  deviceHistory: OnChainDevice | undefined;
  /** Enrolled stations of the agency that hold the signing key (found by key), if any. */
  stations?: readonly OnChainDevice[];
  /** The earliest proven existence of the record (anchor block time, else the journal's time). */
  existedBy?: ExistenceProof;
  /** False when the registry keeps no enrollments (version 1) or could not be read. @default true */
  enrollmentAvailable?: boolean;
}

export interface Authenticity {
  level: AuthenticityLevel;
  /** The enrolled key that signed, when one did. */
  key?: { deviceKind: DeviceKind; device: string; index: number; publicKey: string };
  /** One sentence for the verdict's detail (English; `AUTHENTICITY_WORDS` has the short wording). */
  detail: string;
}

/** Key `index` of `history` is valid at `time` (validFrom ≤ time < validUntil, an open end while current). Revocation is judged separately. */
export function keyValidAt(key: Pick<OnChainDeviceKey, 'validFrom' | 'validUntil'>, time: number): boolean {
  return key.validFrom <= time && (key.validUntil === 0 || time < key.validUntil);
}

/** The key of `history` with `publicKey` that was valid at `time`, if any (a key re-enrolled later may appear twice). */
export function enrolledKeyAt(history: OnChainDevice | undefined, publicKey: string, time: number): OnChainDeviceKey | undefined {
  const pk = publicKey.toLowerCase();
  return history?.keys.find((k) => k.publicKey.toLowerCase() === pk && keyValidAt(k, time));
}

/**
 * A revoked key counts only for records proven to exist no later than the
 * stated compromise time — by the anchor's block time (or the journal's
 * time), never by `capturedAt`, which whoever holds the stolen key sets.
 */
export function revokedFor(key: OnChainDeviceKey, existedBy: ExistenceProof | undefined): boolean {
  if (key.revokedAt === 0) return false;
  return existedBy === undefined || existedBy.time > key.compromisedAt;
}

/** The authenticity level of a record (see `AuthenticityLevel`). */
export function authenticityOf(p: AuthenticityInput): Authenticity {
  const when = new Date(p.capturedAt * 1000).toISOString();
  if (p.signingKey === undefined) return { level: 'unenrolled-key', detail: 'the record carries no signature' };
  const device = enrolledKeyAt(p.deviceHistory, p.signingKey, p.capturedAt);
  if (device && p.deviceHistory) {
    const key = { deviceKind: p.deviceHistory.kind, device: p.device, index: device.index, publicKey: device.publicKey };
    if (revokedFor(device, p.existedBy)) {
      return {
        level: 'revoked-key',
        key,
        detail: `signed by key #${device.index} of device ${p.device} of ${p.agency}, revoked as compromised from ${iso(device.compromisedAt)}; the record is ${p.existedBy ? `only proven to exist at ${iso(p.existedBy.time)} (${p.existedBy.source})` : 'not proven to exist earlier'}`,
      };
    }
    const later =
      device.revokedAt !== 0
        ? ` (the key was revoked later, compromised from ${iso(device.compromisedAt)}; the record existed by ${iso(p.existedBy!.time)}, ${p.existedBy!.source})`
        : '';
    if (p.deviceHistory.kind === 'station') {
      return { level: 'station-signed', key, detail: `signed by station ${p.device} of ${p.agency} with its key #${device.index}, valid at ${when}${later}` };
    }
    return {
      level: 'device-signed',
      key,
      detail: `signed by ${p.deviceHistory.kind} ${p.device} of ${p.agency} with its enrolled key #${device.index}, valid at capture (${when})${later}`,
    };
  }
  for (const station of p.stations ?? []) {
    if (station.kind !== 'station' || station.agency !== p.agency) continue;
    // A station signs when it receives the file: its key must be valid at the record's proven existence (or capture) time.
    const at = p.existedBy?.time ?? p.capturedAt;
    const k = enrolledKeyAt(station, p.signingKey, Math.min(at, p.capturedAt)) ?? enrolledKeyAt(station, p.signingKey, at);
    if (!k) continue;
    const key = { deviceKind: station.kind, device: station.deviceId, index: k.index, publicKey: k.publicKey };
    if (revokedFor(k, p.existedBy)) {
      return { level: 'revoked-key', key, detail: `signed by station key #${k.index} of ${p.agency}, revoked as compromised from ${iso(k.compromisedAt)}` };
    }
    return {
      level: 'station-signed',
      key,
      detail: `signed at upload by station ${station.deviceId} of ${p.agency} (its key #${k.index}); device ${p.device} had no key of its own`,
    };
  }
  if (p.enrollmentAvailable === false)
    return { level: 'enrollment-unknown', detail: 'the registry keeps no device enrollments (version 1) or could not be read' };
  if (p.deviceHistory) {
    return {
      level: 'unenrolled-key',
      detail: `device ${p.device} of ${p.agency} is enrolled, but key ${short(p.signingKey)} was not one of its keys at ${when}`,
    };
  }
  return { level: 'unenrolled-key', detail: `device ${p.device} is not enrolled by ${p.agency}, and key ${short(p.signingKey)} is none of its stations'` };
}

const iso = (t: number): string => new Date(t * 1000).toISOString();
const short = (h: string): string => `${h.slice(0, 10)}…`;
