import { MAX_TREE_SIZE } from '../merkle/tree.js';

/**
 * What a notary checks before it co-signs a batch, beyond the facts the
 * registry enforces. Times are unix seconds; capture times come from device
 * clocks, the anchoring time from the block that anchored the batch.
 */
export interface NotaryPolicy {
  /** Oldest first capture accepted, in seconds before the anchoring block (late anchoring). @default 86_400 */
  maxAge: number;
  /** Seconds a capture may lie after the anchoring block, or after the notary's clock (device clock drift). @default 300 */
  futureSkew: number;
  /** Largest batch, in records. @default 2^20 */
  maxBatchSize: number;
  /** Blocks on top of the anchoring block before the notary signs. @default 1 */
  confirmations: number;
}

export const DEFAULT_NOTARY_POLICY: Readonly<NotaryPolicy> = Object.freeze({
  maxAge: 86_400,
  futureSkew: 300,
  maxBatchSize: MAX_TREE_SIZE,
  confirmations: 1,
});

/**
 * Reasons a notary refuses a batch. Every one is durable: the batch stays
 * refused until the operator rechecks it. `CAPTURE_IN_FUTURE` and
 * `CAPTURE_TOO_OLD` are no longer refusals (issue 9.3: nothing a client can
 * send may make a notary refuse a batch — a client chooses its capture
 * times): they are `CAPTURE_FLAGS`, kept in the log with the attestation. They
 * stay in this list so that refusals logged by earlier versions still read.
 */
export const REFUSAL_REASONS = [
  'AGENCY_CODE_INVALID',
  'EMPTY_BATCH',
  'BATCH_TOO_LARGE',
  'CAPTURE_SPAN_REVERSED',
  'CAPTURE_IN_FUTURE',
  'CAPTURE_TOO_OLD',
  'SEQ_GAP',
  'PREV_ROOT_MISMATCH',
  'EQUIVOCATION',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Policy findings that are flagged, never refused. */
export const CAPTURE_FLAGS = ['CAPTURE_IN_FUTURE', 'CAPTURE_TOO_OLD'] as const;
export type CaptureFlagReason = (typeof CAPTURE_FLAGS)[number];
export const isCaptureFlag = (reason: RefusalReason): reason is CaptureFlagReason => (CAPTURE_FLAGS as readonly string[]).includes(reason);

export interface NotaryRefusal {
  reason: RefusalReason;
  /** What is wrong and what the operator may do, for people. */
  message: string;
  /** Public facts (numbers, roots), for programs. */
  details: Record<string, unknown>;
}

/** A batch as the notary sees it: the `BatchAnchored` event cross-checked with `batch(root)`. */
export interface AnchoredBatch {
  /** Agency as bytes32 (as on chain). */
  agency: string;
  /** Agency code as text, when the bytes32 decodes to one (UTF-8, zero padded). */
  agencyCode: string | undefined;
  seq: number;
  root: string;
  size: number;
  prevRoot: string;
  firstCapturedAt: number;
  lastCapturedAt: number;
  /** `block.timestamp` of the anchoring block. */
  anchoredAt: number;
  blockNumber: number;
  /** The anchoring transaction, when known from the event. */
  txHash?: string;
}

/** Policy with defaults filled and every value checked. */
/** A policy as callers give it: any field may be absent or undefined (the default then applies). */
export type NotaryPolicyInput = { [K in keyof NotaryPolicy]?: NotaryPolicy[K] | undefined };

export function resolvePolicy(policy: NotaryPolicyInput = {}): NotaryPolicy {
  const p = { ...DEFAULT_NOTARY_POLICY, ...definedOnly(policy) };
  for (const [name, value] of Object.entries(p)) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`notary policy ${name} must be a non-negative integer, got ${String(value)}`);
  }
  if (p.maxBatchSize < 1) throw new RangeError('notary policy maxBatchSize must be at least 1');
  return p;
}

