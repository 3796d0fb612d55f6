import { existsSync, linkSync, mkdirSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseEther, type JsonRpcProvider, type Signer } from 'ethers';
import { exitStatePath, isDevChain, startAnvil } from '../chain/anvil.js';
import { deployerSigner } from '../chain/deploy.js';
import { agencyKey, notaryKey, passphraseFor, type KeyLocation } from '../chain/keys.js';
import { createKeystore, keystoreAddress } from '../chain/keystore.js';
import { agencyToBytes32 } from '../chain/attestation.js';
import { decodeRegistryError, NOTARY_ROLE, RegistryClient } from '../chain/registry.js';
import { connect, redactUrl } from '../chain/rpc.js';
import { anchoringAgencies, paths, readConfig, type LiuhenConfig } from '../config.js';
import { fail, isLiuhenError } from '../errors.js';
import { Liuhen } from '../liuhen.js';
import { notaryDutyPath, readNotaryDuty, type NotaryDuty } from '../notary/duty.js';
import { logDomain, NotaryLog } from '../notary/log.js';
import { openNotary } from '../notary/open.js';
import { notaryPaths } from '../notary/paths.js';
import { fsyncDirSync, writeFileAtomicSync } from '../util/atomic-write.js';
import { failpoint } from '../util/failpoints.js';

/**
 * Key rotation (issue 14) with registry v2's role functions, so that every
 * receipt made before keeps verifying:
 *
 * - an agency's anchoring key: `bindAgency(new, agency)`, then
 *   `unbindAgency(old)`. Batches are keyed by (agency, root) and chained per
 *   agency, not per key, and the verifier checks the anchor (registry,
 *   agency, root, block), never which key sent it — old anchors stay.
 *   Before that, the old key anchors every sealed batch (its outbox is
 *   drained), so no transaction of an unbound key is left to fail.
 * - a notary key: `grantRole(NOTARY_ROLE, new)` (and the office's display
 *   name, `setNotaryName`), then `revokeRole(NOTARY_ROLE, old)`. The registry
 *   keeps the revoked key's recorded co-signatures (`attestedAt`), and the
 *   verifier counts a co-signature recorded on chain even when its notary
 *   was revoked since; so first the old key's log is drained — every
 *   co-signature it made is on chain — and only then is it revoked. The new
 *   key's duty starts where the old log stopped (`notary/duty.json`).
 *
 * The data folder must not be in use (`liuhen start` stopped): a running
 * anchorer or notary would go on with the old key. For the embedded chain,
 * the chain is started from the folder's state for the rotation and stopped
 * after (its state saved). Old keystores are kept under `keys/retired/` and
 * `notary/retired/` (encrypted as they were); the new key is encrypted with
 * the same passphrase as the old (its variable, or the dev passphrase file).
 * Each step checks the chain first, so a rotation cut short is finished by
 * running the command again.
 */
export type RotationStep =
  | { step: 'chain-started'; rpc: string; block: number }
  | { step: 'drained'; role: 'agency' | 'notary'; detail: string }
  | { step: 'key-created'; role: 'agency' | 'notary'; address: string }
  | { step: 'funded'; address: string; ether: string }
  | { step: 'needs-funds'; address: string }
  | { step: 'granted'; role: 'agency' | 'notary'; address: string; tx: string }
  | { step: 'revoked'; role: 'agency' | 'notary'; address: string; tx: string }
  | { step: 'retired'; role: 'agency' | 'notary'; address: string; path: string };

export interface RotationResult {
  role: 'agency' | 'notary';
  agency?: string | undefined;
  previous: string;
  current: string;
  /** Where the old keystore is kept. */
  retired: string;
  /** Notary: the block from which the new key decides batches. */
  fromBlock?: number | undefined;
}

export interface KeyRotationParameters {
  dataDir: string;
  /** JSON-RPC endpoint (default: the config's; for the embedded chain, started from the folder's state when it does not answer). */
  rpc?: string | undefined;
  onStep?: ((s: RotationStep) => void) | undefined;
}

export interface RotateAgencyKeyParameters extends KeyRotationParameters {
  /** @default the folder's own agency */
  agency?: string | undefined;
}

