export { Journal, isJournalLocked } from './journal.js';
export type { RecordSigner, SealOptions } from './journal.js';
export type { StoredRecord, QueueEntry, DeviceHead, AgencyHead, BatchInfo, AppendResult, SealedRecordLocation } from './types.js';
