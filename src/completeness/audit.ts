import type { Journal } from '../journal/journal.js';
import type { StoredRecord } from '../journal/types.js';
import { caseFindings, deviceFindings, timelinessFindings, type AuditedRecord, type AuditPolicy, type Finding } from './findings.js';

/** Looks up what the chain knows of a batch root (block time of its anchor), when a chain is configured. */
export type AnchorTimeLookup = (root: string) => Promise<number | undefined>;

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
}

export async function auditDevice(journal: Journal, device: string, policy: AuditPolicy = {}, anchorTime?: AnchorTimeLookup): Promise<DeviceAudit> {
  const records: AuditedRecord[] = [];
  for await (const s of journal.deviceRecords(device)) records.push(await audited(journal, s, anchorTime));
  const findings = [...deviceFindings(records), ...records.flatMap((r) => timelinessFindings(r, policy))];
  return { device, records: records.length, lastSeq: records.reduce((m, r) => Math.max(m, r.record.seq), 0), findings };
}

export interface CaseAudit {
  case: string;
  records: AuditedRecord[];
  findings: Finding[];
}

export async function auditCase(journal: Journal, caseId: string, policy: AuditPolicy = {}, anchorTime?: AnchorTimeLookup): Promise<CaseAudit> {
  const records: AuditedRecord[] = [];
  for await (const s of journal.caseRecords(caseId)) records.push(await audited(journal, s, anchorTime));
  records.sort((a, b) => Date.parse(a.record.capturedAt) - Date.parse(b.record.capturedAt));
  return { case: caseId, records, findings: caseFindings(caseId, records, policy) };
}