interface FolderChain {
  rpc: string;
  provider: JsonRpcProvider;
  chainId: number;
  registry: RegistryClient;
  admin: Signer;
  config: LiuhenConfig;
}

const stamp = (): string => new Date().toISOString().replace(/[:.]/g, '-');

async function answers(rpc: string): Promise<boolean> {
  try {
    await connect({ rpc, timeoutMs: 2000 });
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` with the folder's chain: the given or configured endpoint, else the embedded chain started from its state file. */
async function withFolderChain<T>(p: KeyRotationParameters, fn: (c: FolderChain) => Promise<T>): Promise<T> {
  const config = readConfig(p.dataDir);
  const chain = config.chain;
  if (!chain?.registry) fail('REGISTRY_MISSING', 'no registry in the config: run `liuhen deploy` (or `liuhen start`) first');
  let rpc = p.rpc ?? chain.rpc;
  let embedded: Awaited<ReturnType<typeof startAnvil>> | undefined;
  if (!(await answers(rpc))) {
    const statePath = join(paths(p.dataDir).chain, 'state.json');
    if (p.rpc !== undefined || !isDevChain(chain.chainId) || !(existsSync(statePath) || existsSync(exitStatePath(statePath))))
      fail('CHAIN_UNREACHABLE', `the chain at ${redactUrl(rpc)} does not answer; the rotation needs it`);
    // The embedded chain of a stopped `liuhen start`: on its configured port (the anchorer's endpoint), from its state.
    const port = Number(new URL(rpc).port) || 8545;
    embedded = await startAnvil({ statePath, port, chainId: chain.chainId });
    rpc = embedded.rpc;
  }
  const { provider, chainId } = await connect({ rpc, expectedChainId: chain.chainId });
  try {
    if (embedded) p.onStep?.({ step: 'chain-started', rpc: redactUrl(rpc), block: await provider.getBlockNumber() });
    const registry = new RegistryClient(chain.registry, provider);
    if ((await registry.version()) < 2)
      fail('REGISTRY_MISSING', `the registry ${chain.registry} is version 1; key rotation needs version 2 (\`liuhen registry migrate\`)`);
    const admin = await deployerSigner(chainId, provider);
    return await fn({ rpc, provider, chainId, registry, admin, config });
  } finally {
    provider.destroy();
    await embedded?.stop();
  }
}

async function send(registry: RegistryClient, admin: Signer, fn: string, args: unknown[]): Promise<string> {
  try {
    const tx = await registry
      .connect(admin)
      .contract.getFunction(fn)
      .send(...args);
    await tx.wait();
    return tx.hash as string;
  } catch (e) {
    throw decodeRegistryError(e, fn);
  }
}

/** The next key, created once (a second run after an interruption reuses it). */
async function nextKey(
  key: KeyLocation,
  chainId: number,
  role: 'agency' | 'notary',
  step: (s: RotationStep) => void,
): Promise<{ path: string; address: string }> {
  const path = `${key.keystore}.next`;
  if (existsSync(path)) return { path, address: keystoreAddress(path) };
  const address = await createKeystore(path, passphraseFor(key, chainId));
  fsyncDirSync(dirname(path));
  step({ step: 'key-created', role, address });
  return { path, address };
}

async function fund(c: FolderChain, address: string, step: (s: RotationStep) => void): Promise<void> {
  if ((await c.provider.getBalance(address)) >= parseEther('1')) return;
  if (isDevChain(c.chainId)) {
    const tx = await c.admin.sendTransaction({ to: address, value: parseEther('100') });
    await tx.wait();
    step({ step: 'funded', address, ether: '100' });
  } else if ((await c.provider.getFeeData()).gasPrice !== 0n) {
    step({ step: 'needs-funds', address });
  }
}

