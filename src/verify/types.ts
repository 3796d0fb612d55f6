import type { Receipt } from '../receipt/format.js';
import type { DeviceAuthenticity } from './device.js';

/**
 * - pass: checked and holds;
 * - fail: checked and contradicts the receipt (altered or forged) → exit 1;
 * - pending: cannot be decided yet (not anchored, not notarized, chain unreachable) → exit 3;
 * - warn: holds, with a finding for a supervisor (e.g. anchored late);
 * - skipped: not asked for (no file given; the record withheld and no file given).
 *   A check the caller DID ask for and that could not be done is pending,
 *   never skipped: e.g. a file given with a withheld record (issue 9.1).
 */
export type CheckStatus = 'pass' | 'fail' | 'pending' | 'warn' | 'skipped';

export const CHECK_NAMES = ['format', 'content', 'signature', 'leaf', 'inclusion', 'anchor', 'notary', 'policy', 'device'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckOutcome {
  status: CheckStatus;
  /** Stable code, e.g. CONTENT_MISMATCH. */
  code: string;
  /** One line a person can read. */
  detail: string;
}

export interface Check extends CheckOutcome {
  name: CheckName;
  /** True for pass, warn and skipped: nothing contradicts the receipt. */
  ok: boolean;
}

export type VerdictStatus = 'verified' | 'failed' | 'incomplete';

export interface Verdict {
  format: 'liuhen-verdict/1';
  status: VerdictStatus;
  ok: boolean;
  leaf: string | null;
  root: string | null;
  checks: Check[];
  /** The record's authenticity level (issue 13), when the device check ran: how strong the "before the chain" evidence is. */
  authenticity?: { level: string; zh: string; en: string };
}

/** The anchor check's outcome may carry the anchor time the chain proved. */
export interface AnchorOutcome extends CheckOutcome {
  /**
   * Block timestamp (s) of the anchor as the chain holds it now — after a
   * re-anchoring it may differ from the receipt's claim. The policy check
   * judges timeliness on this. A verifier that passes the anchor without
   * giving it vouches for the receipt's `anchor.timestamp`.
   */
  anchoredAt?: number;
}

/** Chain-side checks, implemented by the chain module; the pipeline stays chain-agnostic. */
export interface ChainVerifier {
  checkAnchor(receipt: Receipt): Promise<AnchorOutcome>;
  checkNotary(receipt: Receipt): Promise<CheckOutcome>;
  /** The record's authenticity from the registry's device enrollments (src/verify/device.ts); verifiers without it add no device check. */
  deviceAuthenticity?: DeviceAuthenticity;
  /**
   * A token for memoising a whole verdict about this receipt's batch (e.g.
   * the gateway's public verdicts): it changes whenever a chain fact the
   * verdict may rely on could have changed. Undefined when the verdict must
   * not be memoised (no registry pinned, another chain, the node unreachable).
   * The anchor may be omitted (a receipt not yet completed from the chain).
   */
  verdictStamp?(receipt: { batch: Receipt['batch']; anchor?: Receipt['anchor'] | undefined }): Promise<string | undefined>;
}

/** Where the file's content comes from: its SHA-256 (computed by the caller, e.g. in a browser) or a path. */
export type ContentInput = { sha256: string } | { path: string } | { stream: AsyncIterable<Uint8Array> };

export interface VerifyPolicy {
  /** Capture → anchor delay above which the record is flagged as anchored late. Default 3600 s. */
  maxAnchorDelaySeconds?: number;
  /** Capture times further than this in the future of the anchor are a finding. Default 300 s. */
  maxClockSkewSeconds?: number;
}

export interface VerifyParameters {
  /** Receipt text, bytes or a parsed receipt. Untrusted. */
  receipt: unknown;
  content?: ContentInput | undefined;
  chain?: ChainVerifier | undefined;
  /** device → accepted Ed25519 public keys (0x hex). Without it any valid signature passes with a note. */
  trustedDeviceKeys?: Record<string, string[]> | undefined;
  policy?: VerifyPolicy | undefined;
}
