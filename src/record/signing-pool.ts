import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { fail, LiuhenError } from '../errors.js';
import type { Hex } from '../util/hex.js';
import { canonicalMembers, type CanonicalMembers } from './jcs.js';
import { linkRecords, type ChainedRecord, type ChainHead, type ChainLink, type UnchainedRecord } from './chain.js';

/**
 * Worker threads that sign runs of device records. Why not libuv's pool
 * (`crypto.sign` with a callback)? Per record, waking a pool thread and the
 * event loop cost as much main-thread time as signing inline (measured on the
 * 2-core VMs: ~40 µs either way), so the main thread, which also builds every
 * LevelDB batch, stayed saturated. A run of one device's records goes over in
 * one message and comes back in one, so hand-offs are per run, not per record.
 *
 * Size: `LIUHEN_SIGNING_WORKERS` (0 = always sign inline), default one fewer
 * than the CPUs (at least 1, at most 4). The pool starts the first time a run
 * of at least MIN_RUN records is waiting (a burst); until then, and for a
 * single CLI record, signing stays inline and no thread is started. Idle
 * workers do not keep the process alive. If a worker dies, the runs it held
 * are refused (SIGNING_FAILED: nothing of them was journaled) and signing
 * falls back to inline for the rest of the process.
 */
export const SIGNING_WORKERS_ENV = 'LIUHEN_SIGNING_WORKERS';
const MIN_RUN = 4;

export interface ChainRequest {
  id: number;
  key: KeyObject;
  publicKey: Hex;
  head: ChainHead;
  forms: readonly CanonicalMembers[];
}

export type ChainResponse = { id: number; links: ChainLink[]; error?: undefined } | { id: number; error: string; links?: undefined };

interface Waiter {
  resolve: (links: ChainLink[]) => void;
  reject: (e: unknown) => void;
}

class PoolWorker {
  readonly waiting = new Map<number, Waiter>();
  private readonly worker: Worker;

  constructor(spawn: () => Worker, onGone: (w: PoolWorker) => void) {
    this.worker = spawn();
    this.worker.unref();
    this.worker.on('message', (m: ChainResponse) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) this.worker.unref();
      if (m.error !== undefined) w.reject(new LiuhenError('SIGNING_FAILED', `the signing thread could not sign: ${m.error}`));
      else w.resolve(m.links);
    });
    const die = (why: string) => {
      onGone(this);
      for (const w of this.waiting.values()) w.reject(new LiuhenError('SIGNING_FAILED', `the signing thread ${why}; nothing of this run was recorded`));
      this.waiting.clear();
    };
    this.worker.on('error', (e) => die(`failed (${e.message})`));
    this.worker.on('exit', (code) => die(`exited (code ${code})`));
  }

  send(request: ChainRequest, waiter: Waiter): void {
    // Keep the process alive while an answer is owed (a CLI awaiting its last record).
    if (this.waiting.size === 0) this.worker.ref();
    this.waiting.set(request.id, waiter);
    this.worker.postMessage(request);
  }
}

export class SigningPool {
  private workers: PoolWorker[] = [];
  private nextId = 1;
  /** A worker died (it failed to start or crashed): its runs were refused, and from then on signing is inline. */
  private failed = false;

  /** `size` threads (default: from LIUHEN_SIGNING_WORKERS or the CPU count, read on first use). */
  constructor(
    private size?: number,
    private readonly spawn: () => Worker = spawnSigningWorker,
  ) {}

  /** Live signing threads (0 until the first burst, or after a failure). */
  get threads(): number {
    return this.workers.length;
  }

  /** Whether a run of `length` records should go to a worker rather than be signed inline. */
  wants(length: number): boolean {
    this.size ??= poolSize();
    return this.size > 0 && !this.failed && (this.workers.length > 0 || length >= MIN_RUN);
  }

  async chain(key: KeyObject, publicKey: Hex, head: ChainHead, records: readonly UnchainedRecord[]): Promise<ChainedRecord[]> {
    if (this.workers.length === 0) {
      if (this.failed || (this.size ??= poolSize()) === 0) fail('SIGNING_FAILED', 'no signing thread is available; sign inline (ask wants() first)');
      const gone = (dead: PoolWorker) => {
        this.failed = true;
        this.workers = this.workers.filter((w) => w !== dead);
      };
      for (let i = 0; i < this.size; i++) this.workers.push(new PoolWorker(this.spawn, gone));
    }
    // The least busy worker; runs of different devices are independent.
    const worker = this.workers.reduce((a, b) => (b.waiting.size < a.waiting.size ? b : a));
    return new Promise<ChainLink[]>((resolve, reject) => worker.send({ id: this.nextId++, key, publicKey, head, forms: records.map(canonicalMembers) }, { resolve, reject })).then((links) =>
      linkRecords(head, records, publicKey, links),
    );
  }
}

/** The configured pool size; a malformed value is an error (every append says so) rather than silently ignored. */
function poolSize(): number {
  const raw = process.env[SIGNING_WORKERS_ENV];
  if (raw === undefined || raw.trim() === '') return Math.max(1, Math.min(4, availableParallelism() - 1));
  if (!/^\d{1,2}$/.test(raw.trim())) fail('CONFIG_INVALID', `${SIGNING_WORKERS_ENV} must be a whole number of signing threads from 0 to 99 (0 signs inline), not "${raw.slice(0, 20)}"`);
  return Number(raw.trim());
}

/** From the build the worker is plain JS next to this module; from the sources, a bootstrap registers tsx first. */
function spawnSigningWorker(): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  // A larger young generation: a run allocates a few strings per record and dies young; fewer scavenges.
  return new Worker(new URL(fromSources ? './signing-worker.dev.mjs' : './signing-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 64 } });
}

export const signingPool = new SigningPool();
