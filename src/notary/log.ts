import { mkdirSync } from 'node:fs';
import { Level } from 'level';
import { fail, LiuhenError } from '../errors.js';
import { SerialMutex } from '../util/mutex.js';
import type { AnchoredBatch, NotaryRefusal } from './policy.js';

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
 *   att:<d>:<agency>:<seq>    → SlotEntry          THE root this notary signed for (agency, seq): the equivocation guard
 *   dec:<d>:<root>            → NotaryDecision     signed / submitted / cosigned / refused, with the attestation or reason
 *   out:<d>:<root>            → ''                 outbox: signed, not yet seen co-signed on chain
 *   ref:<d>:<root>            → ''                 refused batches (reported on every run)
 *
 * `<agency>` is the agency's bytes32 in lowercase hex.
 */
export const NOTARY_LOG_FORMAT = 'liuhen-notary-log/1';

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

export type NotaryDecisionStatus = 'signed' | 'submitted' | 'cosigned' | 'refused';

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

export interface NotaryDecision {
  chainId: number;
  registry: string;
  batch: AnchoredBatch;
  status: NotaryDecisionStatus;
  attestation?: NotaryAttestation;
  refusal?: NotaryRefusal & { code: 'NOTARY_POLICY' | 'NOTARY_EQUIVOCATION' };
  tx?: CosignTx;
  /** Set when the chain shows this notary's co-signature. */
  cosigned?: { attestedAt: number; txHash?: string; blockNumber?: number };
  decidedAt: string;
  updatedAt: string;
}

const pad = (n: number): string => n.toString().padStart(20, '0');
const end = (prefix: string): string => `${prefix}\xff`;

