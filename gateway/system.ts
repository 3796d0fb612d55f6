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
  serveControl,
  superviseAnvil,
  writeConfig,
  type Anchorer,
  type AnchorEvent,
  type AnchorState,
  type ChainStateEvent,
  type ChainSupervisorEvent,
  type Journal,
  type SupervisedChain,
  type EvidenceStore,
  type Keyring,
  type Notary,
  type NotaryEvent,
} from '../src/index.js';
import { createApp } from './app.js';
import { auditTokenFile, createDevTokens, TokenStore, type DevTokens } from './auth/tokens.js';
import { createGatewayChain, type ClosableGatewayChain } from './chain.js';
import { parseGatewayConfig, type GatewayConfigInput } from './config.js';
import { stderrLogger, type ComponentHealth, type Logger } from './deps.js';
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
  port?: number | undefined;
  host?: string | undefined;
  /** Port of the embedded chain. @default 8545, or a free port when 8545 is taken */
  chainPort?: number | undefined;
  /** Agencies of a fresh folder: the first is the folder's own. @default ['JN-CGJ', 'JN-SCJGJ', 'JN-SFJ'] */
  agencies?: string[] | undefined;
  logger?: Logger | undefined;
  /** Gateway settings (limits, rate limits); default: `<data>/gateway/config.json` when present. */
  gatewayConfig?: GatewayConfigInput | undefined;
  /** Progress lines for a person (stderr by default). */
  onProgress?: ((line: string) => void) | undefined;
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
  /** The supervised embedded chain. */
  chain: SupervisedChain;
  /** The component states `/healthz` shows. */
  components: () => Promise<ComponentHealth[]>;
  stop(): Promise<void>;
}

/** Dev folder defaults: a city-management bureau (城管局) and a market-supervision bureau (市场监管局). */
/**
 * The dev agencies. The last, the supervision body (济南市司法局, the gateway's
 * `supervision.agency`), journals supervisors' decisions and citizens' feedback
 * on device chains of its own: it is anchored like any agency and has a key in
 * the evidence keyring (feedback phone numbers), but gets no agency token — its
 * chains are written by the gateway alone.
 */
export const DEV_AGENCIES = ['JN-CGJ', 'JN-SCJGJ', 'JN-SFJ'];

/**
 * Display names the dev system registers on its registry (issue 14: pages,
 * verdicts and certificates show the name next to the code or address).
 * Agencies of another dev folder (`agencies` given) keep no name unless listed here.
 */
