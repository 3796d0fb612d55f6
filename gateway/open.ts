import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Liuhen, LiuhenError, openEvidenceStore, openKeyring, paths, type EvidenceStore } from '../src/index.js';
import { auditTokenFile, TokenStore } from './auth/tokens.js';
import { createGatewayChain, type ClosableGatewayChain } from './chain.js';
import { parseGatewayConfig, type GatewayConfig } from './config.js';
import type { Logger } from './deps.js';

/** The gateway's own state inside a data folder: `<data>/gateway` (tokens.json). */
export const gatewayDir = (dataDir: string): string => join(paths(dataDir).root, 'gateway');

/** Environment variable with the passphrase of the evidence store's keyring (`<data>/store/keyring.json`). */
export const KEYRING_PASSPHRASE_ENV = 'LIUHEN_KEYRING_PASSPHRASE';

export interface OpenGatewayParameters {
  dataDir: string;
  /** Keyring passphrase; default from LIUHEN_KEYRING_PASSPHRASE. Without it (or without a keyring) the gateway runs without a store. */
  keyringPassphrase?: string;
  /** Use the data folder's chain configuration when it names a registry. @default true */
  chain?: boolean;
  logger?: Logger;
}

export interface OpenedGateway {
  /** `<data>/gateway/config.json` when present (parsed and checked), else the defaults. */
  config: GatewayConfig;
  liuhen: Liuhen;
  tokens: TokenStore;
  store: EvidenceStore | undefined;
  chain: ClosableGatewayChain | undefined;
  /** The admin token created on first start (print once), else undefined. */
  bootstrapToken: string | undefined;
  /** Why a part is missing, for the operator. */
  notes: string[];
  close(): Promise<void>;
}

/** Opens what `createApp` needs from a data folder (for `liuhen gateway`; `liuhen start` wires its own). */
export async function openGateway(p: OpenGatewayParameters): Promise<OpenedGateway> {
  const config = readGatewayConfig(p.dataDir);
  const liuhen = await Liuhen.open(p.dataDir);
  const notes: string[] = [];
  let store: EvidenceStore | undefined;
  let chain: ClosableGatewayChain | undefined;
  try {
    const tokens = await TokenStore.open(gatewayDir(p.dataDir));
    // The token file's digest on the audit trail; a change made outside the API is shown to the operator.
    const tokenFile = await auditTokenFile(liuhen, tokens, { audit: config.audit });
    if (tokenFile.finding) notes.push(tokenFile.finding.message);
    const bootstrapToken = await tokens.bootstrap();
    const keyringPath = join(paths(p.dataDir).store, 'keyring.json');
    const passphrase = p.keyringPassphrase ?? process.env[KEYRING_PASSPHRASE_ENV];
    if (!existsSync(keyringPath)) notes.push(`no evidence keyring at ${keyringPath}: uploads and content downloads are disabled`);
    else if (!passphrase) notes.push(`set ${KEYRING_PASSPHRASE_ENV} to open the evidence keyring: uploads and content downloads are disabled`);
    else store = await openEvidenceStore({ kind: 'local', dir: paths(p.dataDir).store }, await openKeyring(keyringPath, passphrase));
    const cc = liuhen.config.chain;
    if (p.chain !== false && cc?.registry) chain = createGatewayChain({ journal: liuhen.journal, chain: cc });
    else notes.push('no chain registry configured (liuhen deploy): anchor and notary states read "unknown"');
    return {
      config,
      liuhen,
      tokens,
      store,
      chain,
      bootstrapToken,
      notes,
      async close() {
        chain?.close();
        await store?.close();
        await liuhen.close();
      },
    };
  } catch (e) {
    chain?.close();
    await store?.close();
    await liuhen.close();
    throw e;
  }
}

/** Reads `<data>/gateway/config.json` (optional); CONFIG_INVALID names the file and the field. */
export function readGatewayConfig(dataDir: string): GatewayConfig {
  const path = join(gatewayDir(dataDir), 'config.json');
  if (!existsSync(path)) return parseGatewayConfig({});
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new LiuhenError('CONFIG_INVALID', `${path} is not valid JSON`, { cause });
  }
  try {
    return parseGatewayConfig(raw);
  } catch (e) {
    throw new LiuhenError('CONFIG_INVALID', `${path}: ${(e as Error).message}`);
  }
}
