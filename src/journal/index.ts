export { Journal, isJournalLocked, DEFAULT_MAX_FUTURE_SKEW_SECONDS } from './journal.js';
export type { SealOptions, JournalOptions, JournalHealth } from './journal.js';
export { TypedStore, JSON_CODEC, TEXT_CODEC } from './typed-store.js';
export type { StoreCodec } from './typed-store.js';
export { sealIsDue } from './seal-policy.js';
export type { SealPolicyConfig, SealPolicyInput } from './seal-policy.js';
export type { StoredRecord, QueueEntry, DeviceHead, AgencyHead, BatchInfo, AppendResult, SealedRecordLocation } from './types.js';
