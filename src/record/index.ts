export { canonicalize, canonicalBytes } from './jcs.js';
export { recordSchema, mediaSchema, locationSchema, signatureSchema, recordIdSchema, agencySchema, deviceSchema, officerSchema, caseSchema, rfc3339Schema, STAGES, KINDS, RECORD_VERSION } from './schema.js';
export type { LiuhenRecord, RecordDraft, RecordSignature, Media, Location, Stage, Kind } from './schema.js';
export { parseRecord, parseWith, describeIssues } from './parse.js';
export { recordLeaf, signingBytes, SIGNING_TAG } from './leaf.js';
export { DeviceKey, verifyRecordSignature, DEVICE_PASSPHRASE_ENV } from './device-key.js';
