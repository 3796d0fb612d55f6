import { fail, LiuhenError } from '../errors.js';
import { chainWith, recordTemplate, type ChainedRecord, type RecordSigner, type RecordTemplate, type UnchainedRecord } from '../record/chain.js';
import { canonicalize } from '../record/jcs.js';
import { leafOfCanonical } from '../record/leaf.js';
import { DeviceKey, isUsableDeviceKey, verifyRecordSignatureAsync } from '../record/device-key.js';
import { parseRecord, parseUnchainedRecord } from '../record/parse.js';
import { MAX_DEVICE_SEQ, RECORD_VERSION, type LiuhenRecord, type RecordDraft } from '../record/schema.js';
import { toHex, ZERO32, type Hex } from '../util/hex.js';
import { merged } from '../util/merged.js';
import { monotonicUlid } from '../util/ulid.js';
import { pooledRandomBytes } from '../util/random-pool.js';
import { decode, decodeJson, deviceHeadSchema } from './codecs.js';
import { describe, type JournalDisk } from './disk.js';
import type { JournalIndexes } from './indexes.js';
import { end, K } from './keys.js';
import { claimDevice } from './ownership.js';
import type { AckSource } from './sealer.js';
import type { AppendResult, DeviceHead, QueueEntry, StoredRecord } from './types.js';
import { z } from 'zod';

/** An append waiting for its device's chain slot and signature. */
interface ChainWaiter {
  record: UnchainedRecord;
  /** Its JCS template, computed (and so checked) before it joined the queue. */
  template: RecordTemplate;
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

const ackText = z
  .string()
  .regex(/^\d{1,16}$/)
  .transform(Number);

/**
 * The journal's write side for records: append (station-signed), ingest
 * (device-signed), the per-device chain order and group commit. Guarantees:
 * - an append resolves only after its record is on disk (one synced, atomic
 *   write batch; concurrent appends are grouped into one synced write);
 * - a device's `seq`/`prev` chain is assigned in memory in append order and
 *   written in the same batch as the record, so the chain on disk never breaks;
 * - a device's chain belongs to one agency and never passes MAX_DEVICE_SEQ,
 *   both decided under the device lock.
 * Its in-memory state (device heads, owners, agency acks) is rebuilt from the
 * disk by `load()`, at open and after a failed write (disk.ts).
 */
export class Appender implements AckSource {
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
  /** Ingests of an id that was in flight, waiting for it to be journaled (or to fail). */
  private readonly idWaiters = new Map<string, Array<() => void>>();
  private readonly deviceTails = new Map<string, Promise<void>>();
  /** Appends waiting for their device's next chain run; a device is in the map while a run is scheduled for it. */
  private readonly chainQueues = new Map<string, ChainWaiter[]>();
  /** Device slots (`device\0seq`) taken by records not yet on disk: the fork check must see them too. */
  private readonly inflightSlots = new Set<string>();
  private flushing = false;
  /** Per device, the highest seq whose head is written or queued for writing: the head on disk only moves up. */
  private readonly headsQueued = new Map<string, number>();
  /** In-process followers told of each record once it is durable (see Journal.onAppended). */
  private readonly appended = new Set<(stored: StoredRecord) => void>();

  constructor(
    private readonly disk: JournalDisk,
    private readonly indexes: JournalIndexes,
    private readonly maxFutureSkewMs: number,
    private readonly clock: () => number,
  ) {}

  private get dir(): string {
    return this.disk.dir;
  }

  private assertUsable(): void {
    this.disk.assertUsable();
  }

  private getRecord(id: string) {
    return this.indexes.getRecord(id);
  }

  private hasRecord(id: string) {
    return this.indexes.hasRecord(id);
  }

  private releaseId(id: string): void {
    this.inflightIds.delete(id);
    const waiting = this.idWaiters.get(id);
    if (!waiting) return;
    this.idWaiters.delete(id);
    for (const resolve of waiting) resolve();
  }

  /** (Re)reads the device heads, their owners and the agency acks from the disk; nothing may be in flight. */
  async load(): Promise<void> {
    this.deviceHeads.clear();
    this.owners.clear();
    this.agencyAcks.clear();
    this.headsQueued.clear();
    this.inflightIds.clear();
    this.inflightSlots.clear();
    this.groupAcks = new Map();
    this.groupDeviceHeads = new Map();
    for await (const [key, value] of this.disk.db.iterator({ gte: K.devicePrefix, lt: end(K.devicePrefix) })) {
      const device = key.slice(K.devicePrefix.length);
      const head = decodeJson(deviceHeadSchema, value, key);
      this.deviceHeads.set(device, head);
      // A device's owner is the agency of every record of its chain, so of its head's.
      const owner = (await this.getRecord(head.id))?.record.agency;
      if (owner !== undefined) this.owners.set(device, owner);
      this.headsQueued.set(device, head.seq);
    }
    for await (const [key, value] of this.disk.db.iterator({ gte: K.agencyAckPrefix, lt: end(K.agencyAckPrefix) })) {
      this.agencyAcks.set(key.slice(K.agencyAckPrefix.length), decode(ackText, value, key));
    }
  }

