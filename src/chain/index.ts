export { startAnvil, superviseAnvil, previousStatePath, exitStatePath, anvilBinaryPath, freePort, assertPortFree, EMBEDDED_CHAIN_ID } from './anvil.js';
export type {
  StartAnvilParameters,
  EmbeddedChain,
  ChainStateSource,
  ChainStateEvent,
  ChainStateStatus,
  ChainSupervisorEvent,
  SupervisedChainParameters,
  SupervisedChain,
  ChainHealth,
  ChainProcessState,
} from './anvil.js';
export {
  RegistryClient,
  registryInterface,
  registryV1Interface,
  decodeRegistryError,
  parseAnchorLog,
  parseCosignLog,
  agencyArg,
  deviceHash,
  deviceKindValue,
  deviceKindOf,
  CosignedBatches,
  DEVICE_KINDS,
  AGENCY_ROLE,
  NOTARY_ROLE,
  DEFAULT_ADMIN_ROLE,
} from './registry.js';
export type { OnChainBatch, OnChainDevice, OnChainDeviceKey, DeviceKind, AnchorLog, CosignLog, RegistryClientOptions } from './registry.js';
export { connect as connectChain, redactUrl, isNetworkError } from './rpc.js';
export type { ConnectParameters, Connection } from './rpc.js';
export {
  deploy,
  deployRegistry,
  devAccount,
  DEV_MNEMONIC,
  DEFAULT_RPC,
  assessRegistry,
  anchoredDeployments,
  registryFacts,
  trustedRegistries,
  checkpointSeq,
  migrateRegistry,
} from './deploy.js';
export type {
  DeployNames,
  DeployParameters,
  DeployResult,
  DeployStep,
  DeployRegistryParameters,
  AnchoredDeployment,
  RegistryFacts,
  RegistryAssessment,
  MigrateParameters,
  MigrateResult,
} from './deploy.js';
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
} from './keys.js';
export type { KeyLocation } from './keys.js';
export { createAnchorer } from './anchorer.js';
export type { Anchorer, AnchorerParameters, AnchorEvent, AnchorPendingOptions, AnchorSummary } from './anchorer.js';
export type { AnchorState, AnchorStatus, AnchorTx, AnchorLocation } from './state.js';
export { chainDataFor, receiptWithChain } from './receipts.js';
export type { ChainData, ChainDataParameters, ChainReceiptParameters } from './receipts.js';
export { createChainVerifier } from './verifier.js';
export type { ChainVerifierParameters, ClosableChainVerifier } from './verifier.js';
export type { VerifierCacheOptions, CacheStats } from './verifier-cache.js';
export {
  attestationDomain,
  attestationDigest,
  attestationMessage,
  recoverAttestationSigner,
  agencyToBytes32,
  domainVersionOf,
  ATTESTATION_TYPES,
  ATTESTATION_DOMAIN_NAME,
  ATTESTATION_DOMAIN_VERSION,
  CURRENT_REGISTRY_VERSION,
} from './attestation.js';
export type { BatchAttestationValue, RegistryVersion } from './attestation.js';
export { evidenceRegistryArtifact } from './registry-artifact.js';
export { evidenceRegistryV1Artifact } from './registry-v1-artifact.js';
export { parseTrustRoot, readTrustRoot, trustName, trustRootSchema } from './trust.js';
export type { TrustRoot } from './trust.js';
