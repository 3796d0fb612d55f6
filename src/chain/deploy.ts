import { existsSync } from 'node:fs';
import { ContractFactory, getAddress, HDNodeWallet, Mnemonic, parseEther, type JsonRpcProvider, type Signer } from 'ethers';
import { anchoringAgencies, paths, readConfig, writeConfig, type ChainConfig, type PreviousRegistry } from '../config.js';
import { Journal } from '../journal/journal.js';
import { fail, LiuhenError } from '../errors.js';
import { isAnchored, type AnchorState } from './state.js';
import { agencyToBytes32 } from './attestation.js';
import { isDevChain } from './anvil.js';
import { agencyKey, DEPLOYER_KEYSTORE_ENV, DEPLOYER_PASSPHRASE_ENV, ensureKeystore, notaryKey } from './keys.js';
import { openKeystore } from './keystore.js';
import { decodeRegistryError, NOTARY_ROLE, RegistryClient } from './registry.js';
import { evidenceRegistryArtifact } from './registry-artifact.js';
import { connect, onChain } from './rpc.js';

/** Anvil's (and Hardhat's) well-known dev mnemonic. Its keys are public: dev chains only. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const DEFAULT_RPC = 'http://127.0.0.1:8545';

/** Dev account `index` of the well-known mnemonic. Refuses any chain that is not a dev chain. */
export function devAccount(chainId: number, index = 0, provider?: JsonRpcProvider): HDNodeWallet {
  if (!isDevChain(chainId))
    fail(
      'KEY_MISSING',
      `chain ${chainId} is not a dev chain (27752, 31337): the public dev mnemonic is refused; set ${DEPLOYER_KEYSTORE_ENV} and ${DEPLOYER_PASSPHRASE_ENV}`,
    );
  return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), `m/44'/60'/0'/0/${index}`).connect(provider ?? null);
}

export interface DeployRegistryParameters {
  /** Becomes the registry's admin (DEFAULT_ADMIN_ROLE) unless `admin` is given. */
  deployer: Signer;
  admin?: string;
}

/** Deploys `EvidenceRegistry` from the committed artifact; resolves once mined. */
export async function deployRegistry(p: DeployRegistryParameters): Promise<{ address: string; deployBlock: number; txHash: string }> {
  const factory = new ContractFactory(evidenceRegistryArtifact.abi as never, evidenceRegistryArtifact.bytecode, p.deployer);
  const admin = p.admin ?? (await p.deployer.getAddress());
  try {
    const contract = await factory.deploy(admin);
    const tx = contract.deploymentTransaction()!;
    const receipt = await tx.wait();
    if (!receipt || receipt.status !== 1) fail('CHAIN_REVERTED', 'the registry deployment failed');
    return { address: await contract.getAddress(), deployBlock: receipt.blockNumber, txHash: receipt.hash };
  } catch (e) {
    throw decodeRegistryError(e, 'the deployment');
  }
}

export type DeployStep =
  | { step: 'registry-reused'; registry: string }
  | { step: 'registry-deployed'; registry: string; block: number }
  /** The embedded dev chain lost the registry that held anchored batches (a reset): a new one was deployed and every batch will be anchored again. */
  | { step: 'registry-redeployed-after-reset'; registry: string; block: number; lost: AnchoredDeployment[] }
  | { step: 'checkpoint-set'; agency: string; seq: number; root: string }
  | { step: 'key-created'; role: 'agency' | 'notary'; address: string; path: string }
  | { step: 'funded'; address: string; ether: string }
  | { step: 'needs-funds'; address: string; role: 'agency' | 'notary' }
  | { step: 'agency-bound'; address: string; agency: string }
  | { step: 'notary-granted'; address: string }
  /** A display name registered on a version 2 registry (issue 14): `who` is an agency code or a notary address. */
  | { step: 'named'; role: 'agency' | 'notary'; who: string; name: string };

