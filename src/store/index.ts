/**
 * Evidence content store (DESIGN.md, "Evidence content"): files are
 * encrypted (AES-256-GCM in STREAM segments, a fresh data key per file
 * wrapped by the agency's KEK) and stored content-addressed as IPFS UnixFS
 * objects — locally under the data folder, or in a private Kubo cluster.
 */
export { openEvidenceStore } from './evidence-store.js';
export type { EvidenceStore, GetOptions, PutOptions, PutResult, StoreConfig, VerifyResult } from './evidence-store.js';

export { createKeyring, openKeyring, DEFAULT_SCRYPT, KEYRING_FORMAT, MIN_PASSPHRASE_LENGTH } from './keyring.js';
export type { CreateKeyringOptions, Keyring, ScryptParams } from './keyring.js';

export { aesGcmKeyWrapper, staticKeyResolver, AES_GCM_WRAPPED_BYTES } from './keys.js';
export type { KeyResolver, KeyWrapper } from './keys.js';

export { encryptEvidence } from './encrypt.js';
export type { EncryptedEvidence, EncryptOptions, EncryptSummary } from './encrypt.js';
export { decryptEvidence } from './decrypt.js';
export type { DecryptOptions } from './decrypt.js';
export {
  DEFAULT_SEGMENT_SIZE as EVIDENCE_DEFAULT_SEGMENT_SIZE,
  FORMAT_VERSION as EVIDENCE_FORMAT_VERSION,
  MAGIC as EVIDENCE_MAGIC,
  parseHeader as parseEvidenceHeader,
  TAG_BYTES as EVIDENCE_TAG_BYTES,
} from './format.js';
export type { ObjectHeader as EvidenceObjectHeader } from './format.js';

export { cidOf, kuboImporterOptions, CHUNK_SIZE as UNIXFS_CHUNK_SIZE, MAX_CHILDREN_PER_NODE as UNIXFS_MAX_LINKS } from './unixfs.js';
export { LocalBackend } from './local.js';
export type { LocalBackendOptions } from './local.js';
export type { KuboBackend, KuboBackendOptions } from './kubo.js';
export { openKuboBackend } from './open-kubo.js';
export type { BackendKind, ObjectBackend } from './backend.js';
export type { ByteSource } from './bytes.js';
export { parseCid as parseEvidenceCid } from './validate.js';
