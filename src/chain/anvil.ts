import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { link, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { fail, LiuhenError } from '../errors.js';
import { fsyncDir } from '../util/atomic-write.js';

/**
 * The embedded default chain: Anvil from the npm package `@foundry-rs/anvil`
 * (the binary ships in the platform package, e.g. `@foundry-rs/anvil-linux-amd64`),
 * started directly — not through the npm wrapper — so that SIGINT reaches the
 * process that dumps the state.
 *
 * Anchors survive restarts, and the state file can never be torn: Anvil's own
 * `--state`/`--state-interval` rewrites the file in place (open with truncate,
 * no rename), so a kill during a dump left half a file and a chain that would
 * not start (issue 10.3). Liuhen therefore persists the state itself: Anvil is
 * started with `--load-state` only (it never writes), and a persister asks it
 * for `anvil_dumpState` over JSON-RPC whenever the head moved, then writes the
 * snapshot atomically — temporary file, fsync, the current file kept as
 * `state.prev.json` (a hard link, renamed in place), rename, fsync of the
 * folder. At every instant `state.json` is a complete snapshot; at start a
 * damaged one (empty, torn, refused by Anvil) is moved aside and the previous
 * one is loaded, and when none is usable the chain starts empty and says so
 * (`stateSource: 'lost'`): what it lost is anchored and notarized again by
 * the reconcilers (see docs/durability.md).
 */

/** Liuhen's own chain id for the embedded chain: not 31337, so that signatures made on a default dev chain never replay here. */
export const EMBEDDED_CHAIN_ID = 27752;
/** Chain ids on which the well-known dev mnemonic may be used. */
export const DEV_CHAIN_IDS: readonly number[] = [EMBEDDED_CHAIN_ID, 31337];

export const isDevChain = (chainId: number): boolean => DEV_CHAIN_IDS.includes(chainId);

export interface StartAnvilParameters {
  /** State file (the last good snapshot is loaded at start; snapshots are written atomically while it runs and at stop). Omit for an in-memory chain. */
  statePath?: string;
  /** @default 8545; 0 picks a free port */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 27752 */
  chainId?: number;
  /** Seconds between blocks; omitted: automine (a block per transaction, instantly). */
  blockTime?: number;
  /**
   * Shortest pause between two snapshots, seconds (a snapshot is taken only when the head moved;
   * the pause also grows to 3× the last dump's duration, up to 5 s, so a long history never keeps Anvil busy dumping). @default 1
   */
  stateInterval?: number;
  /** Path of the anvil binary. @default resolved from `@foundry-rs/anvil-<platform>-<arch>` */
  binary?: string;
  /** How long to wait for JSON-RPC to answer. @default 20000 */
  startTimeoutMs?: number;
  /** What happened to the state files (damaged ones moved aside, snapshots, failed snapshots). */
  onStateEvent?: (e: ChainStateEvent) => void;
}

/**
 * Where the chain's state came from at start:
 * - `none`: no state file configured (in-memory chain);
 * - `new`: no state file yet (a fresh folder);
 * - `current`: `state.json`;
 * - `previous`: `state.json` was damaged, `state.prev.json` was loaded (the blocks after it are gone);
 * - `lost`: state files existed but none was usable: the chain started empty.
 */
export type ChainStateSource = 'none' | 'new' | 'current' | 'previous' | 'lost';

export type ChainStateEvent =
  | { type: 'state-damaged'; path: string; movedTo: string; reason: string }
  | { type: 'state-loaded'; source: ChainStateSource; path?: string; block?: number }
  | { type: 'state-saved'; block: number; bytes: number; ms: number }
  | { type: 'state-save-failed'; message: string };

/** The persisted state's progress, for `/healthz`. */
export interface ChainStateStatus {
  source: ChainStateSource;
  /** Head block of the last snapshot written (null: none yet in this run). */
  savedBlock: number | null;
  savedAt: string | null;
  /** Duration of the last dump + write, ms. */
  lastSaveMs: number | null;
  /** The last snapshot attempt failed (disk full …); cleared by the next success. */
  lastError: string | null;
}

export interface EmbeddedChain {
  rpc: string;
  chainId: number;
  port: number;
  /** Pid of the anvil process itself. */
  pid: number;
  /** Where the state came from at start. */
  readonly stateSource: ChainStateSource;
  /** The snapshots' progress. */
  state(): ChainStateStatus;
  /** Writes a snapshot now if the head moved since the last one (resolves once it is on disk). */
  saveState(): Promise<void>;
  /** Writes a last snapshot, then stops with SIGINT and resolves once the process has exited. */
  stop(): Promise<void>;
  /** Resolves with the exit code (or the signal) when anvil exits for any reason. */
  readonly exited: Promise<number | string>;
}

/** The anvil binary of this platform, from the npm package. */
export function anvilBinaryPath(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch (cause) {
    return fail(
      'CHAIN_START_FAILED',
      `the Anvil binary package ${pkg} is not installed (platform ${process.platform}/${process.arch}); run npm install, or point --rpc at another node`,
      { cause },
    );
  }
  const bin = join(dir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
  if (!existsSync(bin)) fail('CHAIN_START_FAILED', `no anvil binary at ${bin}`);
  return bin;
}

/** A TCP port that is free on `host` right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Fails with CHAIN_PORT_IN_USE when something already listens on host:port. */
export function assertPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        reject(portInUse(host, port));
      } else reject(e);
    });
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}