  deviceHead(device: string): DeviceHead | undefined {
    return this.deviceHeads.get(device);
  }

  devices(): string[] {
    return [...this.deviceHeads.keys()].sort();
  }

  agencies(): string[] {
    return [...this.agencyAcks.keys()].sort();
  }

  ack(agency: string): number {
    return this.agencyAcks.get(agency) ?? 0;
  }

  onAppended(listener: (stored: StoredRecord) => void): () => void {
    this.appended.add(listener);
    return () => this.appended.delete(listener);
  }

  /**
   * Completes the draft into a record (id, seq, prev, salt), signs it, and makes
   * it durable. Resolves after the synced write; the returned record is final.
   */
  async append(draft: RecordDraft, signer: RecordSigner): Promise<AppendResult> {
    const id = draft.id ?? this.nextId();
    // The id is reserved before any await, so two appends with one explicit id cannot both pass.
    if (this.inflightIds.has(id)) fail('INVALID_RECORD', `a record with id ${id} is being journaled already`);
    this.inflightIds.add(id);
    let chained: ChainedRecord;
    try {
      if (draft.id !== undefined && (await this.hasRecord(id))) fail('INVALID_RECORD', `a record with id ${id} already exists`);
      // Everything but the chain slot is validated (schema and JCS, RFC 8785) before the
      // record joins its device's queue, so a bad draft fails alone, never its run.
      const unchained = parseUnchainedRecord(merged(draft, { v: RECORD_VERSION, id, salt: freshSalt() }));
      this.assertCapturedNotInFuture(unchained);
      chained = await this.chain(unchained, recordTemplate(unchained), signer);
    } catch (e) {
      this.releaseId(id);
      throw e;
    }
    return this.persist(chained, true);
  }

