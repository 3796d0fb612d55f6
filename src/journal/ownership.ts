import { fail } from '../errors.js';

/**
 * Which agency a device's chain belongs to — decided here and nowhere else
 * (issue 9.5). A device name belongs to the agency of its first journaled
 * record; a record of another agency for it is refused, because the device's
 * hash chain would then interleave two agencies' evidence (a hole or a fork
 * in one would be caused by the other).
 *
 * `owner` is the agency of the device's head (undefined for a new device);
 * returns the owner once `agency`'s record is journaled, or throws
 * DEVICE_OTHER_AGENCY. Called only under the lock that orders the device's chain (the journal's
 * device lock), with the head that lock protects: the head of a new device is
 * set, owner included, before the lock is released, so of two agencies racing
 * for one new device name exactly one wins. When device enrollment scopes
 * device ids to their agency, this is the function that changes.
 */
export function claimDevice(device: string, owner: string | undefined, agency: string): string {
  if (owner !== undefined && owner !== agency) {
    // The owner is not named: which agency uses which device name is not the caller's business.
    fail('DEVICE_OTHER_AGENCY', `device ${device} records for another agency; use a device name of agency ${agency}`, { details: { device, agency } });
  }
  return owner ?? agency;
}
