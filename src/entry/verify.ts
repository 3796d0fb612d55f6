/**
 * `liuhen/verify` — for whoever checks a receipt (a court, a supervisor, a
 * citizen's tool): receipt parsing and the whole verifier, the chain
 * verifier included. It loads neither LevelDB nor worker threads (no journal,
 * no signing pool, no store): test/receipt/entry-points.test.ts walks its
 * import graph to keep it so.
 */
export { LiuhenError, isLiuhenError } from '../errors.js';
export type { ErrorCode } from '../errors.js';
export { toHex, fromHex, isHash32, ZERO32 } from '../util/hex.js';
export type { Hex } from '../util/hex.js';

// Receipts (parsing, serialising, redacting for public disclosure).
export {
  RECEIPT_FORMAT,
  MAX_RECEIPT_BYTES,
  receiptSchema,
  anchorSchema,
  attestationSchema,
  inclusionSchema,
  batchRefSchema,
  parseReceipt,
  serializeReceipt,
} from '../receipt/format.js';
export type { Receipt, ReceiptAnchor, ReceiptAttestation, ReceiptInclusion, ReceiptBatch } from '../receipt/format.js';
export { redactReceipt } from '../receipt/build.js';

// The pipeline and its checks.
export * from '../verify/index.js';
export type {
  AnchorOutcome,
  Check,
  CheckName,
  CheckOutcome,
  CheckStatus,
  Verdict,
  VerdictStatus,
  ChainVerifier,
  ContentInput,
  VerifyParameters,
  VerifyPolicy,
} from '../verify/types.js';

// The chain verifier (anchor and notary checks against a pinned registry) and its cache.
export { createChainVerifier } from '../chain/verifier.js';
export type { ChainVerifierParameters, ClosableChainVerifier } from '../chain/verifier.js';
export type { VerifierCacheOptions, CacheStats } from '../chain/verifier-cache.js';
export { attestationDomain, attestationDigest, attestationMessage, recoverAttestationSigner, ATTESTATION_TYPES } from '../chain/attestation.js';
export type { BatchAttestationValue } from '../chain/attestation.js';

// The primitives a verifier recomputes: leaf (JCS), device signature, inclusion, file hash.
export { recordLeaf } from '../record/leaf.js';
export { canonicalize } from '../record/jcs.js';
export { verifyRecordSignature, isUsableDeviceKey } from '../record/signature.js';
export type { LiuhenRecord } from '../record/schema.js';
export { verifyInclusion, rootFromInclusionProof } from '../merkle/verify.js';
export { hashLeaf, hashChildren } from '../merkle/hasher.js';
export { hashFile, hashStream } from '../hash/stream.js';