/** Moves the old keystore aside (kept, encrypted) and puts the new one in its place. */
function swapKeystores(key: KeyLocation, next: string, retiredDir: string, previous: string): string {
  mkdirSync(retiredDir, { recursive: true, mode: 0o700 });
  const retired = join(retiredDir, `${basename(key.keystore, '.json')}.${previous}.${stamp()}.json`);
  // The old keystore stays in place until the new one replaces it in one rename (kept under retired/
  // by a hard link first): moved away first, a kill in between left no keystore at all, and the
  // rerun said KEY_MISSING "run liuhen deploy first".
  linkSync(key.keystore, retired);
  fsyncDirSync(retiredDir);
  failpoint('rotate.swap');
  renameSync(next, key.keystore);
  fsyncDirSync(retiredDir);
  fsyncDirSync(dirname(key.keystore));
  return retired;
}

/** `liuhen keys rotate --agency X`. */
export async function rotateAgencyKey(p: RotateAgencyKeyParameters): Promise<RotationResult> {
  const step = p.onStep ?? (() => {});
  // The journal's lock: nothing else anchors for this folder meanwhile (JOURNAL_LOCKED while `liuhen start` runs).
  const liuhen = await Liuhen.open(p.dataDir).catch((e: unknown) => {
    if (isLiuhenError(e, 'JOURNAL_LOCKED'))
      fail('JOURNAL_LOCKED', `${paths(p.dataDir).root} is in use: stop \`liuhen start\` (or the gateway) before rotating a key`);
    throw e;
  });
  try {
    const agency = p.agency ?? liuhen.config.agency;
    if (!anchoringAgencies(liuhen.config).includes(agency)) fail('AGENCY_NOT_BOUND', `this data folder does not anchor for agency ${agency}`);
    const key = agencyKey(p.dataDir, agency);
    if (!existsSync(key.keystore)) fail('KEY_MISSING', `no anchoring key of agency ${agency} at ${key.keystore}; run \`liuhen deploy\` first`);
    const previous = keystoreAddress(key.keystore);
    return await withFolderChain(p, async (c) => {
      // 1. The old key anchors what is sealed, while it is still bound.
      if ((await c.registry.agencyOf(previous)) === agency) {
        const a = await liuhen.anchorer({ agency, provider: c.provider });
        try {
          const s = await a.anchorPending();
          step({ step: 'drained', role: 'agency', detail: `every sealed batch anchored with the old key (${s.newlyAnchored} now, ${s.anchored} in all)` });
        } finally {
          a.close();
        }
      }
      // 2. The new key, funded and bound; then the old one unbound.
      const next =
        existsSync(`${key.keystore}.next`) || (await c.registry.agencyOf(previous)) === agency ? await nextKey(key, c.chainId, 'agency', step) : undefined;
      if (!next) fail('KEY_INVALID', `the anchoring key ${previous} of agency ${agency} is not bound on the registry; nothing to rotate`);
      await fund(c, next.address, step);
      const bound = await c.registry.agencyOf(next.address);
      if (bound === undefined)
        step({
          step: 'granted',
          role: 'agency',
          address: next.address,
          tx: await send(c.registry, c.admin, 'bindAgency', [next.address, agencyToBytes32(agency)]),
        });
      else if (bound !== agency) fail('AGENCY_NOT_BOUND', `the new key ${next.address} is bound to agency ${bound}, not ${agency}`);
      if ((await c.registry.agencyOf(previous)) === agency)
        step({ step: 'revoked', role: 'agency', address: previous, tx: await send(c.registry, c.admin, 'unbindAgency', [previous]) });
      // 3. Files: the old keystore kept under keys/retired/, the new one in its place.
      const retired = swapKeystores(key, next.path, join(paths(p.dataDir).keys, 'retired'), previous);
      step({ step: 'retired', role: 'agency', address: previous, path: retired });
      return { role: 'agency' as const, agency, previous, current: next.address, retired };
    });
  } finally {
    await liuhen.close();
  }
}

