export { Journal, isJournalLocked, DEFAULT_MAX_FUTURE_SKEW_SECONDS } from './journal.js';
export type { SealOptions, JournalOptions } from './journal.js';
export type { StoredRecord, QueueEntry, DeviceHead, AgencyHead, BatchInfo, AppendResult, SealedRecordLocation } from './types.js';
