import { randomBytes } from 'node:crypto';

/**
 * CSPRNG bytes drawn 64 KiB at a time: a `randomBytes` call per record (salt,
 * id) costs more than the rest of an append. Each byte is handed out once.
 */
let pool = Buffer.alloc(0);
let offset = 0;

export function pooledRandomBytes(n: number): Buffer {
  if (offset + n > pool.length) {
    pool = randomBytes(Math.max(65_536, n));
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}