export const DEV_NAMES = {
  agencies: {
    'JN-CGJ': '济南市城市管理局',
    'JN-SCJGJ': '济南市市场监督管理局',
    'JN-SFJ': '济南市司法局',
    // The further agencies of `liuhen demo --history` (gateway/demo-history.ts).
    'JN-JTYS': '济南市交通运输局',
    'JN-STHJ': '济南市生态环境局',
  } as Record<string, string>,
  notary: '济南市泉城公证处',
};

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

    // 2. The chain: Anvil with its state in the data folder, on the configured port when free,
    //    supervised (restarted from its last snapshot if it dies, issue 10.4).
    const configured = liuhen.config.chain;
    const wantPort = p.chainPort ?? portOf(configured?.rpc) ?? 8545;
    const port = await assertPortFree('127.0.0.1', wantPort).then(
      () => wantPort,
      () => freePort(),
    );
    const statePath = join(dir.chain, 'state.json');
    const chain: SupervisedChain = await superviseAnvil({
      statePath,
      port,
      chainId: EMBEDDED_CHAIN_ID,
      onStateEvent: (e) => logChainState(logger, e),
      onEvent: (e) => logChainProcess(logger, e),
    });
    cleanups.push(() => chain.stop());
    say(
      `chain ${chain.rpc} (chain id ${chain.chainId}, state in ${statePath}${chain.stateSource === 'previous' ? ', fell back to the previous snapshot' : ''})`,
    );

    // 3. The registry and keys: idempotent (reused when the chain still has it).
    //    deploy() decides with the journal whether a registry may be (re)deployed (issue 16.3): a config
    //    pointing at another registry is refused (REGISTRY_MOVED); the embedded dev chain that lost the
    //    registry holding this folder's anchors (every snapshot damaged or deleted) is a `dev-chain-reset`:
    //    the dev registry is deployed again — as the dev deployer's first transaction on an empty chain it
    //    lands at the same address — and every batch is anchored and co-signed again by the reconcilers.
    //    Loudly: an error line in the log, a WARNING line, and a note in /healthz for this run.
    const notes: string[] = [];
    if (chain.stateSource === 'previous') {
      notes.push('the chain state fell back to the previous snapshot (the newer one was damaged): the blocks after it are anchored and notarized again');
    } else if (chain.stateSource === 'lost') {
      logger.warn('the embedded chain lost its state: every snapshot was damaged (moved aside); it starts empty', { statePath });
    }
    // The journal goes along: deploy refuses (REGISTRY_MOVED) to move anchored batches to another registry on its own.
    const d = await deploy({
      dataDir: p.dataDir,
      rpc: chain.rpc,
      journal: liuhen.journal,
      names: DEV_NAMES,
      onStep: (step) => {
        if (step.step === 'named') say(`registered the name of ${step.role} ${step.who}: ${step.name}`);
        if (step.step !== 'registry-redeployed-after-reset') return;
        const batches = step.lost.reduce((n, l) => n + l.batches, 0);
        const before = step.lost.map((l) => l.registry).join(', ');
        const same = step.lost.every((l) => l.registry.toLowerCase() === step.registry.toLowerCase());
        const note =
          `the embedded chain lost its state (${chain.stateSource === 'lost' ? 'every snapshot was damaged' : 'no snapshot found'}) and with it the registry holding ${batches} anchored batch(es): ` +
          (same
            ? `the dev registry is redeployed at the same address ${step.registry} and every batch is anchored and notarized again`
            : `a registry was redeployed at ${step.registry}, not at ${before}: receipts naming the old address need it trusted for verification`);
        logger.error(note, { registry: step.registry, lost: step.lost, stateSource: chain.stateSource });
        say(`WARNING: ${note}`);
        notes.push(note);
      },
    });
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
    const tokenFile = await auditTokenFile(liuhen, tokens, { audit: parseGatewayConfig(p.gatewayConfig ?? readGatewayConfig(p.dataDir)).audit });
    if (tokenFile.finding) logger.warn(tokenFile.finding.message, { code: tokenFile.finding.code });
    const dev = await createDevTokens(tokens, liuhen.config.agency);
    const agencyTokens: Record<string, string> = { [liuhen.config.agency]: dev.agency };
    const supervisionAgency = parseGatewayConfig(p.gatewayConfig ?? readGatewayConfig(p.dataDir)).supervision.agency;
    for (const agency of anchoringAgencies(liuhen.config).slice(1)) {
      if (agency === supervisionAgency) continue;
      agencyTokens[agency] = (await tokens.create({ role: 'agency', agency, label: `dev agency ${agency}`, createdBy: 'dev' })).token;
    }
    const gatewayChain: ClosableGatewayChain = createGatewayChain({ journal: liuhen.journal, chain: liuhen.config.chain! });
    cleanups.push(() => gatewayChain.close());
    const components = systemComponents({
      chain,
      journal: liuhen.journal,
      agencies: anchoringAgencies(liuhen.config),
      notary,
      notes,
      registry: d.chain.registry!,
      chainId: chain.chainId,
    });
    const app = createApp({
      liuhen,
      tokens,
      store,
      chain: gatewayChain,
      pages: createPagesRouter(),
      logger,
      config: p.gatewayConfig ?? readGatewayConfig(p.dataDir),
      components,
    });
    const gatewayPort = p.port ?? 8080;
    const running: RunningGateway = await listen(app, { port: gatewayPort, ...(p.host ? { host: p.host } : {}) }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE')
        throw new LiuhenError('INVALID_INPUT', `port ${gatewayPort} is in use (another Liuhen?): stop it or choose another with --port`);
      throw e;
    });
    cleanups.push(() => running.close());

    // 7. `liuhen backup` while this runs (issue 14): the control socket writes archives from this
    //    process's own handles — journal and notary-log snapshots, the chain frozen for its dump.
    try {
      const control = await serveControl(p.dataDir, { journal: liuhen.journal, notary, chain: { rpc: chain.rpc } });
      cleanups.push(() => control.close());
    } catch (e) {
      logger.warn('no control socket: `liuhen backup` cannot reach this running system', { message: (e as Error).message });
    }

    const system: RunningSystem = {
      url: running.url,
      rpc: chain.rpc,
      registry: d.chain.registry!,
      chainId: chain.chainId,
      tokens: dev,
      agencyTokens,
      chain,
      components,
      stop: async () => {
        rmSync(runFile(p.dataDir), { force: true });
        await stopAll();
      },
    };
    // For `liuhen demo` on this machine only (0600, removed on stop): dev tokens, never production ones.
    writeFileSync(
      runFile(p.dataDir),
      `${JSON.stringify({ url: system.url, rpc: system.rpc, registry: system.registry, pid: process.pid, tokens: dev, agencyTokens }, null, 2)}\n`,
      { mode: 0o600 },
    );
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
  mkdirSync(dir.store, { recursive: true, mode: 0o700 });
  if (!passphrase) {
    // A keyring without its dev passphrase file (e.g. restored from a backup that left it out): a new
    // random passphrase could never open it — say what is missing instead of writing one.
    if (!existsSync(passFile) && existsSync(path))
      throw new LiuhenError(
        'KEY_MISSING',
        `the keyring ${path} is here but not its passphrase: set ${KEYRING_PASSPHRASE_ENV}, or put back ${passFile} (\`liuhen backup\` leaves dev passphrases out unless --with-dev-passphrases)`,
      );
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

function logChainState(logger: Logger, e: ChainStateEvent): void {
  switch (e.type) {
    case 'state-damaged':
      logger.error('chain state damaged: moved aside', { path: e.path, movedTo: e.movedTo, reason: e.reason });
      return;
    case 'state-loaded':
      if (e.source === 'previous') logger.warn('chain state: loaded the previous snapshot', { path: e.path, block: e.block });
      else if (e.source === 'lost') logger.error('chain state: no usable snapshot, the chain starts empty', {});
      return;
    case 'state-save-failed':
      logger.warn('chain state snapshot failed (the last good one is kept)', { message: e.message });
      return;
    case 'state-saved':
      return;
    default:
      e satisfies never;
  }
}

function logChainProcess(logger: Logger, e: ChainSupervisorEvent): void {
  switch (e.type) {
    case 'chain-exited':
      logger.warn('chain process exited: restarting', { code: e.code, restartInMs: e.restartInMs, failures: e.failures });
      return;
    case 'chain-restarted':
      logger.warn('chain process restarted', { pid: e.pid, restarts: e.restarts, stateSource: e.stateSource });
      return;
    case 'chain-restart-failed':
      logger.warn('chain restart failed', { message: e.message, restartInMs: e.restartInMs, failures: e.failures });
      return;
    case 'chain-failing':
      // The alert: an operator must look (uploads are still journaled and acknowledged meanwhile).
      logger.error('ALERT: the embedded chain keeps failing to run', { failures: e.failures, message: e.message });
      return;
    default:
      e satisfies never;
  }
}

interface ComponentSources {
  chain: SupervisedChain;
  journal: Journal;
  agencies: string[];
  notary: Notary;
  notes: string[];
  registry: string;
  chainId: number;
}

/** Sealed batches older than this and still not anchored make anchoring degraded. */
const ANCHOR_LAG_SECONDS = 120;
/** Anchored batches the notary has not co-signed for this long make the notary degraded. */
const NOTARY_BACKLOG_SECONDS = 120;

/**
 * The real state of each component for `/healthz` (issue 10.4): the chain
 * process and its snapshots, the anchoring lag per agency, the notary's
 * backlog, the journal's write state. Cheap enough for every probe: anchoring
 * walks forward from the last batch known anchored; the notary's backlog (a
 * log scan) is reused for 5 s.
 */
/** Time one component of /healthz may take (the probe as a whole has `health.probeTimeoutMs`, 2 s by default). */
const COMPONENT_TIMEOUT_MS = 1500;

/** A component's state, or a degraded (or down) one when it fails or does not answer in time. */
function bounded(name: string, p: Promise<ComponentHealth>, onFailure: ComponentHealth['status'] = 'degraded'): Promise<ComponentHealth> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<ComponentHealth>((resolve) => {
    timer = setTimeout(() => resolve({ name, status: onFailure, detail: `did not answer within ${COMPONENT_TIMEOUT_MS} ms` }), COMPONENT_TIMEOUT_MS);
    timer.unref();
  });
  const answered = p.catch((e: unknown): ComponentHealth => ({ name, status: onFailure, detail: (e as Error).message.slice(0, 200) }));
  return Promise.race([answered, late]).finally(() => clearTimeout(timer));
}

