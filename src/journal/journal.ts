import { mkdirSync, statfsSync } from 'node:fs';
import { Level } from 'level';
import { fail, isLiuhenError, LiuhenError } from '../errors.js';
import { MerkleTree, MAX_TREE_SIZE } from '../merkle/tree.js';
import { chainWith, type ChainedRecord, type RecordSigner, type UnchainedRecord } from '../record/chain.js';
import { canonicalize, canonicalMembers, type CanonicalMembers } from '../record/jcs.js';
import { leafOfCanonical } from '../record/leaf.js';
import { DeviceKey, isUsableDeviceKey, verifyRecordSignatureAsync } from '../record/device-key.js';
import { parseRecord, parseUnchainedRecord } from '../record/parse.js';
import { MAX_DEVICE_SEQ, RECORD_VERSION, type LiuhenRecord, type RecordDraft } from '../record/schema.js';
import { fromHex, toHex, ZERO32, type Hex } from '../util/hex.js';
import { monotonicUlid } from '../util/ulid.js';
import { SerialMutex } from '../util/mutex.js';
import { pooledRandomBytes } from '../util/random-pool.js';
import { end, K } from './keys.js';
import { claimDevice } from './ownership.js';
import type { AgencyHead, AppendResult, BatchInfo, DeviceHead, QueueEntry, SealedRecordLocation, StoredRecord } from './types.js';

/** An append waiting for its device's chain slot and signature. */
interface ChainWaiter {
  record: UnchainedRecord;
  /** Its JCS members, computed (and so checked) before it joined the queue. */
  form: CanonicalMembers;
  signer: RecordSigner;
  resolve: (chained: ChainedRecord) => void;
  reject: (e: unknown) => void;
}