const portInUse = (host: string, port: number): LiuhenError =>
  new LiuhenError('CHAIN_PORT_IN_USE', `port ${port} on ${host} is already in use (another chain or node?); stop it, or pick another with --port`, {
    details: { host, port },
  });

/** `state.prev.json` next to `state.json`: the snapshot before the current one. */
export function previousStatePath(statePath: string): string {
  return join(dirname(statePath), `${basename(statePath).replace(/\.json$/, '')}.prev.json`);
}

/**
 * `state.exit.json`: Anvil's own dump when it is stopped by a signal (`--dump-state`). A Ctrl-C in a
 * terminal reaches Anvil too (same process group) before Liuhen's last snapshot, so Anvil saves its
 * state itself — written in place, so only ever a side file: at the next start it replaces `state.json`
 * (atomically) when it is complete and newer, and is removed otherwise.
 */
export function exitStatePath(statePath: string): string {
  return join(dirname(statePath), `${basename(statePath).replace(/\.json$/, '')}.exit.json`);
}

/** Starts Anvil and resolves once its JSON-RPC answers `eth_chainId`. */
export async function startAnvil(p: StartAnvilParameters = {}): Promise<EmbeddedChain> {
  const host = p.host ?? '127.0.0.1';
  const chainId = p.chainId ?? EMBEDDED_CHAIN_ID;
  const port = p.port === 0 ? await freePort(host) : (p.port ?? 8545);
  await assertPortFree(host, port);
  const emit = p.onStateEvent ?? (() => {});
  if (!p.statePath) return launch(p, host, port, chainId, undefined, 'none');
  mkdirSync(dirname(p.statePath), { recursive: true });
  await rm(`${p.statePath}.tmp`, { force: true });
  const exitDump = exitStatePath(p.statePath);
  let hadState = false;
  if (existsSync(exitDump)) {
    hadState = true;
    const [exit, current] = await Promise.all([checkStateFile(exitDump), existsSync(p.statePath) ? checkStateFile(p.statePath) : Promise.resolve(undefined)]);
    if (exit.ok && (!current?.ok || exit.block > current.block)) await promote(exitDump, p.statePath);
    else await rm(exitDump, { force: true });
  }
  // Candidates, newest first. A file that does not parse, or that Anvil refuses, is moved aside (kept for
  // inspection, never deleted) and the next one is tried; with none left the chain starts empty.
  const candidates: Array<[string, ChainStateSource]> = [
    [p.statePath, 'current'],
    [previousStatePath(p.statePath), 'previous'],
  ];
  for (const [path, source] of candidates) {
    if (!existsSync(path)) continue;
    hadState = true;
    const checked = await checkStateFile(path);
    if (checked.ok) {
      try {
        const chain = await launch(p, host, port, chainId, path, source);
        emit({ type: 'state-loaded', source, path, block: checked.block });
        return chain;
      } catch (e) {
        // Only Anvil's own refusal of the file (it names --load-state) condemns it; a slow start or a busy port does not.
        if (!(e instanceof LiuhenError) || e.code !== 'CHAIN_START_FAILED' || !e.message.includes('--load-state')) throw e;
        await moveAside(path, `anvil refused it: ${e.message}`, emit);
      }
    } else {
      await moveAside(path, checked.reason, emit);
    }
  }
  const source: ChainStateSource = hadState ? 'lost' : 'new';
  const chain = await launch(p, host, port, chainId, undefined, source);
  emit({ type: 'state-loaded', source });
  return chain;
}

