import { sign, type KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { fail, isLiuhenError, LiuhenError } from '../errors.js';
import type { Hex } from '../util/hex.js';
import { linkRecords, signLinks, type ChainedRecord, type ChainHead, type ChainLink, type RecordTemplate, type UnchainedRecord } from './chain.js';

/**
 * Signs runs of device records, on worker threads when it pays. Why not
 * libuv's pool (`crypto.sign` with a callback)? Per record, waking a pool
 * thread and then the event loop cost as much main-thread time as signing
 * inline (measured on the 2-core VMs: ~40 µs either way), so the main thread,
 * which also builds every LevelDB batch, stayed saturated. A run of one
 * device's records goes over in one message and comes back in one, so
 * hand-offs are per run, not per record.
 *
 * Size: `LIUHEN_SIGNING_WORKERS` (0 = always sign inline), default one fewer
 * than the CPUs (at least 1, at most 4). Threads start the first time a run of
 * at least MIN_RUN records is waiting (a burst); until then, and for a single
 * CLI record, signing stays inline and no thread is started. Idle threads do
 * not keep the process alive. If a thread fails, dies or does not answer
 * within RUN_TIMEOUT_MS, its runs are signed inline instead (nothing of them
 * was journaled yet) and the pool signs inline from then on.
 */
export const SIGNING_WORKERS_ENV = 'LIUHEN_SIGNING_WORKERS';
const MIN_RUN = 4;
const MAX_THREADS = 16;
/** Far beyond any run: a run of 10,000 records signs in well under a second. */
const RUN_TIMEOUT_MS = 30_000;

export interface ChainRequest {
  id: number;
  key: KeyObject;
  publicKey: Hex;
  head: ChainHead;
  templates: readonly RecordTemplate[];
}

/** `links`: sig, leaf and canonical of each record in turn, flat (one array of strings crosses threads faster than objects). */
export type ChainResponse = { id: number; links: string[]; error?: undefined } | { id: number; error: string; links?: undefined };

const SIGNATURE_HEX = /^0x[0-9a-f]{128}$/;
const LEAF_HEX = /^0x[0-9a-f]{64}$/;

/** The links of a thread's answer; anything but whole triples of strings is a failed thread (the run is then signed inline). */
function unflattenLinks(answer: unknown): ChainLink[] {
  const flat =
    Array.isArray(answer) && answer.length % 3 === 0
      ? (answer as unknown[])
      : fail('SIGNING_FAILED', 'the signing thread answered with something other than signatures');
  const links: ChainLink[] = [];
  // An index loop (every() skips the holes of a sparse array), each member checked for its form.
  for (let i = 0; i < flat.length; i += 3) {
    const sig = flat[i];
    const leaf = flat[i + 1];
    const canonical = flat[i + 2];
    if (typeof sig !== 'string' || !SIGNATURE_HEX.test(sig) || typeof leaf !== 'string' || !LEAF_HEX.test(leaf) || typeof canonical !== 'string')
      fail('SIGNING_FAILED', `the signing thread answered with something other than a signature, a leaf and a record (item ${i / 3})`);
    links.push({ sig: sig as Hex, leaf: leaf as Hex, canonical });
  }
  return links;
}

interface Waiter {
  resolve: (links: ChainLink[]) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout;
}

class PoolWorker {
  readonly waiting = new Map<number, Waiter>();
  private readonly worker: Worker;

  constructor(
    spawn: () => Worker,
    onGone: (w: PoolWorker) => void,
    private readonly timeoutMs: number,
  ) {
    this.worker = spawn();
    this.worker.unref();
    this.worker.on('message', (m: ChainResponse) => {
      const w = this.settle(m.id);
      if (!w) return;
      if (m.error !== undefined) w.reject(new LiuhenError('SIGNING_FAILED', `the signing thread could not sign: ${m.error}`));
      else {
        try {
          w.resolve(unflattenLinks(m.links));
        } catch (e) {
          w.reject(e);
        }
      }
    });
    let gone = false;
    const die = (why: string) => {
      if (!gone) onGone(this);
      gone = true;
      for (const id of [...this.waiting.keys()]) this.settle(id)!.reject(new LiuhenError('SIGNING_FAILED', `the signing thread ${why}`));
    };
    this.worker.on('error', (e) => die(`failed (${e.message})`));
    this.worker.on('exit', (code) => die(`exited (code ${code})`));
  }

  send(request: ChainRequest, resolve: Waiter['resolve'], reject: Waiter['reject']): void {
    this.worker.postMessage(request); // first: if it throws, nothing is owed and nothing is held
    const timer = setTimeout(() => void this.worker.terminate(), this.timeoutMs).unref();
    // Keep the process alive while an answer is owed (a CLI awaiting its last record).
    if (this.waiting.size === 0) this.worker.ref();
    this.waiting.set(request.id, { resolve, reject, timer });
  }

  private settle(id: number): Waiter | undefined {
    const w = this.waiting.get(id);
    if (!w) return undefined;
    clearTimeout(w.timer);
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
    return w;
  }
}

export class SigningPool {
  private workers: PoolWorker[] = [];
  private nextId = 1;
  /** A thread failed: from then on every run is signed inline. */
  private failed = false;

  /** `size` threads (default: from LIUHEN_SIGNING_WORKERS or the CPU count, read on first use). */
  constructor(
    private size?: number,
    private readonly spawn: () => Worker = spawnSigningWorker,
    private readonly timeoutMs = RUN_TIMEOUT_MS,
  ) {}

  /** Live signing threads (0 until the first burst, or after a failure). */
  get threads(): number {
    return this.workers.length;
  }

  /** Whether a run of `length` records goes to a thread rather than being signed inline. */
  wants(length: number): boolean {
    this.size ??= poolSize();
    return this.size > 0 && !this.failed && (this.workers.length > 0 || length >= MIN_RUN);
  }

  /** Completes and signs a run with `key` (see chain.ts), on a thread or inline. */
  async chain(
    key: KeyObject,
    publicKey: Hex,
    head: ChainHead,
    records: readonly UnchainedRecord[],
    templates: readonly RecordTemplate[],
  ): Promise<ChainedRecord[]> {
    if (this.wants(records.length)) {
      try {
        return linkRecords(head, records, publicKey, await this.onThread({ id: this.nextId++, key, publicKey, head, templates }));
      } catch {
        // The thread failed, died, timed out or answered nonsense. Nothing of the run
        // was journaled, so it is signed here; a real signing problem shows up here too.
        this.failed = true;
      }
    }
    try {
      return linkRecords(
        head,
        records,
        publicKey,
        signLinks(head, templates, publicKey, (bytes) => sign(null, bytes, key)),
      );
    } catch (cause) {
      if (isLiuhenError(cause)) throw cause;
      return fail('SIGNING_FAILED', `the device key could not sign: ${(cause as Error).message}`, { cause });
    }
  }

  private onThread(request: ChainRequest): Promise<ChainLink[]> {
    if (this.workers.length === 0) {
      const gone = (dead: PoolWorker) => {
        this.failed = true;
        this.workers = this.workers.filter((w) => w !== dead);
      };
      for (let i = 0; i < this.size!; i++) this.workers.push(new PoolWorker(this.spawn, gone, this.timeoutMs));
    }
    // The least busy thread; runs of different devices are independent.
    const worker = this.workers.reduce((a, b) => (b.waiting.size < a.waiting.size ? b : a));
    return new Promise((resolve, reject) => worker.send(request, resolve, reject));
  }
}

/** The configured pool size; a malformed value is an error rather than silently ignored. */
function poolSize(): number {
  const raw = process.env[SIGNING_WORKERS_ENV];
  if (raw === undefined || raw.trim() === '') return Math.max(1, Math.min(4, availableParallelism() - 1));
  if (!/^\d{1,2}$/.test(raw.trim()) || Number(raw) > MAX_THREADS) {
    fail(
      'CONFIG_INVALID',
      `${SIGNING_WORKERS_ENV} must be a whole number of signing threads from 0 to ${MAX_THREADS} (0 signs inline), not "${raw.slice(0, 20)}"`,
    );
  }
  return Number(raw.trim());
}

/** From the build the worker is plain JS next to this module; from the sources, a bootstrap registers tsx first. */
function spawnSigningWorker(): Worker {
  const fromSources = import.meta.url.endsWith('.ts');
  // A larger young generation: a run allocates a few strings per record that die young; fewer scavenges.
  return new Worker(new URL(fromSources ? './signing-worker.dev.mjs' : './signing-worker.js', import.meta.url), {
    resourceLimits: { maxYoungGenerationSizeMb: 32 },
  });
}

export const signingPool = new SigningPool();

/** Checks LIUHEN_SIGNING_WORKERS now (a key being loaded), so a typo fails at start rather than at the first record. */
export function checkSigningConfig(): void {
  signingPool.wants(0);
}
