/**
 * Exponential backoff: the delay before retry number `attempt` (1-based) is
 * `initialMs · factor^(attempt−1)`, capped at `maxMs`. No jitter: the SDK's
 * retriers are a handful of loops per process talking to one node, not a herd;
 * a deterministic delay keeps tests and logs readable.
 */
export interface BackoffPolicy {
  /** Delay before the first retry, ms. */
  initialMs: number;
  /** Longest delay, ms. */
  maxMs: number;
  /** Growth per attempt. @default 2 */
  factor?: number;
}

/** Delay before retry `attempt` (1 for the first retry; values below 1 count as 1). */
export function backoffDelay(policy: BackoffPolicy, attempt: number): number {
  const factor = policy.factor ?? 2;
  const n = Math.max(0, Math.min(Math.floor(attempt) - 1, 60));
  return Math.min(policy.maxMs, policy.initialMs * factor ** n);
}

/**
 * Per-key retry bookkeeping for work items that fail independently (one
 * batch's cosign failing must not hold back the others): `fail(key)` counts a
 * failure and schedules the next try, `due(key)` says whether it may run now,
 * `succeed(key)` forgets it.
 */
export class KeyedBackoff<K> {
  private readonly state = new Map<K, { attempts: number; nextAt: number }>();

  constructor(
    private readonly policy: BackoffPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  fail(key: K): number {
    const attempts = (this.state.get(key)?.attempts ?? 0) + 1;
    const delay = backoffDelay(this.policy, attempts);
    this.state.set(key, { attempts, nextAt: this.now() + delay });
    return delay;
  }

  succeed(key: K): void {
    this.state.delete(key);
  }

  due(key: K): boolean {
    const s = this.state.get(key);
    return s === undefined || s.nextAt <= this.now();
  }

  /** True when some failed key's retry time has come. */
  anyDue(): boolean {
    const now = this.now();
    for (const s of this.state.values()) if (s.nextAt <= now) return true;
    return false;
  }
}
