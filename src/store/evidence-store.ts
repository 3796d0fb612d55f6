/**
 * The EvidenceStore: encrypt-then-store in one streaming pass, and
 * read-decrypt-verify on the way back. Backends hold ciphertext only.
 */
import type { Writable } from 'node:stream';
import { z } from 'zod';
import { fail, isLiuhenError } from '../errors.js';
import type { BackendKind, ObjectBackend } from './backend.js';
import { byteChunks, type ByteSource } from './bytes.js';
import { decryptEvidence } from './decrypt.js';
import { checkSegmentSize, encryptEvidence } from './encrypt.js';
import { staticKeyResolver, type KeyResolver, type KeyWrapper } from './keys.js';
import { LocalBackend } from './local.js';
import { checkAgency, checkRecordId, normaliseSha256, parseCid } from './validate.js';

export interface PutOptions {
  /** The record (ULID) this evidence belongs to; needed again to read it. */
  recordId: string;
  /** Agency code: selects the KEK that wraps the data key. */
  agency: string;
  /** Called as the plaintext is consumed, with the bytes done so far. */
  onProgress?: (bytesDone: number) => void;
  /** Refuse more plaintext than this (`STORE_TOO_LARGE`). */
  maxBytes?: number;
}

export interface PutResult {
  /** CIDv1 of the encrypted object (what `media.cid` records). */
  cid: string;
  /** SHA-256 of the plaintext, lowercase hex without 0x (as `sha256sum` prints it). */
  sha256: string;
  /** Plaintext bytes. */
  size: number;
  /** Bytes of the encrypted object. */
  storedSize: number;
  /** KEK that wrapped the data key. */
  keyId: string;
}

export interface GetOptions {
  /** The record id given to `put`. */
  recordId: string;
  /** Plaintext SHA-256 (hex, optional 0x) to check before the last segment is released. */
  expectedSha256?: string;
}

export interface VerifyResult {
  sha256: string;
  size: number;
}

export interface EvidenceStore {
  readonly kind: BackendKind;
  /** Hash, encrypt and store `source` in one pass, in constant memory. */
  put(source: ByteSource | Uint8Array, options: PutOptions): Promise<PutResult>;
  /**
   * Verified plaintext of `cid`. Each segment is released after its tag
   * checks; the last one only after the whole-file SHA-256 is known (and
   * equals `expectedSha256` when given). On any error the consumer must
   * discard what it received.
   */
  get(cid: string, options: GetOptions): AsyncIterable<Uint8Array>;
  /** Read, decrypt and hash the whole object; returns the plaintext digest and size. */
  verify(cid: string, options: GetOptions): Promise<VerifyResult>;
  /** Whether the object's root block is present. */
  has(cid: string): Promise<boolean>;
  /** Write one CARv1 with every block of `cids` to `sink` and end it (ciphertext only). */
  exportCar(cids: readonly string[], sink: Writable): Promise<void>;
  /** Import a CARv1 (blocks re-hashed, DAGs complete); returns its root CIDs. */
  importCar(source: ByteSource | Uint8Array): Promise<string[]>;
  close(): Promise<void>;
}

/** Where the store keeps its objects. */
export type StoreConfig =
  | { kind: 'local'; dir: string; durable?: boolean; segmentSize?: number }
  | { kind: 'kubo'; url: string; headers?: Record<string, string>; locateTimeoutMs?: number; segmentSize?: number };

const ConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('local'), dir: z.string().min(1), durable: z.boolean().optional(), segmentSize: z.number().int().optional() }),
  z.strictObject({
    kind: z.literal('kubo'),
    url: z.string().min(1),
    headers: z.record(z.string(), z.string()).optional(),
    locateTimeoutMs: z.number().int().positive().optional(),
    segmentSize: z.number().int().optional(),
  }),
]);

const MAX_CAR_ROOTS = 10_000;

function isKeyWrapper(k: KeyResolver | KeyWrapper): k is KeyWrapper {
  return typeof (k as KeyWrapper).wrap === 'function' && typeof (k as KeyWrapper).unwrap === 'function';
}

class Store implements EvidenceStore {
  private closed = false;

  constructor(
    private readonly backend: ObjectBackend,
    private readonly keys: KeyResolver,
    private readonly segmentSize: number,
  ) {}

  get kind(): BackendKind {
    return this.backend.kind;
  }

  private live(): void {
    if (this.closed) fail('STORE_CLOSED', 'the evidence store is closed');
  }

