import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/** An incremental SHA-256: node:crypto (OpenSSL, SHA-NI) where it exists, @noble/hashes elsewhere. */
export interface Sha256 {
  update(chunk: Uint8Array): Sha256;
  /** Lowercase hex without prefix, as sha256sum prints it. */
  hexDigest(): string;
}

type NodeCrypto = typeof import('node:crypto');
const nodeCrypto: NodeCrypto | null = await import('node:crypto').catch(() => null);

export function createSha256(): Sha256 {
  if (nodeCrypto) {
    const h = nodeCrypto.createHash('sha256');
    const api: Sha256 = { update: (c) => (h.update(c), api), hexDigest: () => h.digest('hex') };
    return api;
  }
  const h = nobleSha256.create();
  const api: Sha256 = {
    update: (c) => (h.update(c), api),
    hexDigest: () => Array.from(h.digest(), (b) => b.toString(16).padStart(2, '0')).join(''),
  };
  return api;
}
