import { mkdirSync, statfsSync } from 'node:fs';
import { Level } from 'level';
import { fail, isLiuhenError } from '../errors.js';
import { K } from './keys.js';

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

export interface DiskOptions {
  clock: () => number;
  /** Free disk space below which health() says degraded. */
  minFreeBytes: number;
  /** First and longest wait (ms) between attempts to reopen after a failed write. */
  reopenDelayMs: { min: number; max: number };
  onHealth: ((health: JournalHealth) => void) | undefined;
}

/**
 * The journal's LevelDB and its one rule about failure (issue 10.4): when a
 * write fails, the in-memory state of the appender may stand ahead of the
 * disk, and LevelDB refuses writes after a failed sync. So every write is
 * refused (JOURNAL_IO) until, with no work in flight, LevelDB is reopened, the
 * in-memory state re-read from the disk (`rebuild`) and a synced probe write
 * has landed. Retried with a growing pause until the cause (a full disk) is
 * gone. Work is counted (`track`) so that close() and the repair wait for it
 * to end — on an event, never by polling.
 */
export class JournalDisk {
  readonly db: Level<string, string>;
  /** Packed leaf hashes of sealed batches (binary). */
  readonly blobs;
  private failure: { cause: unknown; since: number; attempts: number } | undefined;
  private okSince: number;
  private lowSpaceSince: number | undefined;
  private repairing: Promise<void> | undefined;
  private wakeRepair: (() => void) | undefined;
  private busy = 0;
  private idleWaiters: Array<() => void> = [];
  /** Set when close() begins: the journal accepts no new work. */
  closing = false;
  closed = false;
  /** Re-reads the in-memory state after a reopen (set by the journal). */
  rebuild: () => Promise<void> = async () => undefined;

  private constructor(
    readonly dir: string,
    db: Level<string, string>,
    private readonly options: DiskOptions,
  ) {
    this.db = db;
    this.blobs = db.sublevel<string, Uint8Array>(K.blobSublevel, { valueEncoding: 'view' });
    this.okSince = options.clock();
  }

  /** Opens (creating if needed) the LevelDB in `dir`. A second process gets JOURNAL_LOCKED naming the folder. */
  static async open(dir: string, options: DiskOptions): Promise<JournalDisk> {
    mkdirSync(dir, { recursive: true });
    const db = new Level<string, string>(dir, { valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (cause) {
      const locked = (cause as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED';
      if (locked)
        fail('JOURNAL_LOCKED', `the data folder ${dir} is in use by another Liuhen process; stop it or use another --data folder`, { cause, details: { dir } });
      return fail('JOURNAL_IO', `cannot open the journal in ${dir}: ${(cause as Error).message}`, { cause, details: { dir } });
    }
    return new JournalDisk(dir, db, options);
  }

  /** Refuses work on a closed or failed journal. */
  assertUsable(): void {
    if (this.closed) fail('JOURNAL_CLOSED', `the journal in ${this.dir} is closed`);
    if (this.failure)
      fail(
        'JOURNAL_IO',
        `the journal in ${this.dir} could not write (${describe(this.failure.cause)}); it reopens itself once the cause is gone (free disk space?) — try again later`,
      );
  }

  /** For new appends and ingests: also refused once close() has begun. */
  assertAccepting(): void {
    if (this.closing) fail('JOURNAL_CLOSED', `the journal in ${this.dir} is ${this.closed ? 'closed' : 'closing'}`);
    this.assertUsable();
  }

  health(): JournalHealth {
    const iso = (ms: number) => new Date(ms).toISOString();
    if (this.closing) return { status: 'failed', reason: `the journal is ${this.closed ? 'closed' : 'closing'}`, since: iso(this.okSince) };
    if (this.failure) {
      const { cause, since, attempts } = this.failure;
      return {
        status: 'failed',
        reason: `a write failed (${describe(cause)}); uploads are refused until the journal has reopened (${attempts} attempt${attempts === 1 ? '' : 's'} so far)`,
        since: iso(since),
      };
    }
    const free = freeBytes(this.dir);
    if (free !== undefined && free < this.options.minFreeBytes) {
      this.lowSpaceSince ??= this.options.clock();
      const mib = (n: number) => Math.floor(n / 1048576);
      return {
        status: 'degraded',
        reason: `${mib(free)} MiB free on the journal's disk (${this.dir}); below ${mib(this.options.minFreeBytes)} MiB writes will soon fail`,
        since: iso(this.lowSpaceSince),
      };
    }
    this.lowSpaceSince = undefined;
    return { status: 'ok', reason: undefined, since: iso(this.okSince) };
  }

  /** Counts `work` as in flight (close() and the repair wait for it). */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.busy++;
    try {
      return await work();
    } finally {
      this.busy--;
      this.notifyIdle();
    }
  }

  /** Marks a stretch of work (a group commit's flush) as in flight until `done` is called. */
  begin(): () => void {
    this.busy++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.busy--;
      this.notifyIdle();
    };
  }

  /** Runs a write outside group commit (sealing, typed stores); a failure starts the repair. */
  async write<T>(work: () => Promise<T>): Promise<T> {
    this.assertUsable();
    return this.track(async () => {
      try {
        return await work();
      } catch (cause) {
        if (isLiuhenError(cause)) throw cause;
        this.writeFailed(cause);
        return fail('JOURNAL_IO', `the journal in ${this.dir} could not write (${describe(cause)}); it reopens itself once the cause is gone`, { cause });
      }
    });
  }

  /** A write failed: refuse work and repair in the background (see the class comment). */
  writeFailed(cause: unknown): void {
    if (this.failure || this.closing) return;
    this.failure = { cause, since: this.options.clock(), attempts: 0 };
    this.options.onHealth?.(this.health());
    this.repairing = this.repair().finally(() => (this.repairing = undefined));
  }

  whenIdle(): Promise<void> {
    return this.busy === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits for the work in flight and any repair, then closes LevelDB. */
  async close(waitFor: () => Promise<unknown>): Promise<void> {
    this.closing = true;
    await this.whenIdle();
    await waitFor();
    this.wakeRepair?.();
    await this.repairing;
    this.closed = true;
    if (this.db.status === 'open') await this.db.close();
  }

  private notifyIdle(): void {
    if (this.busy !== 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async repair(): Promise<void> {
    let delay = this.options.reopenDelayMs.min;
    for (;;) {
      // Work in flight fails fast (every step checks assertUsable); wait until none is left.
      await this.whenIdle();
      const failure = this.failure;
      if (this.closing || !failure) return;
      failure.attempts++;
      try {
        if (this.db.status === 'open') await this.db.close();
        await this.db.open();
        await this.rebuild();
        await this.db.put(K.probe, new Date(this.options.clock()).toISOString(), { sync: true });
        this.failure = undefined;
        this.okSince = this.options.clock();
        this.options.onHealth?.(this.health());
        return;
      } catch (cause) {
        failure.cause = cause;
      }
      // The cause (a full disk) cannot be watched for: try again after a growing pause, woken early by close().
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        timer.unref();
        this.wakeRepair = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeRepair = undefined;
      delay = Math.min(delay * 2, this.options.reopenDelayMs.max);
    }
  }
}

/** A failure's message without its stack (LevelDB's say "IO error: … No space left on device"). */
export function describe(cause: unknown): string {
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
