import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Wallet } from 'ethers';
import { paths, readConfig, writeSecretFile } from '../config.js';
import { fail } from '../errors.js';
import { isDevChain } from './anvil.js';
import { createKeystore, keystoreAddress, openKeystore } from './keystore.js';

/**
 * Where the chain-world keys of a data folder live, and how their passphrases
 * are found. Keys are encrypted ethers keystores (scrypt); a passphrase comes
 * from its environment variable. Only for a dev chain (chain id 27752 or
 * 31337) may `liuhen deploy` generate a random passphrase and keep it in a
 * 0600 file next to the keystore — convenient for a laptop demo, worthless
 * as protection, never used for any other chain id.
 */
export interface KeyLocation {
  /** Encrypted keystore (Web3 Secret Storage JSON, mode 0600). */
  keystore: string;
  /** Dev-chain-only passphrase file (mode 0600). */
  devPassphrase: string;
  /** Environment variable holding the passphrase. */
  env: string;
  /** What the key is for, in messages. */
  role: string;
}

export const AGENCY_PASSPHRASE_ENV = 'LIUHEN_AGENCY_PASSPHRASE';
export const NOTARY_PASSPHRASE_ENV = 'LIUHEN_NOTARY_PASSPHRASE';
/** Deployer (registry admin) keystore path and passphrase for chains other than a dev chain. */
export const DEPLOYER_KEYSTORE_ENV = 'LIUHEN_DEPLOYER_KEYSTORE';
export const DEPLOYER_PASSPHRASE_ENV = 'LIUHEN_DEPLOYER_PASSPHRASE';

/**
 * An agency's anchoring key: `<data>/keys/agency.json` for the folder's own
 * agency, `<data>/keys/agency-<code>.json` for each further agency it serves.
 */
export function agencyKey(dataDir: string, agency?: string): KeyLocation {
  const dir = paths(dataDir).keys;
  const own = agency === undefined || agency === readConfig(dataDir).agency;
  const base = own ? 'agency' : `agency-${agency}`;
  return {
    keystore: join(dir, `${base}.json`),
    devPassphrase: join(dir, `${base}.dev-passphrase`),
    env: AGENCY_PASSPHRASE_ENV,
    role: `anchoring key of agency ${agency ?? readConfig(dataDir).agency}`,
  };
}

/** The notary's EIP-712 key: `<data>/notary/keystore.json` (shared with `liuhen notary`). */
export function notaryKey(dataDir: string): KeyLocation {
  const dir = paths(dataDir).notary;
  return { keystore: join(dir, 'keystore.json'), devPassphrase: join(dir, 'dev-passphrase'), env: NOTARY_PASSPHRASE_ENV, role: 'notary key' };
}

/** The passphrase of a key: its environment variable, else (dev chain only) the dev passphrase file. */
export function passphraseFor(key: KeyLocation, chainId: number): string {
  const fromEnv = process.env[key.env];
  if (fromEnv) return fromEnv;
  if (isDevChain(chainId) && existsSync(key.devPassphrase)) return readFileSync(key.devPassphrase, 'utf8').trim();
  if (existsSync(key.devPassphrase)) {
    return fail(
      'KEY_MISSING',
      `chain ${chainId} is not a dev chain: the dev passphrase file ${key.devPassphrase} is not used; set ${key.env} for the ${key.role}`,
    );
  }
  return fail('KEY_MISSING', `set ${key.env} to the passphrase of the ${key.role} (${key.keystore})`);
}

/**
 * The key's address, creating the keystore first when it is absent. On a dev
 * chain without the passphrase variable, a random passphrase is generated and
 * kept in the dev passphrase file (0600).
 */
export async function ensureKeystore(key: KeyLocation, chainId: number): Promise<{ address: string; created: boolean }> {
  if (existsSync(key.keystore)) return { address: keystoreAddress(key.keystore), created: false };
  let passphrase = process.env[key.env];
  if (!passphrase) {
    if (!isDevChain(chainId)) fail('KEY_MISSING', `set ${key.env} to a passphrase for the new ${key.role} (${key.keystore})`);
    passphrase = randomBytes(24).toString('base64url');
    if (!existsSync(key.devPassphrase)) writeSecretFile(key.devPassphrase, `${passphrase}\n`);
    else passphrase = readFileSync(key.devPassphrase, 'utf8').trim();
  }
  return { address: await createKeystore(key.keystore, passphrase), created: true };
}

/** Unlocks a key for signing on `chainId`. */
export function openKey(key: KeyLocation, chainId: number): Promise<Wallet> {
  if (!existsSync(key.keystore)) fail('KEY_MISSING', `no ${key.role} at ${key.keystore}; run \`liuhen deploy\` first`);
  return openKeystore(key.keystore, passphraseFor(key, chainId));
}
