import { pooledRandomBytes } from './random-pool.js';

/**
 * Monotonic ULIDs (48-bit ms time + 80 random bits, Crockford base32): ids sort
 * by creation time, and within one millisecond the random part is incremented,
 * so ids made by one process are strictly increasing.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function monotonicUlid(): () => string {
  let lastTime = -1;
  let last = Buffer.alloc(10);
  return () => {
    const now = Date.now();
    if (now <= lastTime) {
      // Same (or an earlier, if the clock stepped back) millisecond: increment the random part.
      last = Buffer.from(last);
      for (let i = 9; i >= 0; i--) {
        if (last[i]! < 255) {
          last[i]!++;
          break;
        }
        last[i] = 0;
      }
    } else {
      lastTime = now;
      last = Buffer.from(pooledRandomBytes(10));
    }
    return encodeTime(lastTime) + encodeRandom(last);
  };
}

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0, t = ms; i < 10; i++, t = Math.floor(t / 32)) out = ALPHABET[t % 32]! + out;
  return out;
}

/** 80 bits → 16 characters of 5 bits. */
function encodeRandom(b: Buffer): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of b) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}