  async put(source: ByteSource | Uint8Array, options: PutOptions): Promise<PutResult> {
    this.live();
    const recordId = checkRecordId(options?.recordId);
    const agency = checkAgency(options.agency);
    if (options.maxBytes !== undefined && (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0)) {
      fail('INVALID_INPUT', 'maxBytes must be a non-negative integer');
    }
    let wrapper: KeyWrapper;
    try {
      wrapper = await this.keys.forAgency(agency);
    } catch (cause) {
      if (isLiuhenError(cause)) throw cause;
      fail('STORE_KEY', `no usable key-encryption key for agency ${agency}`, { details: { agency }, cause });
    }
    if (wrapper.agency !== agency) fail('STORE_KEY', `the key for agency ${agency} belongs to ${wrapper.agency}`, { details: { agency } });
    const encrypted = encryptEvidence(source, {
      recordId,
      wrapper,
      segmentSize: this.segmentSize,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
    });
    let cid;
    try {
      cid = await this.backend.add(encrypted.chunks);
    } catch (cause) {
      if (isLiuhenError(cause)) throw cause;
      fail('STORE_UNAVAILABLE', `writing evidence to the ${this.kind} store failed`, { details: { recordId }, cause });
    }
    const s = encrypted.summary();
    return { cid: cid.toString(), sha256: s.sha256, size: s.size, storedSize: s.storedSize, keyId: s.keyId };
  }

  private open(cid: string, options: GetOptions, onVerified?: (r: VerifyResult) => void): AsyncGenerator<Uint8Array, void, undefined> {
    this.live();
    const root = parseCid(cid);
    const recordId = checkRecordId(options?.recordId);
    const expectedSha256 = options.expectedSha256 === undefined ? undefined : normaliseSha256(options.expectedSha256);
    return decryptEvidence(this.backend.cat(root), {
      recordId,
      keys: this.keys,
      ...(expectedSha256 ? { expectedSha256 } : {}),
      ...(onVerified ? { onVerified } : {}),
    });
  }

  get(cid: string, options: GetOptions): AsyncIterable<Uint8Array> {
    return this.open(cid, options);
  }

  async verify(cid: string, options: GetOptions): Promise<VerifyResult> {
    let result: VerifyResult | undefined;
    for await (const chunk of this.open(cid, options, (r) => (result = r))) void chunk;
    if (result === undefined) fail('STORE_INTEGRITY', 'the evidence object ended before it was verified');
    return result;
  }

  async has(cid: string): Promise<boolean> {
    this.live();
    return this.backend.has(parseCid(cid));
  }

  async exportCar(cids: readonly string[], sink: Writable): Promise<void> {
    this.live();
    if (!Array.isArray(cids) || cids.length === 0 || cids.length > MAX_CAR_ROOTS) fail('INVALID_INPUT', `exportCar needs 1..${MAX_CAR_ROOTS} CIDs`);
    const roots = cids.map((c) => parseCid(c));
    await this.backend.exportCar(roots, sink);
  }

  async importCar(source: ByteSource | Uint8Array): Promise<string[]> {
    this.live();
    const roots = await this.backend.importCar(byteChunks(source));
    return roots.map((r) => r.toString());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.backend.close();
  }
}

/**
 * Open the evidence store described by `config`, sealing and opening data
 * keys with `keys` (a keyring, a KMS-backed resolver, or a single wrapper).
 *
 * @example
 * const keyring = await openKeyring(join(dataDir, 'keyring.json'), passphrase);
 * const store = await openEvidenceStore({ kind: 'local', dir: dataDir }, keyring);
 * const { cid, sha256 } = await store.put(createReadStream('clip.mp4'), { recordId, agency });
 */
export async function openEvidenceStore(config: StoreConfig, keys: KeyResolver | KeyWrapper): Promise<EvidenceStore> {
  const parsed = ConfigSchema.safeParse(config);
  if (!parsed.success)
    fail('CONFIG_INVALID', `invalid store config: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const c = parsed.data;
  if (keys === null || typeof keys !== 'object') fail('INVALID_INPUT', 'openEvidenceStore needs a key resolver or a key wrapper');
  const resolver = isKeyWrapper(keys) ? staticKeyResolver([keys]) : keys;
  const segmentSize = checkSegmentSize(c.segmentSize);
  let backend: ObjectBackend;
  switch (c.kind) {
    case 'local':
      backend = await LocalBackend.open(c.dir, c.durable === undefined ? {} : { durable: c.durable });
      break;
    case 'kubo': {
      // Loaded on demand: the HTTP client stack is ~40 MB a local store never needs.
      const { KuboBackend } = await import('./kubo.js');
      backend = await KuboBackend.open({
        url: c.url,
        ...(c.headers ? { headers: c.headers } : {}),
        ...(c.locateTimeoutMs ? { locateTimeoutMs: c.locateTimeoutMs } : {}),
      });
      break;
    }
    default: {
      const never: never = c;
      fail('CONFIG_INVALID', `unknown store kind ${String((never as { kind: unknown }).kind)}`);
    }
  }
  return new Store(backend, resolver, segmentSize);
}
