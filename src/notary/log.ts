import { mkdirSync } from 'node:fs';
import { Level } from 'level';
import { fail, LiuhenError } from '../errors.js';
import { snapshotLevel, type LevelSnapshot } from '../backup/level-dump.js';
import { SerialMutex } from '../util/mutex.js';
import { z } from 'zod';
import { REFUSAL_REASONS, type AnchoredBatch, type NotaryRefusal } from './policy.js';

/**
 * The notary's own log (LevelDB, separate from any agency journal). Every
 * write is one synced, atomic batch, made BEFORE the notary acts on it: a
 * signature leaves the process only after the log holds it, a transaction is
 * broadcast only after the log holds its raw bytes. So a crash at any point
 * leaves the notary able to finish the same act, never to do a different one.
 *
 * Key layout (string keys; `<d>` is the EIP-712 domain `<chainId>:<registry>`,
 * the registry address in lowercase; numbers padded to 20 digits so they sort):
 *
 *   meta                      → LogMeta            format and the notary address the log belongs to
 *   cur:<d>                   → Cursor             every BatchAnchored event up to this block is decided
 *   tip:<d>                   → Cursor             the head at the end of the last pass (rollback detection)
 *   att:<d>:<agency>:<seq>    → SlotEntry          THE root this notary signed for (agency, seq): the equivocation guard
 *   dec:<d>:<agency>:<root>   → NotaryDecision     signed / submitted / cosigned / refused, with the attestation or reason
 *   out:<d>:<agency>:<root>   → ''                 outbox: signed, not yet seen co-signed on chain
 *   ref:<d>:<agency>:<root>   → ''                 refused batches (reported on every run)
 *
 * `<agency>` is the agency's bytes32 in lowercase hex. Decisions are keyed by
 * (agency, root) as registry v2 keys batches (issue 9.2): another agency may
 * anchor a copy of a root (root squatting), and a decision about that copy
 * must never stand for the genuine batch — else the squatter could still
 * stall its notarization. The equivocation guard stays per (agency, seq):
 * a different root for one slot is equivocation, one root under two agencies
 * is not.
 *
 * Format 1 keyed `dec:`/`out:`/`ref:` by root alone; {@link NotaryLog.open}
 * migrates such a log in one synced batch (see `migrateV1`).
 */
export const NOTARY_LOG_FORMAT = 'liuhen-notary-log/2';
/** The format keyed by root alone (registry v1: one agency per root), migrated at open. */
export const NOTARY_LOG_FORMAT_V1 = 'liuhen-notary-log/1';

export interface LogMeta {
  format: typeof NOTARY_LOG_FORMAT;
  notary: string;
  createdAt: string;
}

export interface Cursor {
  block: number;
  hash: string;
}

export interface SlotEntry {
  root: string;
  attestedAt: number;
}

export type NotaryDecisionStatus = NotaryDecision['status'];

export interface NotaryAttestation {
  attestedAt: number;
  /** 65-byte `r ‖ s ‖ v`, low s. */
  signature: string;
  /** The EIP-712 digest signed (equal to the registry's `attestationDigest(root, attestedAt)`). */
  digest: string;
}

/** A cosign transaction, written before it is broadcast. */
export interface CosignTx {
  hash: string;
  nonce: number;
  raw: string;
  signedAt: string;
}

/** Where the chain showed this notary's co-signature. */
export interface CosignedAt {
  attestedAt: number;
  txHash?: string;
  blockNumber?: number;
}

export type NotaryRefusalRecord = NotaryRefusal & { code: 'NOTARY_POLICY' | 'NOTARY_EQUIVOCATION' };

/** A policy observation kept in the log and reported, never a refusal (issue 9.3). */
export interface NotaryFlag {
  reason: 'CAPTURE_IN_FUTURE' | 'CAPTURE_TOO_OLD';
  message: string;
  details: Record<string, unknown>;
}

export interface DecisionBase {
  chainId: number;
  registry: string;
  batch: AnchoredBatch;
  decidedAt: string;
  updatedAt: string;
  /** Observations that are not reasons to refuse (capture times beyond the skew or older than `maxAge`). */
  flags?: NotaryFlag[];
  /** Times this notary co-signed the batch again after the chain lost its co-signature (rollbacks). */
  recosigned?: number;
}

/**
 * A decision, as a discriminated union on `status` — each status carries
 * exactly what it needs (`never` fields keep `d.tx` readable on any decision):
 * - `signed`: attested (logged before the signature leaves the process), no transaction yet;
 * - `submitted`: attested, and a cosign transaction written (raw bytes) before its broadcast;
 * - `cosigned`: the chain showed the co-signature (`attestation` absent when co-signed by other means);
 * - `refused`: a durable refusal with its coded reason.
 */
