import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLiuhenError, type ErrorCode } from '../../src/errors.js';
import { aesGcmKeyWrapper, staticKeyResolver, type KeyWrapper } from '../../src/store/index.js';

/** A fresh folder under the OS temp dir; remove it with `cleanup`. */
export async function tempDir(prefix = 'liuhen-store-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function cleanup(...dirs: string[]): Promise<void> {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}

/** Deterministic incompressible bytes: AES-256-CTR keystream under a key derived from `seed`. */
export function pattern(size: number, seed = 1): Buffer {
  const c = createCipheriv('aes-256-ctr', Buffer.alloc(32, seed), Buffer.alloc(16, 0));
  return c.update(Buffer.alloc(size));
}

/** `data` as an async stream of chunks of `chunk` bytes (a caller's AsyncIterable). */
export async function* chunked(data: Uint8Array, chunk = 100_003): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, Math.min(data.length, i + chunk));
}

/** Read an async iterable to the end. */
export async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

/**
 * Read until the iterable fails: returns the bytes released before the error
 * and the error (undefined if it ended cleanly).
 */
export async function collectUntilError(it: AsyncIterable<Uint8Array>): Promise<{ received: Buffer; error: unknown }> {
  const parts: Uint8Array[] = [];
  try {
    for await (const p of it) parts.push(Buffer.from(p)); // copy: the decryptor zeroes nothing it released, but be strict
    return { received: Buffer.concat(parts), error: undefined };
  } catch (error) {
    return { received: Buffer.concat(parts), error };
  }
}

export function expectCode(e: unknown, ...codes: ErrorCode[]): void {
  if (!codes.some((c) => isLiuhenError(e, c))) {
    throw new Error(
      `expected a LiuhenError ${codes.join('|')}, got ${e instanceof Error ? `${e.name} ${(e as { code?: string }).code ?? ''}: ${e.message}` : String(e)}`,
    );
  }
}

export function testWrapper(agency = 'AG-TEST', keyId = 'kek-test-1'): KeyWrapper {
  return aesGcmKeyWrapper({ keyId, agency, kek: randomBytes(32) });
}

export { staticKeyResolver };

/** Every regular file under `dir`, recursively. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
  }
  return out;
}

export async function fileBytes(path: string): Promise<Buffer> {
  return readFile(path);
}

/** The error `fn` throws (undefined if it returns). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