export interface DeployParameters {
  dataDir: string;
  /** JSON-RPC endpoint. @default config.chain.rpc, else http://127.0.0.1:8545 */
  rpc?: string | undefined;
  /**
   * Blocks on top of the anchor block before an anchor is final (written to the config).
   * @default the config's value on the same chain; else 0 on a dev chain (automine makes no block without a transaction), 1 elsewhere
   */
  confirmations?: number | undefined;
  /** Whether to grant NOTARY_ROLE to this folder's notary key (creating it if absent). @default true */
  notary?: boolean | undefined;
  /**
   * The folder's journal when the caller holds it open (`liuhen start`): its
   * anchor states tell whether batches were anchored on the configured
   * registry (`assessRegistry`). Without it, the journal is opened for the check.
   */
  journal?: Journal | undefined;
  /**
   * Display names to register on a version 2 registry (issue 14: pages,
   * verdicts and certificates show 济南市城市管理局 next to JN-CGJ, the notary
   * office next to its address). Only names that differ from the registry's
   * are sent; agencies this folder does not anchor for are ignored.
   */
  names?: DeployNames | undefined;
  onStep?: ((s: DeployStep) => void) | undefined;
}

export interface DeployNames {
  /** Agency code → display name. */
  agencies?: Record<string, string> | undefined;
  /** The display name of this folder's notary key. */
  notary?: string | undefined;
}

export interface DeployResult {
  chain: ChainConfig;
  agency: string;
  agencyAddress: string;
  notaryAddress?: string;
  deployed: boolean;
}

/**
 * `liuhen deploy`: makes the data folder's agency ready to anchor on the chain
 * at `rpc`. Idempotent — each step checks the chain first:
 * 1. reuse the config's registry if it has registry code on that chain, else deploy one;
 * 2. create the agency's anchoring keystore if absent (and the notary's);
 * 3. on a dev chain, fund both from dev account 0 (elsewhere: report what needs funds);
 * 4. bind the anchoring key to the config's agency, grant NOTARY_ROLE to the notary key;
 * 5. write `chain` into the config.
 * The deployer (admin) is dev account 0 on a dev chain, else the keystore in
 * LIUHEN_DEPLOYER_KEYSTORE unlocked with LIUHEN_DEPLOYER_PASSPHRASE.
 */
