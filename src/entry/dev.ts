/**
 * `liuhen/dev` — the development chain and test helpers. Never for
 * production: DEV_MNEMONIC is public, so the dev chain's admin, agency and
 * notary keys are everyone's (docs/threat-model.md).
 */
export { startAnvil, anvilBinaryPath, freePort, assertPortFree, EMBEDDED_CHAIN_ID } from '../chain/anvil.js';
export type { StartAnvilParameters, EmbeddedChain } from '../chain/anvil.js';
export { devAccount, DEV_MNEMONIC, DEFAULT_RPC } from '../chain/deploy.js';
export type { CrashPoint } from '../chain/anchorer.js';
export { promptHidden } from '../notary/passphrase.js';