interface PendingAppend {
  /** key, value, key, value … */
  puts: string[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

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
 * What the journal can do now (for /healthz): `ok`; `degraded` — it writes,
 * but free disk space is low; `failed` — a write failed, uploads are refused
 * (JOURNAL_IO) until it has reopened itself, which it retries on its own.
 */
export interface JournalHealth {
  status: 'ok' | 'degraded' | 'failed';
  /** Why it is not ok (undefined when ok). */
  reason: string | undefined;
  /** Since when (ISO time) it is in this status. */
  since: string;
}

export interface SealOptions {
  /** Largest batch; more pending records are sealed into several batches. Default and maximum 2^20. */
  maxBatchSize?: number;
  /** Clock for `sealedAt` (tests). */
  now?: () => Date;
}

/**
 * The durable local journal (LevelDB). Guarantees:
 * - an append resolves only after its record is on disk (one synced, atomic
 *   write batch; concurrent appends are grouped into one synced write);
 * - a device's `seq`/`prev` chain is assigned in memory in append order and
 *   written in the same batch as the record, so the chain on disk never breaks;
 * - sealing writes the batch, its leaves and the agency head in one atomic
 *   synced batch, so a crash leaves either no batch or a whole one.
 * If a write fails, the journal refuses further work (its in-memory chain
 * heads may be ahead of the disk) until it is reopened.
 */
export class Journal {
  private readonly db: Level<string, string>;
  private readonly blobs;
  private readonly deviceHeads = new Map<string, DeviceHead>();
  /** The agency each device's chain belongs to (see ownership.ts); set under the device lock. */
  private readonly owners = new Map<string, string>();
  private readonly agencyAcks = new Map<string, number>();
  private readonly nextId = monotonicUlid();
  private queue: PendingAppend[] = [];
  /** Agency acks and device heads reached by the group being queued: written once per group, not per record. */
  private groupAcks = new Map<string, number>();
  private groupDeviceHeads = new Map<string, DeviceHead>();
  private readonly inflightIds = new Set<string>();
  private readonly deviceTails = new Map<string, Promise<void>>();
  /** Appends waiting for their device's next chain run; a device is in the map while a run is scheduled for it. */
  private readonly chainQueues = new Map<string, ChainWaiter[]>();
  /** Device slots (`device\0seq`) taken by records not yet on disk: the fork check must see them too. */
  private readonly inflightSlots = new Set<string>();
  private flushing = false;
  /** Set when a write failed: work is refused until reopen() has rebuilt the in-memory state from the disk. */
  private failure: { cause: unknown; since: number; attempts: number } | undefined;
  private okSince: number;
  private lowSpaceSince: number | undefined;
  private reopening: Promise<void> | undefined;
  private wakeReopen: (() => void) | undefined;
  /** Resolved when nothing is running, flushing or queued (close() and reopen() wait for it; no polling). */
  private idleWaiters: Array<() => void> = [];
  /** Set when close() begins: new appends are refused, those in flight finish. */
  private closing: Promise<void> | undefined;
  /** Appends and ingests begun and not yet settled. */
  private running = 0;
  /** Per device, the highest seq whose head is written or queued for writing: the head on disk only moves up. */
  private readonly headsQueued = new Map<string, number>();
  private closed = false;
  private readonly sealLock = new SerialMutex();
  private treeCache: { root: string; tree: MerkleTree } | undefined;

  private readonly maxFutureSkewMs: number;
  private readonly clock: () => number;
  private readonly minFreeBytes: number;
  private readonly reopenDelay: { min: number; max: number };
  private readonly onHealth: ((health: JournalHealth) => void) | undefined;

  private constructor(readonly dir: string, db: Level<string, string>, options: JournalOptions) {
    this.db = db;
    const skew = options.maxFutureSkewSeconds ?? DEFAULT_MAX_FUTURE_SKEW_SECONDS;
    if (!Number.isSafeInteger(skew) || skew < 0) fail('INVALID_INPUT', `maxFutureSkewSeconds must be a non-negative integer, got ${String(skew)}`);
    this.maxFutureSkewMs = skew * 1000;
    this.clock = options.now ?? Date.now;
    this.minFreeBytes = options.minFreeBytes ?? 64 * 1024 * 1024;
    this.reopenDelay = options.reopenDelayMs ?? { min: 200, max: 5000 };
    this.onHealth = options.onHealth;
    this.okSince = this.clock();
    this.blobs = db.sublevel<string, Uint8Array>('blob', { valueEncoding: 'view' });
  }

  /** Opens (creating if needed) the journal in `dir`. A second process gets JOURNAL_LOCKED naming the folder. */
  static async open(dir: string, options: JournalOptions = {}): Promise<Journal> {
    mkdirSync(dir, { recursive: true });
    const db = new Level<string, string>(dir, { valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (cause) {
      const locked = (cause as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED';
      if (locked) fail('JOURNAL_LOCKED', `the data folder ${dir} is in use by another Liuhen process; stop it or use another --data folder`, { cause, details: { dir } });
      return fail('JOURNAL_IO', `cannot open the journal in ${dir}: ${(cause as Error).message}`, { cause, details: { dir } });
    }
    let j: Journal;
    try {
      j = new Journal(dir, db, options);
    } catch (e) {
      await db.close();
      throw e;
    }
    await j.recover();
    return j;
  }

  private async recover(): Promise<void> {
    for await (const [key, value] of this.db.iterator({ gte: 'd:', lt: end('d:') })) {
      const head = JSON.parse(value) as DeviceHead;
      this.deviceHeads.set(key.slice(2), head);
      // A device's owner is the agency of every record of its chain, so of its head's.
      const owner = (await this.getRecord(head.id))?.record.agency;
      if (owner !== undefined) this.owners.set(key.slice(2), owner);
      this.headsQueued.set(key.slice(2), head.seq);
    }
    for await (const [key, value] of this.db.iterator({ gte: 'ag:', lt: end('ag:') })) {
      this.agencyAcks.set(key.slice(3), Number(value));
    }
  }

  // ── appending ────────────────────────────────────────────────────────────

  /**
   * Completes the draft into a record (id, seq, prev, salt), signs it, and makes
   * it durable. Resolves after the synced write; the returned record is final.
   */
  append(draft: RecordDraft, signer: RecordSigner): Promise<AppendResult> {
    return this.tracked(() => this.appendNow(draft, signer));
  }

  private async appendNow(draft: RecordDraft, signer: RecordSigner): Promise<AppendResult> {
    const id = draft.id ?? this.nextId();
    // The id is reserved before any await, so two appends with one explicit id cannot both pass.
    if (this.inflightIds.has(id)) fail('INVALID_RECORD', `a record with id ${id} is being journaled already`);
    this.inflightIds.add(id);
    let chained: ChainedRecord;
    try {
      if (draft.id !== undefined && (await this.hasRecord(id))) fail('INVALID_RECORD', `a record with id ${id} already exists`);
      // Everything but the chain slot is validated (schema and JCS, RFC 8785) before the
      // record joins its device's queue, so a bad draft fails alone, never its run.
      const unchained = parseUnchainedRecord({ ...draft, v: RECORD_VERSION, id, salt: freshSalt() });
      this.assertCapturedNotInFuture(unchained);
      chained = await this.chain(unchained, canonicalMembers(unchained), signer);
    } catch (e) {
      this.inflightIds.delete(id);
      throw e;
    }
    return this.persist(chained, true);
  }

  /**
   * Queues the record for its device's next chain run. All appends of a device
   * that arrive while its previous run is being signed go into the next run,
   * which is signed in one call (one hand-off to a signing thread for the run).
   */
  private chain(record: UnchainedRecord, form: CanonicalMembers, signer: RecordSigner): Promise<ChainedRecord> {
    return new Promise((resolve, reject) => {
      const device = record.device;
      const waiting = this.chainQueues.get(device);
      if (waiting) waiting.push({ record, form, signer, resolve, reject });
      else {
        // Queue first: the lock may start the run synchronously.
        this.chainQueues.set(device, [{ record, form, signer, resolve, reject }]);
        this.underDeviceLock(device, () => this.chainRun(device)).catch((e: unknown) => {
          // The lock refused to run (journal closed or broken): the queue was never taken.
          const orphans = this.chainQueues.get(device) ?? [];
          this.chainQueues.delete(device);
          for (const w of orphans) w.reject(e);
        });
      }
    });
  }

  /** Takes every append queued for the device and completes them in order, one signer's run at a time. */
  private async chainRun(device: string): Promise<void> {
    const waiting = this.chainQueues.get(device) ?? [];
    this.chainQueues.delete(device);
    for (let start = 0; start < waiting.length; ) {
      let stop = start + 1;
      while (stop < waiting.length && waiting[stop]!.signer === waiting[start]!.signer) stop++;
      let run = waiting.slice(start, stop);
      start = stop;
      try {
        this.assertUsable();
        const head = this.deviceHeads.get(device);
        const after = { seq: head?.seq ?? 0, leaf: head?.leaf ?? ZERO32 };
        // Ownership is decided here, under the device lock: a record of another agency is refused alone.
        let owner = this.owners.get(device);
        run = run.filter((w) => {
          try {
            owner = claimDevice(device, owner, w.record.agency);
            return true;
          } catch (e) {
            w.reject(e);
            return false;
          }
        });
        if (run.length === 0) continue;
        // A chain never goes past MAX_DEVICE_SEQ (issue 9.4): what fits is journaled, the rest refused.
        const room = MAX_DEVICE_SEQ - after.seq;
        if (room < run.length) {
          const err = new LiuhenError('DEVICE_SEQ_EXHAUSTED', `device ${device} has reached seq ${after.seq}; its chain may not go past ${MAX_DEVICE_SEQ}. Record under a new device name (and key)`, { details: { device, seq: after.seq, max: MAX_DEVICE_SEQ } });
          for (const w of run.slice(Math.max(room, 0))) w.reject(err);
          run = run.slice(0, Math.max(room, 0));
          if (run.length === 0) continue;
        }
        const records = run.map((w) => w.record);
        const signer = run[0]!.signer;
        // Only our own DeviceKey's runs are taken whole (its code computes the leaves);
        // any other signer contributes a checked signature and nothing else.
        const chained = signer instanceof DeviceKey ? await signer.chain(after, records, run.map((w) => w.form)) : await chainWith(signer, after, records);
        this.assertUsable();
        for (const c of chained) this.inflightSlots.add(slotKey(c.record));
        const last = chained[chained.length - 1]!;
        this.deviceHeads.set(device, { seq: last.record.seq, leaf: last.leaf, id: last.record.id });
        this.owners.set(device, owner!);
        run.forEach((w, i) => w.resolve(chained[i]!));
      } catch (e) {
        // Nothing of this run was journaled and the device head did not move.
        for (const w of run) w.reject(e);
      }
    }
  }

  /**
   * Journals a record that its device already completed and signed (a body
   * camera running the SDK, uploading later or out of order). The record is
   * kept exactly as signed — its leaf is the device's. A seq beyond the
   * device's head is accepted (the gap is a completeness finding, never a
   * reason to drop evidence); a late record may fill an empty slot below the
   * head; a slot already taken by another record is refused (a fork), and the
   * very same record again is a no-op (an idempotent re-upload).
   */
  ingest(input: unknown): Promise<AppendResult & { duplicate: boolean }> {
    return this.tracked(() => this.ingestNow(input));
  }

  private async ingestNow(input: unknown): Promise<AppendResult & { duplicate: boolean }> {
    const record = parseRecord(input);
    this.assertCapturedNotInFuture(record);
    if (!record.sig) fail('SIGNATURE_INVALID', `record ${record.id} carries no device signature`);
    if (!isUsableDeviceKey(record.sig.key)) fail('SIGNATURE_INVALID', `record ${record.id} is signed with a small-order or malformed Ed25519 key, which proves nothing`);
    if (!(await verifyRecordSignatureAsync(record))) fail('SIGNATURE_INVALID', `the signature of record ${record.id} does not match it (device ${record.device})`);
    const canonical = canonicalize(record);
    const leaf = leafOfCanonical(canonical);
    // The id is reserved before any await, so no other append or ingest can journal it meanwhile:
    // what the read below finds stays true, and it runs outside the device lock, in parallel.
    if (this.inflightIds.has(record.id)) fail('INVALID_RECORD', `record ${record.id} is being journaled already`);
    this.inflightIds.add(record.id);
    let advances: boolean;
    try {
      const existing = await this.getRecord(record.id);
      if (existing) {
        if (existing.leaf !== leaf) fail('INVALID_RECORD', `a different record with id ${record.id} already exists`);
        this.inflightIds.delete(record.id);
        return { record: existing.record, leaf, ack: existing.ack, duplicate: true };
      }
      advances = await this.underDeviceLock(record.device, async () => {
        const head = this.deviceHeads.get(record.device);
        this.owners.set(record.device, claimDevice(record.device, this.owners.get(record.device), record.agency));
        // The head is the highest seq journaled or in flight, so a slot above it is free;
        // only a late record (a slot below the head) needs a look at the disk.
        const taken = this.inflightSlots.has(slotKey(record)) ? '(being journaled)' : head && record.seq <= head.seq ? await this.db.get(K.deviceIndex(record.device, record.seq)) : undefined;
        if (taken) fail('INVALID_RECORD', `device ${record.device} already has another record with seq ${record.seq} ${taken}; a second one would fork its chain`);
        this.assertUsable();
        const beyond = !head || record.seq > head.seq;
        if (beyond) this.deviceHeads.set(record.device, { seq: record.seq, leaf, id: record.id });
        this.inflightSlots.add(slotKey(record));
        return beyond;
      });
    } catch (e) {
      this.inflightIds.delete(record.id);
      throw e;
    }
    return { ...(await this.persist({ record, leaf, canonical }, advances)), duplicate: false };
  }

  /**
   * A capture time beyond the clock skew is refused (issue 9.3), for station
   * appends and device uploads alike. Only the future is bounded: an old
   * capture is evidence like any other, journaled and flagged late by
   * completeness (RECORD_JOURNALED_LATE). A device whose clock runs fast can
   * upload the same signed record again once its capture time has come.
   */
  private assertCapturedNotInFuture(record: { id: string; capturedAt: string }): void {
    const now = this.clock();
    const ahead = Date.parse(record.capturedAt) - now;
    if (ahead > this.maxFutureSkewMs) {
      const retryAfterSeconds = Math.ceil((ahead - this.maxFutureSkewMs) / 1000);
      fail('CAPTURE_IN_FUTURE', `record ${record.id} claims capture at ${record.capturedAt}, ${Math.round(ahead / 1000)} s after this journal's clock (${new Date(now).toISOString()}); at most ${this.maxFutureSkewMs / 1000} s of clock skew is accepted. Check the device clock, or upload it again in ${retryAfterSeconds} s`, {
        details: { id: record.id, capturedAt: record.capturedAt, now: new Date(now).toISOString(), maxFutureSkewSeconds: this.maxFutureSkewMs / 1000, retryAfterSeconds },
      });
    }
  }

  /** Runs an append or ingest that close() must wait for (refused once close() has begun). */
  private async tracked<T>(work: () => Promise<T>): Promise<T> {
    this.assertAccepting();
    this.running++;
    try {
      return await work();
    } finally {
      this.running--;
      this.notifyIdle();
    }
  }

  /**
   * Runs `locked` after every earlier call for the same device has finished its
   * own. Appends and ingests of one device decide their chain slot one after
   * another (the next record's prev is this record's leaf, which needs its
   * signature); different devices overlap, so signing runs in parallel. A slot
   * decided here is held in `inflightSlots` until its record is on disk, so the
   * fork check of the next caller sees it even before the write lands.
   */
  private async underDeviceLock<T>(device: string, locked: () => Promise<T>): Promise<T> {
    const previous = this.deviceTails.get(device);
    let release!: () => void;
    const tail = new Promise<void>((r) => (release = r));
    this.deviceTails.set(device, tail);
    try {
      if (previous) await previous;
      this.assertUsable();
      return await locked();
    } finally {
      release();
      if (this.deviceTails.get(device) === tail) this.deviceTails.delete(device);
    }
  }

  /**
   * Assigns the agency ack and commits. No await before commit(): acks follow
   * queue order. `advancesHead`: the record is its device's new tip; the head
   * written with it is the record's own slot, never the in-memory head, which
   * may already stand on records of a later run that are not in this batch.
   */
  private async persist({ record, leaf, canonical }: ChainedRecord, advancesHead: boolean): Promise<AppendResult> {
    const ack = (this.agencyAcks.get(record.agency) ?? 0) + 1;
    this.agencyAcks.set(record.agency, ack);
    // A StoredRecord, written around the record's JCS text instead of serialising the record again.
    const stored = `{"record":${canonical},"leaf":"${leaf}","ack":${ack},"journaledAt":${this.clock()}}`;
    const entry: QueueEntry = { id: record.id, leaf, capturedAt: record.capturedAt };
    const puts = [
      K.record(record.id), stored,
      K.queue(record.agency, ack), JSON.stringify(entry),
      K.deviceIndex(record.device, record.seq), record.id,
      K.leaf(leaf), record.id,
    ];
    if (record.case) puts.push(K.caseIndex(record.case, record.agency, ack), record.id);
    this.groupAcks.set(record.agency, ack);
    if (advancesHead && record.seq > (this.headsQueued.get(record.device) ?? 0)) {
      this.headsQueued.set(record.device, record.seq);
      this.groupDeviceHeads.set(record.device, { seq: record.seq, leaf, id: record.id });
    }
    try {
      await this.commit(puts);
    } finally {
      this.inflightIds.delete(record.id);
      this.inflightSlots.delete(slotKey(record));
    }
    return { record, leaf, ack };
  }

  /** Group commit: every append queued while a write is in flight goes into the next single synced batch. */
  private commit(puts: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ puts, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const group = this.queue;
      const acks = this.groupAcks;
      const heads = this.groupDeviceHeads;
      this.queue = [];
      this.groupAcks = new Map();
      this.groupDeviceHeads = new Map();
      try {
        // A chained batch: measured ~3× cheaper per op than the array form in abstract-level.
        const batch = this.db.batch();
        for (const { puts } of group) for (let i = 0; i < puts.length; i += 2) batch.put(puts[i]!, puts[i + 1]!);
        for (const [agency, ack] of acks) batch.put(K.agencyAck(agency), String(ack));
        for (const [device, head] of heads) batch.put(K.device(device), JSON.stringify(head));
        await batch.write({ sync: true });
        for (const p of group) p.resolve();
      } catch (cause) {
        this.writeFailed(cause);
        const err = new LiuhenError('JOURNAL_IO', `the journal in ${this.dir} could not write (${describe(cause)}); nothing in this group was acknowledged. It reopens itself once the cause is gone`, { cause });
        for (const p of [...group, ...this.queue]) p.reject(err);
        this.queue = [];
        this.groupAcks = new Map();
        this.groupDeviceHeads = new Map();
      }
    }
    this.flushing = false;
    this.notifyIdle();
  }

  /** For new work: also refused once close() has begun. */
  private assertAccepting(): void {
    if (this.closing) fail('JOURNAL_CLOSED', `the journal in ${this.dir} is ${this.closed ? 'closed' : 'closing'}`);
    this.assertUsable();
  }

  private assertUsable(): void {
    if (this.closed) fail('JOURNAL_CLOSED', `the journal in ${this.dir} is closed`);
    if (this.failure) fail('JOURNAL_IO', `the journal in ${this.dir} could not write (${describe(this.failure.cause)}); it reopens itself once the cause is gone (free disk space?) — try again later`);
  }

  // ── health and self-repair (issue 10.4) ──────────────────────────────────

  /** The journal's real state, for /healthz (see JournalHealth). */
  health(): JournalHealth {
    const iso = (ms: number) => new Date(ms).toISOString();
    if (this.closing) return { status: 'failed', reason: `the journal is ${this.closed ? 'closed' : 'closing'}`, since: iso(this.okSince) };
    if (this.failure) {
      const { cause, since, attempts } = this.failure;
      return { status: 'failed', reason: `a write failed (${describe(cause)}); uploads are refused until the journal has reopened (${attempts} attempt${attempts === 1 ? '' : 's'} so far)`, since: iso(since) };
    }
    const free = freeBytes(this.dir);
    if (free !== undefined && free < this.minFreeBytes) {
      this.lowSpaceSince ??= this.clock();
      return { status: 'degraded', reason: `${Math.floor(free / 1048576)} MiB free on the journal's disk (${this.dir}); below ${Math.floor(this.minFreeBytes / 1048576)} MiB writes will soon fail`, since: iso(this.lowSpaceSince) };
    }
    this.lowSpaceSince = undefined;
    return { status: 'ok', reason: undefined, since: iso(this.okSince) };
  }

  /**
   * A write failed: the in-memory chain heads and acks may stand ahead of the
   * disk, so every append is refused until the journal has reopened LevelDB
   * (a failed synced write leaves it refusing writes) and re-read its state
   * from the disk. Nothing of the failed group was acknowledged, so nothing
   * acknowledged can be lost or duplicated: after the reopen the chains
   * continue from what is on disk.
   */
  private writeFailed(cause: unknown): void {
    if (this.failure || this.closing) return;
    this.failure = { cause, since: this.clock(), attempts: 0 };
    this.onHealth?.(this.health());
    this.reopening = this.repair().finally(() => (this.reopening = undefined));
  }

  private async repair(): Promise<void> {
    let delay = this.reopenDelay.min;
    for (;;) {
      // Work in flight fails fast (every step checks assertUsable); wait until none is left.
      await this.whenIdle();
      await this.sealLock;
      const failure = this.failure;
      if (this.closing || !failure) return;
      failure.attempts++;
      try {
        await this.reopen();
        this.failure = undefined;
        this.okSince = this.clock();
        this.onHealth?.(this.health());
        return;
      } catch (cause) {
        failure.cause = cause;
      }
      // The cause (a full disk) cannot be watched for; try again after a growing pause, woken early by close().
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        timer.unref();
        this.wakeReopen = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeReopen = undefined;
      delay = Math.min(delay * 2, this.reopenDelay.max);
    }
  }

  /** Reopens LevelDB, rebuilds the in-memory state from the disk and proves that a synced write lands again. */
  private async reopen(): Promise<void> {
    if (this.db.status === 'open') await this.db.close();
    await this.db.open();
    this.deviceHeads.clear();
    this.owners.clear();
    this.agencyAcks.clear();
    this.headsQueued.clear();
    this.inflightIds.clear();
    this.inflightSlots.clear();
    this.groupAcks = new Map();
    this.groupDeviceHeads = new Map();
    this.treeCache = undefined;
    await this.recover();
    await this.db.put(K.probe, new Date(this.clock()).toISOString(), { sync: true });
  }

  /** Runs a write outside group commit (sealing, anchor state, meta); a failure starts the repair. */
  private async write<T>(work: () => Promise<T>): Promise<T> {
    this.assertUsable();
    this.running++;
    try {
      return await work();
    } catch (cause) {
      if (!isLiuhenError(cause)) {
        this.writeFailed(cause);
        fail('JOURNAL_IO', `the journal in ${this.dir} could not write (${describe(cause)}); it reopens itself once the cause is gone`, { cause });
      }
      throw cause;
    } finally {
      this.running--;
      this.notifyIdle();
    }
  }

  private isIdle(): boolean {
    return this.running === 0 && !this.flushing && this.queue.length === 0;
  }

  private whenIdle(): Promise<void> {
    return this.isIdle() ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  // ── sealing ──────────────────────────────────────────────────────────────

  /** Agencies with records not yet in a batch. */
  async pendingAgencies(): Promise<string[]> {
    const out: string[] = [];
    for (const [agency, ack] of this.agencyAcks) {
      const head = await this.agencyHead(agency);
      if (ack > (head?.sealedThrough ?? 0)) out.push(agency);
    }
    return out.sort();
  }

  async pendingCount(agency: string): Promise<number> {
    const head = await this.agencyHead(agency);
    return (this.agencyAcks.get(agency) ?? 0) - (head?.sealedThrough ?? 0);
  }

  /** Capture time of the oldest unsealed record of an agency (for the real-time seal policy). */
  async oldestPending(agency: string): Promise<QueueEntry | undefined> {
    const head = await this.agencyHead(agency);
    const from = (head?.sealedThrough ?? 0) + 1;
    for await (const value of this.db.values({ gte: K.queue(agency, from), lt: end(K.queuePrefix(agency)), limit: 1 })) {
      return JSON.parse(value) as QueueEntry;
    }
    return undefined;
  }

  /**
   * Seals every pending record of `agency` (durable at the time of the call)
   * into batches of at most `maxBatchSize`, each chained to the previous root.
   * Returns the new batches, empty when nothing was pending.
   */
  seal(agency: string, options: SealOptions = {}): Promise<BatchInfo[]> {
    return this.sealLock.run(() => this.sealNow(agency, options));
  }

  /** Seals all agencies with pending records. */
  async sealAll(options: SealOptions = {}): Promise<BatchInfo[]> {
    const out: BatchInfo[] = [];
    for (const agency of await this.pendingAgencies()) out.push(...(await this.seal(agency, options)));
    return out;
  }

  private async sealNow(agency: string, options: SealOptions): Promise<BatchInfo[]> {
    this.assertUsable();
    const max = Math.min(options.maxBatchSize ?? MAX_TREE_SIZE, MAX_TREE_SIZE);
    if (!Number.isInteger(max) || max < 1) fail('INVALID_INPUT', `maxBatchSize must be a positive integer, got ${options.maxBatchSize}`);
    const now = options.now ?? (() => new Date());
    const out: BatchInfo[] = [];
    for (;;) {
      const head = await this.agencyHead(agency);
      const from = (head?.sealedThrough ?? 0) + 1;
      const leaves: Buffer[] = [];
      let first = '';
      let last = '';
      for await (const value of this.db.values({ gte: K.queue(agency, from), lt: end(K.queuePrefix(agency)), limit: max })) {
        const e = JSON.parse(value) as QueueEntry;
        leaves.push(Buffer.from(fromHex(e.leaf, 32)));
        if (!first || Date.parse(e.capturedAt) < Date.parse(first)) first = e.capturedAt;
        if (!last || Date.parse(e.capturedAt) > Date.parse(last)) last = e.capturedAt;
      }
      if (leaves.length === 0) return out;
      const packed = Buffer.concat(leaves);
      const tree = MerkleTree.fromLeafHashes(packed);
      const root = toHex(tree.root);
      const batch: BatchInfo = {
        agency,
        seq: (head?.seq ?? 0) + 1,
        root,
        size: leaves.length,
        prevRoot: head?.root ?? ZERO32,
        firstAck: from,
        firstCapturedAt: first,
        lastCapturedAt: last,
        sealedAt: now().toISOString(),
      };
      if (await this.db.get(K.batchByRoot(root))) {
        // Only possible with identical leaves, which random salts rule out; never overwrite a batch.
        fail('JOURNAL_CORRUPT', `batch root ${root} already exists`);
      }
      const newHead: AgencyHead = { seq: batch.seq, root, sealedThrough: from + leaves.length - 1 };
      const puts = [
        { type: 'put' as const, key: K.batch(agency, batch.seq), value: JSON.stringify(batch) },
        { type: 'put' as const, key: K.batchByRoot(root), value: `${agency}:${batch.seq}` },
        { type: 'put' as const, key: K.batchByAck(agency, newHead.sealedThrough), value: String(batch.seq) },
        { type: 'put' as const, key: K.agencyHead(agency), value: JSON.stringify(newHead) },
        { type: 'put' as const, sublevel: this.blobs as never, key: root, value: packed as never },
      ];
      await this.write(() => this.db.batch(puts, { sync: true }));
      this.treeCache = { root, tree };
      out.push(batch);
      // A partial batch took everything durable at the time of the call; records
      // arriving meanwhile wait for the next seal instead of making tiny batches.
      if (leaves.length < max) return out;
    }
  }

  // ── reading ──────────────────────────────────────────────────────────────

  async agencyHead(agency: string): Promise<AgencyHead | undefined> {
    const v = await this.db.get(K.agencyHead(agency));
    return v ? (JSON.parse(v) as AgencyHead) : undefined;
  }

  deviceHead(device: string): DeviceHead | undefined {
    return this.deviceHeads.get(device);
  }

  async hasRecord(id: string): Promise<boolean> {
    return (await this.db.get(K.record(id))) !== undefined;
  }

  async getRecord(id: string): Promise<StoredRecord | undefined> {
    const v = await this.db.get(K.record(id));
    return v ? (JSON.parse(v) as StoredRecord) : undefined;
  }

  async requireRecord(id: string): Promise<StoredRecord> {
    return (await this.getRecord(id)) ?? fail('RECORD_NOT_FOUND', `no record with id ${id} in ${this.dir}`);
  }

  /** The batch holding a record and its index there, or undefined while it is pending. */
  async locate(stored: StoredRecord): Promise<SealedRecordLocation | undefined> {
    const agency = stored.record.agency;
    for await (const seq of this.db.values({ gte: K.batchByAck(agency, stored.ack), lt: end(`bx:${agency}:`), limit: 1 })) {
      const batch = await this.getBatch(agency, Number(seq));
      if (batch && batch.firstAck <= stored.ack) return { batch, index: stored.ack - batch.firstAck };
    }
    return undefined;
  }

  async getBatch(agency: string, seq: number): Promise<BatchInfo | undefined> {
    const v = await this.db.get(K.batch(agency, seq));
    return v ? (JSON.parse(v) as BatchInfo) : undefined;
  }

  async getBatchByRoot(root: string): Promise<BatchInfo | undefined> {
    const ref = await this.db.get(K.batchByRoot(root));
    if (!ref) return undefined;
    const i = ref.lastIndexOf(':');
    return this.getBatch(ref.slice(0, i), Number(ref.slice(i + 1)));
  }

  /** Batches of an agency in seq order, optionally starting after `afterSeq`. */
  async *batches(agency: string, options: { afterSeq?: number; limit?: number } = {}): AsyncGenerator<BatchInfo> {
    const gt = K.batch(agency, options.afterSeq ?? 0);
    for await (const v of this.db.values({ gt, lt: end(K.batchPrefix(agency)), limit: options.limit ?? -1 })) yield JSON.parse(v) as BatchInfo;
  }

  /** Every agency that has journaled a record. */
  agencies(): string[] {
    return [...this.agencyAcks.keys()].sort();
  }

  /** The Merkle tree of a sealed batch (the last one is cached: receipts of one batch come together). */
  async tree(root: string): Promise<MerkleTree> {
    if (this.treeCache?.root === root) return this.treeCache.tree;
    const leaves = await this.blobs.get(root);
    if (!leaves) fail('BATCH_NOT_FOUND', `no sealed batch with root ${root}`);
    const tree = MerkleTree.fromLeafHashes(Buffer.from(leaves.buffer, leaves.byteOffset, leaves.byteLength));
    if (toHex(tree.root) !== root) fail('JOURNAL_CORRUPT', `stored leaves of batch ${root} give root ${toHex(tree.root)}`);
    this.treeCache = { root, tree };
    return tree;
  }

  /** The id of the record whose leaf is `leaf` (0x hex), or undefined. */
  async recordIdByLeaf(leaf: string): Promise<string | undefined> {
    return this.db.get(K.leaf(leaf));
  }

  /** Records of a device in seq order (holes show as missing seqs), optionally after `afterSeq` and at most `limit`. */
  async *deviceRecords(device: string, options: { afterSeq?: number; limit?: number } = {}): AsyncGenerator<StoredRecord> {
    const prefix = K.deviceIndexPrefix(device);
    for await (const id of this.db.values({ gt: K.deviceIndex(device, options.afterSeq ?? 0), lt: end(prefix), limit: options.limit ?? -1 })) {
      const r = await this.getRecord(id);
      if (r) yield r;
    }
  }

  /** Records of a case, per agency in journal order. */
  async *caseRecords(caseId: string): AsyncGenerator<StoredRecord> {
    const prefix = K.caseIndexPrefix(caseId);
    for await (const id of this.db.values({ gte: prefix, lt: end(prefix) })) {
      const r = await this.getRecord(id);
      if (r) yield r;
    }
  }

  /** Devices known to the journal. */
  devices(): string[] {
    return [...this.deviceHeads.keys()].sort();
  }

  // ── anchor state (written by the chain module) ───────────────────────────

  async getAnchorState<T>(root: string): Promise<T | undefined> {
    const v = await this.db.get(K.anchor(root));
    return v ? (JSON.parse(v) as T) : undefined;
  }

  /** Durable (synced) before it resolves: the anchorer relies on it before broadcasting. */
  async putAnchorState<T>(root: string, state: T): Promise<void> {
    await this.write(() => this.db.put(K.anchor(root), JSON.stringify(state), { sync: true }));
  }

  async *anchorStates<T>(): AsyncGenerator<[string, T]> {
    for await (const [k, v] of this.db.iterator({ gte: 'x:', lt: end('x:') })) yield [k.slice(2), JSON.parse(v) as T];
  }

  // ── generic small key/value for higher layers (tokens, config) ───────────

  async getMeta(key: string): Promise<string | undefined> {
    return this.db.get(`m:${key}`);
  }

  async putMeta(key: string, value: string): Promise<void> {
    await this.write(() => this.db.put(`m:${key}`, value, { sync: true }));
  }

  // ── tail for higher layers (src/stats): added by the supervision room ──
  // Minimal and read-only: the agency's journal order is the one complete,
  // gap-free order of everything journaled (device seqs may arrive out of
  // order, a filled hole lands below a device's head), so a follower that
  // keeps one ack cursor per agency sees every record exactly once.

  /** The last ack journaled for `agency` (0 when none). */
  lastAck(agency: string): number {
    return this.agencyAcks.get(agency) ?? 0;
  }

  /** Records of `agency` in journal (ack) order, after `afterAck`, at most `limit`. */
  async *agencyRecords(agency: string, options: { afterAck?: number; limit?: number } = {}): AsyncGenerator<StoredRecord> {
    for await (const value of this.db.values({ gt: K.queue(agency, options.afterAck ?? 0), lt: end(K.queuePrefix(agency)), limit: options.limit ?? -1 })) {
      const r = await this.getRecord((JSON.parse(value) as QueueEntry).id);
      if (r) yield r;
    }
  }

  /** Closes once; every caller waits for the same close. */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    // Let appends in flight (being signed, or queued for the disk) finish; new ones are refused.
    await this.whenIdle();
    await this.sealLock.idle();
    this.wakeReopen?.();
    await this.reopening;
    this.closed = true;
    if (this.db.status === 'open') await this.db.close();
  }
}

/** A device chain slot, as held in inflightSlots. */
const slotKey = (r: LiuhenRecord): string => `${r.device}\0${r.seq}`;

/** A fresh 16-byte salt (DESIGN: ≥ 16 random bytes per record). */
function freshSalt(): Hex {
  return toHex(pooledRandomBytes(16));
}

/** A failure's message without its stack, for health and errors (LevelDB's say "IO error: … No space left on device"). */
function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/** Free bytes for unprivileged writers on the journal's filesystem, or undefined where statfs is unavailable. */
function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

export function isJournalLocked(e: unknown): boolean {
  return isLiuhenError(e, 'JOURNAL_LOCKED');
}

export type { Hex };
