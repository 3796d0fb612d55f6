import type { LiuhenRecord } from '../record/schema.js';
import type { Hex } from '../util/hex.js';

export interface StoredRecord {
  record: LiuhenRecord;
  leaf: Hex;
  /** Position in the agency's journal order; batches are contiguous ranges of it. */
  ack: number;
  /** When the journal made it durable (ms since epoch). */
  journaledAt: number;
}

export interface QueueEntry {
  id: string;
  leaf: Hex;
  capturedAt: string;
}

export interface DeviceHead {
  seq: number;
  leaf: Hex;
  id: string;
}

export interface AgencyHead {
  seq: number;
  root: Hex;
  /** Every ack ≤ sealedThrough is in a batch. */
  sealedThrough: number;
}

/** A sealed batch: `seq`, `root`, `size`, `prevRoot` as anchored on chain. */
export interface BatchInfo {
  agency: string;
  seq: number;
  root: Hex;
  size: number;
  prevRoot: Hex;
  /** Acks firstAck..firstAck+size-1 of the agency are the leaves, in order. */
  firstAck: number;
  /** Earliest and latest record capture time (RFC 3339, as recorded). */
  firstCapturedAt: string;
  lastCapturedAt: string;
  sealedAt: string;
}

export interface AppendResult {
  record: LiuhenRecord;
  leaf: Hex;
  ack: number;
}

export interface SealedRecordLocation {
  batch: BatchInfo;
  index: number;
}
