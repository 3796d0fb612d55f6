/**
 * `liuhen/dev` — the development chain and test helpers. Never for
 * production: DEV_MNEMONIC is public, so the dev chain's admin, agency and
 * notary keys are everyone's (docs/threat-model.md).
 */
export { startAnvil, anvilBinaryPath, freePort, assertPortFree, EMBEDDED_CHAIN_ID } from '../chain/anvil.js';
export type { StartAnvilParameters, EmbeddedChain } from '../chain/anvil.js';
export { devAccount, DEV_MNEMONIC, DEFAULT_RPC } from '../chain/deploy.js';
// Fault injection for tests (the explicit failpoint module replaces the anchorer's CrashPoint hook).
export { enableFailpoint, disableFailpoint, clearFailpoints, FAILPOINTS, FAILPOINTS_ENV, FailpointError } from '../util/failpoints.js';
export type { FailpointName, FailpointAction } from '../util/failpoints.js';
export { promptHidden } from '../notary/passphrase.js';