export type SignedDecision = DecisionBase & { status: 'signed'; attestation: NotaryAttestation; tx?: never; refusal?: never; cosigned?: never };
export type SubmittedDecision = DecisionBase & { status: 'submitted'; attestation: NotaryAttestation; tx: CosignTx; refusal?: never; cosigned?: never };
export type CosignedDecision = DecisionBase & { status: 'cosigned'; attestation?: NotaryAttestation; tx?: CosignTx; cosigned: CosignedAt; refusal?: never };
export type RefusedDecision = DecisionBase & { status: 'refused'; refusal: NotaryRefusalRecord; attestation?: never; tx?: never; cosigned?: never };
export type NotaryDecision = SignedDecision | SubmittedDecision | CosignedDecision | RefusedDecision;

const hex = z.string().regex(/^0x[0-9a-fA-F]*$/);
const int = z.number().int().nonnegative();
const batchSchema = z.object({
  agency: hex,
  agencyCode: z.string().optional(),
  seq: int,
  root: hex,
  size: int,
  prevRoot: hex,
  firstCapturedAt: int,
  lastCapturedAt: int,
  anchoredAt: int,
  blockNumber: int,
  txHash: z.string().optional(),
});
const attestationSchema = z.object({ attestedAt: int, signature: hex, digest: hex });
const txSchema = z.object({ hash: hex, nonce: int, raw: hex, signedAt: z.string() });
const flagSchema = z.object({ reason: z.enum(['CAPTURE_IN_FUTURE', 'CAPTURE_TOO_OLD']), message: z.string(), details: z.record(z.string(), z.unknown()) });
const decisionBase = {
  chainId: int,
  registry: z.string(),
  batch: batchSchema,
  decidedAt: z.string(),
  updatedAt: z.string(),
  flags: z.array(flagSchema).optional(),
  recosigned: int.optional(),
};

/** Every decision read back from the log must pass this schema (JOURNAL_CORRUPT otherwise). */
export const decisionSchema = z.discriminatedUnion('status', [
  z.object({ ...decisionBase, status: z.literal('signed'), attestation: attestationSchema }),
  z.object({ ...decisionBase, status: z.literal('submitted'), attestation: attestationSchema, tx: txSchema }),
  z.object({
    ...decisionBase,
    status: z.literal('cosigned'),
    attestation: attestationSchema.optional(),
    tx: txSchema.optional(),
    cosigned: z.object({ attestedAt: int, txHash: z.string().optional(), blockNumber: int.optional() }),
  }),
  z.object({
    ...decisionBase,
    status: z.literal('refused'),
    refusal: z.object({
      reason: z.enum(REFUSAL_REASONS),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
      code: z.enum(['NOTARY_POLICY', 'NOTARY_EQUIVOCATION']),
    }),
  }),
]);
const metaSchema = z.object({ format: z.string(), notary: z.string(), createdAt: z.string() });
const cursorSchema = z.object({ block: int, hash: hex });
const slotSchema = z.object({ root: hex, attestedAt: int });

const pad = (n: number): string => n.toString().padStart(20, '0');
const end = (prefix: string): string => `${prefix}\xff`;

export const LogKeys = {
  meta: 'meta',
  cursor: (d: string) => `cur:${d}`,
  tip: (d: string) => `tip:${d}`,
  slot: (d: string, agency: string, seq: number) => `att:${d}:${agency.toLowerCase()}:${pad(seq)}`,
  decision: (d: string, agency: string, root: string) => `dec:${d}:${batchKey(agency, root)}`,
  decisionPrefix: (d?: string) => (d === undefined ? 'dec:' : `dec:${d}:`),
  outbox: (d: string, agency: string, root: string) => `out:${d}:${batchKey(agency, root)}`,
  outboxPrefix: (d: string) => `out:${d}:`,
  refused: (d: string, agency: string, root: string) => `ref:${d}:${batchKey(agency, root)}`,
  refusedPrefix: (d: string) => `ref:${d}:`,
} as const;

/** A batch's identity, as registry v2 keys it: (agency bytes32, root), lowercase. */
export const batchKey = (agency: string, root: string): string => `${agency.toLowerCase()}:${root.toLowerCase()}`;

/** The domain part of the keys: signatures only mean something within their EIP-712 domain. */
export const logDomain = (chainId: number, registry: string): string => `${chainId}:${registry.toLowerCase()}`;

type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

