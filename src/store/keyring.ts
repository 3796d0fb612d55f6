/**
 * The agency keyring: one file in the data folder holding each agency's
 * key-encryption keys (KEKs), itself encrypted under a passphrase.
 *
 * File (JSON, `liuhen-keyring/1`):
 * ```json
 * { "format": "liuhen-keyring/1",
 *   "kdf": { "name": "scrypt", "N": 131072, "r": 8, "p": 1, "salt": "<base64, 16 bytes>" },
 *   "cipher": { "name": "aes-256-gcm", "iv": "<base64, 12 bytes>" },
 *   "data": "<base64: ciphertext ‖ 16-byte tag>" }
 * ```
 * `data` decrypts (key = scrypt(passphrase, salt), AAD = the format, kdf and
 * cipher fields) to `{ "keys": [{ agency, keyId, kek, createdAt }] }`; the
 * last key listed for an agency is its active one, older keys stay to open
 * older objects. The passphrase is never stored, logged or put in an error.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic-write.js';
import { fail, isLiuhenError } from '../errors.js';
import { gcmWrapper, type KeyResolver, type KeyWrapper } from './keys.js';
import { checkAgency } from './validate.js';

export const KEYRING_FORMAT = 'liuhen-keyring/1';

/** scrypt cost. Default N = 2^17, r = 8, p = 1 (128 MiB, OWASP's first choice). */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = { N: 2 ** 17, r: 8, p: 1 };
/** Bounds a keyring file may ask for (hostile file: no memory bomb, no trivial cost). */
const MIN_N = 2 ** 14;
const MAX_N = 2 ** 20;
const MAX_SCRYPT_MEM = 1024 * 1024 * 1024;
export const MIN_PASSPHRASE_LENGTH = 12;

export interface CreateKeyringOptions {
  /** Agencies to create a first KEK for. */
  agencies?: readonly string[];
  /** scrypt cost; N must be a power of two in 2^14..2^20. @default DEFAULT_SCRYPT */
  scrypt?: Partial<ScryptParams>;
}

/** A keyring opened with its passphrase: a `KeyResolver` that can also add and rotate keys. */
export interface Keyring extends KeyResolver {
  readonly path: string;
  /** Agency codes that have at least one KEK, sorted. */
  agencies(): string[];
  /** Create a KEK for `agency` if it has none and save; returns its active KEK. */
  addAgency(agency: string): Promise<KeyWrapper>;
  /** Create a new active KEK for `agency` (older ones still open older objects) and save. */
  rotate(agency: string): Promise<KeyWrapper>;
  forAgency(agency: string): KeyWrapper;
  byId(keyId: string): KeyWrapper;
  /** Zero the keys held in memory (best effort); the keyring is unusable afterwards. */
  close(): void;
}

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);
const FileSchema = z.strictObject({
  format: z.literal(KEYRING_FORMAT),
  kdf: z.strictObject({
    name: z.literal('scrypt'),
    N: z.number().int(),
    r: z.number().int().min(1).max(32),
    p: z.number().int().min(1).max(16),
    salt: b64,
  }),
  cipher: z.strictObject({ name: z.literal('aes-256-gcm'), iv: b64 }),
  data: b64,
});
type KeyringFile = z.infer<typeof FileSchema>;

const ContentSchema = z.strictObject({
  keys: z.array(
    z.strictObject({
      agency: z.string(),
      keyId: z.string().regex(/^kek-[0-9a-f]{32}$/),
      kek: b64,
      createdAt: z.string(),
    }),
  ),
});

interface KeyEntry {
  agency: string;
  keyId: string;
  kek: Buffer;
  createdAt: string;
  wrapper: KeyWrapper;
}

