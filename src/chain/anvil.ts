import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fail, LiuhenError } from '../errors.js';

/**
 * The embedded default chain: Anvil from the npm package `@foundry-rs/anvil`
 * (the binary ships in the platform package, e.g. `@foundry-rs/anvil-linux-amd64`),
 * started directly — not through the npm wrapper — so that SIGINT reaches the
 * process that dumps the state.
 *
 * Anchors survive restarts: `--state FILE` loads the file at start and dumps
 * it on SIGINT/SIGTERM, and `--state-interval` dumps it periodically (a kill -9
 * loses at most that many seconds of blocks).
 */

/** Liuhen's own chain id for the embedded chain: not 31337, so that signatures made on a default dev chain never replay here. */
export const EMBEDDED_CHAIN_ID = 27752;
/** Chain ids on which the well-known dev mnemonic may be used. */
export const DEV_CHAIN_IDS: readonly number[] = [EMBEDDED_CHAIN_ID, 31337];

export const isDevChain = (chainId: number): boolean => DEV_CHAIN_IDS.includes(chainId);

export interface StartAnvilParameters {
  /** State file (loaded if present, dumped on stop and every `stateInterval` s). Omit for an in-memory chain. */
  statePath?: string;
  /** @default 8545; 0 picks a free port */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 27752 */
  chainId?: number;
  /** Seconds between blocks; omitted: automine (a block per transaction, instantly). */
  blockTime?: number;
  /** Seconds between periodic state dumps. @default 5 */
  stateInterval?: number;
  /** Path of the anvil binary. @default resolved from `@foundry-rs/anvil-<platform>-<arch>` */
  binary?: string;
  /** How long to wait for JSON-RPC to answer. @default 20000 */
  startTimeoutMs?: number;
}

export interface EmbeddedChain {
  rpc: string;
  chainId: number;
  port: number;
  /** Pid of the anvil process itself. */
  pid: number;
  /** Stops with SIGINT (anvil dumps its state) and resolves once the process has exited. */
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
    return fail('CHAIN_START_FAILED', `the Anvil binary package ${pkg} is not installed (platform ${process.platform}/${process.arch}); run npm install, or point --rpc at another node`, { cause });
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
  new LiuhenError('CHAIN_PORT_IN_USE', `port ${port} on ${host} is already in use (another chain or node?); stop it, or pick another with --port`, { details: { host, port } });

/** Starts Anvil and resolves once its JSON-RPC answers `eth_chainId`. */
export async function startAnvil(p: StartAnvilParameters = {}): Promise<EmbeddedChain> {
  const host = p.host ?? '127.0.0.1';
  const chainId = p.chainId ?? EMBEDDED_CHAIN_ID;
  const port = p.port === 0 ? await freePort(host) : (p.port ?? 8545);
  await assertPortFree(host, port);
  const args = ['--host', host, '--port', String(port), '--chain-id', String(chainId), '--silent'];
  if (p.statePath) {
    mkdirSync(dirname(p.statePath), { recursive: true });
    args.push('--state', p.statePath, '--state-interval', String(p.stateInterval ?? 5));
  }
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
  // outlive it: SIGINT lets it dump its state and exit on its own.
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
  return {
    rpc,
    chainId,
    port,
    pid: child.pid!,
    exited,
    stop: () => stopProcess(child, exited),
  };
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

/** SIGINT to the anvil process itself (it dumps its state), SIGKILL if it has not exited after 15 s. */
async function stopProcess(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
