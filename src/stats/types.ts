import type { FindingCode, Severity } from '../completeness/findings.js';

/**
 * Supervision statistics: what a city's supervision body (市司法局) looks at
 * across agencies — maintained incrementally from the journal (see stats.ts).
 */

/** Capture → anchored delay buckets (upper bounds in seconds; the last is open). */
export const DELAY_BUCKETS = [60, 300, 900, 3600, 3 * 3600, 12 * 3600, 24 * 3600] as const;
export const DELAY_LABELS = ['<1m', '1–5m', '5–15m', '15m–1h', '1–3h', '3–12h', '12–24h', '≥24h'] as const;

/** One agency's figures for one day (capture day, in the configured time zone). */
export interface DayBucket {
  records: number;
  /** Cases whose earliest record was captured that day. */
  newCases: number;
  sealed: number;
  sealedLate: number;
  anchored: number;
  anchoredLate: number;
  /** Anchored records sealed late or anchored late (each counted once): 1 − late/anchored is the day's compliance. */
  late: number;
  /** Capture → anchored delay histogram, DELAY_BUCKETS + 1 bins. */
  delay: number[];
  /** Findings in the list, by code, that happened that day. */
  findings: Record<string, number>;
}

/** A device's continuity, kept compactly: the gaps themselves, not every seq. */
export interface DeviceState {
  agency: string;
  records: number;
  maxSeq: number;
  /** Leaf of the record at maxSeq (to check the next record's prev without a read). */
  maxLeaf: string;
  /** Missing seq ranges, each attributed to the capture day of the record right after it. */
  gaps: { from: number; to: number; day: string }[];
  breaks: number;
  /** Records per capture day. */
  days: Record<string, number>;
}

/** A case's stages, compactly: first (and for some, last) capture time per stage, ms. */
export interface CaseState {
  agencies: string[];
  first: Partial<Record<string, number>>;
  lastService?: number;
  lastOnsite?: number;
  /** Capture day of the case's earliest record (the day it counts as a new case). */
  day: string;
  /** Finding ids currently raised for the case. */
  findings: string[];
}

export type FindingStatus = 'open' | 'verified' | 'rectified' | 'false-positive';
export const FINDING_ACTIONS = ['verified', 'rectified', 'false-positive'] as const;
export type FindingAction = (typeof FINDING_ACTIONS)[number];

/** One finding in the supervision list, with a stable id (its kind and where). */
export interface FindingEntry {
  id: string;
  code: FindingCode;
  severity: Severity;
  agency: string;
  /** When it happened (capture time of the record it is about), RFC 3339. */
  at: string;
  message: string;
  device?: string;
  case?: string;
  recordIds: string[];
  status: FindingStatus;
}

/** A supervisor's action on a finding, as journaled. */
export interface FindingActionEntry {
  finding: string;
  status: FindingAction;
  comment: string;
  by: string;
  at: string;
  /** The journaled record (supervision body's device chain) and its leaf. */
  recordId: string;
  leaf: string;
}

export const FEEDBACK_CATEGORIES = ['attitude', 'procedure', 'result', 'other'] as const;
export type FeedbackCategory = (typeof FEEDBACK_CATEGORIES)[number];
/** The closed loop: 受理 → 核查 → 处理 → 反馈. */
export const FEEDBACK_STEPS = ['accepted', 'investigating', 'handled', 'answered'] as const;
export type FeedbackStep = (typeof FEEDBACK_STEPS)[number];
export type FeedbackState = 'submitted' | FeedbackStep;

export interface FeedbackEntry {
  /** SHA-256 of the citizen's tracking code (the code itself is never journaled): the feedback's reference. */
  tracking: string;
  leaf: string;
  /** Agency of the record the feedback is about (never the journaling agency). */
  agency: string | null;
  category: FeedbackCategory;
  text: string;
  /** A commitment to the phone number (the number itself is encrypted in the evidence store). */
  phoneCommitment?: string;
  /** When the phone number was erased (its key destroyed), if it was. */
  phoneErasedAt?: string;
  at: string;
  recordId: string;
  state: FeedbackState;
  steps: { step: FeedbackStep; at: string; comment: string; by: string; recordId: string; leaf: string }[];
}

export interface Overview {
  period: { from: string; to: string };
  agencies: string[];
  totals: {
    records: number;
    newCases: number;
    devices: number;
    sealed: number;
    sealedLate: number;
    anchored: number;
    anchoredLate: number;
    late: number;
    /** Share of anchored records sealed and anchored on time (null without anchored records). */
    compliance: number | null;
    devicesWithHoles: number;
    devicesWithBreaks: number;
    casesWithFindings: number;
    findings: Record<string, number>;
  };
  batches: { waiting: number; anchoredNotNotarized: number; oldestWaitSeconds: number | null };
  feedback: Record<FeedbackState, number>;
  perAgency: { agency: string; records: number; anchored: number; late: number; compliance: number | null; holes: number }[];
  /** Per agency and day: compliance (null: nothing anchored that day). */
  daily: { days: string[]; series: { agency: string; compliance: (number | null)[]; records: number[] }[] };
  delay: { labels: string[]; counts: number[] };
  /** Missing records per device and day (devices with any hole in the period). */
  holes: { days: string[]; devices: string[]; cells: [number, number, number][] };
  /** Where the figures stand: the journal position they cover. */
  asOf: { acks: Record<string, number>; computedAt: string };
}
