import { existsSync, readFileSync } from 'node:fs';
import { getAddress, type JsonRpcProvider } from 'ethers';
import { keystoreAddress, openKeystore } from '../chain/keystore.js';
import { chainError } from '../chain/registry.js';
import { connect } from '../chain/rpc.js';
import { chainConfigSchema, paths } from '../config.js';
import { fail } from '../errors.js';
import { describeIssues } from '../record/parse.js';
import { notaryScanStart } from './duty.js';
import { NotaryLog } from './log.js';
import { createNotary, type CreateNotaryParameters, type Notary } from './notary.js';
import { resolveNotaryPassphrase } from './passphrase.js';
import { listPending } from './pending.js';
import { notaryPaths } from './paths.js';
import { definedOnly } from './policy.js';
import { requireAddress } from './registry.js';
import type { NotaryPendingBatch } from './types.js';

export interface NotaryChainParameters {
  dataDir: string;
  /** JSON-RPC endpoint; overrides `chain.rpc` of config.json. */
  rpc?: string | undefined;
  /** Registry address; overrides `chain.registry` of config.json. */
  registry?: string | undefined;
}

export interface NotaryChain {
  provider: JsonRpcProvider;
  chainId: number;
  registry: string;
  confirmations: number | undefined;
  deployBlock: number | undefined;
}

/**
 * The chain a notary follows: `chain` of `<data>/config.json` (only that
 * section is read, so a notary's folder needs no agency settings), with
 * `--rpc`/`--registry` overrides. Checks that the endpoint answers and
 * serves the configured chain id. The endpoint URL reaches messages only
 * redacted (`redactUrl`: it may carry credentials).
 */
export async function connectNotaryChain(p: NotaryChainParameters): Promise<NotaryChain> {
  const file = paths(p.dataDir).config;
  let chain: {
    rpc?: string | undefined;
    chainId?: number | undefined;
    registry?: string | undefined;
    confirmations?: number | undefined;
    deployBlock?: number | undefined;
  } = {};
  if (existsSync(file)) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (cause) {
      return fail('CONFIG_INVALID', `${file} is not valid JSON`, { cause });
    }
    const section = (raw as { chain?: unknown } | null)?.chain;
    if (section !== undefined) {
      const r = chainConfigSchema.safeParse(section);
      if (!r.success) fail('CONFIG_INVALID', `${file}: chain: ${describeIssues(r.error)}`);
      chain = r.data;
    }
  }
  const rpc = p.rpc ?? chain.rpc;
  if (rpc === undefined) fail('CONFIG_MISSING', `no chain configured in ${file}; run \`liuhen deploy\`, or pass --rpc URL and --registry ADDRESS`);
  const registry = p.registry ?? chain.registry;
  if (registry === undefined) fail('REGISTRY_MISSING', `no registry address in ${file}; run \`liuhen deploy\`, or pass --registry ADDRESS`);
  requireAddress(registry, '--registry');
  let connection;
  try {
    connection = await connect({ rpc, timeoutMs: 15_000 });
  } catch (e) {
    throw chainError(e, 'asking the RPC endpoint for its chain id');
  }
  const { provider, chainId } = connection;
  if (chain.chainId !== undefined && chain.chainId !== chainId) {
    provider.destroy();
    fail('CHAIN_MISMATCH', `the RPC endpoint serves chain ${chainId}, config.json says ${chain.chainId}; fix chain.chainId or --rpc`, {
      details: { expected: chain.chainId, actual: chainId },
    });
  }
  return { provider, chainId, registry, confirmations: chain.confirmations, deployBlock: chain.deployBlock };
}

export interface OpenNotaryParameters extends NotaryChainParameters, Omit<CreateNotaryParameters, 'wallet' | 'provider' | 'registry' | 'logDir' | 'chainId'> {
  /** @default <data>/notary/keystore.json */
  keystore?: string | undefined;
  /** The keystore passphrase; when absent, see {@link resolveNotaryPassphrase}. */
  passphrase?: string | undefined;
  /** Ask on the terminal when no passphrase is found elsewhere. @default process.stdin.isTTY */
  prompt?: boolean | undefined;
}

/**
 * Opens the notary of a data folder: its chain (config.json), its key
 * (`notary/keystore.json`, unlocked with the passphrase from the argument,
 * `LIUHEN_NOTARY_PASSPHRASE`, the dev passphrase file on a dev chain, or a
 * prompt) and its log (`notary/log`). `policy.confirmations` defaults to
 * `chain.confirmations`, the scan start to `chain.deployBlock`.
 *
 * @example
 * const notary = await openNotary({ dataDir: '.liuhen', onEvent: console.log });
 * const stop = new AbortController();
 * await notary.follow(stop.signal);
 */
export async function openNotary(p: OpenNotaryParameters): Promise<Notary> {
  const np = notaryPaths(p.dataDir);
  const keystore = p.keystore ?? np.keystore;
  requireKeystore(keystore); // KEY_MISSING before touching the network
  const chain = await connectNotaryChain(p);
  try {
    const passphrase = p.passphrase ?? (await resolveNotaryPassphrase({ dataDir: p.dataDir, chainId: chain.chainId, prompt: p.prompt }));
    const wallet = await openKeystore(keystore, passphrase);
    const notary = await createNotary({
      ...p,
      wallet,
      provider: chain.provider,
      registry: chain.registry,
      logDir: np.log,
      chainId: chain.chainId,
      // A rotated key starts where its predecessor's log stopped (duty.ts).
      deployBlock: p.deployBlock ?? notaryScanStart(p.dataDir, chain.deployBlock),
      policy: { confirmations: chain.confirmations, ...definedOnly(p.policy ?? {}) },
    });
    const close = notary.close.bind(notary);
    return Object.assign(notary, {
      close: async () => {
        await close();
        chain.provider.destroy();
      },
    });
  } catch (e) {
    chain.provider.destroy();
    throw e;
  }
}

/**
 * `liuhen notary pending` without unlocking the key: the notary's address is
 * read from its keystore; the log is consulted when no running notary holds it.
 */
export async function pendingForDataDir(
  p: NotaryChainParameters & { keystore?: string | undefined; fromBlock?: number | undefined },
): Promise<{ notary: string; pending: NotaryPendingBatch[] }> {
  const np = notaryPaths(p.dataDir);
  const notary = requireKeystore(p.keystore ?? np.keystore);
  const chain = await connectNotaryChain(p);
  let log: NotaryLog | undefined;
  try {
    if (existsSync(np.log)) log = await NotaryLog.open(np.log, notary).catch(() => undefined);
    const pending = await listPending({
      provider: chain.provider,
      registry: chain.registry,
      notary,
      chainId: chain.chainId,
      fromBlock: p.fromBlock ?? notaryScanStart(p.dataDir, chain.deployBlock) ?? 0,
      log,
    });
    return { notary, pending };
  } finally {
    await log?.close();
    chain.provider.destroy();
  }
}

/** The keystore's address; KEY_MISSING saying how to create one. */
export function requireKeystore(path: string): string {
  if (!existsSync(path)) fail('KEY_MISSING', `no notary keystore at ${path}; create one with \`liuhen notary init\` (or pass --keystore FILE)`);
  return getAddress(keystoreAddress(path));
}
