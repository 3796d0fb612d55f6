import { join } from 'node:path';
import { notaryKey } from '../chain/keys.js';
import { paths } from '../config.js';

/**
 * A notary's files inside a data folder (the key locations are the ones
 * `liuhen deploy` uses for the dev notary, from src/chain/keys.ts):
 *   notary/keystore.json     encrypted ethers keystore (mode 0600)
 *   notary/dev-passphrase    dev chains only: the keystore's passphrase (mode 0600)
 *   notary/log/              the notary's own LevelDB log
 */
export function notaryPaths(dataDir: string): { root: string; keystore: string; devPassphrase: string; log: string } {
  const key = notaryKey(dataDir);
  const root = paths(dataDir).notary;
  return { root, keystore: key.keystore, devPassphrase: key.devPassphrase, log: join(root, 'log') };
}

/** The passphrase variable of the notary key (defined with the key locations in src/chain/keys.ts). */
export { NOTARY_PASSPHRASE_ENV } from '../chain/keys.js';
