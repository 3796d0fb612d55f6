import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromHex } from '../util/hex.js';
import { signingBytes } from './leaf.js';
import type { LiuhenRecord } from './schema.js';

/*
 * Verifying device signatures, apart from signing them (device-key.ts): a
 * verifier (\`liuhen/verify\`) needs only this, and must not load the signing
 * pool's worker threads (issue 15, entry points by role).
 */

const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * True when `record.sig` is a valid Ed25519 signature by `record.sig.key` over
 * the record without `sig`, and that key is usable (see isUsableDeviceKey).
 */
export function verifyRecordSignature(record: LiuhenRecord): boolean {
  const key = record.sig && publicKeyObject(record.sig.key);
  return !!key && verify(null, signingBytes(record), key, fromHex(record.sig!.value, 64, 'sig.value'));
}

/**
 * The same check on libuv's thread pool. Unlike signing, verifying costs ~3×
 * a thread hand-off, so a journal ingesting uploads verifies off its main
 * thread. At most VERIFY_THREADS run at once: the pool (4 threads) also
 * carries the journal's disk writes. Measured under a flood of 512 concurrent
 * uploads: uncapped 7,600 uploads/s but the station's own appends waited p50
 * 33 ms; capped at 3, 5,100 uploads/s and appends p50 2 ms.
 */
export async function verifyRecordSignatureAsync(record: LiuhenRecord): Promise<boolean> {
  const key = record.sig && publicKeyObject(record.sig.key);
  if (!key) return false;
  const value = fromHex(record.sig!.value, 64, 'sig.value');
  const message = signingBytes(record);
  while (verifying >= VERIFY_THREADS) await new Promise<void>((resolve) => verifyWaiters.push(resolve));
  verifying++;
  try {
    return await new Promise<boolean>((resolve, reject) => verify(null, message, key, value, (err, ok) => (err ? reject(err) : resolve(ok))));
  } finally {
    verifying--;
    verifyWaiters.shift()?.();
  }
}

const VERIFY_THREADS = 3;
let verifying = 0;
const verifyWaiters: (() => void)[] = [];

/**
 * Whether a public key can stand behind a signature: a canonical encoding
 * (y < p) of a point that is not of small order. OpenSSL, following RFC 8032
 * §5.1.7, accepts small-order keys, and with one (the all-zero key, say) a
 * zero signature verifies for a fair share of all messages: such a "signature"
 * proves nothing, so it is refused (as libsodium does).
 */
export function isUsableDeviceKey(hex: string): boolean {
  return publicKeyObject(hex) !== null;
}

/**
 * Parsing a public key costs about as much as verifying with it (~100 µs
 * here), and a station sees the same few device keys over and over: the most
 * recently used ones are kept (a bounded map, oldest dropped first); `null`
 * marks an unusable key.
 */
const publicKeys = new Map<string, KeyObject | null>();
const PUBLIC_KEY_CACHE = 1024;

function publicKeyObject(hex: string): KeyObject | null {
  let key = publicKeys.get(hex);
  if (key !== undefined) {
    publicKeys.delete(hex);
  } else {
    const raw = fromHex(hex, 32, 'sig.key');
    key = isSmallOrderOrNonCanonical(raw) ? null : createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
    if (publicKeys.size >= PUBLIC_KEY_CACHE) publicKeys.delete(publicKeys.keys().next().value!);
  }
  publicKeys.set(hex, key);
  return key;
}

function isSmallOrderOrNonCanonical(raw: Uint8Array): boolean {
  try {
    return ed25519.Point.fromBytes(raw).isSmallOrder();
  } catch {
    return true; // not a point, or y ≥ p
  }
}