export async function deploy(p: DeployParameters): Promise<DeployResult> {
  const config = readConfig(p.dataDir);
  const rpc = p.rpc ?? config.chain?.rpc ?? DEFAULT_RPC;
  const step = p.onStep ?? (() => {});
  const { provider, chainId, label } = await connect({ rpc });
  try {
    return await onChain(rpc, async () => {
      const deployer = await deployerSigner(chainId, provider);
      const sameChain = config.chain?.chainId === chainId;
      let registry: RegistryClient | undefined;
      let deployBlock = sameChain ? config.chain?.deployBlock : undefined;
      let deployed = false;
      // Never move anchored batches to another registry on its own (issue 16.3): ask the journal first.
      const anchored = await withJournal(p.dataDir, p.journal, anchoredDeployments);
      const assessment = assessRegistry(await registryFacts(provider, chainId, config.chain, anchored), paths(p.dataDir).config);
      switch (assessment.status) {
        case 'refuse':
          throw assessment.error;
        case 'ok':
          registry = new RegistryClient(assessment.registry, provider);
          step({ step: 'registry-reused', registry: registry.address });
          break;
        case 'deploy':
        case 'dev-chain-reset': {
          const d = await deployRegistry({ deployer });
          registry = new RegistryClient(d.address, provider);
          deployBlock = d.deployBlock;
          deployed = true;
          if (assessment.status === 'dev-chain-reset')
            step({ step: 'registry-redeployed-after-reset', registry: d.address, block: d.deployBlock, lost: assessment.lost });
          else step({ step: 'registry-deployed', registry: d.address, block: d.deployBlock });
          break;
        }
      }
      const admin = registry.connect(deployer);

      const agencies: Array<{ code: string; address: string }> = [];
      for (const code of anchoringAgencies(config)) {
        const key = agencyKey(p.dataDir, code);
        const k = await ensureKeystore(key, chainId);
        if (k.created) step({ step: 'key-created', role: 'agency', address: k.address, path: key.keystore });
        agencies.push({ code, address: k.address });
      }
      let notaryAddress: string | undefined;
      if (p.notary !== false) {
        const n = await ensureKeystore(notaryKey(p.dataDir), chainId);
        notaryAddress = n.address;
        if (n.created) step({ step: 'key-created', role: 'notary', address: n.address, path: notaryKey(p.dataDir).keystore });
      }

      const funded: Array<['agency' | 'notary', string | undefined]> = [
        ...agencies.map((a) => ['agency', a.address] as ['agency', string]),
        ['notary', notaryAddress],
      ];
      for (const [role, address] of funded) {
        if (!address) continue;
        const balance = await provider.getBalance(address);
        if (balance >= parseEther('1')) continue;
        if (isDevChain(chainId)) {
          const tx = await deployer.sendTransaction({ to: address, value: parseEther('100') });
          await tx.wait();
          step({ step: 'funded', address, ether: '100' });
        } else if ((await provider.getFeeData()).gasPrice !== 0n) {
          step({ step: 'needs-funds', address, role });
        }
      }

      for (const a of agencies) {
        const bound: string | undefined = await registry.agencyOf(a.address);
        if (bound === undefined) {
          await send(admin, 'bindAgency', [a.address, agencyToBytes32(a.code)]);
          step({ step: 'agency-bound', address: a.address, agency: a.code });
        } else if (bound !== a.code) {
          fail(
            'AGENCY_NOT_BOUND',
            `the anchoring key ${a.address} is bound to agency "${bound}" on this registry, not "${a.code}"; unbind it (admin) or use another data folder`,
          );
        }
      }
      const agency = agencies[0]!;
      if (notaryAddress && !(await registry.hasRole(NOTARY_ROLE, notaryAddress))) {
        await send(admin, 'grantRole', [NOTARY_ROLE, notaryAddress]);
        step({ step: 'notary-granted', address: notaryAddress });
      }
      // Names (registry version 2 only: a version 1 registry has none, and the pages then fall back to the gateway config).
      if (p.names && (await registry.version()) >= 2) {
        for (const a of agencies) {
          const name = p.names.agencies?.[a.code];
          if (name === undefined || (await registry.agencyName(a.code)) === name) continue;
          await send(admin, 'setAgencyName', [agencyToBytes32(a.code), name]);
          step({ step: 'named', role: 'agency', who: a.code, name });
        }
        const notaryName = p.names.notary;
        if (notaryAddress && notaryName !== undefined && (await registry.notaryName(notaryAddress)) !== notaryName) {
          await send(admin, 'setNotaryName', [notaryAddress, notaryName]);
          step({ step: 'named', role: 'notary', who: notaryAddress, name: notaryName });
        }
      }

      const chain: ChainConfig = {
        rpc,
        chainId,
        registry: registry.address,
        confirmations: p.confirmations ?? (sameChain ? config.chain?.confirmations : undefined) ?? (isDevChain(chainId) ? 0 : 1),
        ...(deployBlock !== undefined && { deployBlock }),
        ...(config.chain?.previousRegistries && { previousRegistries: config.chain.previousRegistries }),
      };
      writeConfig(p.dataDir, { ...readConfig(p.dataDir), chain });
      return { chain, agency: config.agency, agencyAddress: agency.address, ...(notaryAddress && { notaryAddress }), deployed };
    });
  } catch (e) {
    if ((e as { code?: string }).code === 'INSUFFICIENT_FUNDS') {
      fail('CHAIN_REVERTED', `the deployer has too little ether on ${label} to pay for the deployment`, { cause: e });
    }
    throw e;
  } finally {
    provider.destroy();
  }
}

export async function deployerSigner(chainId: number, provider: JsonRpcProvider): Promise<Signer> {
  if (isDevChain(chainId) && !process.env[DEPLOYER_KEYSTORE_ENV]) return devAccount(chainId, 0, provider);
  const path = process.env[DEPLOYER_KEYSTORE_ENV];
  const pass = process.env[DEPLOYER_PASSPHRASE_ENV];
  if (!path || !pass) {
    fail(
      'KEY_MISSING',
      `chain ${chainId} is not a dev chain (27752, 31337), so the public dev account is refused: set ${DEPLOYER_KEYSTORE_ENV} to the registry admin's keystore and ${DEPLOYER_PASSPHRASE_ENV} to its passphrase`,
    );
  }
  return (await openKeystore(path, pass)).connect(provider);
}

async function send(registry: RegistryClient, fn: string, args: unknown[]): Promise<void> {
  try {
    const tx = await registry.contract.getFunction(fn).send(...args);
    await tx.wait();
  } catch (e) {
    throw decodeRegistryError(e, fn);
  }
}

// ── registry moves (issue 16.3) ─────────────────────────────────────────────

