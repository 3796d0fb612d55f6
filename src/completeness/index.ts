export { deviceFindings, caseFindings, timelinessFindings } from './findings.js';
export type { Finding, FindingCode, Severity, AuditedRecord, AuditPolicy } from './findings.js';
export { auditDevice, auditCase } from './audit.js';
export type { DeviceAudit, CaseAudit, AnchorTimeLookup } from './audit.js';
