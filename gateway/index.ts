/**
 * The Liuhen gateway: an Express app over the SDK.
 *
 * @example
 * const liuhen = await Liuhen.open(dataDir);
 * const tokens = await TokenStore.open(gatewayDir(dataDir));
 * const app = createApp({ liuhen, tokens, store, chain });
 * const running = await listen(app, { port: 8080 });
 */
export { createApp, drainApp } from './app.js';
export { listen } from './server.js';
export type { ListenParameters, RunningGateway } from './server.js';
export { gatewayConfigSchema, parseGatewayConfig } from './config.js';
export type { GatewayConfig, GatewayConfigInput } from './config.js';
export { silentLogger, stderrLogger } from './deps.js';
export type { GatewayDeps, GatewayChain, BatchChainStatus, AnchorPhase, Logger, ComponentHealth } from './deps.js';
export { TokenStore, createDevTokens, ROLES, TOKENS_FORMAT } from './auth/tokens.js';
export type { Role, Principal, TokenInfo, DevTokens, CreateTokenParameters } from './auth/tokens.js';
export { JournalAuditTrail } from './audit/trail.js';
export type { AuditTrail, AuditEntry, AuditPage } from './audit/trail.js';
export { createGatewayChain } from './chain.js';
export type { GatewayChainParameters, ClosableGatewayChain } from './chain.js';
export { openGateway, gatewayDir, readGatewayConfig, KEYRING_PASSPHRASE_ENV } from './open.js';
export type { OpenGatewayParameters, OpenedGateway } from './open.js';