/** Batches the journal holds as anchored (or final) on one deployment. */
export interface AnchoredDeployment {
  chainId: number;
  /** Checksummed address. */
  registry: string;
  batches: number;
  /** Highest block of an anchor there. */
  lastBlock: number;
}

/** The deployments the journal's anchor states say batches are anchored on (anchored or final). */
export async function anchoredDeployments(journal: Journal): Promise<AnchoredDeployment[]> {
  const by = new Map<string, AnchoredDeployment>();
  for await (const [, s] of journal.anchorStates<AnchorState>()) {
    if (!isAnchored(s)) continue;
    const registry = getAddress(s.registry);
    const key = `${s.chainId}:${registry}`;
    const d = by.get(key) ?? { chainId: s.chainId, registry, batches: 0, lastBlock: 0 };
    d.batches++;
    d.lastBlock = Math.max(d.lastBlock, s.anchor.blockNumber);
    by.set(key, d);
  }
  return [...by.values()];
}

/** What `assessRegistry` decides from: the config, the node, and the journal. */
export interface RegistryFacts {
  /** config.json's chain section (undefined before the first deploy). */
  configured: Pick<ChainConfig, 'chainId' | 'registry' | 'previousRegistries'> | undefined;
  /** The chain id the node serves. */
  nodeChainId: number;
  /** Whether the node's chain is a dev chain (27752, 31337), which a reset can empty. */
  devChain: boolean;
  /** Whether contract code answering like a registry is at each address (checksummed) asked about on the node. */
  hasCode: Readonly<Record<string, boolean>>;
  /** From `anchoredDeployments`. */
  anchored: readonly AnchoredDeployment[];
}

export type RegistryAssessment =
  /** The configured registry is on the node's chain and holds this folder's anchors: reuse it. */
  | { status: 'ok'; registry: string }
  /** Nothing is anchored anywhere (a new folder, or nothing anchored yet): deploying a registry loses nothing. */
  | { status: 'deploy'; reason: 'no-registry' | 'registry-absent' | 'other-chain' }
  /**
   * The embedded dev chain lost everything (a reset): the registry that held the
   * anchors is gone from a dev chain. A new registry may be deployed and every
   * batch anchored again — loudly, by the caller; receipts handed out before
   * name a registry that no longer exists.
   */
  | { status: 'dev-chain-reset'; lost: AnchoredDeployment[] }
  /** Anchored batches would silently move to another registry: refuse with REGISTRY_MOVED. */
  | { status: 'refuse'; error: LiuhenError<'REGISTRY_MOVED'> };

/**
 * Whether a data folder may use (or deploy) a registry on the node it is
 * connected to — pure, from facts gathered by `registryFacts`. A folder whose
 * batches were anchored never moves to another registry on its own: receipts
 * already handed out name that registry, and a fresh one would re-anchor every
 * batch under new transactions (issue 16.3). Registries listed in
 * `previousRegistries` were left deliberately (`liuhen registry migrate`);
 * their anchors are expected and stay trusted for verification.
 */
