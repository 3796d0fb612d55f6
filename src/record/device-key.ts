import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fail } from '../errors.js';
import { fromHex, toHex, type Hex } from '../util/hex.js';
import { type ChainedRecord, type ChainHead, type RecordSigner, type UnchainedRecord } from './chain.js';
import { canonicalMembers, type CanonicalMembers } from './jcs.js';
import { signingBytes } from './leaf.js';
import type { LiuhenRecord, RecordSignature } from './schema.js';
import { checkSigningConfig, signingPool } from './signing-pool.js';

/** Environment variable with the device key's passphrase (optional: without it the key file is a 0600 plain PEM). */
export const DEVICE_PASSPHRASE_ENV = 'LIUHEN_DEVICE_PASSPHRASE';

/**
 * The device key: Ed25519 (RFC 8032), fast to sign on a body camera, verifiable
 * in any browser with @noble/curves. The public key travels in `sig.key`; who
 * owns which key is a trust decision made by the verifier (a device registry).
 */
export class DeviceKey implements RecordSigner {
  private constructor(private readonly privateKey: KeyObject, readonly publicKey: Hex) {}

  static generate(): DeviceKey {
    checkSigningConfig();
    const { privateKey } = generateKeyPairSync('ed25519');
    return DeviceKey.fromPrivateKey(privateKey);
  }

  /** PKCS#8 PEM, as written by `toPem` (encrypted when written with a passphrase). */
  static fromPem(pem: string, passphrase?: string): DeviceKey {
    checkSigningConfig();
    const encrypted = pem.includes('ENCRYPTED PRIVATE KEY');
    if (encrypted && !passphrase) fail('KEY_MISSING', `the device key is encrypted: set ${DEVICE_PASSPHRASE_ENV} to its passphrase`);
    try {
      return DeviceKey.fromPrivateKey(createPrivateKey({ key: pem, format: 'pem', ...(encrypted ? { passphrase } : {}) }));
    } catch (cause) {
      // Never echo the passphrase or OpenSSL's internals.
      if (encrypted) return fail('KEY_PASSPHRASE_WRONG', 'wrong passphrase for the device key');
      return fail('KEY_INVALID', 'the device key file is not a valid PKCS#8 PEM private key', { cause });
    }
  }

  private static fromPrivateKey(privateKey: KeyObject): DeviceKey {
    if (privateKey.asymmetricKeyType !== 'ed25519') fail('KEY_INVALID', 'the device key must be an Ed25519 key');
    const der = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    return new DeviceKey(privateKey, toHex(der.subarray(der.length - 32)));
  }

  /** PKCS#8 PEM; with a passphrase, encrypted (PBES2, AES-256-CBC) so the key is not plain text at rest. */
  toPem(passphrase?: string): string {
    return this.privateKey.export({ format: 'pem', type: 'pkcs8', ...(passphrase ? { cipher: 'aes-256-cbc', passphrase } : {}) }).toString();
  }

  /** Returns the record with `sig` set over the record without `sig`. */
  signSync<R extends LiuhenRecord>(record: R): R {
    const value = sign(null, signingBytes({ ...record, sig: undefined }), this.privateKey);
    return this.withSignature(record, value);
  }

  /** Same as `signSync`, computed on libuv's thread pool so signatures of several devices overlap. */
  sign<R extends LiuhenRecord>(record: R): Promise<R> {
    return new Promise((resolve, reject) => {
      sign(null, signingBytes({ ...record, sig: undefined }), this.privateKey, (err, value) => (err ? reject(err) : resolve(this.withSignature(record, value))));
    });
  }

  /**
   * Completes, signs and hashes a run of this device's records in order (see
   * chain.ts): on a signing thread when the pool is running or the run is a
   * burst, else inline. `forms` are the records' JCS members when the caller
   * has them already. The result equals `signSync` record by record.
   */
  async chain(head: ChainHead, records: readonly UnchainedRecord[], forms: readonly CanonicalMembers[] = records.map(canonicalMembers)): Promise<ChainedRecord[]> {
    return signingPool.chain(this.privateKey, this.publicKey, head, records, forms);
  }

  private withSignature<R extends LiuhenRecord>(record: R, value: Uint8Array): R {
    return { ...record, sig: { alg: 'Ed25519', key: this.publicKey, value: toHex(value) } satisfies RecordSignature };
  }
}

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
