import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { encryptKeystoreJson, Wallet, type HDNodeWallet } from 'ethers';
import { fail } from '../errors.js';

/**
 * Signing keys of the chain world (the notary's EIP-712 key, an agency's
 * anchoring key) live in encrypted ethers keystores (Web3 Secret Storage,
 * scrypt + AES-128-CTR). The passphrase comes from an environment variable or
 * a prompt and never reaches a log or an error message.
 */
export async function createKeystore(path: string, passphrase: string, wallet: Wallet | HDNodeWallet = Wallet.createRandom()): Promise<string> {
  if (existsSync(path)) fail('DATA_DIR_EXISTS', `a keystore already exists at ${path}`);
  checkPassphrase(passphrase);
  // scrypt N = 2^15: ~0.1 s to unlock here, still 2^15 × 1 KiB of memory per guess for an attacker.
  const json = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, passphrase, { scrypt: { N: 1 << 15 } });
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, json, { mode: 0o600, flag: 'wx' });
  return wallet.address;
}

export async function openKeystore(path: string, passphrase: string): Promise<Wallet> {
  if (!existsSync(path)) fail('KEY_MISSING', `no keystore at ${path}`);
  const json = readFileSync(path, 'utf8');
  try {
    const w = await Wallet.fromEncryptedJson(json, passphrase);
    return w instanceof Wallet ? w : new Wallet(w.privateKey);
  } catch {
    // Never echo the passphrase or the decryption internals.
    return fail('KEY_PASSPHRASE_WRONG', `wrong passphrase for the keystore ${path}`);
  }
}

/** The address of a keystore without unlocking it. */
export function keystoreAddress(path: string): string {
  if (!existsSync(path)) fail('KEY_MISSING', `no keystore at ${path}`);
  const { address } = JSON.parse(readFileSync(path, 'utf8')) as { address?: string };
  if (!address) fail('KEY_INVALID', `${path} is not an ethers keystore`);
  return `0x${address.replace(/^0x/, '')}`;
}

/** Passphrase from `envName`; a clear error (naming the variable, never a value) when it is missing. */
export function passphraseFromEnv(envName: string): string {
  const p = process.env[envName];
  if (!p) fail('KEY_MISSING', `set ${envName} to the keystore passphrase`);
  return p;
}

function checkPassphrase(p: string): void {
  if (p.length < 8) fail('INVALID_INPUT', 'a keystore passphrase needs at least 8 characters');
}
