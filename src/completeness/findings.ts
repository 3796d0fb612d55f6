import type { LiuhenRecord, Stage } from '../record/schema.js';
import { STAGES } from '../record/schema.js';
import { ZERO32 } from '../util/hex.js';

/**
 * Completeness: what no peer checks. Pure functions over records; the
 * journal (or a supervisor's copy of receipts) supplies them.
 */
export type FindingCode =
  | 'DEVICE_SEQ_HOLE'
  | 'DEVICE_CHAIN_BREAK'
  | 'DEVICE_CHAIN_FORK'
  | 'DEVICE_SESSION_UNCLOSED'
  | 'DEVICE_KEY_CHANGED'
  | 'CASE_STAGE_OUT_OF_ORDER'
  | 'CASE_DECISION_WITHOUT_REVIEW'
  | 'CASE_DECISION_NOT_SERVED'
  | 'RECORD_CAPTURED_IN_FUTURE'
  | 'RECORD_SEALED_LATE'
  | 'RECORD_ANCHORED_LATE';

export type Severity = 'high' | 'medium' | 'low';

export interface Finding {
  code: FindingCode;
  severity: Severity;
  /** One line for a supervisor. */
  message: string;
  device?: string;
  case?: string;
  recordIds: string[];
  /** For holes: the missing sequence numbers (inclusive). */
  missing?: { from: number; to: number };
}

/** A record with what the journal and chain know about it. */
export interface AuditedRecord {
  record: LiuhenRecord;
  leaf: string;
  journaledAt?: number | undefined;
  /** ISO time the record was sealed into a batch. */
  sealedAt?: string | undefined;
  /** Block time (s) of its anchor. */
  anchoredAt?: number | undefined;
}

export interface AuditPolicy {
  /** Capture → seal delay that counts as late. Default 3600 s. */
  maxSealDelaySeconds?: number | undefined;
  /** Capture → anchor delay that counts as late. Default 3600 s. */
  maxAnchorDelaySeconds?: number | undefined;
  /** Tolerated device clock skew into the future. Default 300 s. */
  maxClockSkewSeconds?: number | undefined;
}

const secs = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/**
 * Per device: holes in `seq` (from 1), breaks in the `prev` chain, forks (two
 * records with one seq), and recording sessions opened by a
 * `{event: "recording-start"}` record and never closed by "recording-stop"
 * before the next start or the end — a clip cut from the middle or the end.
 */
export function deviceFindings(records: readonly AuditedRecord[]): Finding[] {
  const out: Finding[] = [];
  if (records.length === 0) return out;
  const device = records[0]!.record.device;
  const bySeq = new Map<number, AuditedRecord[]>();
  for (const r of records) bySeq.set(r.record.seq, [...(bySeq.get(r.record.seq) ?? []), r]);
  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  let expected = 1;
  for (const s of seqs) {
    if (s > expected) {
      out.push({
        code: 'DEVICE_SEQ_HOLE',
        severity: 'high',
        device,
        recordIds: bySeq.get(s)!.map((r) => r.record.id),
        missing: { from: expected, to: s - 1 },
        message:
          s - 1 === expected
            ? `record ${expected} of device ${device} is missing (deleted or never uploaded)`
            : `records ${expected}–${s - 1} of device ${device} are missing (deleted or never uploaded)`,
      });
    }
    expected = s + 1;
    const group = bySeq.get(s)!;
    if (group.length > 1) {
      out.push({
        code: 'DEVICE_CHAIN_FORK',
        severity: 'high',
        device,
        recordIds: group.map((r) => r.record.id),
        message: `device ${device} has ${group.length} different records with seq ${s}`,
      });
    }
    const prev = s === 1 ? [{ leaf: ZERO32 }] : bySeq.get(s - 1);
    if (!prev) continue; // a hole, reported above
    for (const r of group) {
      if (!prev.some((p) => p.leaf === r.record.prev)) {
        out.push({
          code: 'DEVICE_CHAIN_BREAK',
          severity: 'high',
          device,
          recordIds: [r.record.id],
          message: `record ${s} of device ${device} does not chain to record ${s - 1} (prev differs): a record was replaced`,
        });
      }
    }
  }
  const ordered = seqs.map((s) => bySeq.get(s)![0]!);
  out.push(...sessionFindings(device, ordered));
  out.push(...keyFindings(device, ordered));
  return out;
}

/**
 * A device signs with one key; a different key in the middle of its chain
 * means a replaced device, a re-keyed one — or records signed by someone else.
 * Legitimate or not, a supervisor should see where it happened.
 */
function keyFindings(device: string, ordered: AuditedRecord[]): Finding[] {
  const out: Finding[] = [];
  let last: AuditedRecord | undefined;
  for (const r of ordered) {
    const key = r.record.sig?.key;
    if (!key) continue;
    if (last && last.record.sig!.key !== key) {
      out.push({
        code: 'DEVICE_KEY_CHANGED',
        severity: 'medium',
        device,
        recordIds: [last.record.id, r.record.id],
        message: `device ${device} signs record ${r.record.seq} with another key (${key.slice(0, 14)}…) than record ${last.record.seq} (${last.record.sig!.key.slice(0, 14)}…)`,
      });
    }
    last = r;
  }
  return out;
}

