/**
 * Key wrapping: the per-file data key is wrapped by an agency's
 * key-encryption key (KEK). `KeyWrapper` is the seam where a KMS or an HSM
 * replaces the local keyring later; the store only ever sees wrapped keys.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { fail } from '../errors.js';
import { DATA_KEY_BYTES } from './format.js';
import { checkAgency, checkKeyId } from './validate.js';

/** Wraps and unwraps data keys under one KEK. */
export interface KeyWrapper {
  /** Stable id of the KEK, written in every object header it wraps a key for. */
  readonly keyId: string;
  /** Agency code the KEK belongs to. */
  readonly agency: string;
  /** Encrypt `dataKey` bound to `aad`. */
  wrap(dataKey: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Decrypt a wrapped key; must throw (any error) when `wrapped` or `aad` was altered or the KEK is wrong. */
  unwrap(wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
}

/** Finds the KEK to seal with (by agency) and to open with (by the key id in a header). */
export interface KeyResolver {
  /** The active KEK of `agency`; throws `STORE_KEY` when there is none. */
  forAgency(agency: string): KeyWrapper | Promise<KeyWrapper>;
  /** The KEK named in an object header; throws `STORE_KEY` when unknown. */
  byId(keyId: string): KeyWrapper | Promise<KeyWrapper>;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Length of a key wrapped by `aesGcmKeyWrapper`: IV ‖ ciphertext ‖ tag. */
export const AES_GCM_WRAPPED_BYTES = IV_BYTES + DATA_KEY_BYTES + TAG_BYTES;

/**
 * AES-256-GCM key wrapping with a random 96-bit IV per wrap:
 * `wrapped = iv (12) ‖ AES-256-GCM(kek, iv, aad, dataKey) (32) ‖ tag (16)`.
 * NIST SP 800-38D §8.3 limits random-IV GCM to 2^32 invocations per key;
 * this is one wrap per stored file, so rotate a KEK long before that.
 */
export function aesGcmKeyWrapper(params: { keyId: string; agency: string; kek: Uint8Array }): KeyWrapper {
  if (!(params.kek instanceof Uint8Array) || params.kek.byteLength !== 32) fail('KEY_INVALID', 'a KEK must be 32 bytes (AES-256)');
  return gcmWrapper(checkKeyId(params.keyId), checkAgency(params.agency), Buffer.from(params.kek));
}

/** Internal: wraps with `kek` by reference (the keyring zeroes it on close). */
export function gcmWrapper(keyId: string, agency: string, kek: Buffer): KeyWrapper {
  return {
    keyId,
    agency,
    async wrap(dataKey, aad) {
      if (dataKey.byteLength !== DATA_KEY_BYTES) fail('STORE_KEY', `data key must be ${DATA_KEY_BYTES} bytes`);
      const iv = randomBytes(IV_BYTES);
      const c = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
      c.setAAD(aad);
      const ct = Buffer.concat([c.update(dataKey), c.final()]);
      return Buffer.concat([iv, ct, c.getAuthTag()]);
    },
    async unwrap(wrapped, aad) {
      if (wrapped.byteLength !== AES_GCM_WRAPPED_BYTES) {
        fail('STORE_DECRYPT_FAILED', `wrapped data key must be ${AES_GCM_WRAPPED_BYTES} bytes, got ${wrapped.byteLength}`, { details: { keyId } });
      }
      const w = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
      const d = createDecipheriv('aes-256-gcm', kek, w.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      d.setAAD(aad);
      d.setAuthTag(w.subarray(IV_BYTES + DATA_KEY_BYTES));
      try {
        return Buffer.concat([d.update(w.subarray(IV_BYTES, IV_BYTES + DATA_KEY_BYTES)), d.final()]);
      } catch (cause) {
        fail('STORE_DECRYPT_FAILED', 'the data key does not unwrap: wrong KEK, wrong record id, or altered header', { details: { keyId }, cause });
      }
    },
  };
}

/** A resolver over a fixed set of wrappers (e.g. one KMS key per agency). */
export function staticKeyResolver(wrappers: readonly KeyWrapper[]): KeyResolver {
  const byAgency = new Map<string, KeyWrapper>();
  const byId = new Map<string, KeyWrapper>();
  for (const w of wrappers) {
    byAgency.set(w.agency, w); // the last one given for an agency is its active key
    byId.set(w.keyId, w);
  }
  return {
    forAgency(agency) {
      const w = byAgency.get(agency);
      if (w === undefined) fail('STORE_KEY', `no key-encryption key for agency ${agency}`, { details: { agency } });
      return w;
    },
    byId(keyId) {
      const w = byId.get(keyId);
      if (w === undefined) fail('STORE_KEY', `key ${keyId} named in the object is not in this keyring`, { details: { keyId } });
      return w;
    },
  };
}
