export { verifyReceipt, exitCodeOf, firstProblem } from './verify.js';
export { checkContent, checkSignature, checkLeaf, checkInclusion, checkPolicy } from './checks.js';
export { CHECK_NAMES } from './types.js';
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
} from './types.js';
