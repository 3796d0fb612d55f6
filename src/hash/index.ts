export { createSha256 } from './sha256.js';
export type { Sha256 } from './sha256.js';
export { hashStream, hashFile } from './stream.js';
export type { HashProgress, HashResult, HashStreamParameters } from './stream.js';
