import type { Journal } from '../journal/journal.js';
import type { StoredRecord } from '../journal/types.js';
import type { OnChainDevice } from '../chain/registry.js';
import {
  caseFindings,
  deviceFindings,
  keyChangeFindings,
  keyChanges,
  timelinessFindings,
  type AuditedRecord,
  type AuditPolicy,
  type Finding,
  type KeyChange,
  type KeyChangeOptions,
} from './findings.js';

/** Looks up what the chain knows of a batch root (block time of its anchor), when a chain is configured. */
export type AnchorTimeLookup = (root: string) => Promise<number | undefined>;

/**
 * Looks up a device's enrollment history on a trusted registry (issue 13):
 * `undefined` when the device is not enrolled, `null` when the registry keeps
 * no enrollments or cannot be read now (key changes then stay findings).
 */
export type EnrollmentLookup = (agency: string, device: string) => Promise<OnChainDevice | undefined | null>;

async function enrollmentOf(lookup: EnrollmentLookup | undefined, agency: string, device: string): Promise<KeyChangeOptions> {
  if (!lookup) return {};
  try {
    const history = await lookup(agency, device);
    return { enrollment: history === null ? { known: false, history: undefined } : { known: true, history } };
  } catch {
    // An unreachable registry explains nothing: the change stays a finding, the view still answers.
    return { enrollment: { known: false, history: undefined } };
  }
}

/** One record per seq, in seq order (the first of a fork), as the key-change rule reads a device chain. */
function bySeq(records: readonly AuditedRecord[]): AuditedRecord[] {
  const seen = new Map<number, AuditedRecord>();
  for (const r of [...records].sort((a, b) => a.record.seq - b.record.seq)) if (!seen.has(r.record.seq)) seen.set(r.record.seq, r);
  return [...seen.values()];
}

async function audited(journal: Journal, stored: StoredRecord, anchorTime?: AnchorTimeLookup): Promise<AuditedRecord> {
  const loc = await journal.locate(stored);
  return {
    record: stored.record,
    leaf: stored.leaf,
    journaledAt: stored.journaledAt,
    sealedAt: loc?.batch.sealedAt,
    anchoredAt: loc && anchorTime ? await anchorTime(loc.batch.root) : undefined,
  };
}

export interface DeviceAudit {
  device: string;
  records: number;
  lastSeq: number;
  findings: Finding[];
  /** Every change of signing key in the device's chain, explained by the enrollment history or not (unexplained ones are also findings). */
  keyChanges: KeyChange[];
}

export async function auditDevice(
  journal: Journal,
  device: string,
  policy: AuditPolicy = {},
  anchorTime?: AnchorTimeLookup,
  enrollment?: EnrollmentLookup,
): Promise<DeviceAudit> {
  const records: AuditedRecord[] = [];
  for await (const s of journal.deviceRecords(device)) records.push(await audited(journal, s, anchorTime));
  const ordered = bySeq(records);
  // The registry is asked only when the chain has a key change to explain.
  const options = keyChanges(ordered).length > 0 && records[0] ? await enrollmentOf(enrollment, records[0].record.agency, device) : {};
  const findings = [...deviceFindings(records, options), ...records.flatMap((r) => timelinessFindings(r, policy))];
  return {
    device,
    records: records.length,
    lastSeq: records.reduce((m, r) => Math.max(m, r.record.seq), 0),
    findings,
    keyChanges: keyChanges(ordered, options),
  };
}

export interface CaseAudit {
  case: string;
  records: AuditedRecord[];
  findings: Finding[];
  /**
   * Changes of signing key between the case's records of one device (in seq
   * order), explained by the enrollment history or not; an unexplained one is
   * also a `DEVICE_KEY_CHANGED` finding of the case.
   */
  keyChanges: KeyChange[];
}

export async function auditCase(
  journal: Journal,
  caseId: string,
  policy: AuditPolicy = {},
  anchorTime?: AnchorTimeLookup,
  enrollment?: EnrollmentLookup,
): Promise<CaseAudit> {
  const records: AuditedRecord[] = [];
  for await (const s of journal.caseRecords(caseId)) records.push(await audited(journal, s, anchorTime));
  records.sort((a, b) => Date.parse(a.record.capturedAt) - Date.parse(b.record.capturedAt));
  const devices = new Map<string, AuditedRecord[]>();
  for (const r of records) devices.set(`${r.record.agency}\u0000${r.record.device}`, [...(devices.get(`${r.record.agency}\u0000${r.record.device}`) ?? []), r]);
  const changes: KeyChange[] = [];
  for (const list of devices.values()) {
    const ordered = bySeq(list);
    if (keyChanges(ordered).length === 0) continue;
    changes.push(...keyChanges(ordered, await enrollmentOf(enrollment, ordered[0]!.record.agency, ordered[0]!.record.device)));
  }
  const findings = [...caseFindings(caseId, records, policy), ...keyChangeFindings(changes).map((f) => ({ ...f, case: caseId }))];
  return { case: caseId, records, findings, keyChanges: changes };
}
