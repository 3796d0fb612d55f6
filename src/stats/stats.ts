import { mkdirSync } from 'node:fs';
import { Level } from 'level';
import type { AuditPolicy, FindingCode, Severity } from '../completeness/findings.js';
import { fail, LiuhenError } from '../errors.js';
import type { Journal } from '../journal/journal.js';
import type { BatchInfo, StoredRecord } from '../journal/types.js';
import { STAGES, type LiuhenRecord, type Stage } from '../record/schema.js';
import {
  DELAY_BUCKETS,
  DELAY_LABELS,
  FEEDBACK_STEPS,
  type CaseState,
  type DayBucket,
  type DeviceState,
  type FeedbackEntry,
  type FeedbackState,
  type FeedbackStep,
  type FindingActionEntry,
  type FindingEntry,
  type FindingStatus,
  type Overview,
} from './types.js';

/**
 * Supervision statistics, maintained incrementally.
 *
 * The source of truth is the journal; this is a derived index of it, kept in
 * its own LevelDB folder so it can be thrown away and rebuilt. It follows the
 * journal by **one ack cursor per agency** (the agency's journal order has no
 * gaps, whereas device seqs may arrive out of order) and one batch cursor per
 * agency, and asks the chain only about batches not yet anchored/notarized.
 * Each step of `catchUp` writes its state changes and its new cursors in one
 * atomic LevelDB batch, so after a crash the index is exactly the index of a
 * journal prefix and the next `catchUp` continues from there: nothing is
 * counted twice or missed. Every figure is a function of the records, the
 * batches and what the chain says of them — not of the order they were seen
 * in — so a rebuild from an empty index gives the same numbers (tested).
 *
 * Requests read the in-memory aggregates (per agency-day buckets, devices,
 * cases) and the findings index; none of them scans the journal.
 */
export interface ChainFacts {
  /** Block timestamp (s) of the batch's anchor, when anchored. */
  anchoredAt?: number;
  notarized: boolean;
  /** Latest attestation time (s) among the co-signatures, when notarized. */
  notarizedAt?: number;
}

export interface SupervisionStatsOptions {
  journal: Journal;
  /** Folder of the index (created). */
  dir: string;
  policy?: AuditPolicy;
  /** The supervision body's agency: its records are actions and feedback, not enforcement. */
  supervisionAgency: string;
  /** Devices whose records are not enforcement (the gateway's audit trail). */
  excludeDevices?: string[];
  /** What the chain says of a sealed batch; throws or returns undefined when it cannot tell (asked again later). */
  chainFacts?: (batch: BatchInfo) => Promise<ChainFacts | undefined>;
  /** Offset of the time zone days are counted in, minutes east of UTC. @default 480 (China Standard Time) */
  utcOffsetMinutes?: number;
  /** Records read per atomic step. @default 2000 */
  step?: number;
  /** Index entries a findings page reads at most when filters are checked per entry. @default 2000 */
  maxScan?: number;
  /** How often (ms) a pending batch's chain state is asked again. @default 3000 */
  chainRecheckMs?: number;
  now?: () => number;
}

interface Cursor {
  ack: number;
  batch: number;
}

interface PendingBatch {
  agency: string;
  seq: number;
  root: string;
  firstAck: number;
  size: number;
  sealedAt: string;
  anchoredAt?: number;
}

const META = 'meta';
/** Layout of the index; another one is rebuilt from the journal when opened. */
const VERSION = 2;
const MAX_RECENT = 200_000;
const MAX_CACHED_FINDINGS = 200_000;
/** Records kept from the journal's in-process tail until counted (about 1 KiB each). */
const MAX_TAPPED = 20_000;
/** Index entries a findings page reads at most (filters checked per entry). */
const MAX_SCAN = 2000;
const pad = (n: number) => n.toString().padStart(16, '0');
/** Newest first in key order: 10^15 − ms. */
const rev = (ms: number) => pad(1e15 - ms);
const end = (prefix: string) => `${prefix}\xff`;
const STAGE_RANK = (s: string) => STAGES.indexOf(s as Stage);

const SEVERITY: Record<FindingCode, Severity> = {
  DEVICE_SEQ_HOLE: 'high',
  DEVICE_CHAIN_BREAK: 'high',
  DEVICE_CHAIN_FORK: 'high',
  DEVICE_SESSION_UNCLOSED: 'medium',
  DEVICE_KEY_CHANGED: 'medium',
  CASE_STAGE_OUT_OF_ORDER: 'medium',
  CASE_DECISION_WITHOUT_REVIEW: 'high',
  CASE_DECISION_NOT_SERVED: 'high',
  RECORD_CAPTURED_IN_FUTURE: 'medium',
  RECORD_SEALED_LATE: 'medium',
  RECORD_ANCHORED_LATE: 'medium',
};

export interface FindingsQuery {
  agency?: string;
  code?: FindingCode;
  severity?: Severity;
  status?: FindingStatus;
  /** RFC 3339 or YYYY-MM-DD: findings that happened at or after. */
  from?: string;
  /** Findings that happened before. */
  to?: string;
  limit: number;
  /** Opaque cursor from the previous page. */
  cursor?: string;
}

export class SupervisionStats {
  private cursors: Record<string, Cursor> = {};
  private readonly buckets = new Map<string, DayBucket>();
  private readonly devices = new Map<string, DeviceState>();
  private readonly cases = new Map<string, CaseState>();
  /** Ids of the cases with findings (an overview counts them without going through every case). */
  private readonly casesWithFindings = new Set<string>();
  private readonly pending = new Map<string, PendingBatch>();
  private readonly feedbackCounts: Record<FeedbackState, number> = { submitted: 0, accepted: 0, investigating: 0, handled: 0, answered: 0 };
  private readonly asked = new Map<string, number>();
  /** Records by agency and ack, kept from their arrival until their batch is anchored (bounded). */
  private readonly recent = new Map<string, Map<number, LiuhenRecord>>();
  private recentSize = 0;
  /** Bumped when a step changed any figure: overview() answers from its cache until then. */
  private version = 0;
  private readonly overviews = new Map<string, { version: number; value: Overview }>();
  private running: Promise<void> | undefined;
  /** Steps written so far (a disk read that raced a step is not cached). */
  private commits = 0;
  /** META as last written (a step that changed nothing writes nothing). */
  private committedMeta: string | undefined;
  /** Findings as on disk (null: none), by id; bounded, cleared when full. */
  private readonly findingCache = new Map<string, Readonly<FindingEntry> | null>();
  /** This step's findings (null: dropped), written with it. */
  private stepFindings = new Map<string, Readonly<FindingEntry> | null>();
  /** Capture days by day number (a record's day is asked several times). */
  private readonly dayNames = new Map<number, string>();
  private closed = false;
  /** Records this process journaled, by agency and ack, from the journal's in-process tail, until they are counted. */
  private readonly tapped = new Map<string, Map<number, StoredRecord>>();
  private tappedSize = 0;
  private readonly untap: () => void;
  // Per step: what to write.
  private dirty = new Set<string>();
  private puts = new Map<string, string | null>();
  private readonly exclude: Set<string>;
  private readonly offsetMs: number;
  private readonly now: () => number;

