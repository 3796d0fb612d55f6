/** The notary (公证处): checks anchored batches, co-signs them with EIP-712, never equivocates. */
export { createNotary } from './notary.js';
export type { CreateNotaryParameters, Notary, RunOnceOptions } from './notary.js';
export { openNotary, connectNotaryChain, pendingForDataDir, requireKeystore } from './open.js';
export type { OpenNotaryParameters, NotaryChainParameters, NotaryChain } from './open.js';
export { listPending, listUnnotarized } from './pending.js';
export type { ListPendingParameters, ListUnnotarizedParameters, UnnotarizedBatch } from './pending.js';
export { NotaryLog, NOTARY_LOG_FORMAT } from './log.js';
export type {
  NotaryDecision,
  NotaryAttestation,
  NotaryDecisionStatus,
  NotaryFlag,
  CosignTx,
  SignedDecision,
  SubmittedDecision,
  CosignedDecision,
  RefusedDecision,
} from './log.js';
export { DEFAULT_NOTARY_POLICY, REFUSAL_REASONS, checkBatchPolicy, resolvePolicy } from './policy.js';
export type { NotaryPolicy, NotaryPolicyInput, RefusalReason, NotaryRefusal, AnchoredBatch } from './policy.js';
export { createNotaryKey, resolveNotaryPassphrase, promptHidden } from './passphrase.js';
export type { CreateNotaryKeyParameters, CreateNotaryKeyReturnType, ResolvePassphraseParameters } from './passphrase.js';
export { notaryPaths } from './paths.js';
export { createKeystore, openKeystore, keystoreAddress, passphraseFromEnv } from '../chain/keystore.js';
export type { BatchOutcome, NotaryBatchRef, NotaryEvent, NotaryPendingBatch, NotaryErrorInfo } from './types.js';