export function assessRegistry(f: RegistryFacts, configPath = 'config.json'): RegistryAssessment {
  const previous = new Set((f.configured?.previousRegistries ?? []).map((r) => `${r.chainId}:${getAddress(r.registry)}`));
  const live = f.anchored.filter((d) => !previous.has(`${d.chainId}:${d.registry}`));
  const configured = f.configured?.registry ? getAddress(f.configured.registry) : undefined;
  const onNode = f.configured?.chainId === f.nodeChainId;
  const total = live.reduce((n, d) => n + d.batches, 0);
  const where = (d: AnchoredDeployment) => `registry ${d.registry} on chain ${d.chainId} (${d.batches} batch(es), last anchored in block ${d.lastBlock})`;
  const moved = (message: string, details: Record<string, unknown>): RegistryAssessment => ({
    status: 'refuse',
    error: new LiuhenError(
      'REGISTRY_MOVED',
      `${message} Liuhen never moves a data folder's anchored batches to another registry on its own: receipts already handed out name the registry they were anchored on.`,
      { details: { configPath, anchored: live, ...details } },
    ),
  });

  if (configured && onNode && f.hasCode[configured] === true) {
    const elsewhere = live.filter((d) => d.chainId !== f.nodeChainId || d.registry !== configured);
    if (elsewhere.length === 0) return { status: 'ok', registry: configured };
    const d = elsewhere[0]!;
    return moved(
      `${configPath} names registry ${configured}, but ${total} batch(es) of this data folder are anchored on ${where(d)}. To fix: set chain.registry back to ${d.registry} (and chain.rpc to a node of chain ${d.chainId}) in ${configPath}; or, to move deliberately, run \`liuhen registry migrate\` from that registry (it stays trusted for verification).`,
      { configured, expected: d.registry },
    );
  }
  if (live.length === 0) return { status: 'deploy', reason: !configured ? 'no-registry' : onNode ? 'registry-absent' : 'other-chain' };

  const otherChain = live.find((d) => d.chainId !== f.nodeChainId);
  if (otherChain) {
    return moved(
      `the node serves chain ${f.nodeChainId}, but this data folder has batches anchored on ${where(otherChain)}. To fix: point chain.rpc in ${configPath} (or --rpc) at a node of chain ${otherChain.chainId}.`,
      { nodeChainId: f.nodeChainId, expected: otherChain.registry },
    );
  }
  const survivor = live.find((d) => f.hasCode[d.registry] === true);
  if (survivor) {
    return moved(
      `${configPath} names registry ${configured ?? '(none)'}${configured ? `, which has no contract on chain ${f.nodeChainId}` : ''}, but ${total} batch(es) of this data folder are anchored on ${where(survivor)}, which is still there. To fix: set chain.registry back to ${survivor.registry} in ${configPath}; or, to move deliberately, run \`liuhen registry migrate\` (the old registry stays trusted for verification).`,
      { configured: configured ?? null, expected: survivor.registry },
    );
  }
  if (f.devChain) return { status: 'dev-chain-reset', lost: [...live] };
  const d = live[0]!;
  return moved(
    `${where(d)} holds this data folder's anchors, but there is no contract at ${d.registry} on the node: it is not synced, or it is not the chain those batches are on (contracts do not vanish from a real chain). To fix: point chain.rpc in ${configPath} at a synced node of chain ${d.chainId}.`,
    { expected: d.registry },
  );
}

/** Gathers `RegistryFacts` from the node: code at the configured registry and at every registry the journal anchored on. */
export async function registryFacts(
  provider: JsonRpcProvider,
  nodeChainId: number,
  configured: ChainConfig | undefined,
  anchored: readonly AnchoredDeployment[],
): Promise<RegistryFacts> {
  const addresses = new Set<string>();
  if (configured?.registry && configured.chainId === nodeChainId) addresses.add(getAddress(configured.registry));
  for (const d of anchored) if (d.chainId === nodeChainId) addresses.add(d.registry);
  const hasCode: Record<string, boolean> = {};
  for (const a of addresses) hasCode[a] = await new RegistryClient(a, provider).isDeployed();
  return { configured, nodeChainId, devChain: isDevChain(nodeChainId), hasCode, anchored };
}

/** Runs `fn` on the given journal, or on the folder's journal opened for the purpose (none yet: no anchors). */
async function withJournal<T>(dataDir: string, journal: Journal | undefined, fn: (j: Journal) => Promise<T[]>): Promise<T[]> {
  if (journal) return fn(journal);
  const dir = paths(dataDir).journal;
  if (!existsSync(dir)) return [];
  const j = await Journal.open(dir);
  try {
    return await fn(j);
  } finally {
    await j.close();
  }
}

/** The registries a folder's receipts may name: the configured one and the ones it moved away from on the same chain. */
export function trustedRegistries(chain: Pick<ChainConfig, 'chainId' | 'registry' | 'previousRegistries'> | undefined): string[] {
  if (!chain?.registry) return [];
  return [getAddress(chain.registry), ...(chain.previousRegistries ?? []).filter((r) => r.chainId === chain.chainId).map((r) => getAddress(r.registry))];
}

/** The seq an agency's batch chain continued from after a move (0 if it never moved): batches up to it are anchored on a previous registry. */
export function checkpointSeq(chain: Pick<ChainConfig, 'previousRegistries'> | undefined, agency: string): number {
  return Math.max(0, ...(chain?.previousRegistries ?? []).map((r) => r.lastBatches[agency]?.seq ?? 0));
}

export interface MigrateParameters {
  dataDir: string;
  rpc?: string | undefined;
  onStep?: ((s: DeployStep) => void) | undefined;
}

export interface MigrateResult extends DeployResult {
  previous: PreviousRegistry;
}

