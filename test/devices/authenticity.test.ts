/**
 * The authenticity level of a record from its device's on-chain key history
 * (pure; the chain-backed path is in test/devices/enrollment.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { OnChainDevice } from '../../src/chain/registry.js';
import { authenticityOf, enrolledKeyAt, keyValidAt, revokedFor } from '../../src/devices/authenticity.js';

const K = (n: number): string => `0x${n.toString(16).padStart(2, '0').repeat(32)}`;
const T = 1_700_000_000;
const DAY = 86_400;

const camera: OnChainDevice = {
  agency: 'JN-CGJ',
  deviceId: 'BC-1',
  deviceHash: '0x',
  kind: 'body-camera',
  enrolledAt: T,
  keys: [
    { index: 0, publicKey: K(1), validFrom: T, validUntil: T + 10 * DAY, compromisedAt: 0, revokedAt: 0 },
    // Rotated at day 10, revoked at day 20 as compromised from day 15.
    { index: 1, publicKey: K(2), validFrom: T + 10 * DAY, validUntil: T + 20 * DAY, compromisedAt: T + 15 * DAY, revokedAt: T + 20 * DAY },
    { index: 2, publicKey: K(3), validFrom: T + 20 * DAY, validUntil: 0, compromisedAt: 0, revokedAt: 0 },
  ],
};
const station: OnChainDevice = {
  agency: 'JN-CGJ',
  deviceId: 'station-01',
  deviceHash: '0x',
  kind: 'station',
  enrolledAt: T,
  keys: [{ index: 0, publicKey: K(9), validFrom: T, validUntil: 0, compromisedAt: 0, revokedAt: 0 }],
};
const base = { agency: 'JN-CGJ', device: 'BC-1', deviceHistory: camera };

describe('key windows', () => {
  it('a key is valid from validFrom until the next key takes over', () => {
    expect(keyValidAt(camera.keys[0]!, T)).toBe(true);
    expect(keyValidAt(camera.keys[0]!, T - 1)).toBe(false);
    expect(keyValidAt(camera.keys[0]!, T + 10 * DAY)).toBe(false);
    expect(keyValidAt(camera.keys[2]!, T + 1000 * DAY)).toBe(true);
    expect(enrolledKeyAt(camera, K(2).toUpperCase().replace('0X', '0x'), T + 12 * DAY)?.index).toBe(1);
  });

  it('revocation is judged by the proven existence time, never by capturedAt', () => {
    const k = camera.keys[1]!;
    expect(revokedFor(k, { time: T + 14 * DAY, source: 'anchor' })).toBe(false);
    expect(revokedFor(k, { time: T + 15 * DAY, source: 'anchor' })).toBe(false); // at the stated time: still before
    expect(revokedFor(k, { time: T + 15 * DAY + 1, source: 'journal' })).toBe(true);
    expect(revokedFor(k, undefined)).toBe(true);
    expect(revokedFor(camera.keys[0]!, undefined)).toBe(false);
  });
});

describe('authenticityOf', () => {
  it('device-signed: the enrolled key of the device, valid at capture', () => {
    const a = authenticityOf({ ...base, capturedAt: T + DAY, signingKey: K(1) });
    expect(a).toMatchObject({ level: 'device-signed', key: { deviceKind: 'body-camera', device: 'BC-1', index: 0 } });
  });

  it('a record made offline for a week with the first key, uploaded after the rotation, stays device-signed', () => {
    expect(authenticityOf({ ...base, capturedAt: T + 9 * DAY, signingKey: K(1), existedBy: { time: T + 16 * DAY, source: 'anchor' } }).level).toBe(
      'device-signed',
    );
  });

  it('a key revoked later: records anchored before the compromise time stay device-signed, later ones are flagged', () => {
    const before = authenticityOf({ ...base, capturedAt: T + 11 * DAY, signingKey: K(2), existedBy: { time: T + 12 * DAY, source: 'anchor' } });
    expect(before.level).toBe('device-signed');
    expect(before.detail).toMatch(/revoked later/);
    // The thief dates the capture inside the key's window: the anchor time decides.
    const after = authenticityOf({ ...base, capturedAt: T + 11 * DAY, signingKey: K(2), existedBy: { time: T + 16 * DAY, source: 'anchor' } });
    expect(after.level).toBe('revoked-key');
    expect(authenticityOf({ ...base, capturedAt: T + 11 * DAY, signingKey: K(2) }).level).toBe('revoked-key');
  });

  it("unenrolled-key: a key outside its window, another device's key, no signature, a device not enrolled", () => {
    expect(authenticityOf({ ...base, capturedAt: T + 25 * DAY, signingKey: K(1) }).level).toBe('unenrolled-key');
    expect(authenticityOf({ ...base, capturedAt: T + DAY, signingKey: K(7) }).level).toBe('unenrolled-key');
    expect(authenticityOf({ ...base, capturedAt: T + DAY, signingKey: undefined }).level).toBe('unenrolled-key');
    expect(authenticityOf({ ...base, deviceHistory: undefined, capturedAt: T + DAY, signingKey: K(1) }).level).toBe('unenrolled-key');
  });

  it("another agency's device or station never counts", () => {
    const foreign = { ...station, agency: 'JN-SCJGJ' };
    expect(authenticityOf({ ...base, deviceHistory: undefined, stations: [foreign], capturedAt: T + DAY, signingKey: K(9) }).level).toBe('unenrolled-key');
  });

  it("station-signed: the device had no key; the agency's enrolled station signed at upload", () => {
    const a = authenticityOf({
      ...base,
      device: 'phone-3',
      deviceHistory: undefined,
      stations: [station],
      capturedAt: T + DAY,
      signingKey: K(9),
      existedBy: { time: T + DAY + 60, source: 'journal' },
    });
    expect(a).toMatchObject({ level: 'station-signed', key: { deviceKind: 'station', device: 'station-01', index: 0 } });
  });

  it('enrollment-unknown on a registry that keeps no enrollments (version 1)', () => {
    expect(authenticityOf({ ...base, deviceHistory: undefined, enrollmentAvailable: false, capturedAt: T, signingKey: K(1) }).level).toBe('enrollment-unknown');
  });
});
