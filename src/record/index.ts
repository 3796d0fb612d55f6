export { canonicalize, canonicalBytes, canonicalTemplate, fillTemplate } from './jcs.js';
export {
  recordSchema,
  unchainedRecordSchema,
  mediaSchema,
  locationSchema,
  signatureSchema,
  recordIdSchema,
  agencySchema,
  deviceSchema,
  officerSchema,
  caseSchema,
  rfc3339Schema,
  STAGES,
  KINDS,
  RECORD_VERSION,
  MAX_DEVICE_SEQ,
} from './schema.js';
export type { LiuhenRecord, RecordDraft, RecordSignature, Media, Location, Stage, Kind } from './schema.js';
export { parseRecord, parseUnchainedRecord, parseWith, describeIssues } from './parse.js';
export { recordLeaf, signingBytes, SIGNING_TAG } from './leaf.js';
export { DeviceKey, verifyRecordSignature, verifyRecordSignatureAsync, isUsableDeviceKey, DEVICE_PASSPHRASE_ENV } from './device-key.js';
export { chainWith } from './chain.js';
export type { ChainHead, ChainedRecord, UnchainedRecord, RecordSigner } from './chain.js';
export { SIGNING_WORKERS_ENV } from './signing-pool.js';