export class NotaryLog {
  private readonly lock = new SerialMutex();
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly db: Level<string, string>,
    readonly notary: string,
  ) {}

  /**
   * Opens (creating) the log in `dir` for `notary`. A log belongs to one key:
   * opening it with another gets NOTARY_LOG_MISMATCH. A second process gets
   * JOURNAL_LOCKED.
   */
  static async open(dir: string, notary: string): Promise<NotaryLog> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const db = new Level<string, string>(dir, { valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (cause) {
      const locked = (cause as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED';
      if (locked) fail('JOURNAL_LOCKED', `the notary log ${dir} is in use by another Liuhen notary process; stop it first`, { cause, details: { dir } });
      return fail('JOURNAL_IO', `cannot open the notary log in ${dir}: ${(cause as Error).message}`, { cause, details: { dir } });
    }
    const log = new NotaryLog(dir, db, notary);
    try {
      const meta = await log.getJson(LogKeys.meta, metaSchema);
      if (meta === undefined) {
        const fresh: LogMeta = { format: NOTARY_LOG_FORMAT, notary, createdAt: new Date().toISOString() };
        await db.put(LogKeys.meta, JSON.stringify(fresh), { sync: true });
      } else if (meta.format !== NOTARY_LOG_FORMAT && meta.format !== NOTARY_LOG_FORMAT_V1) {
        fail('JOURNAL_CORRUPT', `${dir} is not a notary log of format ${NOTARY_LOG_FORMAT} (found ${String(meta.format)})`);
      } else if (meta.notary.toLowerCase() !== notary.toLowerCase()) {
        fail(
          'NOTARY_LOG_MISMATCH',
          `the notary log ${dir} belongs to notary ${meta.notary}, not to ${notary}; use that notary's keystore or another --data folder`,
          { details: { dir, logNotary: meta.notary, notary } },
        );
      } else if (meta.format === NOTARY_LOG_FORMAT_V1) {
        await log.migrateV1(meta);
      }
    } catch (e) {
      await db.close();
      throw e;
    }
    return log;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lock.idle();
    await this.db.close();
  }

  // ── reads ────────────────────────────────────────────────────────────────

  cursor(d: string): Promise<Cursor | undefined> {
    return this.getJson(LogKeys.cursor(d), cursorSchema);
  }

  slot(d: string, agency: string, seq: number): Promise<SlotEntry | undefined> {
    return this.getJson(LogKeys.slot(d, agency, seq), slotSchema);
  }

  /** The decision about the batch of `agency` (bytes32) with `root`. */
  decision(d: string, agency: string, root: string): Promise<NotaryDecision | undefined> {
    return this.getJson(LogKeys.decision(d, agency, root), decisionSchema) as Promise<NotaryDecision | undefined>;
  }

  /** Signed batches not yet seen co-signed on chain, oldest anchor first. */
  async outbox(d: string): Promise<Array<SignedDecision | SubmittedDecision>> {
    return (await this.indexed(LogKeys.outboxPrefix(d), d)).filter(
      (x): x is SignedDecision | SubmittedDecision => x.status === 'signed' || x.status === 'submitted',
    );
  }

  /** Refused batches, oldest anchor first. */
  async refusals(d: string): Promise<RefusedDecision[]> {
    return (await this.indexed(LogKeys.refusedPrefix(d), d)).filter((x): x is RefusedDecision => x.status === 'refused');
  }

  /** Every decision (of one domain, or all), oldest anchor first. */
  /** A point-in-time copy of the whole log for `liuhen backup` (src/backup), taken at the call. */
  backupSnapshot(): LevelSnapshot {
    this.assertOpen();
    return snapshotLevel(this.db);
  }

  async decisions(d?: string): Promise<NotaryDecision[]> {
    this.assertOpen();
    const out: NotaryDecision[] = [];
    const prefix = LogKeys.decisionPrefix(d);
    for await (const [key, value] of this.db.iterator({ gte: prefix, lt: end(prefix) })) out.push(this.parse(key, value, decisionSchema) as NotaryDecision);
    return out.sort(byAnchor);
  }

  // ── writes (serialised; each one synced and atomic) ────────────────────────

  async setCursor(d: string, cursor: Cursor): Promise<void> {
    await this.write(async () => [{ type: 'put', key: LogKeys.cursor(d), value: JSON.stringify(cursor) }]);
  }

  async clearCursor(d: string): Promise<void> {
    await this.write(async () => [{ type: 'del', key: LogKeys.cursor(d) }]);
  }

  tip(d: string): Promise<Cursor | undefined> {
    return this.getJson(LogKeys.tip(d), cursorSchema);
  }

  async setTip(d: string, tip: Cursor): Promise<void> {
    await this.write(async () => [{ type: 'put', key: LogKeys.tip(d), value: JSON.stringify(tip) }]);
  }

  async clearTip(d: string): Promise<void> {
    await this.write(async () => [{ type: 'del', key: LogKeys.tip(d) }]);
  }

  /**
   * Claims the slot (agency, seq) for `decision.batch.root` and stores the
   * attestation, in one synced batch. Throws NOTARY_EQUIVOCATION, writing
   * nothing, when the slot already holds another root.
   */
  async recordSigned(d: string, decision: DecisionBase & { status: NotaryDecisionStatus; attestation: NotaryAttestation }): Promise<void> {
    const { batch } = decision;
    const stored: SignedDecision = {
      chainId: decision.chainId,
      registry: decision.registry,
      batch,
      decidedAt: decision.decidedAt,
      updatedAt: decision.updatedAt,
      ...(decision.flags === undefined ? {} : { flags: decision.flags }),
      ...(decision.recosigned === undefined ? {} : { recosigned: decision.recosigned }),
      status: 'signed',
      attestation: decision.attestation,
    };
    await this.write(async () => {
      const slot = await this.slot(d, batch.agency, batch.seq);
      if (slot !== undefined && slot.root.toLowerCase() !== batch.root.toLowerCase()) throw equivocationError(batch, slot.root);
      return [
        {
          type: 'put',
          key: LogKeys.slot(d, batch.agency, batch.seq),
          value: JSON.stringify({ root: batch.root, attestedAt: decision.attestation.attestedAt } satisfies SlotEntry),
        },
        { type: 'put', key: LogKeys.decision(d, batch.agency, batch.root), value: JSON.stringify(stored) },
        { type: 'put', key: LogKeys.outbox(d, batch.agency, batch.root), value: '' },
        { type: 'del', key: LogKeys.refused(d, batch.agency, batch.root) },
      ];
    });
  }

  async recordRefused(d: string, decision: RefusedDecision): Promise<void> {
    await this.write(async () => [
      { type: 'put', key: LogKeys.decision(d, decision.batch.agency, decision.batch.root), value: JSON.stringify(decision) },
      { type: 'put', key: LogKeys.refused(d, decision.batch.agency, decision.batch.root), value: '' },
      { type: 'del', key: LogKeys.outbox(d, decision.batch.agency, decision.batch.root) },
    ]);
  }

  /** Stores the cosign transaction about to be broadcast. */
  async recordSubmitted(d: string, decision: SubmittedDecision): Promise<void> {
    await this.write(async () => [{ type: 'put', key: LogKeys.decision(d, decision.batch.agency, decision.batch.root), value: JSON.stringify(decision) }]);
  }

  /**
   * Marks the batch co-signed (seen on chain). When the log had no attestation
   * for the slot (it was co-signed by other means), the slot is claimed too,
   * so that the notary never signs another root for it.
   */
  async recordCosigned(d: string, decision: CosignedDecision): Promise<void> {
    const { batch } = decision;
    await this.write(async () => {
      const ops: Op[] = [
        { type: 'put', key: LogKeys.decision(d, batch.agency, batch.root), value: JSON.stringify(decision) },
        { type: 'del', key: LogKeys.outbox(d, batch.agency, batch.root) },
        { type: 'del', key: LogKeys.refused(d, batch.agency, batch.root) },
      ];
      const slot = await this.slot(d, batch.agency, batch.seq);
      if (slot === undefined)
        ops.push({
          type: 'put',
          key: LogKeys.slot(d, batch.agency, batch.seq),
          value: JSON.stringify({ root: batch.root, attestedAt: decision.cosigned.attestedAt } satisfies SlotEntry),
        });
      return ops;
    });
  }

  // ── internals ──────────────────────────────────────────────────────────────

  /**
   * Format 1 → 2: `dec:`/`out:`/`ref:` keys by root alone become keys by
   * (agency, root). A format-1 log was written against a v1 registry, where a
   * root had exactly one agency, so the agency is the one stored in the
   * decision itself (an index entry takes its decision's agency). Everything
   * is rewritten, with the new format in `meta`, in ONE synced batch: a crash
   * leaves either the old log or the migrated one.
   */
  private async migrateV1(meta: { format: string; notary: string; createdAt: string }): Promise<void> {
    const ops: Op[] = [];
    const agencyOf = new Map<string, string>(); // `<d>:<root>` → agency, from the decisions
    // Old keys: `<kind>:<chainId>:<registry>:<root>` (4 parts); new ones have 5.
    const old = (key: string): { d: string; root: string } | undefined => {
      const parts = key.split(':');
      return parts.length === 4 ? { d: `${parts[1]}:${parts[2]}`, root: parts[3]! } : undefined;
    };
    for await (const [key, value] of this.db.iterator({ gte: 'dec:', lt: end('dec:') })) {
      const k = old(key);
      if (k === undefined) continue;
      const dec = this.parse(key, value, decisionSchema) as NotaryDecision;
      agencyOf.set(`${k.d}:${k.root}`, dec.batch.agency);
      ops.push({ type: 'del', key }, { type: 'put', key: LogKeys.decision(k.d, dec.batch.agency, k.root), value });
    }
    for (const kind of ['out:', 'ref:'] as const) {
      for await (const key of this.db.keys({ gte: kind, lt: end(kind) })) {
        const k = old(key);
        if (k === undefined) continue;
        ops.push({ type: 'del', key });
        const agency = agencyOf.get(`${k.d}:${k.root}`);
        if (agency === undefined) continue; // an index entry without its decision: nothing to point at
        ops.push({ type: 'put', key: kind === 'out:' ? LogKeys.outbox(k.d, agency, k.root) : LogKeys.refused(k.d, agency, k.root), value: '' });
      }
    }
    ops.push({ type: 'put', key: LogKeys.meta, value: JSON.stringify({ ...meta, format: NOTARY_LOG_FORMAT }) });
    try {
      await this.db.batch(ops, { sync: true });
    } catch (cause) {
      fail('JOURNAL_IO', `the notary log ${this.dir} could not be migrated to ${NOTARY_LOG_FORMAT}: ${(cause as Error).message}`, { cause });
    }
  }

  private async indexed(prefix: string, d: string): Promise<NotaryDecision[]> {
    this.assertOpen();
    const out: NotaryDecision[] = [];
    for await (const key of this.db.keys({ gte: prefix, lt: end(prefix) })) {
      const [agency, root] = key.slice(prefix.length).split(':');
      if (agency === undefined || root === undefined) fail('JOURNAL_CORRUPT', `the notary log ${this.dir} holds an index key ${key} without an agency`);
      const decision = await this.decision(d, agency, root);
      if (decision !== undefined) out.push(decision);
    }
    return out.sort(byAnchor);
  }

  private async getJson<T>(key: string, schema: z.ZodType<T>): Promise<T | undefined> {
    this.assertOpen();
    const value = await this.db.get(key);
    return value === undefined ? undefined : this.parse(key, value, schema);
  }

  /** Parses and validates one stored entry: JOURNAL_CORRUPT, naming the key, when it is not what the log writes. */
  private parse<T>(key: string, value: string, schema: z.ZodType<T>): T {
    let json: unknown;
    try {
      json = JSON.parse(value);
    } catch (cause) {
      return fail('JOURNAL_CORRUPT', `the notary log ${this.dir} holds an unreadable entry at ${key}`, { cause });
    }
    const r = schema.safeParse(json);
    if (!r.success)
      fail(
        'JOURNAL_CORRUPT',
        `the notary log ${this.dir} holds an invalid entry at ${key}: ${r.error.issues.map((i) => `${i.path.join('.') || '(entry)'}: ${i.message}`).join('; ')}`,
      );
    return r.data;
  }

  /** Runs `build` and writes its ops, one at a time: a check inside `build` and its write are atomic for this process. */
  private write(build: () => Promise<Op[]>): Promise<void> {
    this.assertOpen();
    return this.lock.run(async () => {
      const ops = await build();
      try {
        await this.db.batch(ops, { sync: true });
      } catch (cause) {
        fail('JOURNAL_IO', `the notary log ${this.dir} could not write: ${(cause as Error).message}`, { cause });
      }
    });
  }

  private assertOpen(): void {
    if (this.closed) fail('JOURNAL_CLOSED', `the notary log ${this.dir} is closed`);
  }
}

/** The coded refusal of a second, different root for a slot already attested. */
export function equivocationError(batch: AnchoredBatch, signedRoot: string): LiuhenError<'NOTARY_EQUIVOCATION'> {
  const agency = batch.agencyCode ?? batch.agency;
  return new LiuhenError(
    'NOTARY_EQUIVOCATION',
    `refusing to sign root ${batch.root} as batch ${batch.seq} of agency ${agency}: this notary already attested root ${signedRoot} for that batch (a chain reset or a forged history; never sign both)`,
    { details: { agency, agencyBytes32: batch.agency, seq: batch.seq, signedRoot, root: batch.root } },
  );
}

function byAnchor(a: NotaryDecision, b: NotaryDecision): number {
  return a.batch.blockNumber - b.batch.blockNumber || a.batch.seq - b.batch.seq || (a.batch.root < b.batch.root ? -1 : 1);
}
