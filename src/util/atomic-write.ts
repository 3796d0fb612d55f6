import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { link, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Atomic, durable file replacement: write a temporary file beside the target,
 * fsync it, rename it over the target (atomic on POSIX, rename(2)), then fsync
 * the folder so the rename itself survives a power cut. A crash at any point
 * leaves either the old file or the new one, never a torn one, and once the
 * promise resolves the new content is on disk.
 */
export interface AtomicWriteOptions {
  /** File mode of the new file. @default 0o600 */
  mode?: number;
  /**
   * Never replace an existing file: the temporary file is hard-linked to the
   * target instead of renamed, so of two concurrent creators exactly one wins;
   * the other gets the `EEXIST` error of link(2).
   */
  exclusive?: boolean;
}

function tempPath(path: string): string {
  return `${path}.${randomBytes(6).toString('hex')}.tmp`;
}

/** fsync of a folder: makes renames and new entries in it durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` to `path` atomically and durably (see the module comment). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempPath(path);
  const fh = await open(tmp, 'wx', options.mode ?? 0o600);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (options.exclusive) {
      await link(tmp, path);
      await rm(tmp, { force: true });
    } else {
      await rename(tmp, path);
    }
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dirname(path));
}

/** The synchronous twin of {@link writeFileAtomic} (for start-up code that is synchronous, like `writeConfig`). Not exclusive. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, options: Omit<AtomicWriteOptions, 'exclusive'> = {}): void {
  const tmp = tempPath(path);
  const fd = openSync(tmp, 'wx', options.mode ?? 0o600);
  try {
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (let off = 0; off < bytes.byteLength;) off += writeSync(fd, bytes, off, bytes.byteLength - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDirSync(dirname(path));
}
