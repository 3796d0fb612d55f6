import { z } from 'zod';
import { fail, isLiuhenError } from '../errors.js';
import type { MerkleTree } from '../merkle/tree.js';
import type { RecordSigner } from '../record/chain.js';
import type { RecordDraft } from '../record/schema.js';
import type { Hex } from '../util/hex.js';
import { snapshotLevel, type LevelSnapshot } from '../backup/level-dump.js';
import { Appender } from './appender.js';
import { anchorStateEnvelopeSchema, type AnchorStateEnvelope } from './codecs.js';
import { JournalDisk, type JournalHealth } from './disk.js';
import { JournalIndexes } from './indexes.js';
import { K } from './keys.js';
import { Sealer, type SealOptions } from './sealer.js';
import { TEXT_CODEC, TypedStore } from './typed-store.js';
import type { AgencyHead, AppendResult, BatchInfo, DeviceHead, QueueEntry, SealedRecordLocation, StoredRecord } from './types.js';

export type { SealOptions } from './sealer.js';
export type { JournalHealth } from './disk.js';

export interface JournalOptions {
  /**
   * How far (seconds) a record's `capturedAt` may lie after the journal's clock
   * (device clock drift). Later captures are refused with CAPTURE_IN_FUTURE
   * (issue 9.3): a capture time a client chose must never later make a notary
   * refuse the batch, and a notary allows 300 s after the anchoring block, so
   * this stays well below that. Default 120.
   */
  maxFutureSkewSeconds?: number;
  /** Clock (tests). */
  now?: () => number;
  /** Free disk space below which `health()` says degraded (a full disk is near). Default 64 MiB. */
  minFreeBytes?: number;
  /** After a failed write: first and longest wait (ms) between attempts to reopen. Default 200 and 5000. */
  reopenDelayMs?: { min: number; max: number };
  /** Told whenever `health().status` changes between ok and failed (e.g. to log it). */
  onHealth?: (health: JournalHealth) => void;
}

export const DEFAULT_MAX_FUTURE_SKEW_SECONDS = 120;

/**
 * The durable local journal (LevelDB), split by job (issue 15) behind this
 * facade, whose API every caller keeps using:
 * - `Appender` (appender.ts): append, ingest, device chain order, group commit;
 * - `Sealer` (sealer.ts, the seal policy beside it in seal-policy.ts);
 * - `JournalIndexes` (indexes.ts): the read side, validated when read back;
 * - typed sub-stores (typed-store.ts) for higher layers' state;
 * - `JournalDisk` (disk.ts): the LevelDB, work accounting, health, and the
 *   repair after a failed write (issue 10.4).
 * Every key layout is in keys.ts.
 */
