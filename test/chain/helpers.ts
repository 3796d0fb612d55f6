/**
 * Helpers for the chain tests: an Anvil of their own per test (free port,
 * temp folder), the real CLI as a child process, and a data folder that is
 * initialised and deployed through the SDK. Every process started here is
 * stopped by `stopAll` (call it in afterEach/afterAll) and, as a last
 * resort, killed when the worker exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Contract, JsonRpcProvider, Network, type Wallet } from 'ethers';
import { startAnvil, type EmbeddedChain, type StartAnvilParameters } from '../../src/chain/anvil.js';
import { deploy, type DeployResult } from '../../src/chain/deploy.js';
import { agencyKey, notaryKey, openKey } from '../../src/chain/keys.js';
import { registryInterface, RegistryClient } from '../../src/chain/registry.js';
import { agencyToBytes32, attestationDomain, ATTESTATION_TYPES, attestationMessage } from '../../src/chain/attestation.js';
import { Liuhen } from '../../src/liuhen.js';

export const BIN = new URL('../../bin/liuhen.js', import.meta.url).pathname;

const chains = new Set<EmbeddedChain>();
const children = new Set<ChildProcess>();
/** Pids of Anvils started by a `liuhen chain` child (killed too if that child dies first). */
const foreignPids = new Set<number>();
const dirs = new Set<string>();

const killQuietly = (pid: number, signal: NodeJS.Signals) => {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
};

process.once('exit', () => {
  for (const c of chains) killQuietly(c.pid, 'SIGKILL');
  for (const c of children) c.kill('SIGKILL');
  for (const pid of foreignPids) killQuietly(pid, 'SIGKILL');
});

/** Remembers a process to kill in `stopAll` (e.g. the Anvil behind `liuhen chain`). */
export function trackPid(pid: number): void {
  foreignPids.add(pid);
}

export function tempDir(prefix = 'liuhen-chain-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/** An Anvil on a free port (tracked for cleanup). */
export async function chainFor(p: StartAnvilParameters = {}): Promise<EmbeddedChain> {
  const c = await startAnvil({ port: 0, ...p });
  chains.add(c);
  void c.exited.then(() => chains.delete(c));
  return c;
}

/** Stops every chain and child started by these helpers and removes the temp folders. */
export async function stopAll(): Promise<void> {
  // SIGINT first: a `liuhen chain` child then stops its Anvil; SIGKILL whatever is left after 5 s.
  await Promise.all(
    [...children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const t = setTimeout(() => c.kill('SIGKILL'), 5_000);
          c.once('close', () => {
            clearTimeout(t);
            resolve();
          });
          c.kill('SIGINT');
        }),
    ),
  );
  children.clear();
  for (const pid of foreignPids) killQuietly(pid, 'SIGKILL');
  foreignPids.clear();
  await Promise.all([...chains].map((c) => c.stop()));
  chains.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `liuhen ...args` to completion (async: the test's own chain keeps being served). */
export function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** Starts a long-running `liuhen ...args` and resolves with it and its first stdout line. */
export function cliBackground(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; firstLine: string; exited: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) =>
      child.once('close', (code) => {
        children.delete(child);
        r(code);
      }),
    );
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (firstLine) => resolve({ child, firstLine, exited }));
    void exited.then((code) => reject(new Error(`liuhen ${args.join(' ')} exited (${code}) before printing: ${stderr}`)));
  });
}

export const jsonLines = (s: string): any[] =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

export interface Folder {
  dataDir: string;
  deployed: DeployResult;
}

/** An initialised data folder whose agency and notary are set up on `rpc` (SDK, in-process). */
export async function deployedFolder(rpc: string, agency = '310115-ZFJ'): Promise<Folder> {
  const dataDir = join(tempDir(), 'data');
  Liuhen.init(dataDir, { agency, device: 'cam-1', officer: 'O-1' });
  const deployed = await deploy({ dataDir, rpc });
  return { dataDir, deployed };
}

export function providerFor(chain: { rpc: string; chainId: number }): JsonRpcProvider {
  return new JsonRpcProvider(chain.rpc, Network.from(chain.chainId), { staticNetwork: true, cacheTimeout: -1 });
}

/** The folder's notary key, unlocked (dev passphrase file). */
export async function notaryWallet(dataDir: string, chainId: number, provider: JsonRpcProvider): Promise<Wallet> {
  return (await openKey(notaryKey(dataDir), chainId)).connect(provider);
}

/**
 * A fresh chain with a deployed folder, and one decision record of that folder
 * sealed and anchored: the start of the verifier's chain-view tests. The folder
 * is open (`lh`); the caller closes it.
 */
export async function anchoredDecision(caseId: string, chainOptions: StartAnvilParameters = {}) {
  const chain = await chainFor(chainOptions);
  const folder = await deployedFolder(chain.rpc);
  const registry = folder.deployed.chain.registry!;
  const provider = providerFor(chain);
  const notary = await notaryWallet(folder.dataDir, chain.chainId, provider);
  const lh = await Liuhen.open(folder.dataDir);
  try {
    const { record } = await lh.recordBody({ form: 'decision', fine: 50 }, { case: caseId, stage: 'decision' });
    await lh.seal();
    await lh.anchor();
    return { chain, folder, registry, provider, notary, lh, record };
  } catch (e) {
    await lh.close();
    throw e;
  }
}

export async function agencyWallet(dataDir: string, chainId: number, provider: JsonRpcProvider): Promise<Wallet> {
  return (await openKey(agencyKey(dataDir), chainId)).connect(provider);
}

/** Signs a notary attestation of an anchored batch (EIP-712, attestation.ts). */
export async function attest(
  notary: Pick<Wallet, 'signTypedData'>,
  chainId: number,
  registry: string,
  b: { root: string; agency: string; seq: number; size: number; prevRoot: string },
  attestedAt: number,
): Promise<string> {
  return notary.signTypedData(attestationDomain(chainId, registry), ATTESTATION_TYPES as never, attestationMessage({ ...b, attestedAt }));
}

/** Co-signs a batch on chain from the notary's own account. */
export async function cosign(
  notary: Wallet,
  chainId: number,
  registry: string,
  b: { root: string; agency: string; seq: number; size: number; prevRoot: string },
): Promise<{ attestedAt: number; signature: string }> {
  const head = await notary.provider!.getBlock('latest');
  const attestedAt = head!.timestamp;
  const signature = await attest(notary, chainId, registry, b, attestedAt);
  const c = new Contract(registry, registryInterface, notary);
  await (await c.getFunction('cosign').send(agencyToBytes32(b.agency), b.root, [{ attestedAt, signature }])).wait();
  return { attestedAt, signature };
}

export function registryOf(folder: Folder, provider: JsonRpcProvider): RegistryClient {
  return new RegistryClient(folder.deployed.chain.registry!, provider);
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