/**
 * `liuhen registry migrate`: a deliberate move of the data folder to a new
 * registry (of this SDK's version) on the same chain — e.g. from a version 1
 * registry to version 2. Refuses unless the current registry is on the chain
 * and every agency's anchored batches there form its chain up to the
 * registry's `latest` (nothing would be lost or re-anchored). Then: deploys a
 * new registry, binds the agencies and the notary (as `deploy`), sets each
 * agency's checkpoint to its last batch on the old registry (so seq and
 * prevRoot continue), and records the old registry in
 * `chain.previousRegistries`, where verifiers keep trusting it. Batches not
 * yet anchored are anchored on the new registry, continuing the chain.
 */
export async function migrateRegistry(p: MigrateParameters): Promise<MigrateResult> {
  const config = readConfig(p.dataDir);
  const chain = config.chain;
  if (!chain?.registry) fail('REGISTRY_MISSING', 'this data folder has no registry yet: run `liuhen deploy` (there is nothing to migrate)');
  const rpc = p.rpc ?? chain.rpc;
  const step = p.onStep ?? (() => {});
  const journal = await Journal.open(paths(p.dataDir).journal);
  let lastBatches: PreviousRegistry['lastBatches'] = {};
  try {
    const { provider, chainId } = await connect({ rpc, expectedChainId: chain.chainId });
    try {
      lastBatches = await onChain(rpc, async () => {
        const old = new RegistryClient(chain.registry!, provider);
        if (!(await old.isDeployed()))
          fail(
            'REGISTRY_MISSING',
            `the current registry ${old.address} is not on chain ${chainId}; a migration starts from a registry the node holds (see docs/chain.md)`,
          );
        const out: PreviousRegistry['lastBatches'] = {};
        for (const agency of anchoringAgencies(config)) {
          const onChainLatest = await old.latest(agency);
          let last: { seq: number; root: string } | undefined;
          for await (const b of journal.batches(agency)) {
            const s = await journal.getAnchorState<AnchorState>(b.root);
            const here = !!s && s.chainId === chainId && getAddress(s.registry) === old.address && isAnchored(s);
            if (!here) break;
            last = { seq: b.seq, root: b.root.toLowerCase() };
          }
          if ((last?.root ?? ZERO_ROOT) !== onChainLatest.root.toLowerCase() || (last?.seq ?? 0) !== onChainLatest.seq) {
            fail(
              'CHAIN_DIVERGED',
              `agency ${agency}: the journal's anchored chain ends at #${last?.seq ?? 0}, the registry's at #${onChainLatest.seq} ${onChainLatest.root}; run \`liuhen anchor\` until both agree, then migrate`,
              { details: { agency, journal: last ?? null, registry: onChainLatest } },
            );
          }
          if (last) out[agency] = last;
        }
        return out;
      });
    } finally {
      provider.destroy();
    }
  } finally {
    await journal.close();
  }

  const previous: PreviousRegistry = {
    registry: getAddress(chain.registry),
    chainId: chain.chainId,
    ...(chain.deployBlock !== undefined && { deployBlock: chain.deployBlock }),
    movedAt: new Date().toISOString(),
    lastBatches,
  };
  // The config names no registry while deploying (so deploy deploys), and lists the old one as previous (so the check accepts its anchors).
  writeConfig(p.dataDir, {
    ...config,
    chain: { ...chain, registry: undefined, deployBlock: undefined, previousRegistries: [...(chain.previousRegistries ?? []), previous] },
  });
  let result: DeployResult;
  try {
    result = await deploy({ dataDir: p.dataDir, rpc, onStep: step });
  } catch (e) {
    writeConfig(p.dataDir, config); // nothing half-applied: the folder stays on its registry
    throw e;
  }
  const { provider, chainId } = await connect({ rpc, expectedChainId: chain.chainId });
  try {
    await onChain(rpc, async () => {
      const admin = new RegistryClient(result.chain.registry!, provider).connect(await deployerSigner(chainId, provider));
      for (const [agency, b] of Object.entries(lastBatches)) {
        await send(admin, 'setAgencyCheckpoint', [agencyToBytes32(agency), b.seq, b.root]);
        step({ step: 'checkpoint-set', agency, seq: b.seq, root: b.root });
      }
    });
  } finally {
    provider.destroy();
  }
  return { ...result, previous };
}

const ZERO_ROOT = `0x${'00'.repeat(32)}`;
