import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  anchoringAgencies,
  assertPortFree,
  createKeyring,
  deploy,
  EMBEDDED_CHAIN_ID,
  freePort,
  Liuhen,
  LiuhenError,
  openEvidenceStore,
  openKeyring,
  openNotary,
  paths,
  readConfig,
  startAnvil,
  writeConfig,
  type Anchorer,
  type AnchorEvent,
  type EmbeddedChain,
  type EvidenceStore,
  type Keyring,
  type Notary,
  type NotaryEvent,
} from '../src/index.js';
import { createApp } from './app.js';
import { createDevTokens, TokenStore, type DevTokens } from './auth/tokens.js';
import { createGatewayChain, type ClosableGatewayChain } from './chain.js';
import type { GatewayConfigInput } from './config.js';
import { stderrLogger, type Logger } from './deps.js';
import { gatewayDir, KEYRING_PASSPHRASE_ENV, readGatewayConfig } from './open.js';
import { createPagesRouter } from './pages/router.js';
import { listen, type RunningGateway } from './server.js';

/**
 * `liuhen start` / `npm start`: the whole system in one process, from an
 * empty folder — the embedded chain (Anvil, persistent), the registry
 * (deployed once, reused after), the dev agencies and notary, the real-time
 * seal/anchor loops, the notary following the chain, and the gateway.
 * A restart continues where the last run stopped.
 */
export interface StartSystemParameters {
  dataDir: string;
  /** Gateway port. @default 8080 (0: any free port) */
  port?: number;
  host?: string;
  /** Port of the embedded chain. @default 8545, or a free port when 8545 is taken */
  chainPort?: number;
  /** Agencies of a fresh folder: the first is the folder's own. @default ['JN-CGJ', 'JN-SCJGJ'] */
  agencies?: string[];
  logger?: Logger;
  /** Gateway settings (limits, rate limits); default: `<data>/gateway/config.json` when present. */
  gatewayConfig?: GatewayConfigInput;
  /** Progress lines for a person (stderr by default). */
  onProgress?: (line: string) => void;
}

export interface RunningSystem {
  url: string;
  rpc: string;
  registry: string;
  chainId: number;
  /** Fresh dev tokens of this run (earlier dev tokens are revoked). */
  tokens: DevTokens;
  /** Agency tokens per agency code (the first is also `tokens.agency`). */
  agencyTokens: Record<string, string>;
  stop(): Promise<void>;
}

/** Dev folder defaults: a city-management bureau (城管局) and a market-supervision bureau (市场监管局). */
export const DEV_AGENCIES = ['JN-CGJ', 'JN-SCJGJ'];

/** `<data>/run.json` (mode 0600): where a running dev system says where it is, for `liuhen demo`. Removed on stop. */
export const runFile = (dataDir: string): string => join(paths(dataDir).root, 'run.json');