function systemComponents(s: ComponentSources): () => Promise<ComponentHealth[]> {
  const firstOpen = new Map<string, number>();
  let notaryCache: { at: number; value: Promise<ComponentHealth> } | undefined;
  const anchoring = async (): Promise<ComponentHealth> => {
    const lag: Record<string, { unanchored: number; oldestSealedSeconds: number | null }> = {};
    let worst = 0;
    for (const agency of s.agencies) {
      const head = await s.journal.agencyHead(agency);
      let seq = firstOpen.get(agency) ?? 1;
      let oldest: number | null = null;
      for (; head && seq <= head.seq; seq++) {
        const batch = await s.journal.getBatch(agency, seq);
        if (!batch) break;
        const st = await s.journal.getAnchorState<AnchorState>(batch.root);
        const done =
          st && st.chainId === s.chainId && st.registry.toLowerCase() === s.registry.toLowerCase() && (st.status === 'anchored' || st.status === 'final');
        if (!done) {
          oldest = Math.max(0, Math.floor((Date.now() - Date.parse(batch.sealedAt)) / 1000));
          break;
        }
      }
      // Only moves forward over batches seen anchored; a rollback that un-anchors one shows at the next start
      // (the anchorer re-anchors it meanwhile).
      firstOpen.set(agency, seq);
      const unanchored = head ? Math.max(0, head.seq - seq + 1) : 0;
      lag[agency] = { unanchored, oldestSealedSeconds: oldest };
      worst = Math.max(worst, oldest ?? 0);
    }
    const total = Object.values(lag).reduce((a, l) => a + l.unanchored, 0);
    if (worst > ANCHOR_LAG_SECONDS)
      return { name: 'anchoring', status: 'degraded', detail: `a batch sealed ${worst} s ago is not anchored yet (${total} waiting)`, data: lag };
    return { name: 'anchoring', status: 'ok', detail: total === 0 ? 'every sealed batch is anchored' : `${total} batch(es) on their way`, data: lag };
  };
  const seenPending = new Map<string, number>();
  const notary = (): Promise<ComponentHealth> => {
    if (notaryCache && Date.now() - notaryCache.at < 5000) return notaryCache.value;
    const value = (async (): Promise<ComponentHealth> => {
      const pending = await s.notary.pending();
      const now = Date.now();
      const keys = new Set(pending.map((b) => `${b.batch.agency}/${b.batch.seq}/${b.batch.root}`));
      for (const k of seenPending.keys()) if (!keys.has(k)) seenPending.delete(k);
      for (const k of keys) if (!seenPending.has(k)) seenPending.set(k, now);
      const waited = Math.floor((now - Math.min(now, ...seenPending.values())) / 1000);
      const refused = pending.filter((b) => b.state === 'refused').length;
      const data = { pending: pending.length, refused, longestWaitSeconds: pending.length > 0 ? waited : null };
      if (refused > 0) return { name: 'notary', status: 'degraded', detail: `${refused} batch(es) refused by the notary`, data };
      if (waited > NOTARY_BACKLOG_SECONDS)
        return { name: 'notary', status: 'degraded', detail: `${pending.length} anchored batch(es) not co-signed, one for ${waited} s`, data };
      return {
        name: 'notary',
        status: 'ok',
        detail: pending.length === 0 ? 'every anchored batch is co-signed' : `${pending.length} batch(es) being co-signed`,
        data,
      };
    })().catch((e: unknown): ComponentHealth => ({ name: 'notary', status: 'degraded', detail: `backlog unknown: ${(e as Error).message.slice(0, 200)}` }));
    notaryCache = { at: Date.now(), value };
    return value;
  };
  const journal = async (): Promise<ComponentHealth> => {
    // The journal's own write state (issue 10.4): failed while it refuses writes and reopens itself.
    const h = s.journal.health();
    const status = h.status === 'ok' ? 'ok' : h.status === 'degraded' ? 'degraded' : 'down';
    return { name: 'journal', status, detail: h.reason ?? 'accepts writes', data: { since: h.since } };
  };
  return async () => {
    const h = s.chain.health();
    const chain: ComponentHealth =
      h.state === 'up'
        ? {
            name: 'chain',
            status: h.persisted.lastError ? 'degraded' : 'ok',
            detail: h.persisted.lastError ? `state snapshots fail (the last good one is kept): ${h.persisted.lastError}` : `running (pid ${h.pid})`,
            data: { ...h },
          }
        : h.state === 'restarting'
          ? { name: 'chain', status: 'degraded', detail: `the chain process exited (${h.lastExit?.code}) and is being restarted`, data: { ...h } }
          : h.state === 'failing'
            ? { name: 'chain', status: 'down', detail: `the chain process keeps failing (${h.failures} failures): ${h.lastError}`, data: { ...h } }
            : { name: 'chain', status: 'down', detail: 'stopped', data: { ...h } };
    // Each part has its own time limit, below the probe's: a part stuck on a full disk or a reopening journal
    // must not hide the others (the journal's own write state above all).
    const [a, n, j] = await Promise.all([bounded('anchoring', anchoring()), bounded('notary', notary()), bounded('journal', journal(), 'down')]);
    // A lost or rolled-back chain state stays noted for this run; degraded until everything is anchored and co-signed again.
    const caughtUp =
      a.status === 'ok' &&
      (a.data as Record<string, { unanchored: number }>) &&
      Object.values(a.data as Record<string, { unanchored: number }>).every((l) => l.unanchored === 0) &&
      n.status === 'ok' &&
      (n.data as { pending: number } | undefined)?.pending === 0;
    const out: ComponentHealth[] = [chain];
    for (const note of s.notes) out.push({ name: 'chain-state', status: caughtUp ? 'ok' : 'degraded', detail: caughtUp ? `${note} (done)` : note });
    out.push(a, n, j);
    return out;
  };
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