  /**
   * Queues the record for its device's next chain run. All appends of a device
   * that arrive while its previous run is being signed go into the next run,
   * which is signed in one call (one hand-off to a signing thread for the run).
   */
  private chain(record: UnchainedRecord, template: RecordTemplate, signer: RecordSigner): Promise<ChainedRecord> {
    return new Promise((resolve, reject) => {
      const device = record.device;
      const waiting = this.chainQueues.get(device);
      if (waiting) waiting.push({ record, template, signer, resolve, reject });
      else {
        // Queue first: the lock may start the run synchronously.
        this.chainQueues.set(device, [{ record, template, signer, resolve, reject }]);
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
    for (let start = 0; start < waiting.length;) {
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
          const err = new LiuhenError(
            'DEVICE_SEQ_EXHAUSTED',
            `device ${device} has reached seq ${after.seq}; its chain may not go past ${MAX_DEVICE_SEQ}. Record under a new device name (and key)`,
            { details: { device, seq: after.seq, max: MAX_DEVICE_SEQ } },
          );
          for (const w of run.slice(Math.max(room, 0))) w.reject(err);
          run = run.slice(0, Math.max(room, 0));
          if (run.length === 0) continue;
        }
        const records = run.map((w) => w.record);
        const signer = run[0]!.signer;
        // Only our own DeviceKey's runs are taken whole (its code computes the leaves);
        // any other signer contributes a checked signature and nothing else.
        const chained =
          signer instanceof DeviceKey
            ? await signer.chain(
                after,
                records,
                run.map((w) => w.template),
              )
            : await chainWith(signer, after, records);
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
  async ingest(input: unknown): Promise<AppendResult & { duplicate: boolean }> {
    const record = parseRecord(input);
    this.assertCapturedNotInFuture(record);
    if (!record.sig) fail('SIGNATURE_INVALID', `record ${record.id} carries no device signature`);
    if (!isUsableDeviceKey(record.sig.key))
      fail('SIGNATURE_INVALID', `record ${record.id} is signed with a small-order or malformed Ed25519 key, which proves nothing`);
    if (!(await verifyRecordSignatureAsync(record)))
      fail('SIGNATURE_INVALID', `the signature of record ${record.id} does not match it (device ${record.device})`);
    const canonical = canonicalize(record);
    const leaf = leafOfCanonical(canonical);
    // The id is reserved before any await, so no other append or ingest can journal it meanwhile:
    // what the read below finds stays true, and it runs outside the device lock, in parallel.
    if (this.inflightIds.has(record.id)) {
      // A device's retry racing its first upload of this record (the first answer was lost) is a
      // re-upload, not a bad record: refusing it (INVALID_RECORD, 400) told the device its evidence
      // was rejected while it was being journaled. It waits for the first and is answered as any
      // re-upload (duplicate), or journaled if the first failed.
      await new Promise<void>((resolve) => {
        const waiting = this.idWaiters.get(record.id);
        if (waiting) waiting.push(resolve);
        else this.idWaiters.set(record.id, [resolve]);
      });
      return this.ingest(input);
    }
    this.inflightIds.add(record.id);
    let advances: boolean;
    try {
      const existing = await this.getRecord(record.id);
      if (existing) {
        if (existing.leaf !== leaf) fail('INVALID_RECORD', `a different record with id ${record.id} already exists`);
        this.releaseId(record.id);
        return { record: existing.record, leaf, ack: existing.ack, duplicate: true };
      }
      advances = await this.underDeviceLock(record.device, async () => {
        const head = this.deviceHeads.get(record.device);
        this.owners.set(record.device, claimDevice(record.device, this.owners.get(record.device), record.agency));
        // The head is the highest seq journaled or in flight, so a slot above it is free;
        // only a late record (a slot below the head) needs a look at the disk.
        const taken = this.inflightSlots.has(slotKey(record))
          ? '(being journaled)'
          : head && record.seq <= head.seq
            ? await this.indexes.deviceSlot(record.device, record.seq)
            : undefined;
        if (taken)
          fail('INVALID_RECORD', `device ${record.device} already has another record with seq ${record.seq} ${taken}; a second one would fork its chain`);
        this.assertUsable();
        const beyond = !head || record.seq > head.seq;
        if (beyond) this.deviceHeads.set(record.device, { seq: record.seq, leaf, id: record.id });
        this.inflightSlots.add(slotKey(record));
        return beyond;
      });
    } catch (e) {
      this.releaseId(record.id);
      throw e;
    }
    return merged(await this.persist({ record, leaf, canonical }, advances), { duplicate: false });
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
      fail(
        'CAPTURE_IN_FUTURE',
        `record ${record.id} claims capture at ${record.capturedAt}, ${Math.round(ahead / 1000)} s after this journal's clock (${new Date(now).toISOString()}); at most ${this.maxFutureSkewMs / 1000} s of clock skew is accepted. Check the device clock, or upload it again in ${retryAfterSeconds} s`,
        {
          details: {
            id: record.id,
            capturedAt: record.capturedAt,
            now: new Date(now).toISOString(),
            maxFutureSkewSeconds: this.maxFutureSkewMs / 1000,
            retryAfterSeconds,
          },
        },
      );
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
    const journaledAt = this.clock();
    const stored = `{"record":${canonical},"leaf":"${leaf}","ack":${ack},"journaledAt":${journaledAt}}`;
    const entry: QueueEntry = { id: record.id, leaf, capturedAt: record.capturedAt };
    const puts = [
      K.record(record.id),
      stored,
      K.queue(record.agency, ack),
      JSON.stringify(entry),
      K.deviceIndex(record.device, record.seq),
      record.id,
      K.leaf(leaf),
      record.id,
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
      this.releaseId(record.id);
      this.inflightSlots.delete(slotKey(record));
    }
    // Durable now: followers may take it from here instead of reading it back (a listener's error is its own).
    for (const listener of this.appended) {
      try {
        listener({ record, leaf, ack, journaledAt });
      } catch {
        // ignored: a follower falls back to reading the journal
      }
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
    const done = this.disk.begin();
    while (this.queue.length > 0) {
      const group = this.queue;
      const acks = this.groupAcks;
      const heads = this.groupDeviceHeads;
      this.queue = [];
      this.groupAcks = new Map();
      this.groupDeviceHeads = new Map();
      try {
        // A chained batch: measured ~3× cheaper per op than the array form in abstract-level.
        const batch = this.disk.db.batch();
        for (const { puts } of group) for (let i = 0; i < puts.length; i += 2) batch.put(puts[i]!, puts[i + 1]!);
        for (const [agency, ack] of acks) batch.put(K.agencyAck(agency), String(ack));
        for (const [device, head] of heads) batch.put(K.device(device), JSON.stringify(head));
        await batch.write({ sync: true });
        for (const p of group) p.resolve();
      } catch (cause) {
        this.disk.writeFailed(cause);
        const err = new LiuhenError(
          'JOURNAL_IO',
          `the journal in ${this.dir} could not write (${describe(cause)}); nothing in this group was acknowledged. It reopens itself once the cause is gone`,
          { cause },
        );
        for (const p of [...group, ...this.queue]) p.reject(err);
        this.queue = [];
        this.groupAcks = new Map();
        this.groupDeviceHeads = new Map();
      }
    }
    this.flushing = false;
    done();
  }
}

/** A device chain slot, as held in inflightSlots. */
const slotKey = (r: LiuhenRecord): string => `${r.device}\0${r.seq}`;

/** A fresh 16-byte salt (DESIGN: ≥ 16 random bytes per record). */
function freshSalt(): Hex {
  return toHex(pooledRandomBytes(16));
}
