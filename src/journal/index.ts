export { Journal, isJournalLocked } from './journal.js';
export type { SealOptions } from './journal.js';
export type { StoredRecord, QueueEntry, DeviceHead, AgencyHead, BatchInfo, AppendResult, SealedRecordLocation } from './types.js';