  private constructor(
    private readonly db: Level<string, string>,
    private readonly o: SupervisionStatsOptions,
  ) {
    this.exclude = new Set(o.excludeDevices ?? []);
    // Bounded: when nobody asks for the figures for long, the tail stops keeping records and they are read back later.
    this.untap = o.journal.onAppended((stored) => {
      if (this.tappedSize >= MAX_TAPPED || stored.ack <= (this.cursors[stored.record.agency]?.ack ?? 0)) return;
      let m = this.tapped.get(stored.record.agency);
      if (!m) this.tapped.set(stored.record.agency, (m = new Map()));
      if (!m.has(stored.ack)) this.tappedSize++;
      m.set(stored.ack, stored);
    });
    this.offsetMs = (o.utcOffsetMinutes ?? 480) * 60_000;
    this.now = o.now ?? Date.now;
  }

  static async open(o: SupervisionStatsOptions): Promise<SupervisionStats> {
    mkdirSync(o.dir, { recursive: true });
    const db = new Level<string, string>(o.dir, { valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (cause) {
      fail('JOURNAL_IO', `cannot open the supervision statistics in ${o.dir}: ${(cause as Error).message}`, { cause });
    }
    const s = new SupervisionStats(db, o);
    try {
      await s.load();
    } catch (e) {
      s.untap();
      await db.close();
      throw e;
    }
    return s;
  }

  private async load(): Promise<void> {
    const meta = await this.db.get(META);
    if (meta && (JSON.parse(meta) as { v: number }).v !== VERSION) {
      // An index of an older layout (v1 had no status index): it is derived, so it is rebuilt from the journal.
      await this.db.clear();
    } else if (meta) {
      this.committedMeta = meta;
      const m = JSON.parse(meta) as { v: typeof VERSION; cursors: Record<string, Cursor>; feedback: Record<FeedbackState, number> };
      this.cursors = m.cursors;
      Object.assign(this.feedbackCounts, m.feedback);
    }
    for await (const [k, v] of this.db.iterator({ gte: 'B:', lt: end('B:') })) this.buckets.set(k.slice(2), JSON.parse(v) as DayBucket);
    for await (const [k, v] of this.db.iterator({ gte: 'D:', lt: end('D:') })) this.devices.set(k.slice(2), JSON.parse(v) as DeviceState);
    for await (const [k, v] of this.db.iterator({ gte: 'C:', lt: end('C:') })) {
      const c = JSON.parse(v) as CaseState;
      this.cases.set(k.slice(2), c);
      if (c.findings.length > 0) this.casesWithFindings.add(k.slice(2));
    }
    for await (const [k, v] of this.db.iterator({ gte: 'P:', lt: end('P:') })) this.pending.set(k.slice(2), JSON.parse(v) as PendingBatch);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.untap();
    this.tapped.clear();
    await this.running?.catch(() => undefined);
    await this.db.close();
  }

  /**
   * Brings the index up to the journal: new records, new batches, and the
   * chain state of batches still waiting. Concurrent callers share one run.
   */
  catchUp(): Promise<void> {
    if (this.closed) return Promise.reject(new LiuhenError('JOURNAL_CLOSED', 'the supervision statistics are closed'));
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<void> {
    const step = this.o.step ?? 2000;
    const j = this.o.journal;
    for (const agency of j.agencies()) {
      for (;;) {
        const c = this.cursor(agency);
        if (j.lastAck(agency) <= c.ack) break;
        let n = 0;
        // What this process appended comes from the journal's in-process tail (already validated, in
        // memory); the rest — older records, or any the tail missed — is read back from the journal.
        const tapped = this.tapped.get(agency);
        for (let s = tapped?.get(c.ack + 1); s && n < step; s = tapped!.get(c.ack + 1)) {
          tapped!.delete(s.ack);
          this.tappedSize--;
          await this.onRecord(s);
          c.ack = s.ack;
          n++;
        }
        if (n === 0) {
          for await (const s of j.agencyRecords(agency, { afterAck: c.ack, limit: step })) {
            if (tapped?.delete(s.ack)) this.tappedSize--;
            await this.onRecord(s);
            c.ack = s.ack;
            n++;
          }
        }
        await this.commit();
        if (n === 0) break;
      }
      // Batches only once their records are counted (a batch sealed meanwhile waits for the next run).
      // The agency head (one read) says whether there is a new batch at all: a request's catch-up
      // then costs a read per agency instead of a range scan and a write per agency.
      const head = await j.agencyHead(agency);
      if (!head || head.seq <= this.cursor(agency).batch) continue;
      for (;;) {
        const c = this.cursor(agency);
        let n = 0;
        for await (const b of j.batches(agency, { afterSeq: c.batch, limit: 50 })) {
          if (b.firstAck + b.size - 1 > c.ack) break;
          await this.onBatch(b);
          c.batch = b.seq;
          n++;
        }
        await this.commit();
        if (n < 50) break;
      }
    }
    await this.askChain();
  }

  private cursor(agency: string): Cursor {
    return (this.cursors[agency] ??= { ack: 0, batch: 0 });
  }

  private day(ms: number): string {
    const n = Math.floor((ms + this.offsetMs) / 86_400_000);
    let name = this.dayNames.get(n);
    if (name === undefined) {
      name = new Date(n * 86_400_000).toISOString().slice(0, 10);
      if (this.dayNames.size < 100_000) this.dayNames.set(n, name);
    }
    return name;
  }

  private bucket(agency: string, day: string): DayBucket {
    const key = `${agency}|${day}`;
    let b = this.buckets.get(key);
    if (!b) {
      b = {
        records: 0,
        newCases: 0,
        sealed: 0,
        sealedLate: 0,
        anchored: 0,
        anchoredLate: 0,
        late: 0,
        delay: new Array<number>(DELAY_BUCKETS.length + 1).fill(0),
        findings: {},
      };
      this.buckets.set(key, b);
    }
    this.dirty.add(`B:${key}`);
    return b;
  }

  private enforcement(r: LiuhenRecord): boolean {
    return r.agency !== this.o.supervisionAgency && !this.exclude.has(r.device);
  }

  // ── records ──────────────────────────────────────────────────────────────

  private async onRecord(s: StoredRecord): Promise<void> {
    const r = s.record;
    if (this.recentSize < MAX_RECENT && r.agency !== this.o.supervisionAgency) {
      let m = this.recent.get(r.agency);
      if (!m) this.recent.set(r.agency, (m = new Map()));
      // Only what the batch and anchor steps read (about 150 bytes a record).
      m.set(s.ack, { id: r.id, agency: r.agency, device: r.device, capturedAt: r.capturedAt, ...(r.case ? { case: r.case } : {}) } as LiuhenRecord);
      this.recentSize++;
    }
    if (r.agency === this.o.supervisionAgency) return this.onSupervision(s);
    if (this.exclude.has(r.device)) return;
    const captured = Date.parse(r.capturedAt);
    const day = this.day(captured);
    this.bucket(r.agency, day).records++;
    await this.onDevice(s, day);
    if (r.case) await this.onCase(s, captured, day);
    const skew = (this.o.policy?.maxClockSkewSeconds ?? 300) * 1000;
    if (captured > s.journaledAt + skew) {
      await this.raise({
        id: `future:${r.id}`,
        code: 'RECORD_CAPTURED_IN_FUTURE',
        agency: r.agency,
        at: r.capturedAt,
        device: r.device,
        recordIds: [r.id],
        message: `record ${r.id} claims capture at ${r.capturedAt}, after it was journaled`,
        ...(r.case ? { case: r.case } : {}),
      });
    }
  }

  private async onDevice(s: StoredRecord, day: string): Promise<void> {
    const r = s.record;
    const key = `D:${r.device}`;
    let d = this.devices.get(r.device);
    if (!d) {
      d = { agency: r.agency, records: 0, maxSeq: 0, maxLeaf: '', gaps: [], breaks: 0, days: {} };
      this.devices.set(r.device, d);
    }
    this.dirty.add(key);
    d.records++;
    d.days[day] = (d.days[day] ?? 0) + 1;
    const seq = r.seq;
    if (seq > d.maxSeq) {
      if (seq > d.maxSeq + 1) {
        d.gaps.push({ from: d.maxSeq + 1, to: seq - 1, day });
        await this.raiseHole(r.device, d.agency, d.maxSeq + 1, seq - 1, r);
      } else if (d.maxSeq > 0 || seq === 1) {
        // In order: the previous leaf is at hand.
        const prevLeaf = seq === 1 ? `0x${'00'.repeat(32)}` : d.maxLeaf;
        if (r.prev !== prevLeaf) await this.raiseBreak(d, r);
      }
      d.maxSeq = seq;
      d.maxLeaf = s.leaf;
    } else {
      // A hole filled late: split its gap; check both neighbours' links.
      const i = d.gaps.findIndex((g) => g.from <= seq && seq <= g.to);
      if (i >= 0) {
        const g = d.gaps[i]!;
        await this.drop(`hole:${r.device}:${g.from}`);
        const parts: { from: number; to: number; day: string }[] = [];
        if (g.from < seq) parts.push({ from: g.from, to: seq - 1, day });
        if (seq < g.to) parts.push({ from: seq + 1, to: g.to, day: g.day });
        d.gaps.splice(i, 1, ...parts);
        for (const p of parts) {
          const after = p.to + 1 === seq ? r : (await this.deviceRecord(r.device, p.to + 1))?.record;
          if (after) await this.raiseHole(r.device, d.agency, p.from, p.to, after);
        }
      }
      const before = seq === 1 ? `0x${'00'.repeat(32)}` : (await this.deviceRecord(r.device, seq - 1))?.leaf;
      if (before !== undefined && r.prev !== before) await this.raiseBreak(d, r);
      const next = await this.deviceRecord(r.device, seq + 1);
      if (next && next.record.prev !== s.leaf) await this.raiseBreak(d, next.record);
    }
  }

  private async deviceRecord(device: string, seq: number): Promise<StoredRecord | undefined> {
    for await (const s of this.o.journal.deviceRecords(device, { afterSeq: seq - 1, limit: 1 })) return s.record.seq === seq ? s : undefined;
    return undefined;
  }

  private async raiseHole(device: string, agency: string, from: number, to: number, after: LiuhenRecord): Promise<void> {
    await this.raise({
      id: `hole:${device}:${from}`,
      code: 'DEVICE_SEQ_HOLE',
      agency,
      at: after.capturedAt,
      device,
      recordIds: [after.id],
      message:
        from === to
          ? `record ${from} of device ${device} is missing (deleted or never uploaded)`
          : `records ${from}–${to} of device ${device} are missing (deleted or never uploaded)`,
    });
  }

  private async raiseBreak(d: DeviceState, r: LiuhenRecord): Promise<void> {
    const id = `break:${r.device}:${r.seq}`;
    if (await this.getFinding(id)) return;
    d.breaks++;
    await this.raise({
      id,
      code: 'DEVICE_CHAIN_BREAK',
      agency: r.agency,
      at: r.capturedAt,
      device: r.device,
      recordIds: [r.id],
      message: `record ${r.seq} of device ${r.device} does not chain to record ${r.seq - 1} (prev differs): a record was replaced`,
    });
  }

  private async onCase(s: StoredRecord, captured: number, day: string): Promise<void> {
    const r = s.record;
    const id = r.case!;
    let c = this.cases.get(id);
    if (!c) {
      c = { agencies: [], first: {}, day, findings: [] };
      this.cases.set(id, c);
      this.bucket(r.agency, day).newCases++;
    } else {
      const earliest = Math.min(...Object.values(c.first).filter((v): v is number => v !== undefined), Number.POSITIVE_INFINITY);
      if (captured < earliest && day !== c.day) {
        this.bucket(c.agencies[0] ?? r.agency, c.day).newCases--;
        this.bucket(c.agencies[0] ?? r.agency, day).newCases++;
        c.day = day;
      }
    }
    this.dirty.add(`C:${id}`);
    if (!c.agencies.includes(r.agency)) c.agencies.push(r.agency);
    const stage = r.stage ?? 'none';
    if (c.first[stage] === undefined || captured < c.first[stage]!) c.first[stage] = captured;
    if (stage === 'service') c.lastService = Math.max(c.lastService ?? 0, captured);
    if (stage === 'onsite') c.lastOnsite = Math.max(c.lastOnsite ?? 0, captured);
    await this.caseFindings(id, c);
  }

  /** The case rules of `caseFindings` (completeness), over the compact state: first capture per stage. */
  private async caseFindings(id: string, c: CaseState): Promise<void> {
    const want = new Map<string, Omit<FindingEntry, 'severity' | 'status'>>();
    const agency = c.agencies[0]!;
    const iso = (ms: number) => new Date(ms).toISOString();
    const decision = c.first.decision;
    if (decision !== undefined) {
      const review = c.first.review;
      if (review === undefined || review > decision)
        want.set(`review:${id}`, {
          id: `review:${id}`,
          code: 'CASE_DECISION_WITHOUT_REVIEW',
          agency,
          case: id,
          at: iso(decision),
          recordIds: [],
          message: `decision of ${iso(decision)} has no prior legal review (法制审核) record`,
        });
      if (c.lastService === undefined || c.lastService < decision)
        want.set(`served:${id}`, {
          id: `served:${id}`,
          code: 'CASE_DECISION_NOT_SERVED',
          agency,
          case: id,
          at: iso(decision),
          recordIds: [],
          message: `decision of ${iso(decision)} has no service (送达) record after it`,
        });
      if (c.lastOnsite !== undefined && c.lastOnsite > decision)
        want.set(`onsite:${id}`, {
          id: `onsite:${id}`,
          code: 'CASE_STAGE_OUT_OF_ORDER',
          agency,
          case: id,
          at: iso(c.lastOnsite),
          recordIds: [],
          message: `on-site record captured after the decision (${iso(c.lastOnsite)})`,
        });
    }
    const staged = Object.entries(c.first)
      .filter(([s]) => s !== 'onsite' && s !== 'none')
      .sort((a, b) => a[1]! - b[1]! || STAGE_RANK(a[0]) - STAGE_RANK(b[0]));
    let highest: [string, number] | undefined;
    for (const [stage, at] of staged) {
      if (highest && STAGE_RANK(stage) < STAGE_RANK(highest[0])) {
        want.set(`order:${id}:${stage}`, {
          id: `order:${id}:${stage}`,
          code: 'CASE_STAGE_OUT_OF_ORDER',
          agency,
          case: id,
          at: iso(at!),
          recordIds: [],
          message: `stage ${stage} began (${iso(at!)}) after stage ${highest[0]} (${iso(highest[1])})`,
        });
      }
      if (!highest || STAGE_RANK(stage) > STAGE_RANK(highest[0])) highest = [stage, at!];
    }
    for (const old of c.findings) if (!want.has(old)) await this.drop(old);
    for (const f of want.values()) await this.raise(f);
    c.findings = [...want.keys()].sort();
    if (c.findings.length > 0) this.casesWithFindings.add(id);
    else this.casesWithFindings.delete(id);
  }

  // ── batches and the chain ────────────────────────────────────────────────

  /**
   * The records of a batch: from the in-memory cache of records seen but not
   * yet anchored (filled as records arrive, so a batch costs no second read),
   * or from the journal after a restart emptied it.
   */
  private async batchRecords(b: { agency: string; firstAck: number; size: number }, release = false): Promise<Pick<StoredRecord, 'record'>[]> {
    const cache = this.recent.get(b.agency);
    const out: Pick<StoredRecord, 'record'>[] = [];
    for (let ack = b.firstAck; ack < b.firstAck + b.size; ack++) {
      const r = cache?.get(ack);
      if (!r) break;
      out.push({ record: r });
    }
    if (out.length !== b.size) {
      out.length = 0;
      for await (const s of this.o.journal.agencyRecords(b.agency, { afterAck: b.firstAck - 1, limit: b.size })) out.push(s);
    }
    if (release && cache) for (let ack = b.firstAck; ack < b.firstAck + b.size; ack++) if (cache.delete(ack)) this.recentSize--;
    return out;
  }

  private async onBatch(b: BatchInfo): Promise<void> {
    if (b.agency === this.o.supervisionAgency) return;
    // Without a chain nothing is ever anchored: keep no records for it.
    const release = !this.o.chainFacts;
    const maxSeal = (this.o.policy?.maxSealDelaySeconds ?? 3600) * 1000;
    const sealed = Date.parse(b.sealedAt);
    for (const s of await this.batchRecords(b, release)) {
      if (!this.enforcement(s.record)) continue;
      const captured = Date.parse(s.record.capturedAt);
      const bucket = this.bucket(b.agency, this.day(captured));
      bucket.sealed++;
      if (sealed - captured > maxSeal) {
        bucket.sealedLate++;
        await this.raise({
          id: `sealed-late:${s.record.id}`,
          code: 'RECORD_SEALED_LATE',
          agency: b.agency,
          at: s.record.capturedAt,
          device: s.record.device,
          recordIds: [s.record.id],
          ...(s.record.case ? { case: s.record.case } : {}),
          message: `record ${s.record.id} was sealed ${Math.round((sealed - captured) / 1000)} s after capture (policy: ${maxSeal / 1000} s)`,
        });
      }
    }
    const p: PendingBatch = { agency: b.agency, seq: b.seq, root: b.root, firstAck: b.firstAck, size: b.size, sealedAt: b.sealedAt };
    this.pending.set(b.root, p);
    this.dirty.add(`P:${b.root}`);
  }

  private async askChain(): Promise<void> {
    const facts = this.o.chainFacts;
    if (!facts) return;
    const now = this.now();
    const recheck = this.o.chainRecheckMs ?? 3000;
    // At most 200 per run, in the order they were sealed (the map keeps insertion order).
    const due: PendingBatch[] = [];
    for (const p of this.pending.values()) {
      if (now - (this.asked.get(p.root) ?? 0) < recheck) continue;
      due.push(p);
      if (due.length >= 200) break;
    }
    for (const p of due) {
      this.asked.set(p.root, now);
      let f: ChainFacts | undefined;
      try {
        const batch = await this.o.journal.getBatch(p.agency, p.seq);
        f = batch ? await facts(batch) : undefined;
      } catch {
        continue; // the chain is down: ask again on a later run
      }
      if (!f) continue;
      if (f.anchoredAt !== undefined && p.anchoredAt === undefined) await this.onAnchored(p, f.anchoredAt);
      if (f.notarized && p.anchoredAt !== undefined) {
        this.pending.delete(p.root);
        this.asked.delete(p.root);
        this.puts.set(`P:${p.root}`, null);
      }
    }
    // One atomic step for the run (the chain's answers are facts: asking again after a crash gives the same).
    await this.commit();
  }

  /** Sealed batches not yet anchored and notarized (what `catchUp` still asks the chain about). */
  get pendingBatches(): number {
    return this.pending.size;
  }

  private async onAnchored(p: PendingBatch, anchoredAt: number): Promise<void> {
    p.anchoredAt = anchoredAt;
    this.dirty.add(`P:${p.root}`);
    const maxSeal = (this.o.policy?.maxSealDelaySeconds ?? 3600) * 1000;
    const maxAnchor = (this.o.policy?.maxAnchorDelaySeconds ?? 3600) * 1000;
    const sealed = Date.parse(p.sealedAt);
    const anchored = anchoredAt * 1000;
    for (const s of await this.batchRecords(p, true)) {
      if (!this.enforcement(s.record)) continue;
      const captured = Date.parse(s.record.capturedAt);
      const b = this.bucket(p.agency, this.day(captured));
      const delay = anchored - captured;
      b.anchored++;
      let bin = DELAY_BUCKETS.findIndex((limit) => delay < limit * 1000);
      if (bin < 0) bin = DELAY_BUCKETS.length;
      b.delay[bin]!++;
      const late = delay > maxAnchor;
      if (late) {
        b.anchoredLate++;
        await this.raise({
          id: `anchored-late:${s.record.id}`,
          code: 'RECORD_ANCHORED_LATE',
          agency: p.agency,
          at: s.record.capturedAt,
          device: s.record.device,
          recordIds: [s.record.id],
          ...(s.record.case ? { case: s.record.case } : {}),
          message: `record ${s.record.id} was anchored ${Math.round(delay / 1000)} s after capture (policy: ${maxAnchor / 1000} s)`,
        });
      }
      if (late || sealed - captured > maxSeal) b.late++;
    }
  }

  // ── the supervision body's own records: actions on findings, feedback ───

  private async onSupervision(s: StoredRecord): Promise<void> {
    const body = (s.record.body ?? {}) as Record<string, unknown>;
    switch (body.event) {
      case 'finding-action': {
        const action: FindingActionEntry = {
          finding: String(body.finding),
          status: body.status as FindingActionEntry['status'],
          comment: String(body.comment ?? ''),
          by: String(body.by ?? s.record.officer),
          at: s.record.capturedAt,
          recordId: s.record.id,
          leaf: s.leaf,
        };
        this.puts.set(`H:${action.finding}:${pad(s.ack)}`, JSON.stringify(action));
        this.puts.set(`S:${action.finding}`, action.status);
        const f = await this.getFinding(action.finding);
        if (f) {
          // Re-indexed: the status index follows the status.
          this.unindex(f);
          await this.writeFinding({ ...f, status: action.status });
        }
        return;
      }
      case 'feedback': {
        const leaf = String(body.leaf);
        const id = await this.o.journal.recordIdByLeaf(leaf);
        const about = id ? await this.o.journal.getRecord(id) : undefined;
        const fb: FeedbackEntry = {
          tracking: String(body.tracking),
          leaf,
          agency: about?.record.agency ?? null,
          category: body.category as FeedbackEntry['category'],
          text: String(body.text ?? ''),
          ...(typeof body.phoneCommitment === 'string' ? { phoneCommitment: body.phoneCommitment } : {}),
          at: s.record.capturedAt,
          recordId: s.record.id,
          state: 'submitted',
          steps: [],
        };
        if (await this.getFeedback(fb.tracking)) return; // a tracking code is used once
        this.feedbackCounts.submitted++;
        this.puts.set(`Q:${fb.tracking}`, JSON.stringify(fb));
        this.puts.set(`QS:submitted:${rev(Date.parse(fb.at))}:${fb.tracking}`, '');
        return;
      }
      case 'feedback-step': {
        const tracking = String(body.tracking);
        const fb = await this.getFeedback(tracking);
        const step = body.step as FeedbackStep;
        if (!fb || !FEEDBACK_STEPS.includes(step)) return;
        this.feedbackCounts[fb.state]--;
        this.puts.set(`QS:${fb.state}:${rev(Date.parse(fb.at))}:${tracking}`, null);
        fb.steps.push({
          step,
          at: s.record.capturedAt,
          comment: String(body.comment ?? ''),
          by: String(body.by ?? s.record.officer),
          recordId: s.record.id,
          leaf: s.leaf,
        });
        fb.state = step;
        this.feedbackCounts[fb.state]++;
        this.puts.set(`QS:${fb.state}:${rev(Date.parse(fb.at))}:${tracking}`, '');
        this.puts.set(`Q:${tracking}`, JSON.stringify(fb));
        return;
      }
      case 'certificate': {
        const c = {
          certificateId: s.record.id,
          leaf: s.leaf,
          record: String(body.record),
          recordLeaf: String(body.recordLeaf ?? ''),
          sha256: String(body.sha256),
          at: s.record.capturedAt,
        };
        this.puts.set(`K:${c.sha256}`, JSON.stringify(c));
        return;
      }
      case 'feedback-phone-erased': {
        const fb = await this.getFeedback(String(body.tracking));
        if (!fb) return;
        fb.phoneErasedAt = s.record.capturedAt;
        this.puts.set(`Q:${fb.tracking}`, JSON.stringify(fb));
        return;
      }
      default:
        return;
    }
  }

  // ── findings index ───────────────────────────────────────────────────────
  //   F:<id> → FindingEntry;  newest first: T:<rev at>:<id>, TA:<agency>:…, TK:<code>:…, TAK:<agency>:<code>:…,
  //   TS:<status>:… (not open) → ''
  //   H:<id>:<ack> → FindingActionEntry;  S:<id> → last status

  private async raise(f: Omit<FindingEntry, 'severity' | 'status'>): Promise<void> {
    const old = await this.getFinding(f.id);
    if (old && old.at === f.at && old.message === f.message) return;
    if (old) this.unindex(old);
    const status = (this.puts.has(`S:${f.id}`) ? this.puts.get(`S:${f.id}`) : await this.db.get(`S:${f.id}`)) as FindingStatus | undefined | null;
    await this.writeFinding({ ...f, severity: SEVERITY[f.code], status: status ?? 'open' });
  }

  private async writeFinding(f: FindingEntry): Promise<void> {
    const k = rev(Date.parse(f.at));
    this.puts.set(`F:${f.id}`, JSON.stringify(f));
    this.stepFindings.set(f.id, Object.freeze(f));
    for (const prefix of indexPrefixes(f)) this.puts.set(`${prefix}${k}:${f.id}`, '');
    const b = this.bucket(f.agency, this.day(Date.parse(f.at)));
    b.findings[f.code] = (b.findings[f.code] ?? 0) + 1;
  }

  private unindex(f: FindingEntry): void {
    const k = rev(Date.parse(f.at));
    for (const prefix of indexPrefixes(f)) this.puts.set(`${prefix}${k}:${f.id}`, null);
    const b = this.bucket(f.agency, this.day(Date.parse(f.at)));
    if ((b.findings[f.code] ?? 0) <= 1) delete b.findings[f.code];
    else b.findings[f.code]!--;
  }

  /** A finding that no longer holds (a hole filled, a decision served later) leaves the list; its history stays. */
  private async drop(id: string): Promise<void> {
    const f = await this.getFinding(id);
    if (!f) return;
    this.unindex(f);
    this.puts.set(`F:${id}`, null);
    this.stepFindings.set(id, null);
  }

  async getFinding(id: string): Promise<FindingEntry | undefined> {
    return (await this.findingEntry(id)) ?? undefined;
  }

  /**
   * A finding as stored: from this step's writes, else the cache of what is on
   * disk (parsed, frozen), else the disk. Every record of a case re-derives the
   * case's findings and compares them with what is stored; without the cache
   * that is a disk read and a parse per record and finding.
   */
  private async findingEntry(id: string): Promise<FindingEntry | null> {
    if (this.stepFindings.has(id)) return this.stepFindings.get(id)!;
    if (this.findingCache.has(id)) return this.findingCache.get(id)!;
    const commits = this.commits;
    const v = await this.db.get(`F:${id}`);
    const f = v ? (Object.freeze(JSON.parse(v)) as FindingEntry) : null;
    // Cached only if no step was written meanwhile (it may have changed this finding: the cache holds the newer one).
    if (commits === this.commits) this.cacheFinding(id, f);
    return f;
  }

  async findingHistory(id: string): Promise<FindingActionEntry[]> {
    const out: FindingActionEntry[] = [];
    for await (const v of this.db.values({ gte: `H:${id}:`, lt: end(`H:${id}:`) })) out.push(JSON.parse(v) as FindingActionEntry);
    return out;
  }

  /**
   * A page of findings, newest first. The filters pick the narrowest index
   * (agency+kind, agency, kind, a status other than open, or all); the rest
   * (severity, and status or kind when another index was taken) are checked
   * per entry, over at most `maxScan` index entries per page: a page never
   * scans the list. A filter that matches little may so give a page with
   * fewer than `limit` findings (even none) and a `next` cursor to go on
   * from where the scan stopped.
   */
  async findings(q: FindingsQuery): Promise<{ findings: FindingEntry[]; next: string | null }> {
    const prefix =
      q.status && q.status !== 'open'
        ? `TS:${q.status}:`
        : q.agency && q.code
          ? `TAK:${q.agency}:${q.code}:`
          : q.agency
            ? `TA:${q.agency}:`
            : q.code
              ? `TK:${q.code}:`
              : 'T:';
    const toMs = q.to ? Date.parse(q.to.length === 10 ? `${q.to}T00:00:00Z` : q.to) - (q.to.length === 10 ? this.offsetMs : 0) : undefined;
    const fromMs = q.from ? Date.parse(q.from.length === 10 ? `${q.from}T00:00:00Z` : q.from) - (q.from.length === 10 ? this.offsetMs : 0) : undefined;
    // Newest first: keys from rev(to) (exclusive of `to` itself) up to rev(from).
    let gt = toMs !== undefined ? `${prefix}${rev(toMs)}:\xff` : prefix;
    if (q.cursor) {
      if (!/^[0-9]{16}:[\x21-\x7e]{1,200}$/.test(q.cursor)) fail('INVALID_INPUT', 'cursor is not one this server gave');
      gt = `${prefix}${q.cursor}`;
    }
    const lte = fromMs !== undefined ? `${prefix}${rev(fromMs)}\xff` : end(prefix);
    const out: FindingEntry[] = [];
    let lastKey: string | undefined;
    let scanned = 0;
    const maxScan = this.o.maxScan ?? MAX_SCAN;
    while (out.length < q.limit && scanned < maxScan) {
      // Index keys in slices, then their findings in one read (getMany; the cache first).
      const keys = await this.db.keys({ gt: lastKey ?? gt, lte, limit: Math.min(maxScan - scanned, Math.max(q.limit - out.length, 64)) }).all();
      if (keys.length === 0) break;
      const ids = keys.map((k) => k.slice(prefix.length + 17));
      const entries = new Map<string, Readonly<FindingEntry> | null>();
      for (const id of ids) if (this.findingCache.has(id)) entries.set(id, this.findingCache.get(id)!);
      const missing = ids.filter((id) => !entries.has(id));
      const commits = this.commits;
      const read = missing.length > 0 ? await this.db.getMany(missing.map((id) => `F:${id}`)) : [];
      missing.forEach((id, k) => entries.set(id, read[k] ? (Object.freeze(JSON.parse(read[k])) as FindingEntry) : null));
      // Cached only if no step was written meanwhile (see findingEntry).
      if (commits === this.commits) for (const id of missing) this.cacheFinding(id, entries.get(id)!);
      for (let k = 0; k < keys.length && out.length < q.limit; k++) {
        lastKey = keys[k]!;
        scanned++;
        const f = entries.get(ids[k]!);
        if (!f) continue;
        if (q.agency && f.agency !== q.agency) continue;
        if (q.code && f.code !== q.code) continue;
        if (q.severity && f.severity !== q.severity) continue;
        if (q.status && f.status !== q.status) continue;
        out.push(f);
      }
    }
    const more = lastKey !== undefined && (await this.db.keys({ gt: lastKey, lte, limit: 1 }).all()).length > 0;
    return { findings: out, next: more && lastKey ? lastKey.slice(prefix.length) : null };
  }

  /** An issued evidence certificate by the SHA-256 of its PDF. */
  async getCertificate(
    sha256: string,
  ): Promise<{ certificateId: string; leaf: string; record: string; recordLeaf: string; sha256: string; at: string } | undefined> {
    const v = await this.db.get(`K:${sha256}`);
    return v ? (JSON.parse(v) as { certificateId: string; leaf: string; record: string; recordLeaf: string; sha256: string; at: string }) : undefined;
  }

  // ── feedback ─────────────────────────────────────────────────────────────

  async getFeedback(tracking: string): Promise<FeedbackEntry | undefined> {
    const v = this.puts.has(`Q:${tracking}`) ? this.puts.get(`Q:${tracking}`) : await this.db.get(`Q:${tracking}`);
    return v ? (JSON.parse(v) as FeedbackEntry) : undefined;
  }

  /** The queue, newest first, optionally in one state. */
  async feedbackQueue(options: { state?: FeedbackState; limit: number }): Promise<FeedbackEntry[]> {
    const states: FeedbackState[] = options.state ? [options.state] : ['submitted', ...FEEDBACK_STEPS];
    const out: FeedbackEntry[] = [];
    for (const state of states) {
      for await (const key of this.db.keys({ gte: `QS:${state}:`, lt: end(`QS:${state}:`), limit: options.limit })) {
        const fb = await this.getFeedback(key.slice(key.lastIndexOf(':') + 1));
        if (fb) out.push(fb);
      }
    }
    return out.sort((a, b) => b.at.localeCompare(a.at)).slice(0, options.limit);
  }

  // ── writing a step ───────────────────────────────────────────────────────

  private async commit(): Promise<void> {
    const meta = JSON.stringify({ v: VERSION, cursors: this.cursors, feedback: this.feedbackCounts });
    // Nothing changed (a catch-up that found nothing new): no write at all.
    if (this.dirty.size === 0 && this.puts.size === 0 && meta === this.committedMeta) return;
    const ops: { type: 'put' | 'del'; key: string; value?: string }[] = [];
    for (const key of this.dirty) {
      const kind = key.slice(0, 2);
      const id = key.slice(2);
      const value = kind === 'B:' ? this.buckets.get(id) : kind === 'D:' ? this.devices.get(id) : kind === 'C:' ? this.cases.get(id) : this.pending.get(id);
      if (value !== undefined) ops.push({ type: 'put', key, value: JSON.stringify(value) });
    }
    for (const [key, value] of this.puts) ops.push(value === null ? { type: 'del', key } : { type: 'put', key, value });
    if (ops.length > 0) this.version++;
    ops.push({ type: 'put', key: META, value: meta });
    const findings = this.stepFindings;
    this.dirty = new Set();
    this.puts = new Map();
    this.stepFindings = new Map();
    await this.db.batch(ops as never);
    this.commits++;
    this.committedMeta = meta;
    // The findings cache follows what is on disk.
    for (const [id, f] of findings) this.cacheFinding(id, f);
  }

  private cacheFinding(id: string, value: Readonly<FindingEntry> | null): void {
    if (this.findingCache.size >= MAX_CACHED_FINDINGS && !this.findingCache.has(id)) this.findingCache.clear();
    this.findingCache.set(id, value);
  }

  // ── reading the figures ──────────────────────────────────────────────────

  /** Days (YYYY-MM-DD, the configured time zone) of the period, `from` inclusive, `to` exclusive. */
  private days(from: string, to: string): string[] {
    const out: string[] = [];
    for (let t = Date.parse(`${from}T00:00:00Z`); t < Date.parse(`${to}T00:00:00Z`) && out.length < 400; t += 86_400_000)
      out.push(new Date(t).toISOString().slice(0, 10));
    return out;
  }

  /** Today in the configured time zone. */
  today(): string {
    return this.day(this.now());
  }

  /**
   * Figures across agencies for a period of capture days: from memory only
   * (buckets per agency-day, devices, the pending batches), never the journal.
   */
  overview(p: { from: string; to: string; agency?: string }): Overview {
    // Cached per period until a step changes a figure (a burst of requests costs one computation);
    // what depends on the clock (waits) and the journal position is refreshed every time.
    const key = `${p.from}|${p.to}|${p.agency ?? ''}`;
    const hit = this.overviews.get(key);
    if (hit && hit.version === this.version) return { ...hit.value, batches: this.batchWaits(p.agency), asOf: this.asOf() };
    const value = this.computeOverview(p);
    if (this.overviews.size > 64) this.overviews.clear();
    this.overviews.set(key, { version: this.version, value });
    return value;
  }

  private asOf(): Overview['asOf'] {
    const acks: Record<string, number> = {};
    for (const [a, c] of Object.entries(this.cursors)) acks[a] = c.ack;
    return { acks, computedAt: new Date(this.now()).toISOString() };
  }

  private batchWaits(agency?: string): Overview['batches'] {
    const now = this.now();
    let waiting = 0;
    let anchoredNotNotarized = 0;
    let oldest: number | null = null;
    for (const b of this.pending.values()) {
      if (agency && b.agency !== agency) continue;
      waiting++;
      if (b.anchoredAt !== undefined) anchoredNotNotarized++;
      const wait = Math.max(0, Math.round((now - Date.parse(b.sealedAt)) / 1000));
      oldest = oldest === null ? wait : Math.max(oldest, wait);
    }
    return { waiting, anchoredNotNotarized, oldestWaitSeconds: oldest };
  }

  private computeOverview(p: { from: string; to: string; agency?: string }): Overview {
    const days = this.days(p.from, p.to);
    const daySet = new Set(days);
    const agencies = new Set<string>();
    for (const key of this.buckets.keys()) agencies.add(key.slice(0, key.indexOf('|')));
    const list = [...agencies].filter((a) => !p.agency || a === p.agency).sort();
    const totals = { records: 0, newCases: 0, sealed: 0, sealedLate: 0, anchored: 0, anchoredLate: 0, late: 0 };
    const delay = new Array<number>(DELAY_BUCKETS.length + 1).fill(0);
    const findings: Record<string, number> = {};
    const perAgency: Overview['perAgency'] = [];
    const series: Overview['daily']['series'] = [];
    for (const agency of list) {
      const a = { records: 0, anchored: 0, late: 0 };
      const compliance: (number | null)[] = [];
      const records: number[] = [];
      for (const day of days) {
        const b = this.buckets.get(`${agency}|${day}`);
        records.push(b?.records ?? 0);
        compliance.push(b && b.anchored > 0 ? round((b.anchored - b.late) / b.anchored) : null);
        if (!b) continue;
        for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += b[k];
        a.records += b.records;
        a.anchored += b.anchored;
        a.late += b.late;
        b.delay.forEach((n, i) => (delay[i]! += n));
        for (const [code, n] of Object.entries(b.findings)) findings[code] = (findings[code] ?? 0) + n;
      }
      series.push({ agency, compliance, records });
      perAgency.push({ agency, ...a, compliance: a.anchored > 0 ? round((a.anchored - a.late) / a.anchored) : null, holes: 0 });
    }
    let devices = 0;
    let devicesWithHoles = 0;
    let devicesWithBreaks = 0;
    const holeDevices: string[] = [];
    const cells: [number, number, number][] = [];
    const dayIndex = new Map(days.map((d, i) => [d, i]));
    for (const [id, d] of [...this.devices.entries()].sort((x, y) => x[0].localeCompare(y[0]))) {
      if (p.agency && d.agency !== p.agency) continue;
      if (!Object.keys(d.days).some((day) => daySet.has(day))) continue;
      devices++;
      const gaps = d.gaps.filter((g) => daySet.has(g.day));
      if (d.breaks > 0) devicesWithBreaks++;
      if (gaps.length === 0) continue;
      devicesWithHoles++;
      const row = holeDevices.push(id) - 1;
      const perDay = new Map<string, number>();
      for (const g of gaps) perDay.set(g.day, (perDay.get(g.day) ?? 0) + g.to - g.from + 1);
      for (const [day, n] of perDay) cells.push([dayIndex.get(day)!, row, n]);
      const pa = perAgency.find((x) => x.agency === d.agency);
      if (pa) pa.holes += [...perDay.values()].reduce((s, n) => s + n, 0);
    }
    let casesWithFindings = 0;
    for (const id of this.casesWithFindings) {
      const c = this.cases.get(id)!;
      if (daySet.has(c.day) && (!p.agency || c.agencies.includes(p.agency))) casesWithFindings++;
    }
    return {
      period: { from: p.from, to: p.to },
      agencies: list,
      totals: {
        ...totals,
        devices,
        compliance: totals.anchored > 0 ? round((totals.anchored - totals.late) / totals.anchored) : null,
        devicesWithHoles,
        devicesWithBreaks,
        casesWithFindings,
        findings,
      },
      batches: this.batchWaits(p.agency),
      feedback: { ...this.feedbackCounts },
      perAgency,
      daily: { days, series },
      delay: { labels: [...DELAY_LABELS], counts: delay },
      holes: { days, devices: holeDevices, cells },
      asOf: this.asOf(),
    };
  }

  /** Everything the figures are made of, in a canonical order (for the rebuild test and for debugging). */
  async dump(): Promise<Record<string, unknown>> {
    const rows: Record<string, string> = {};
    for await (const [k, v] of this.db.iterator()) if (k !== META) rows[k] = v;
    const sorted = (m: Map<string, unknown>) =>
      Object.fromEntries([...m.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => [k, normalize(v)]));
    return {
      cursors: this.cursors,
      buckets: sorted(this.buckets),
      devices: sorted(this.devices),
      cases: sorted(this.cases),
      pending: sorted(this.pending),
      feedback: this.feedbackCounts,
      index: Object.fromEntries(
        Object.entries(rows)
          .filter(([k]) => /^(F|T|TA|TK|TAK|TS|H|S|Q|QS|K):/.test(k))
          .sort(),
      ),
    };
  }
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

/** The index keys of a finding (see the findings index above); a status other than open has its own (few findings, often asked for). */
const indexPrefixes = (f: FindingEntry): string[] => [
  'T:',
  `TA:${f.agency}:`,
  `TK:${f.code}:`,
  `TAK:${f.agency}:${f.code}:`,
  ...(f.status !== 'open' ? [`TS:${f.status}:`] : []),
];

/** Arrays whose order depends on arrival (gaps, agencies, findings) sorted, so two builds compare equal. */
function normalize(v: unknown): unknown {
  if (!v || typeof v !== 'object') return v;
  const o = { ...(v as Record<string, unknown>) };
  if (Array.isArray(o.gaps)) o.gaps = [...(o.gaps as { from: number }[])].sort((a, b) => a.from - b.from);
  if (Array.isArray(o.agencies)) o.agencies = [...(o.agencies as string[])].sort();
  if (o.days && typeof o.days === 'object') o.days = Object.fromEntries(Object.entries(o.days as object).sort());
  if (o.first && typeof o.first === 'object') o.first = Object.fromEntries(Object.entries(o.first as object).sort());
  return o;
}