export const LogKeys = {
  meta: 'meta',
  cursor: (d: string) => `cur:${d}`,
  slot: (d: string, agency: string, seq: number) => `att:${d}:${agency.toLowerCase()}:${pad(seq)}`,
  decision: (d: string, root: string) => `dec:${d}:${root.toLowerCase()}`,
  decisionPrefix: (d?: string) => (d === undefined ? 'dec:' : `dec:${d}:`),
  outbox: (d: string, root: string) => `out:${d}:${root.toLowerCase()}`,
  outboxPrefix: (d: string) => `out:${d}:`,
  refused: (d: string, root: string) => `ref:${d}:${root.toLowerCase()}`,
  refusedPrefix: (d: string) => `ref:${d}:`,
} as const;

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
      const meta = await log.getJson<LogMeta>(LogKeys.meta);
      if (meta === undefined) {
        const fresh: LogMeta = { format: NOTARY_LOG_FORMAT, notary, createdAt: new Date().toISOString() };
        await db.put(LogKeys.meta, JSON.stringify(fresh), { sync: true });
      } else if (meta.format !== NOTARY_LOG_FORMAT) {
        fail('JOURNAL_CORRUPT', `${dir} is not a notary log of format ${NOTARY_LOG_FORMAT} (found ${String(meta.format)})`);
      } else if (meta.notary.toLowerCase() !== notary.toLowerCase()) {
        fail('NOTARY_LOG_MISMATCH', `the notary log ${dir} belongs to notary ${meta.notary}, not to ${notary}; use that notary's keystore or another --data folder`, { details: { dir, logNotary: meta.notary, notary } });
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
    return this.getJson<Cursor>(LogKeys.cursor(d));
  }

  slot(d: string, agency: string, seq: number): Promise<SlotEntry | undefined> {
    return this.getJson<SlotEntry>(LogKeys.slot(d, agency, seq));
  }

  decision(d: string, root: string): Promise<NotaryDecision | undefined> {
    return this.getJson<NotaryDecision>(LogKeys.decision(d, root));
  }

  /** Signed batches not yet seen co-signed on chain, oldest anchor first. */
  async outbox(d: string): Promise<NotaryDecision[]> {
    return this.indexed(LogKeys.outboxPrefix(d), d);
  }

  /** Refused batches, oldest anchor first. */
  async refusals(d: string): Promise<NotaryDecision[]> {
    return this.indexed(LogKeys.refusedPrefix(d), d);
  }

  /** Every decision (of one domain, or all), oldest anchor first. */
  async decisions(d?: string): Promise<NotaryDecision[]> {
    this.assertOpen();
    const out: NotaryDecision[] = [];
    const prefix = LogKeys.decisionPrefix(d);
    for await (const value of this.db.values({ gte: prefix, lt: end(prefix) })) out.push(JSON.parse(value) as NotaryDecision);
    return out.sort(byAnchor);
  }

  // ── writes (serialised; each one synced and atomic) ────────────────────────

  async setCursor(d: string, cursor: Cursor): Promise<void> {
    await this.write(async () => [{ type: 'put', key: LogKeys.cursor(d), value: JSON.stringify(cursor) }]);
  }

  async clearCursor(d: string): Promise<void> {
    await this.write(async () => [{ type: 'del', key: LogKeys.cursor(d) }]);
  }

  /**
   * Claims the slot (agency, seq) for `decision.batch.root` and stores the
   * attestation, in one synced batch. Throws NOTARY_EQUIVOCATION, writing
   * nothing, when the slot already holds another root.
   */
  async recordSigned(d: string, decision: NotaryDecision): Promise<void> {
    const { batch } = decision;
    await this.write(async () => {
      const slot = await this.slot(d, batch.agency, batch.seq);
      if (slot !== undefined && slot.root.toLowerCase() !== batch.root.toLowerCase()) throw equivocationError(batch, slot.root);
      return [
        { type: 'put', key: LogKeys.slot(d, batch.agency, batch.seq), value: JSON.stringify({ root: batch.root, attestedAt: decision.attestation!.attestedAt } satisfies SlotEntry) },
        { type: 'put', key: LogKeys.decision(d, batch.root), value: JSON.stringify(decision) },
        { type: 'put', key: LogKeys.outbox(d, batch.root), value: '' },
        { type: 'del', key: LogKeys.refused(d, batch.root) },
      ];
    });
  }

  async recordRefused(d: string, decision: NotaryDecision): Promise<void> {
    await this.write(async () => [
      { type: 'put', key: LogKeys.decision(d, decision.batch.root), value: JSON.stringify(decision) },
      { type: 'put', key: LogKeys.refused(d, decision.batch.root), value: '' },
      { type: 'del', key: LogKeys.outbox(d, decision.batch.root) },
    ]);
  }

  /** Stores the cosign transaction about to be broadcast. */
  async recordSubmitted(d: string, decision: NotaryDecision): Promise<void> {
    await this.write(async () => [{ type: 'put', key: LogKeys.decision(d, decision.batch.root), value: JSON.stringify(decision) }]);
  }

  /**
   * Marks the batch co-signed (seen on chain). When the log had no attestation
   * for the slot (it was co-signed by other means), the slot is claimed too,
   * so that the notary never signs another root for it.
   */
  async recordCosigned(d: string, decision: NotaryDecision): Promise<void> {
    const { batch } = decision;
    await this.write(async () => {
      const ops: Op[] = [
        { type: 'put', key: LogKeys.decision(d, batch.root), value: JSON.stringify(decision) },
        { type: 'del', key: LogKeys.outbox(d, batch.root) },
        { type: 'del', key: LogKeys.refused(d, batch.root) },
      ];
      const slot = await this.slot(d, batch.agency, batch.seq);
      if (slot === undefined) ops.push({ type: 'put', key: LogKeys.slot(d, batch.agency, batch.seq), value: JSON.stringify({ root: batch.root, attestedAt: decision.cosigned!.attestedAt } satisfies SlotEntry) });
      return ops;
    });
  }

  // ── internals ──────────────────────────────────────────────────────────────

  private async indexed(prefix: string, d: string): Promise<NotaryDecision[]> {
    this.assertOpen();
    const out: NotaryDecision[] = [];
    for await (const key of this.db.keys({ gte: prefix, lt: end(prefix) })) {
      const decision = await this.decision(d, key.slice(prefix.length));
      if (decision !== undefined) out.push(decision);
    }
    return out.sort(byAnchor);
  }

  private async getJson<T>(key: string): Promise<T | undefined> {
    this.assertOpen();
    const value = await this.db.get(key);
    if (value === undefined) return undefined;
    try {
      return JSON.parse(value) as T;
    } catch (cause) {
      return fail('JOURNAL_CORRUPT', `the notary log ${this.dir} holds an unreadable entry at ${key}`, { cause });
    }
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