/**
 * The checks that need nothing but the batch and a clock: size and capture
 * times. Returns the first refusal, or undefined when the batch passes.
 * Requires `now` in unix seconds.
 */
export function checkBatchPolicy(batch: AnchoredBatch, policy: NotaryPolicy, now: number): NotaryRefusal | undefined {
  if (batch.agencyCode === undefined) {
    return {
      reason: 'AGENCY_CODE_INVALID',
      message: `agency ${batch.agency} is not a text agency code (UTF-8, at most 31 bytes, zero padded)`,
      details: { agency: batch.agency },
    };
  }
  if (batch.size < 1) return { reason: 'EMPTY_BATCH', message: 'the batch holds no records', details: { size: batch.size } };
  if (batch.size > policy.maxBatchSize) {
    return {
      reason: 'BATCH_TOO_LARGE',
      message: `the batch holds ${batch.size} records, more than the policy allows (${policy.maxBatchSize})`,
      details: { size: batch.size, maxBatchSize: policy.maxBatchSize },
    };
  }
  if (batch.firstCapturedAt > batch.lastCapturedAt) {
    return {
      reason: 'CAPTURE_SPAN_REVERSED',
      message: `first capture ${iso(batch.firstCapturedAt)} is after the last ${iso(batch.lastCapturedAt)}`,
      details: { firstCapturedAt: batch.firstCapturedAt, lastCapturedAt: batch.lastCapturedAt },
    };
  }
  // A record cannot be captured after the block that anchored it, nor after now.
  const reference = Math.min(batch.anchoredAt, now);
  if (batch.lastCapturedAt > reference + policy.futureSkew) {
    return {
      reason: 'CAPTURE_IN_FUTURE',
      message: `last capture ${iso(batch.lastCapturedAt)} is ${batch.lastCapturedAt - reference} s after ${reference === batch.anchoredAt ? 'the anchoring block' : 'the notary clock'} (${iso(reference)}); the policy allows ${policy.futureSkew} s of clock skew`,
      details: { lastCapturedAt: batch.lastCapturedAt, anchoredAt: batch.anchoredAt, now, futureSkew: policy.futureSkew },
    };
  }
  const age = batch.anchoredAt - batch.firstCapturedAt;
  if (age > policy.maxAge) {
    return {
      reason: 'CAPTURE_TOO_OLD',
      message: `first capture ${iso(batch.firstCapturedAt)} was anchored ${age} s later, at ${iso(batch.anchoredAt)}; the policy allows ${policy.maxAge} s (raise --max-age and recheck to accept it)`,
      details: { firstCapturedAt: batch.firstCapturedAt, anchoredAt: batch.anchoredAt, age, maxAge: policy.maxAge },
    };
  }
  return undefined;
}

/**
 * Every capture-time finding of the batch (both may hold): what
 * `checkBatchPolicy` would report as `CAPTURE_IN_FUTURE` / `CAPTURE_TOO_OLD`,
 * as flags. Requires `now` in unix seconds.
 */
export function captureFlags(batch: AnchoredBatch, policy: NotaryPolicy, now: number): Array<NotaryRefusal & { reason: CaptureFlagReason }> {
  const out: Array<NotaryRefusal & { reason: CaptureFlagReason }> = [];
  const future = checkBatchPolicy(batch, { ...policy, maxAge: Number.MAX_SAFE_INTEGER }, now);
  if (future?.reason === 'CAPTURE_IN_FUTURE') out.push({ ...future, reason: 'CAPTURE_IN_FUTURE' });
  const old = checkBatchPolicy(batch, { ...policy, futureSkew: Number.MAX_SAFE_INTEGER }, now);
  if (old?.reason === 'CAPTURE_TOO_OLD') out.push({ ...old, reason: 'CAPTURE_TOO_OLD' });
  return out;
}

function iso(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? `${seconds}` : d.toISOString().replace('.000Z', 'Z');
}

/** `o` without its undefined properties (so that they do not override defaults when spread). */
export function definedOnly<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}