function sessionFindings(device: string, ordered: AuditedRecord[]): Finding[] {
  const out: Finding[] = [];
  let open: AuditedRecord | undefined;
  const event = (r: AuditedRecord) => (r.record.kind === 'event' ? (r.record.body as { event?: unknown } | undefined)?.event : undefined);
  for (const r of ordered) {
    const e = event(r);
    if (e === 'recording-start') {
      if (open)
        out.push({
          code: 'DEVICE_SESSION_UNCLOSED',
          severity: 'medium',
          device,
          recordIds: [open.record.id],
          message: `recording started at ${open.record.capturedAt} on device ${device} has no stop before the next start`,
        });
      open = r;
    } else if (e === 'recording-stop') open = undefined;
  }
  if (open)
    out.push({
      code: 'DEVICE_SESSION_UNCLOSED',
      severity: 'low',
      device,
      recordIds: [open.record.id],
      message: `recording started at ${open.record.capturedAt} on device ${device} has no stop record yet`,
    });
  return out;
}

const rank = (s: Stage) => STAGES.indexOf(s);

/**
 * Per case: the stages of the full process in order (filing → investigation →
 * review → decision → service → execution → closing; on-site records may come
 * any time before the decision), a decision without a prior legal review, a
 * decision never served, and records captured in the future or sealed or
 * anchored long after capture.
 */
export function caseFindings(caseId: string, records: readonly AuditedRecord[], policy: AuditPolicy = {}): Finding[] {
  const out: Finding[] = [];
  const staged = records.filter((r) => r.record.stage).sort((a, b) => Date.parse(a.record.capturedAt) - Date.parse(b.record.capturedAt));
  const firstOf = new Map<Stage, AuditedRecord>();
  for (const r of staged) if (!firstOf.has(r.record.stage!)) firstOf.set(r.record.stage!, r);

  let highest: AuditedRecord | undefined;
  for (const r of staged) {
    const stage = r.record.stage!;
    if (stage === 'onsite') {
      const decision = firstOf.get('decision');
      if (decision && Date.parse(r.record.capturedAt) > Date.parse(decision.record.capturedAt)) {
        out.push({
          code: 'CASE_STAGE_OUT_OF_ORDER',
          severity: 'medium',
          case: caseId,
          recordIds: [r.record.id],
          message: `on-site record captured after the decision (${r.record.capturedAt})`,
        });
      }
      continue;
    }
    if (highest && rank(stage) < rank(highest.record.stage!) && firstOf.get(stage) === r) {
      out.push({
        code: 'CASE_STAGE_OUT_OF_ORDER',
        severity: 'medium',
        case: caseId,
        recordIds: [r.record.id, highest.record.id],
        message: `stage ${stage} began (${r.record.capturedAt}) after stage ${highest.record.stage} (${highest.record.capturedAt})`,
      });
    }
    if (!highest || rank(stage) > rank(highest.record.stage!)) highest = r;
  }

  const decision = firstOf.get('decision');
  if (decision) {
    const review = firstOf.get('review');
    if (!review || Date.parse(review.record.capturedAt) > Date.parse(decision.record.capturedAt)) {
      out.push({
        code: 'CASE_DECISION_WITHOUT_REVIEW',
        severity: 'high',
        case: caseId,
        recordIds: [decision.record.id],
        message: `decision of ${decision.record.capturedAt} has no prior legal review (法制审核) record`,
      });
    }
    const served = staged.some((r) => r.record.stage === 'service' && Date.parse(r.record.capturedAt) >= Date.parse(decision.record.capturedAt));
    if (!served) {
      out.push({
        code: 'CASE_DECISION_NOT_SERVED',
        severity: 'high',
        case: caseId,
        recordIds: [decision.record.id],
        message: `decision of ${decision.record.capturedAt} has no service (送达) record after it`,
      });
    }
  }
  for (const r of records) out.push(...timelinessFindings(r, policy).map((f) => ({ ...f, case: caseId })));
  return out;
}

/**
 * Capture time in the future of its journaling, or sealed/anchored long after
 * capture. An old capture is never refused at ingest (issue 9.3: nothing a
 * client sends may make a notary refuse a batch, and evidence is not dropped
 * for being late): sealed within the seal window, it shows here as
 * RECORD_SEALED_LATE (and RECORD_ANCHORED_LATE) for a supervisor instead.
 */
export function timelinessFindings(r: AuditedRecord, policy: AuditPolicy = {}): Finding[] {
  const out: Finding[] = [];
  const captured = secs(r.record.capturedAt);
  const skew = policy.maxClockSkewSeconds ?? 300;
  const base = { device: r.record.device, recordIds: [r.record.id] };
  if (r.journaledAt !== undefined && captured > Math.floor(r.journaledAt / 1000) + skew) {
    out.push({
      ...base,
      code: 'RECORD_CAPTURED_IN_FUTURE',
      severity: 'medium',
      message: `record ${r.record.id} claims capture at ${r.record.capturedAt}, after it was journaled`,
    });
  }
  const maxSeal = policy.maxSealDelaySeconds ?? 3600;
  if (r.sealedAt && secs(r.sealedAt) - captured > maxSeal) {
    out.push({
      ...base,
      code: 'RECORD_SEALED_LATE',
      severity: 'medium',
      message: `record ${r.record.id} was sealed ${secs(r.sealedAt) - captured} s after capture (policy: ${maxSeal} s)`,
    });
  }
  const maxAnchor = policy.maxAnchorDelaySeconds ?? 3600;
  if (r.anchoredAt !== undefined && r.anchoredAt - captured > maxAnchor) {
    out.push({
      ...base,
      code: 'RECORD_ANCHORED_LATE',
      severity: 'medium',
      message: `record ${r.record.id} was anchored ${r.anchoredAt - captured} s after capture (policy: ${maxAnchor} s)`,
    });
  }
  return out;
}
