export { deviceFindings, caseFindings, timelinessFindings, keyChanges, keyChangeFindings } from './findings.js';
export type { Finding, FindingCode, Severity, AuditedRecord, AuditPolicy, KeyChange, KeyChangeOptions } from './findings.js';
export { auditDevice, auditCase } from './audit.js';
export type { DeviceAudit, CaseAudit, AnchorTimeLookup, EnrollmentLookup } from './audit.js';