export class Journal {
  private readonly disk: JournalDisk;
  private readonly indexes: JournalIndexes;
  private readonly appender: Appender;
  private readonly sealer: Sealer;
  /** The chain module's anchor state per batch root (validated as an envelope; see anchorStateEnvelopeSchema). */
  readonly anchorStore: TypedStore<AnchorStateEnvelope>;
  /** Small values for higher layers (tokens, config), one string per key. */
  readonly metaStore: TypedStore<string>;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    disk: JournalDisk,
    maxFutureSkewMs: number,
    clock: () => number,
  ) {
    this.disk = disk;
    this.indexes = new JournalIndexes(disk);
    this.appender = new Appender(disk, this.indexes, maxFutureSkewMs, clock);
    this.sealer = new Sealer(disk, this.indexes, this.appender);
    this.anchorStore = new TypedStore(disk, K.anchorPrefix, anchorStateEnvelopeSchema);
    // Plain text, as meta values were written before they were typed (the gateway's token-file digest seq).
    this.metaStore = new TypedStore(disk, K.metaPrefix, z.string().max(65_536), TEXT_CODEC);
    disk.rebuild = async () => {
      this.indexes.treeCache = undefined;
      await this.appender.load();
    };
  }

  /** Opens (creating if needed) the journal in `dir`. A second process gets JOURNAL_LOCKED naming the folder. */
  static async open(dir: string, options: JournalOptions = {}): Promise<Journal> {
    const skew = options.maxFutureSkewSeconds ?? DEFAULT_MAX_FUTURE_SKEW_SECONDS;
    if (!Number.isSafeInteger(skew) || skew < 0) fail('INVALID_INPUT', `maxFutureSkewSeconds must be a non-negative integer, got ${String(skew)}`);
    const clock = options.now ?? Date.now;
    const disk = await JournalDisk.open(dir, {
      clock,
      minFreeBytes: options.minFreeBytes ?? 64 * 1024 * 1024,
      reopenDelayMs: options.reopenDelayMs ?? { min: 200, max: 5000 },
      onHealth: options.onHealth,
    });
    const j = new Journal(dir, disk, skew * 1000, clock);
    try {
      await j.appender.load();
    } catch (e) {
      await disk.db.close();
      throw e;
    }
    return j;
  }

  /** The LevelDB (tests reach it to watch writes). */
  private get db() {
    return this.disk.db;
  }

  /**
   * A point-in-time copy of every entry for `liuhen backup` (src/backup):
   * taken at the call, from a LevelDB snapshot, while appends go on.
   */
  backupSnapshot(): LevelSnapshot {
    return snapshotLevel(this.db);
  }

  // ── appending (appender.ts) ──────────────────────────────────────────────

  /**
   * Completes the draft into a record (id, seq, prev, salt), signs it, and makes
   * it durable. Resolves after the synced write; the returned record is final.
   */
  append(draft: RecordDraft, signer: RecordSigner): Promise<AppendResult> {
    return this.accepting(() => this.appender.append(draft, signer));
  }

  /**
   * Journals a record that its device already completed and signed (a body
   * camera running the SDK, uploading later or out of order), exactly as
   * signed. A gap is a completeness finding, a slot taken by another record is
   * a fork and refused, the very same record again is a no-op.
   */
  ingest(input: unknown): Promise<AppendResult & { duplicate: boolean }> {
    return this.accepting(() => this.appender.ingest(input));
  }

  /** Runs an append or ingest that close() must wait for (refused once close() has begun or while the journal is failed). */
  private accepting<T>(work: () => Promise<T>): Promise<T> {
    try {
      this.disk.assertAccepting();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.disk.track(work);
  }

  deviceHead(device: string): DeviceHead | undefined {
    return this.appender.deviceHead(device);
  }

  /** Devices known to the journal. */
  devices(): string[] {
    return this.appender.devices();
  }

  /** Every agency that has journaled a record. */
  agencies(): string[] {
    return this.appender.agencies();
  }

  // ── sealing (sealer.ts) ──────────────────────────────────────────────────

  pendingAgencies(): Promise<string[]> {
    return this.sealer.pendingAgencies();
  }

  pendingCount(agency: string): Promise<number> {
    return this.sealer.pendingCount(agency);
  }

  /** Capture time of the oldest unsealed record of an agency (for the real-time seal policy). */
  oldestPending(agency: string): Promise<QueueEntry | undefined> {
    return this.sealer.oldestPending(agency);
  }

  seal(agency: string, options: SealOptions = {}): Promise<BatchInfo[]> {
    return this.sealer.seal(agency, options);
  }

  sealAll(options: SealOptions = {}): Promise<BatchInfo[]> {
    return this.sealer.sealAll(options);
  }

  // ── reading (indexes.ts) ─────────────────────────────────────────────────

  agencyHead(agency: string): Promise<AgencyHead | undefined> {
    return this.indexes.agencyHead(agency);
  }

  hasRecord(id: string): Promise<boolean> {
    return this.indexes.hasRecord(id);
  }

  getRecord(id: string): Promise<StoredRecord | undefined> {
    return this.indexes.getRecord(id);
  }

  async requireRecord(id: string): Promise<StoredRecord> {
    return (await this.getRecord(id)) ?? fail('RECORD_NOT_FOUND', `no record with id ${id} in ${this.dir}`);
  }

  /** The batch holding a record and its index there, or undefined while it is pending. */
  locate(stored: StoredRecord): Promise<SealedRecordLocation | undefined> {
    return this.indexes.locate(stored);
  }

  getBatch(agency: string, seq: number): Promise<BatchInfo | undefined> {
    return this.indexes.getBatch(agency, seq);
  }

  getBatchByRoot(root: string): Promise<BatchInfo | undefined> {
    return this.indexes.getBatchByRoot(root);
  }

  /** Batches of an agency in seq order, optionally starting after `afterSeq`. */
  batches(agency: string, options: { afterSeq?: number; limit?: number } = {}): AsyncGenerator<BatchInfo> {
    return this.indexes.batches(agency, options);
  }

  /** The Merkle tree of a sealed batch (the last one is cached: receipts of one batch come together). */
  tree(root: string): Promise<MerkleTree> {
    return this.indexes.tree(root);
  }

  /** The id of the record whose leaf is `leaf` (0x hex), or undefined. */
  recordIdByLeaf(leaf: string): Promise<string | undefined> {
    return this.indexes.recordIdByLeaf(leaf);
  }

  /** Records of a device in seq order (holes show as missing seqs), optionally after `afterSeq` and at most `limit`. */
  deviceRecords(device: string, options: { afterSeq?: number; limit?: number } = {}): AsyncGenerator<StoredRecord> {
    return this.indexes.deviceRecords(device, options);
  }

  /** Records of a case, per agency in journal order. */
  caseRecords(caseId: string): AsyncGenerator<StoredRecord> {
    return this.indexes.caseRecords(caseId);
  }

  // ── tail for higher layers (src/stats, the supervision room) ─────────────
  // Read-only: the agency's journal order is the one complete, gap-free order
  // of everything journaled (device seqs may arrive out of order, a filled
  // hole lands below a device's head), so a follower that keeps one ack
  // cursor per agency sees every record exactly once.

  /** The last ack journaled for `agency` (0 when none). */
  lastAck(agency: string): number {
    return this.appender.ack(agency);
  }

  /**
   * Tells `listener` of every record appended or ingested through this
   * journal, once it is durable (synchronously, in ack order per agency;
   * returns the unsubscribe). An in-process shortcut for a follower such as
   * src/stats, which would otherwise read each record back and validate it
   * again: a cache, never the source of truth — records from before the
   * subscription, or missed, are read with `agencyRecords`.
   */
  onAppended(listener: (stored: StoredRecord) => void): () => void {
    return this.appender.onAppended(listener);
  }

  /** Records of `agency` in journal (ack) order, after `afterAck`, at most `limit`. */
  agencyRecords(agency: string, options: { afterAck?: number; limit?: number } = {}): AsyncGenerator<StoredRecord> {
    return this.indexes.agencyRecords(agency, options);
  }

  // ── typed sub-stores ─────────────────────────────────────────────────────

  /**
   * The anchor state of a batch (chain module), validated when read back:
   * always as an anchor-state envelope (an object for this root with a status),
   * and wholly when the caller passes its own schema. Without a schema the
   * result is typed as the caller's `T` on the envelope's word — kept so that
   * today's callers work unchanged (`getAnchorState<AnchorState>(root)`).
   */
  async getAnchorState<T>(root: string, schema?: z.ZodType<T>): Promise<T | undefined> {
    const state = schema ? await this.anchorStore.as(schema).get(root) : await this.anchorStore.get(root);
    const named = (state as AnchorStateEnvelope | undefined)?.root;
    if (!schema && named !== undefined && named !== root) fail('JOURNAL_CORRUPT', `the anchor state stored for batch ${root} names batch ${named}`);
    return state as T | undefined;
  }

  /** Durable (synced) before it resolves: the anchorer relies on it before broadcasting. */
  async putAnchorState<T>(root: string, state: T): Promise<void> {
    await this.anchorStore.put(root, state as unknown as AnchorStateEnvelope);
  }

  async *anchorStates<T>(): AsyncGenerator<[string, T]> {
    for await (const [root, state] of this.anchorStore.entries()) yield [root, state as unknown as T];
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.metaStore.get(key);
  }

  async putMeta(key: string, value: string): Promise<void> {
    await this.metaStore.put(key, value);
  }

  // ── health and closing ───────────────────────────────────────────────────

  /** The journal's real state for /healthz: ok, degraded (low disk space) or failed (writes refused while it repairs itself). */
  health(): JournalHealth {
    return this.disk.health();
  }

  /** Closes once; every caller waits for the same close. Appends in flight finish, new ones are refused. */
  close(): Promise<void> {
    this.closing ??= this.disk.close(() => this.sealer.idle());
    return this.closing;
  }
}

export function isJournalLocked(e: unknown): boolean {
  return isLiuhenError(e, 'JOURNAL_LOCKED');
}

export type { Hex };
