import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { fail } from '../errors.js';
import { toHex, type Hex } from '../util/hex.js';
import { recordTemplate, type ChainedRecord, type ChainHead, type RecordSigner, type RecordTemplate, type UnchainedRecord } from './chain.js';
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
  private constructor(
    private readonly privateKey: KeyObject,
    readonly publicKey: Hex,
  ) {}

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
      sign(null, signingBytes({ ...record, sig: undefined }), this.privateKey, (err, value) =>
        err ? reject(err) : resolve(this.withSignature(record, value)),
      );
    });
  }

  /**
   * Completes, signs and hashes a run of this device's records in order (see
   * chain.ts): on a signing thread when the pool is running or the run is a
   * burst, else inline. `templates` are the records' JCS templates when the
   * caller has them already. The result equals `signSync` record by record.
   */
  async chain(
    head: ChainHead,
    records: readonly UnchainedRecord[],
    templates: readonly RecordTemplate[] = records.map(recordTemplate),
  ): Promise<ChainedRecord[]> {
    return signingPool.chain(this.privateKey, this.publicKey, head, records, templates);
  }

  private withSignature<R extends LiuhenRecord>(record: R, value: Uint8Array): R {
    return { ...record, sig: { alg: 'Ed25519', key: this.publicKey, value: toHex(value) } satisfies RecordSignature };
  }
}

// Verification lives in signature.ts (no worker threads there: `liuhen/verify` loads it alone).
export { verifyRecordSignature, verifyRecordSignatureAsync, isUsableDeviceKey } from './signature.js';
