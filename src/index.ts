/**
 * Liuhen (留痕) SDK — the public API. Everything an enforcement app, a notary,
 * a supervisor's tool or the gateway needs is exported from here; nothing else
 * in `src/` is a public contract.
 */
export { LiuhenError, isLiuhenError, fail } from './errors.js';
export type { ErrorCode, LiuhenErrorOptions } from './errors.js';
export { toHex, fromHex, isHash32, ZERO32 } from './util/hex.js';
export type { Hex } from './util/hex.js';

export * from './hash/index.js';
export * from './merkle/index.js';
export * from './record/index.js';
export * from './journal/index.js';
export * from './receipt/index.js';
export * from './verify/index.js';
export * from './completeness/index.js';
export * from './chain/index.js';
export * from './store/index.js';
export * from './notary/index.js';
export * from './stats/index.js';
export * from './devices/index.js';
export * from './backup/index.js';
export * from './rotation/index.js';

export { Liuhen } from './liuhen.js';
export type { InitParameters, RecordMeta } from './liuhen.js';
export { readConfig, writeConfig, paths, configSchema, chainConfigSchema, anchoringAgencies, DEFAULT_DATA_DIR } from './config.js';
export type { LiuhenConfig, ChainConfig, PreviousRegistry } from './config.js';
export { lookupMediaType } from './util/media-type.js';
export { monotonicUlid } from './util/ulid.js';
export { writeFileAtomic, writeFileAtomicSync, fsyncDir } from './util/atomic-write.js';
export type { AtomicWriteOptions } from './util/atomic-write.js';