/** A snapshot is usable when it is complete JSON with a head block (a torn or empty file is not). */
export async function checkStateFile(path: string): Promise<{ ok: true; block: number } | { ok: false; reason: string }> {
  try {
    const text = await readFile(path, 'utf8');
    if (text.length === 0) return { ok: false, reason: 'empty file' };
    const parsed = JSON.parse(text) as { best_block_number?: unknown; blocks?: unknown };
    const block = typeof parsed.best_block_number === 'string' ? Number(parsed.best_block_number) : parsed.best_block_number;
    if (typeof block !== 'number' || !Number.isSafeInteger(block) || !Array.isArray(parsed.blocks))
      return { ok: false, reason: 'not an Anvil state snapshot (no best_block_number / blocks)' };
    return { ok: true, block };
  } catch (e) {
    return { ok: false, reason: `unreadable: ${(e as Error).message.slice(0, 200)}` };
  }
}

async function moveAside(path: string, reason: string, emit: (e: ChainStateEvent) => void): Promise<void> {
  const movedTo = `${path}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(path, movedTo);
  emit({ type: 'state-damaged', path, movedTo, reason });
}

async function launch(
  p: StartAnvilParameters,
  host: string,
  port: number,
  chainId: number,
  loadFrom: string | undefined,
  stateSource: ChainStateSource,
): Promise<EmbeddedChain> {
  const args = ['--host', host, '--port', String(port), '--chain-id', String(chainId), '--silent'];
  if (loadFrom) args.push('--load-state', loadFrom);
  if (p.statePath) args.push('--dump-state', exitStatePath(p.statePath));
  if (p.blockTime !== undefined) args.push('--block-time', String(p.blockTime));
  const child = spawn(p.binary ?? anvilBinaryPath(), args, { stdio: ['ignore', 'ignore', 'pipe'], detached: false });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  const rpc = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  // If this process exits without stop() (an uncaught error, process.exit), Anvil must not
  // outlive it. It writes nothing itself, so a plain SIGINT is enough.
  const onExit = () => child.kill('SIGINT');
  process.once('exit', onExit);
  void exited.then(() => process.off('exit', onExit));
  try {
    await Promise.race([
      waitForRpc(rpc, p.startTimeoutMs ?? 20_000),
      spawnError,
      exited.then((code) => {
        if (/address already in use/i.test(stderr)) throw portInUse(host, port);
        return fail('CHAIN_START_FAILED', `anvil exited (${code}) before answering: ${stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300)}`);
      }),
    ]);
  } catch (e) {
    await stopProcess(child, exited);
    throw e;
  }
  const persister = p.statePath ? new StatePersister(rpc, p.statePath, (p.stateInterval ?? 1) * 1000, stateSource, p.onStateEvent ?? (() => {})) : undefined;
  persister?.start(exited);
  return {
    rpc,
    chainId,
    port,
    pid: child.pid!,
    exited,
    stateSource,
    state: () => persister?.status() ?? { source: stateSource, savedBlock: null, savedAt: null, lastSaveMs: null, lastError: null },
    saveState: () => persister?.save() ?? Promise.resolve(),
    stop: async () => {
      if (persister) {
        persister.halt();
        // The last snapshot before the process goes: a clean stop loses nothing.
        if (child.exitCode === null && child.signalCode === null) await persister.save().catch(() => undefined);
      }
      await stopProcess(child, exited);
    },
  };
}

const gunzipAsync = promisify(gunzip);
/** The pause between snapshots grows with their cost (3× the last one) but never beyond this (Anvil's own old default interval). */
const MAX_SNAPSHOT_GAP_MS = 5000;

/**
 * Takes `anvil_dumpState` snapshots when the head moved and writes them so that
 * `state.json` is always complete: temporary file + fsync, the current file
 * kept as `state.prev.json` (hard link renamed over it, so `state.json` never
 * disappears), rename, fsync of the folder (POSIX rename(2) is atomic; the
 * folder's fsync makes the new name itself durable).
 */
class StatePersister {
  private savedHash: string | undefined;
  private savedBlock: number | null = null;
  private savedAt: string | null = null;
  private lastMs: number | null = null;
  private lastError: string | null = null;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private halted = false;
  private gone = false;

  constructor(
    private readonly rpc: string,
    private readonly path: string,
    private readonly minIntervalMs: number,
    private readonly source: ChainStateSource,
    private readonly emit: (e: ChainStateEvent) => void,
  ) {}

  start(exited: Promise<unknown>): void {
    void exited.then(() => {
      this.gone = true;
      this.halt();
    });
    this.schedule(this.minIntervalMs);
  }

  halt(): void {
    this.halted = true;
    clearTimeout(this.timer);
  }

  status(): ChainStateStatus {
    return { source: this.source, savedBlock: this.savedBlock, savedAt: this.savedAt, lastSaveMs: this.lastMs, lastError: this.lastError };
  }

  /** One snapshot at a time; a caller during one waits for it and then takes its own. */
  save(): Promise<void> {
    const run = (this.running ?? Promise.resolve()).then(() => this.saveOnce());
    this.running = run.catch(() => undefined);
    return run;
  }

  private schedule(ms: number): void {
    if (this.halted) return;
    this.timer = setTimeout(() => {
      void this.save()
        .catch(() => undefined)
        .finally(() => this.schedule(Math.max(this.minIntervalMs, Math.min(MAX_SNAPSHOT_GAP_MS, 3 * (this.lastMs ?? 0)))));
    }, ms);
    this.timer.unref();
  }

  private async saveOnce(): Promise<void> {
    if (this.gone) return;
    try {
      const head = await rpcCall<{ hash: string; number: string }>(this.rpc, 'eth_getBlockByNumber', ['latest', false]);
      if (head.hash === this.savedHash) return;
      const t0 = performance.now();
      const dump = await rpcCall<string>(this.rpc, 'anvil_dumpState', []);
      const json = await gunzipAsync(Buffer.from(dump.replace(/^0x/, ''), 'hex'));
      await writeAtomically(this.path, json);
      this.lastMs = Math.round(performance.now() - t0);
      this.savedHash = head.hash;
      this.savedBlock = Number(head.number);
      this.savedAt = new Date().toISOString();
      this.lastError = null;
      this.emit({ type: 'state-saved', block: this.savedBlock, bytes: json.length, ms: this.lastMs });
    } catch (e) {
      if (this.gone) return; // the process died under the snapshot: nothing was renamed, the last good one stays
      this.lastError = (e as Error).message.slice(0, 300);
      this.emit({ type: 'state-save-failed', message: this.lastError });
      throw e;
    }
  }
}

/** Installs a complete snapshot file as the current one (the current kept as previous). */
async function promote(from: string, path: string): Promise<void> {
  const fh = await open(from, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rotateInto(from, path);
}

async function rotateInto(tmp: string, path: string): Promise<void> {
  const prev = previousStatePath(path);
  if (
    await stat(path).then(
      () => true,
      () => false,
    )
  ) {
    const prevTmp = `${prev}.tmp`;
    await rm(prevTmp, { force: true });
    await link(path, prevTmp);
    await rename(prevTmp, prev);
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

async function writeAtomically(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rotateInto(tmp, path);
}

export async function rpcCall<T>(rpc: string, method: string, params: unknown[], timeoutMs = 60_000): Promise<T> {
  const res = await fetch(rpc, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await res.json()) as { result?: T; error?: { message?: string } };
  if (body.error || body.result === undefined) fail('CHAIN_UNREACHABLE', `${method} failed: ${body.error?.message ?? `HTTP ${res.status}`}`);
  return body.result;
}

async function waitForRpc(rpc: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(rpc, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        signal: AbortSignal.timeout(1000),
      });
      if (res.ok) {
        const body = (await res.json()) as { result?: string };
        if (body.result) return;
      }
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) fail('CHAIN_START_FAILED', `anvil did not answer on ${rpc} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGINT to the anvil process itself, SIGKILL if it has not exited after 15 s. */
async function stopProcess(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export type ChainSupervisorEvent =
  | { type: 'chain-exited'; code: number | string; restartInMs: number; failures: number }
  | { type: 'chain-restarted'; pid: number; restarts: number; stateSource: ChainStateSource }
  | { type: 'chain-restart-failed'; message: string; restartInMs: number; failures: number }
  /** Sent once when consecutive failures reach `alertAfter` (and again each time they double): an operator must look. */
  | { type: 'chain-failing'; failures: number; message: string };

export interface SupervisedChainParameters extends StartAnvilParameters {
  onEvent?: (e: ChainSupervisorEvent) => void;
  /** Restart delays: doubling from `initialMs` up to `maxMs`. @default { initialMs: 250, maxMs: 30000 } */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Consecutive failures (exits within `stableMs` of a start, or failed starts) that raise the alert. @default 3 */
  alertAfter?: number;
  /** A chain that ran this long is healthy again: the failure count restarts. @default 60000 */
  stableMs?: number;
}

export type ChainProcessState = 'up' | 'restarting' | 'failing' | 'stopped';

export interface ChainHealth {
  state: ChainProcessState;
  pid: number | null;
  restarts: number;
  /** Consecutive failures since the chain last ran stably. */
  failures: number;
  lastExit: { code: number | string; at: string } | null;
  lastError: string | null;
  persisted: ChainStateStatus;
}

export interface SupervisedChain {
  rpc: string;
  chainId: number;
  port: number;
  /** Where the state came from at the first start. */
  readonly stateSource: ChainStateSource;
  health(): ChainHealth;
  saveState(): Promise<void>;
  /** The current process (changes after a restart). */
  current(): EmbeddedChain | undefined;
  stop(): Promise<void>;
}

/**
 * The embedded chain under supervision (issue 10.4): the first start fails
 * with a coded error (nothing to heal yet), but once up, an exit that was not
 * asked for — a crash, an OOM kill, `kill -9` — restarts Anvil on the same
 * port from its last good snapshot, with doubling delays. The blocks after
 * that snapshot are gone; the anchorer and the notary reconcile with the chain
 * and anchor / co-sign again what it lost (their job, not this one's). After
 * `alertAfter` failures in a row it reports `chain-failing` and keeps trying:
 * uploads are still journaled and acknowledged meanwhile.
 */
export async function superviseAnvil(p: SupervisedChainParameters): Promise<SupervisedChain> {
  const emit = p.onEvent ?? (() => {});
  const initialMs = p.backoff?.initialMs ?? 250;
  const maxMs = p.backoff?.maxMs ?? 30_000;
  const alertAfter = p.alertAfter ?? 3;
  const stableMs = p.stableMs ?? 60_000;
  let chain: EmbeddedChain | undefined = await startAnvil(p);
  const port = chain.port;
  const first = chain;
  let state: ChainProcessState = 'up';
  let restarts = 0;
  let failures = 0;
  let nextAlertAt = alertAfter;
  let lastExit: ChainHealth['lastExit'] = null;
  let lastError: string | null = null;
  let lastPersisted: ChainStateStatus = chain.state();
  let stopping = false;
  let startedAt = Date.now();
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  const failed = (message: string) => {
    failures++;
    lastError = message;
    if (failures >= nextAlertAt) {
      state = 'failing';
      nextAlertAt *= 2;
      emit({ type: 'chain-failing', failures, message });
    }
  };

  const watch = async (): Promise<void> => {
    while (!stopping) {
      const running = chain!;
      const code = await running.exited;
      if (stopping) return;
      // Ctrl-C in a terminal reaches Anvil (same process group) a moment before Liuhen's own stop begins:
      // a short grace before this counts as a failure.
      await sleep(initialMs);
      if (stopping) return;
      lastPersisted = running.state();
      chain = undefined;
      lastExit = { code, at: new Date().toISOString() };
      if (Date.now() - startedAt >= stableMs) {
        failures = 0;
        nextAlertAt = alertAfter;
      }
      if (state !== 'failing') state = 'restarting';
      failed(`the chain process exited (${code})`);
      for (let delay = Math.min(maxMs, initialMs * 2 ** Math.max(0, failures - 1)); !stopping; delay = Math.min(maxMs, delay * 2)) {
        emit({ type: 'chain-exited', code, restartInMs: delay, failures });
        await sleep(delay);
        if (stopping) return;
        try {
          const started = await startAnvil({ ...p, port });
          if (stopping) {
            await started.stop();
            return;
          }
          chain = started;
          restarts++;
          startedAt = Date.now();
          state = 'up';
          lastError = null;
          emit({ type: 'chain-restarted', pid: chain.pid, restarts, stateSource: chain.stateSource });
          break;
        } catch (e) {
          failed((e as Error).message);
          emit({ type: 'chain-restart-failed', message: (e as Error).message, restartInMs: Math.min(maxMs, delay * 2), failures });
        }
      }
    }
  };
  const watching = watch();

  return {
    rpc: first.rpc,
    chainId: first.chainId,
    port,
    stateSource: first.stateSource,
    current: () => chain,
    health: () => ({
      state,
      pid: chain?.pid ?? null,
      restarts,
      failures,
      lastExit,
      lastError,
      persisted: chain ? chain.state() : lastPersisted,
    }),
    saveState: () => chain?.saveState() ?? Promise.resolve(),
    stop: async () => {
      stopping = true;
      state = 'stopped';
      wake?.();
      await chain?.stop();
      await watching;
    },
  };
}
