export { SupervisionStats } from './stats.js';
export type { ChainFacts, SupervisionStatsOptions, FindingsQuery } from './stats.js';
export { DELAY_BUCKETS, DELAY_LABELS, FINDING_ACTIONS, FEEDBACK_CATEGORIES, FEEDBACK_STEPS } from './types.js';
export type {
  DayBucket,
  DeviceState,
  CaseState,
  FindingStatus,
  FindingAction,
  FindingEntry,
  FindingActionEntry,
  FeedbackCategory,
  FeedbackStep,
  FeedbackState,
  FeedbackEntry,
  Overview,
} from './types.js';
