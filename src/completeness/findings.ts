import type { OnChainDevice } from '../chain/registry.js';
import { keyValidAt } from '../devices/authenticity.js';
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
export function deviceFindings(records: readonly AuditedRecord[], options: KeyChangeOptions = {}): Finding[] {
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
  out.push(...keyChangeFindings(keyChanges(ordered, options)));
  return out;
}

/** The registry's enrollment history of a device, for explaining key changes (issue 13). */
export interface KeyChangeOptions {
  /**
   * The device's enrollment history on a trusted registry: `undefined` when
   * the device is not enrolled there. Omit the option (or pass `known: false`)
   * when no registry could be asked: every change then stays a finding.
   */
  enrollment?: { known: boolean; history: OnChainDevice | undefined };
}

/**
 * A change of signing key between two consecutive records of a device's
 * chain, and whether the registry's enrollment history explains it: the old
 * key was enrolled for the device when the older record was captured, and the
 * new key is a later key of the same device (a rotation, `rotateDeviceKey`),
 * valid when the newer record was captured. An explained change is shown in
 * the continuity and case views, not reported as a finding; an unexplained one
 * stays `DEVICE_KEY_CHANGED`.
 */
export interface KeyChange {
  device: string;
  agency: string;
  /** Seq of the last record signed with the old key, and of the first with the new one. */
  fromSeq: number;
  toSeq: number;
  recordIds: [string, string];
  fromKey: string;
  toKey: string;
  explained: boolean;
  /** The enrollment facts behind an explained change (key indexes in the device's history, unix seconds). */
  enrollment?: { fromIndex: number; toIndex: number; validFrom: number; fromRevokedAt: number; fromCompromisedAt: number };
  /** One line each (Chinese first) for a supervisor. */
  zh: string;
  en: string;
}

const secsOf = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const isoOf = (t: number) => new Date(t * 1000).toISOString();
const shortKey = (k: string) => `${k.slice(0, 14)}…`;

/** The key changes in `ordered` (one record per seq, in seq order), each explained by the enrollment history when it can be. */
export function keyChanges(ordered: readonly AuditedRecord[], options: KeyChangeOptions = {}): KeyChange[] {
  const out: KeyChange[] = [];
  let last: AuditedRecord | undefined;
  for (const r of ordered) {
    const key = r.record.sig?.key;
    if (!key) continue;
    if (last && last.record.sig!.key !== key) out.push(explainChange(last, r, options));
    last = r;
  }
  return out;
}

function explainChange(a: AuditedRecord, b: AuditedRecord, options: KeyChangeOptions): KeyChange {
  const device = b.record.device;
  const fromKey = a.record.sig!.key;
  const toKey = b.record.sig!.key;
  const base = {
    device,
    agency: b.record.agency,
    fromSeq: a.record.seq,
    toSeq: b.record.seq,
    recordIds: [a.record.id, b.record.id] as [string, string],
    fromKey,
    toKey,
  };
  const changed = `device ${device} signs record ${b.record.seq} with another key (${shortKey(toKey)}) than record ${a.record.seq} (${shortKey(fromKey)})`;
  const changedZh = `设备 ${device} 的第 ${b.record.seq} 条记录改用另一把密钥签名（第 ${a.record.seq} 条为 ${shortKey(fromKey)}，此后为 ${shortKey(toKey)}）`;
  const e = options.enrollment;
  if (!e?.known) return { ...base, explained: false, en: changed, zh: `${changedZh}；无法查询设备登记，未能核对` };
  const history = e.history;
  if (!history) return { ...base, explained: false, en: `${changed}; the device is not enrolled on the registry`, zh: `${changedZh}；该设备未在登记簿登记` };
  const lower = (k: string) => k.toLowerCase();
  const from = history.keys.find((k) => lower(k.publicKey) === lower(fromKey) && keyValidAt(k, secsOf(a.record.capturedAt)));
  const to = history.keys.find((k) => lower(k.publicKey) === lower(toKey) && keyValidAt(k, secsOf(b.record.capturedAt)));
  if (from && to && to.index > from.index) {
    const revoked =
      from.revokedAt !== 0
        ? {
            en: `; key #${from.index} was later revoked as compromised from ${isoOf(from.compromisedAt)}`,
            zh: `；旧密钥 #${from.index} 已被吊销（声明泄露时间 ${isoOf(from.compromisedAt)}）`,
          }
        : { en: '', zh: '' };
    return {
      ...base,
      explained: true,
      enrollment: { fromIndex: from.index, toIndex: to.index, validFrom: to.validFrom, fromRevokedAt: from.revokedAt, fromCompromisedAt: from.compromisedAt },
      en: `key rotation enrolled on the registry: device ${device} of ${history.agency} uses key #${to.index} from ${isoOf(to.validFrom)} (record ${b.record.seq} on), after key #${from.index}${revoked.en}`,
      zh: `登记簿记录了密钥轮换：${history.agency} 的设备 ${device} 自 ${isoOf(to.validFrom)} 起使用密钥 #${to.index}（第 ${b.record.seq} 条起），此前为密钥 #${from.index}${revoked.zh}`,
    };
  }
  const why = !to
    ? {
        en: `the new key was not enrolled for the device when record ${b.record.seq} was captured`,
        zh: `新密钥在第 ${b.record.seq} 条记录采集时未登记给该设备`,
      }
    : !from
      ? {
          en: `the old key was not enrolled for the device when record ${a.record.seq} was captured`,
          zh: `旧密钥在第 ${a.record.seq} 条记录采集时未登记给该设备`,
        }
      : { en: `the registry lists key #${to.index} before key #${from.index}: not a rotation`, zh: `登记簿中密钥 #${to.index} 早于 #${from.index}，不是轮换` };
  return { ...base, explained: false, en: `${changed}; the registry does not explain it: ${why.en}`, zh: `${changedZh}；登记簿无法解释：${why.zh}` };
}

/**
 * A device signs with one key; a different key in the middle of its chain
 * means a replaced device, a re-keyed one — or records signed by someone else.
 * A change the registry's enrollment history explains (a rotation) is not a
 * finding; any other one is, so a supervisor sees where it happened.
 */
export function keyChangeFindings(changes: readonly KeyChange[]): Finding[] {
  return changes
    .filter((c) => !c.explained)
    .map((c) => ({ code: 'DEVICE_KEY_CHANGED', severity: 'medium', device: c.device, recordIds: [...c.recordIds], message: c.en }) satisfies Finding);
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
