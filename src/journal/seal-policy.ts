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
  /**
   * The shorter wait once every earlier batch of the agency is anchored
   * (`anchorIdle`): sealing then costs no queueing, so records need not sit out
   * the whole window (issue 11: capture → anchored under a second).
   * @default 0 (off)
   */
  earlySeconds?: number | undefined;
}

export interface SealPolicyInput {
  pending: number;
  /** `capturedAt` of the oldest pending record, when known. */
  oldestCapturedAt: string | undefined;
  /** When (ms) records were first seen pending since the last seal. */
  firstPendingSeen: number;
  now: number;
  /** Every earlier batch is anchored: `earlySeconds` applies. */
  anchorIdle?: boolean | undefined;
}

export function sealIsDue(policy: SealPolicyConfig, input: SealPolicyInput): boolean {
  if (input.pending === 0) return false;
  if (input.pending >= policy.maxRecords) return true;
  const captured = input.oldestCapturedAt === undefined ? NaN : Date.parse(input.oldestCapturedAt);
  const since = Math.min(input.firstPendingSeen, Number.isFinite(captured) ? captured : Infinity);
  const waited = input.now - since;
  if (waited >= policy.maxSeconds * 1000) return true;
  const early = policy.earlySeconds ?? 0;
  return input.anchorIdle === true && early > 0 && waited >= early * 1000;
}
