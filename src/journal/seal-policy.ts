/**
 * The real-time seal policy, beside the sealer it drives: an agency's pending
 * records are sealed once there are `maxRecords` of them, or once the oldest
 * has waited `maxSeconds` — counted from its capture time or from when the
 * policy first saw records pending, whichever is earlier (a capture time from
 * a device clock that runs late must not hold a batch back). Pure: the caller
 * keeps `firstPendingSeen` between calls and supplies the clock.
 */
export interface SealPolicyConfig {
  maxRecords: number;
  maxSeconds: number;
}

export interface SealPolicyInput {
  pending: number;
  /** `capturedAt` of the oldest pending record, when known. */
  oldestCapturedAt: string | undefined;
  /** When (ms) records were first seen pending since the last seal. */
  firstPendingSeen: number;
  now: number;
}

export function sealIsDue(policy: SealPolicyConfig, input: SealPolicyInput): boolean {
  if (input.pending === 0) return false;
  if (input.pending >= policy.maxRecords) return true;
  const captured = input.oldestCapturedAt === undefined ? NaN : Date.parse(input.oldestCapturedAt);
  const since = Math.min(input.firstPendingSeen, Number.isFinite(captured) ? captured : Infinity);
  return input.now - since >= policy.maxSeconds * 1000;
}