/** `liuhen notary rotate`. */
export async function rotateNotaryKey(p: KeyRotationParameters): Promise<RotationResult> {
  const step = p.onStep ?? (() => {});
  const np = notaryPaths(p.dataDir);
  const key = notaryKey(p.dataDir);
  if (!existsSync(key.keystore)) fail('KEY_MISSING', `no notary key at ${key.keystore}`);
  const previous = keystoreAddress(key.keystore);
  return withFolderChain(p, async (c) => {
    const d = logDomain(c.chainId, c.registry.address);
    let fromBlock: number | undefined;
    if (await c.registry.hasRole(NOTARY_ROLE, previous)) {
      // 1. The old key finishes its work: every co-signature in its log is sent and mined.
      const notary = await openNotary({ dataDir: p.dataDir, rpc: c.rpc, prompt: false }).catch((e: unknown) => {
        if (isLiuhenError(e, 'JOURNAL_LOCKED'))
          fail('JOURNAL_LOCKED', `the notary log ${np.log} is in use: stop \`liuhen start\` (or \`liuhen notary serve\`) before rotating its key`);
        throw e;
      });
      try {
        const outcomes = await notary.runOnce();
        const inFlight = (await notary.pending()).filter((b) => b.state === 'signed' || b.state === 'submitted');
        if (inFlight.length > 0)
          fail(
            'CHAIN_UNREACHABLE',
            `${inFlight.length} co-signature(s) of the old notary key are not on chain yet; run \`liuhen notary rotate\` again once the chain mines them`,
          );
        step({ step: 'drained', role: 'notary', detail: `${outcomes.length} batch(es) decided; every co-signature of the old key is on chain` });
      } finally {
        await notary.close();
      }
    }
    // The old log's cursor: every batch anchored up to it was decided by the old key.
    if (existsSync(np.log)) {
      const log = await NotaryLog.open(np.log, previous);
      try {
        const cur = await log.cursor(d);
        fromBlock = cur ? cur.block + 1 : undefined;
      } finally {
        await log.close();
      }
    }
    // 2. The new key: funded, granted the role and the office's name; then the old key's role revoked.
    const next = await nextKey(key, c.chainId, 'notary', step);
    // A run killed after writing the duty file and moving the old log aside: the duty start it wrote stands.
    const earlier = fromBlock === undefined && !existsSync(np.log) ? readNotaryDuty(p.dataDir) : undefined;
    if (earlier && earlier.current.toLowerCase() === next.address.toLowerCase() && earlier.previous.toLowerCase() === previous.toLowerCase())
      fromBlock = earlier.fromBlock;
    fromBlock ??= (await c.provider.getBlockNumber()) + 1;
    await fund(c, next.address, step);
    if (!(await c.registry.hasRole(NOTARY_ROLE, next.address)))
      step({ step: 'granted', role: 'notary', address: next.address, tx: await send(c.registry, c.admin, 'grantRole', [NOTARY_ROLE, next.address]) });
    const name = await c.registry.notaryName(previous).catch(() => '');
    if (name && !(await c.registry.notaryName(next.address).catch(() => ''))) await send(c.registry, c.admin, 'setNotaryName', [next.address, name]);
    if (await c.registry.hasRole(NOTARY_ROLE, previous))
      step({ step: 'revoked', role: 'notary', address: previous, tx: await send(c.registry, c.admin, 'revokeRole', [NOTARY_ROLE, previous]) });
    // 3. Files: the new key's duty start, the old log kept under notary/retired/<address>/, then the
    //    keystores swapped — last, so that a run killed in between still has the old key in place and
    //    running it again finishes the rotation. (Swapped first, a kill left the new key with the old
    //    key's log: NOTARY_LOG_MISMATCH for the rerun and for `liuhen start`; killed after the log
    //    move, the rerun rotated a second time.)
    const retiredDir = join(np.root, 'retired', previous);
    mkdirSync(retiredDir, { recursive: true, mode: 0o700 });
    const duty: NotaryDuty = { fromBlock, previous, current: next.address, rotatedAt: new Date().toISOString() };
    writeFileAtomicSync(notaryDutyPath(p.dataDir), `${JSON.stringify(duty, null, 2)}\n`, { mode: 0o600 });
    failpoint('notary-rotate.files-1');
    if (existsSync(np.log)) {
      renameSync(np.log, join(retiredDir, `log.${stamp()}`));
      fsyncDirSync(retiredDir);
      fsyncDirSync(np.root);
    }
    failpoint('notary-rotate.files-2');
    const retired = swapKeystores(key, next.path, retiredDir, previous);
    step({ step: 'retired', role: 'notary', address: previous, path: retired });
    return { role: 'notary' as const, previous, current: next.address, retired, fromBlock };
  });
}