export async function startSystem(p: StartSystemParameters): Promise<RunningSystem> {
  const say = p.onProgress ?? ((l: string) => void process.stderr.write(`${l}\n`));
  const logger = p.logger ?? stderrLogger;
  const dir = paths(p.dataDir);
  if (!existsSync(dir.config)) {
    const [own, ...more] = p.agencies ?? DEV_AGENCIES;
    Liuhen.init(p.dataDir, { agency: own!, device: 'station-01', officer: 'system' });
    if (more.length > 0) writeConfig(p.dataDir, { ...readConfig(p.dataDir), agencies: more });
    say(`initialised ${dir.root} for agencies ${[own, ...more].join(', ')}`);
  }

  const cleanups: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((e: unknown) => logger.error('stop failed', { message: (e as Error).message }));
  };
  try {
    // 1. The journal first: its lock makes a second `liuhen start` on this folder fail
    //    before it starts a second Anvil over the same state file.
    const liuhen = await Liuhen.open(p.dataDir);
    cleanups.push(() => liuhen.close());

    // 2. The chain: Anvil with its state in the data folder, on the configured port when free.
    const configured = liuhen.config.chain;
    const wantPort = p.chainPort ?? portOf(configured?.rpc) ?? 8545;
    const port = await assertPortFree('127.0.0.1', wantPort).then(() => wantPort, () => freePort());
    const chain: EmbeddedChain = await startAnvil({ statePath: join(dir.chain, 'state.json'), port, chainId: EMBEDDED_CHAIN_ID });
    cleanups.push(() => chain.stop());
    say(`chain ${chain.rpc} (chain id ${chain.chainId}, state in ${join(dir.chain, 'state.json')})`);

    // 3. The registry and keys: idempotent (reused when the chain still has it).
    // The journal goes along: deploy refuses (REGISTRY_MOVED) to move anchored batches to another registry on its own.
    const d = await deploy({ dataDir: p.dataDir, rpc: chain.rpc, journal: liuhen.journal });
    liuhen.reloadConfig();
    say(d.deployed ? `registry deployed at ${d.chain.registry}` : `registry ${d.chain.registry} reused`);

    // 4. The evidence store and the anchoring loops.
    const keyring = await devKeyring(p.dataDir, anchoringAgencies(liuhen.config));
    cleanups.push(() => keyring.close());
    const store: EvidenceStore = await openEvidenceStore({ kind: 'local', dir: dir.store }, keyring);
    cleanups.push(() => store.close());

    // Cleanups run in reverse: the loops are stopped (and awaited) before the
    // anchorers and the notary release their providers.
    const stop = new AbortController();
    const loops: Promise<void>[] = [];
    const anchorers: Anchorer[] = [];
    cleanups.push(() => anchorers.forEach((a) => a.close()));
    for (const agency of anchoringAgencies(liuhen.config)) {
      const a = await liuhen.anchorer({ agency, onEvent: (e) => logAnchor(logger, agency, e) });
      anchorers.push(a);
    }

    // 5. The dev notary co-signs in the background.
    const notary: Notary = await openNotary({ dataDir: p.dataDir, onEvent: (e) => logNotary(logger, e), pollIntervalMs: 500 });
    cleanups.push(() => notary.close());
    cleanups.push(async () => {
      stop.abort();
      await Promise.allSettled(loops);
    });
    for (const a of anchorers) loops.push(a.run(stop.signal));
    loops.push(notary.follow(stop.signal));

    // 6. The gateway, with fresh dev tokens for this run.
    const tokens = await TokenStore.open(gatewayDir(p.dataDir));
    const dev = await createDevTokens(tokens, liuhen.config.agency);
    const agencyTokens: Record<string, string> = { [liuhen.config.agency]: dev.agency };
    for (const agency of anchoringAgencies(liuhen.config).slice(1)) {
      agencyTokens[agency] = (await tokens.create({ role: 'agency', agency, label: `dev agency ${agency}`, createdBy: 'dev' })).token;
    }
    const gatewayChain: ClosableGatewayChain = createGatewayChain({ journal: liuhen.journal, chain: liuhen.config.chain! });
    cleanups.push(() => gatewayChain.close());
    const app = createApp({ liuhen, tokens, store, chain: gatewayChain, pages: createPagesRouter(), logger, config: p.gatewayConfig ?? readGatewayConfig(p.dataDir) });
    const gatewayPort = p.port ?? 8080;
    const running: RunningGateway = await listen(app, { port: gatewayPort, ...(p.host ? { host: p.host } : {}) }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') throw new LiuhenError('INVALID_INPUT', `port ${gatewayPort} is in use (another Liuhen?): stop it or choose another with --port`);
      throw e;
    });
    cleanups.push(() => running.close());

    const system: RunningSystem = {
      url: running.url,
      rpc: chain.rpc,
      registry: d.chain.registry!,
      chainId: chain.chainId,
      tokens: dev,
      agencyTokens,
      stop: async () => {
        rmSync(runFile(p.dataDir), { force: true });
        await stopAll();
      },
    };
    // For `liuhen demo` on this machine only (0600, removed on stop): dev tokens, never production ones.
    writeFileSync(runFile(p.dataDir), `${JSON.stringify({ url: system.url, rpc: system.rpc, registry: system.registry, pid: process.pid, tokens: dev, agencyTokens }, null, 2)}\n`, { mode: 0o600 });
    cleanups.unshift(() => rmSync(runFile(p.dataDir), { force: true }));
    return system;
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** The evidence keyring: passphrase from LIUHEN_KEYRING_PASSPHRASE, else (dev) a generated one in a 0600 file. */
async function devKeyring(dataDir: string, agencies: string[]): Promise<Keyring> {
  const dir = paths(dataDir);
  const path = join(dir.store, 'keyring.json');
  const passFile = join(dir.store, 'keyring.dev-passphrase');
  let passphrase = process.env[KEYRING_PASSPHRASE_ENV];
  if (!passphrase) {
    mkdirSync(dir.store, { recursive: true, mode: 0o700 });
    if (!existsSync(passFile)) writeFileSync(passFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    passphrase = readFileSync(passFile, 'utf8').trim();
  }
  const keyring = existsSync(path) ? await openKeyring(path, passphrase) : await createKeyring(path, passphrase, { agencies });
  for (const a of agencies) if (!keyring.agencies().includes(a)) await keyring.addAgency(a);
  return keyring;
}

function portOf(rpc: string | undefined): number | undefined {
  if (!rpc) return undefined;
  const port = Number(new URL(rpc).port);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

function logAnchor(logger: Logger, agency: string, e: AnchorEvent): void {
  switch (e.type) {
    case 'anchored':
      logger.info('batch anchored', { agency, seq: e.seq, root: e.root, size: e.size, block: e.blockNumber });
      return;
    case 'chain-down':
    case 'error':
    case 'reorged':
      logger.warn(`anchorer: ${e.type}`, { agency, ...e });
      return;
    default:
      return;
  }
}

function logNotary(logger: Logger, e: NotaryEvent): void {
  if (e.status === 'error') logger.warn('notary: error', { ...e.error });
  else if (e.status === 'signed') logger.info('notary co-signed', { root: e.batch.root });
  else if (e.status === 'refused') logger.warn('notary refused a batch', { root: e.batch.root, reason: e.reason });
}
