/**
 * `liuhen/chain` — the registry client, the anchorer, chain data for
 * receipts, the chain verifier, keys and deployment. The dev chain and its
 * well-known keys are in `liuhen/dev`.
 */
export {
  RegistryClient,
  registryInterface,
  decodeRegistryError,
  parseAnchorLog,
  parseCosignLog,
  AGENCY_ROLE,
  NOTARY_ROLE,
  DEFAULT_ADMIN_ROLE,
} from '../chain/registry.js';
export type { OnChainBatch, AnchorLog, CosignLog, RegistryClientOptions } from '../chain/registry.js';
export { connect as connectChain, redactUrl, isNetworkError } from '../chain/rpc.js';
export type { ConnectParameters, Connection } from '../chain/rpc.js';
export { deploy, deployRegistry, DEFAULT_RPC } from '../chain/deploy.js';
export type { DeployNames, DeployParameters, DeployResult, DeployStep, DeployRegistryParameters } from '../chain/deploy.js';
export {
  agencyKey,
  notaryKey,
  openKey,
  ensureKeystore,
  passphraseFor,
  AGENCY_PASSPHRASE_ENV,
  NOTARY_PASSPHRASE_ENV,
  DEPLOYER_KEYSTORE_ENV,
  DEPLOYER_PASSPHRASE_ENV,
} from '../chain/keys.js';
export type { KeyLocation } from '../chain/keys.js';
export { createAnchorer } from '../chain/anchorer.js';
export type { Anchorer, AnchorerParameters, AnchorEvent, AnchorPendingOptions, AnchorSummary } from '../chain/anchorer.js';
export type { AnchorState, AnchorStatus, AnchorTx, AnchorLocation } from '../chain/state.js';
export { chainDataFor, receiptWithChain } from '../chain/receipts.js';
export type { ChainData, ChainDataParameters, ChainReceiptParameters } from '../chain/receipts.js';
export { createChainVerifier } from '../chain/verifier.js';
export type { ChainVerifierParameters, ClosableChainVerifier } from '../chain/verifier.js';
export type { VerifierCacheOptions, CacheStats } from '../chain/verifier-cache.js';
export {
  attestationDomain,
  attestationDigest,
  attestationMessage,
  recoverAttestationSigner,
  agencyToBytes32,
  ATTESTATION_TYPES,
  ATTESTATION_DOMAIN_NAME,
  ATTESTATION_DOMAIN_VERSION,
} from '../chain/attestation.js';
export type { BatchAttestationValue } from '../chain/attestation.js';
export { evidenceRegistryArtifact } from '../chain/registry-artifact.js';
