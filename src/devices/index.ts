/**
 * Devices (issue 13): enrollment of capture devices' Ed25519 keys on the
 * registry (version 2) and the authenticity level of a record — how strong
 * its "before the chain" evidence is. See docs/devices.md.
 */
export { authenticityOf, enrolledKeyAt, keyValidAt, revokedFor, AUTHENTICITY_WORDS, AUTHENTICITY_CODES } from './authenticity.js';
export type { Authenticity, AuthenticityInput, AuthenticityLevel, ExistenceProof } from './authenticity.js';
export {
  enrollDevice,
  rotateDeviceKey,
  revokeDeviceKey,
  encodeEnrollDevice,
  encodeRotateDeviceKey,
  encodeRevokeDeviceKey,
  listDevices,
  stationsWithKey,
  checkRecordAuthenticity,
} from './enrollment.js';
export type { EnrollParameters, RotateParameters, RevokeParameters } from './enrollment.js';