function scrypt(passphrase: Buffer, salt: Buffer, p: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(passphrase, salt, 32, { N: p.N, r: p.r, p: p.p, maxmem: MAX_SCRYPT_MEM + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function checkScrypt(p: ScryptParams): ScryptParams {
  const pow2 = Number.isInteger(p.N) && p.N > 1 && (p.N & (p.N - 1)) === 0;
  if (!pow2 || p.N < MIN_N || p.N > MAX_N) fail('KEY_INVALID', `scrypt N must be a power of two in 2^14..2^20, got ${p.N}`);
  if (!Number.isInteger(p.r) || p.r < 1 || p.r > 32 || !Number.isInteger(p.p) || p.p < 1 || p.p > 16) {
    fail('KEY_INVALID', 'scrypt r must be 1..32 and p 1..16');
  }
  if (128 * p.N * p.r * p.p > MAX_SCRYPT_MEM) fail('KEY_INVALID', 'scrypt parameters need more than 1 GiB of memory');
  return p;
}

function passphraseBytes(passphrase: unknown): Buffer {
  if (typeof passphrase === 'string') {
    const s = passphrase.normalize('NFC');
    if ([...s].length < MIN_PASSPHRASE_LENGTH) fail('KEY_INVALID', `the passphrase must have at least ${MIN_PASSPHRASE_LENGTH} characters`);
    return Buffer.from(s, 'utf8');
  }
  if (passphrase instanceof Uint8Array) {
    if (passphrase.byteLength < MIN_PASSPHRASE_LENGTH) fail('KEY_INVALID', `the passphrase must have at least ${MIN_PASSPHRASE_LENGTH} bytes`);
    return Buffer.from(passphrase);
  }
  fail('KEY_INVALID', 'the passphrase must be a string or bytes');
}

function fileAad(f: Pick<KeyringFile, 'format' | 'kdf' | 'cipher'>): Buffer {
  const { N, r, p, salt } = f.kdf;
  return Buffer.from(`${f.format}|scrypt|${N}|${r}|${p}|${salt}|${f.cipher.name}|${f.cipher.iv}`, 'utf8');
}

/**
 * Write `data` to `path` atomically and durably (temp file, fsync, rename,
 * fsync dir), mode 0600. `exclusive`: link instead of rename, so an existing
 * file is never replaced (two concurrent creates cannot both win).
 */
async function writeFileDurable(path: string, data: string, exclusive = false): Promise<void> {
  try {
    await writeFileAtomic(path, data, { mode: 0o600, exclusive });
  } catch (e) {
    if (exclusive && (e as NodeJS.ErrnoException).code === 'EEXIST') {
      fail('STORE_KEYRING_EXISTS', `a keyring already exists at ${path}; open it with openKeyring`, { details: { path } });
    }
    throw e;
  }
}

class FileKeyring implements Keyring {
  private readonly keys: KeyEntry[];
  private closed = false;

  constructor(
    readonly path: string,
    private readonly kdf: ScryptParams & { salt: Buffer },
    private readonly fileKey: Buffer,
    keys: KeyEntry[],
  ) {
    this.keys = keys;
  }

  private live(): void {
    if (this.closed) fail('STORE_CLOSED', 'the keyring is closed');
  }

  agencies(): string[] {
    this.live();
    return [...new Set(this.keys.map((k) => k.agency))].sort();
  }

  forAgency(agency: string): KeyWrapper {
    this.live();
    for (let i = this.keys.length - 1; i >= 0; i--) if (this.keys[i]!.agency === agency) return this.keys[i]!.wrapper;
    return fail('STORE_KEY', `no key-encryption key for agency ${agency}; add one with keyring.addAgency`, { details: { agency, keyring: this.path } });
  }

  byId(keyId: string): KeyWrapper {
    this.live();
    const k = this.keys.find((e) => e.keyId === keyId);
    if (k === undefined) fail('STORE_KEY', `key ${keyId} named in the object is not in this keyring`, { details: { keyId, keyring: this.path } });
    return k.wrapper;
  }

  async addAgency(agency: string): Promise<KeyWrapper> {
    this.live();
    checkAgency(agency);
    if (this.keys.some((k) => k.agency === agency)) return this.forAgency(agency);
    return this.rotate(agency);
  }

  async rotate(agency: string): Promise<KeyWrapper> {
    this.live();
    const entry = newEntry(checkAgency(agency));
    this.keys.push(entry);
    try {
      await this.save();
    } catch (e) {
      this.keys.pop();
      throw e;
    }
    return entry.wrapper;
  }

  async save(exclusive = false): Promise<void> {
    const content = JSON.stringify({
      keys: this.keys.map((k) => ({ agency: k.agency, keyId: k.keyId, kek: k.kek.toString('base64'), createdAt: k.createdAt })),
    });
    const head = {
      format: KEYRING_FORMAT as typeof KEYRING_FORMAT,
      kdf: { name: 'scrypt' as const, N: this.kdf.N, r: this.kdf.r, p: this.kdf.p, salt: this.kdf.salt.toString('base64') },
      cipher: { name: 'aes-256-gcm' as const, iv: randomBytes(12).toString('base64') },
    };
    const c = createCipheriv('aes-256-gcm', this.fileKey, Buffer.from(head.cipher.iv, 'base64'), { authTagLength: 16 });
    c.setAAD(fileAad(head));
    const plain = Buffer.from(content, 'utf8');
    const data = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
    plain.fill(0);
    await writeFileDurable(this.path, `${JSON.stringify({ ...head, data: data.toString('base64') }, null, 2)}\n`, exclusive);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const k of this.keys) k.kek.fill(0);
    this.fileKey.fill(0);
  }
}

function newEntry(agency: string): KeyEntry {
  const kek = randomBytes(32);
  const keyId = `kek-${randomBytes(16).toString('hex')}`;
  return { agency, keyId, kek, createdAt: new Date().toISOString(), wrapper: gcmWrapper(keyId, agency, kek) };
}

/**
 * Create a new keyring file at `path` (fails with `STORE_KEYRING_EXISTS` if
 * one is there) with a first KEK for each of `options.agencies`.
 */
export async function createKeyring(path: string, passphrase: string | Uint8Array, options: CreateKeyringOptions = {}): Promise<Keyring> {
  const pass = passphraseBytes(passphrase);
  const params = checkScrypt({ ...DEFAULT_SCRYPT, ...options.scrypt });
  const agencies = (options.agencies ?? []).map(checkAgency);
  const exists = await stat(path).then(
    () => true,
    () => false,
  );
  if (exists) fail('STORE_KEYRING_EXISTS', `a keyring already exists at ${path}; open it with openKeyring`, { details: { path } });
  const salt = randomBytes(16);
  const fileKey = await scrypt(pass, salt, params);
  pass.fill(0);
  const ring = new FileKeyring(path, { ...params, salt }, fileKey, [...new Set(agencies)].map(newEntry));
  try {
    await ring.save(true);
  } catch (cause) {
    ring.close();
    if (isLiuhenError(cause)) throw cause;
    fail('KEY_INVALID', `cannot write the keyring at ${path}`, { details: { path }, cause });
  }
  return ring;
}

/**
 * Open the keyring at `path`. Wrong passphrase → `KEY_PASSPHRASE_WRONG`;
 * no file → `KEY_MISSING`; damaged file → `KEY_INVALID`.
 */
export async function openKeyring(path: string, passphrase: string | Uint8Array): Promise<Keyring> {
  const pass = passphraseBytes(passphrase);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    pass.fill(0);
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      fail('KEY_MISSING', `no keyring at ${path}; create one with createKeyring`, { details: { path } });
    }
    fail('KEY_INVALID', `cannot read the keyring at ${path}`, { details: { path }, cause });
  }
  // Hostile input: the file may have been replaced or damaged.
  let file: KeyringFile;
  try {
    file = FileSchema.parse(JSON.parse(text));
  } catch (cause) {
    pass.fill(0);
    fail('KEY_INVALID', `the keyring at ${path} is not a ${KEYRING_FORMAT} file`, { details: { path }, cause });
  }
  const params = checkScrypt({ N: file.kdf.N, r: file.kdf.r, p: file.kdf.p });
  const salt = Buffer.from(file.kdf.salt, 'base64');
  const iv = Buffer.from(file.cipher.iv, 'base64');
  const data = Buffer.from(file.data, 'base64');
  if (salt.length < 16 || iv.length !== 12 || data.length < 16) fail('KEY_INVALID', `the keyring at ${path} is damaged`, { details: { path } });
  const fileKey = await scrypt(pass, salt, params);
  pass.fill(0);
  let plain: Buffer;
  try {
    const d = createDecipheriv('aes-256-gcm', fileKey, iv, { authTagLength: 16 });
    d.setAAD(fileAad(file));
    d.setAuthTag(data.subarray(data.length - 16));
    plain = Buffer.concat([d.update(data.subarray(0, data.length - 16)), d.final()]);
  } catch {
    fileKey.fill(0);
    // GCM cannot tell a wrong passphrase from an altered file; the passphrase is the likely cause.
    fail('KEY_PASSPHRASE_WRONG', `wrong passphrase for the keyring at ${path} (or the file was altered)`, { details: { path } });
  }
  try {
    const content = ContentSchema.parse(JSON.parse(plain.toString('utf8')));
    const keys = content.keys.map((k): KeyEntry => {
      const kek = Buffer.from(k.kek, 'base64');
      if (kek.length !== 32) fail('KEY_INVALID', `key ${k.keyId} is not 32 bytes`);
      const agency = checkAgency(k.agency);
      return { agency, keyId: k.keyId, kek, createdAt: k.createdAt, wrapper: gcmWrapper(k.keyId, agency, kek) };
    });
    return new FileKeyring(path, { ...params, salt }, fileKey, keys);
  } catch (e) {
    fileKey.fill(0);
    if (isLiuhenError(e, 'KEY_INVALID')) throw e;
    // No `cause`: parser messages may quote the decrypted text, which holds the keys.
    fail('KEY_INVALID', `the keyring at ${path} has invalid content`, { details: { path } });
  } finally {
    plain.fill(0);
  }
}
