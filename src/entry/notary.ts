/** `liuhen/notary` — the notary (公证处): checks anchored batches, co-signs them (EIP-712), never equivocates. */
export { createNotary } from '../notary/notary.js';
export type { CreateNotaryParameters, Notary, RunOnceOptions } from '../notary/notary.js';
export { openNotary, connectNotaryChain, pendingForDataDir, requireKeystore } from '../notary/open.js';
export type { OpenNotaryParameters, NotaryChainParameters, NotaryChain } from '../notary/open.js';
export { listPending } from '../notary/pending.js';
export type { ListPendingParameters } from '../notary/pending.js';
export { NotaryLog, NOTARY_LOG_FORMAT } from '../notary/log.js';
export type { NotaryDecision, NotaryAttestation, NotaryDecisionStatus, CosignTx } from '../notary/log.js';
export { DEFAULT_NOTARY_POLICY, REFUSAL_REASONS, checkBatchPolicy, resolvePolicy } from '../notary/policy.js';
export type { NotaryPolicy, RefusalReason, NotaryRefusal, AnchoredBatch } from '../notary/policy.js';
export { createNotaryKey, resolveNotaryPassphrase } from '../notary/passphrase.js';
export type { CreateNotaryKeyParameters, CreateNotaryKeyReturnType, ResolvePassphraseParameters } from '../notary/passphrase.js';
export { notaryPaths } from '../notary/paths.js';
export { createKeystore, openKeystore, keystoreAddress, passphraseFromEnv } from '../chain/keystore.js';
export type { BatchOutcome, NotaryBatchRef, NotaryEvent, NotaryPendingBatch, NotaryErrorInfo } from '../notary/types.js';
