import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isDevChain } from '../chain/anvil.js';
import { NOTARY_PASSPHRASE_ENV } from '../chain/keys.js';
import { createKeystore } from '../chain/keystore.js';
import { writeSecretFile } from '../config.js';
import { fail } from '../errors.js';
import { notaryPaths } from './paths.js';

export interface ResolvePassphraseParameters {
  /** Data folder (for the dev passphrase file). */
  dataDir: string;
  /** Chain id reported by the RPC endpoint; the dev passphrase file is only read on a dev chain. */
  chainId?: number | bigint | undefined;
  /** Ask on the terminal when nothing else gives a passphrase. @default process.stdin.isTTY */
  prompt?: boolean | undefined;
  /** @default process.env */
  env?: NodeJS.ProcessEnv | undefined;
}

/**
 * The notary keystore's passphrase, from (in this order) the environment
 * variable `LIUHEN_NOTARY_PASSPHRASE`; on a dev chain (27752, 31337) the file
 * `<data>/notary/dev-passphrase`; a prompt without echo on a terminal. Errors
 * name where a passphrase may come from, never a value.
 */
export async function resolveNotaryPassphrase(p: ResolvePassphraseParameters): Promise<string> {
  const fromEnv = (p.env ?? process.env)[NOTARY_PASSPHRASE_ENV];
  if (fromEnv) return fromEnv;
  const devFile = notaryPaths(p.dataDir).devPassphrase;
  if (p.chainId !== undefined && isDevChain(Number(p.chainId)) && existsSync(devFile)) {
    const text = readFileSync(devFile, 'utf8').trim();
    if (text.length > 0) return text;
  }
  if (p.prompt ?? process.stdin.isTTY === true) return promptHidden('notary keystore passphrase: ');
  return fail(
    'KEY_MISSING',
    `set ${NOTARY_PASSPHRASE_ENV} to the notary keystore passphrase (or run on a terminal to be asked${p.chainId !== undefined && isDevChain(Number(p.chainId)) ? `, or create ${devFile} on this dev chain` : ''})`,
  );
}

/**
 * Reads a line from the terminal without echoing it. Ctrl-C cancels
 * (raw mode turns it into a character, not a signal).
 */
export function promptHidden(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  if (!input.isTTY) return Promise.reject(fail('KEY_MISSING', 'no terminal to ask for the passphrase on'));
  return new Promise<string>((resolve, reject) => {
    output.write(question);
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.resume();
    let value = '';
    const finish = (): void => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new Error('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    input.on('data', onData);
  }).catch((e: unknown) => fail('KEY_MISSING', 'no passphrase was entered', { cause: e }));
}

export interface CreateNotaryKeyParameters {
  dataDir: string;
  /** @default <data>/notary/keystore.json */
  keystore?: string | undefined;
  /** The keystore passphrase (≥ 8 characters). Required unless `dev`. */
  passphrase?: string | undefined;
  /**
   * Dev chains only: generate a random passphrase and keep it in
   * `<data>/notary/dev-passphrase` (mode 0600), which the notary reads only
   * when the chain id is 27752 or 31337.
   */
  dev?: boolean | undefined;
}

export interface CreateNotaryKeyReturnType {
  /** The notary address, to be granted NOTARY_ROLE by the registry admin. */
  address: string;
  keystore: string;
  devPassphrase?: string;
}

/** Creates the notary's key in an encrypted keystore (`liuhen notary init`). */
export async function createNotaryKey(p: CreateNotaryKeyParameters): Promise<CreateNotaryKeyReturnType> {
  const np = notaryPaths(p.dataDir);
  const keystore = p.keystore ?? np.keystore;
  if (existsSync(keystore)) fail('DATA_DIR_EXISTS', `a notary keystore already exists at ${keystore}`);
  if (!p.dev) {
    if (p.passphrase === undefined) fail('KEY_MISSING', `set ${NOTARY_PASSPHRASE_ENV} to the passphrase for the new notary keystore`);
    return { address: await createKeystore(keystore, p.passphrase), keystore };
  }
  if (existsSync(np.devPassphrase)) fail('DATA_DIR_EXISTS', `a dev passphrase already exists at ${np.devPassphrase}`);
  const passphrase = p.passphrase ?? randomBytes(24).toString('base64url');
  writeSecretFile(np.devPassphrase, `${passphrase}\n`);
  try {
    return { address: await createKeystore(keystore, passphrase), keystore, devPassphrase: np.devPassphrase };
  } catch (e) {
    rmSync(np.devPassphrase, { force: true });
    throw e;
  }
}
