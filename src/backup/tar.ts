import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { fail } from '../errors.js';

/**
 * The archive of `liuhen backup`: a POSIX ustar file (POSIX.1-1988 §10.1.1,
 * the format `tar` reads everywhere), so an operator can also list it with
 * `tar -tvf` or unpack one part by hand. Only regular files; names up to 255
 * bytes (100 in `name`, the rest in `prefix`). Written and read here without
 * a dependency, with the SHA-256 of each entry computed as its bytes pass.
 */
const BLOCK = 512;
const CHUNK = 1 << 20;

export interface TarEntry {
  name: string;
  size: number;
  mode: number;
}

function octal(value: number, width: number): string {
  // width-1 octal digits and a NUL (ustar numeric fields).
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function splitName(name: string): { prefix: string; base: string } {
  const bytes = Buffer.byteLength(name);
  if (bytes <= 100) return { prefix: '', base: name };
  // Split at a '/' so that the base is ≤ 100 bytes and the prefix ≤ 155 bytes.
  for (let i = name.indexOf('/'); i !== -1; i = name.indexOf('/', i + 1)) {
    const prefix = name.slice(0, i);
    const base = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(base) <= 100) return { prefix, base };
  }
  return fail('INVALID_INPUT', `a backup part name is too long for the archive (${bytes} bytes): ${name.slice(0, 80)}…`);
}

export function tarHeader(e: TarEntry, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { prefix, base } = splitName(e.name);
  h.write(base, 0, 100, 'utf8');
  h.write(octal(e.mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  if (e.size > 0o77777777777) fail('INVALID_INPUT', `a backup part is larger than 8 GiB: ${e.name}`);
  h.write(octal(e.size, 12), 124, 'ascii');
  h.write(octal(Math.floor(mtime / 1000), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii'); // checksum counted as spaces
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('liuhen', 265, 'ascii');
  h.write('liuhen', 297, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

const cstr = (b: Buffer, start: number, len: number): string => {
  const s = b.subarray(start, start + len);
  const nul = s.indexOf(0);
  return s.subarray(0, nul === -1 ? len : nul).toString('utf8');
};

function parseOctal(b: Buffer, start: number, len: number, what: string): number {
  const text = cstr(b, start, len).trim();
  if (!/^[0-7]{1,12}$/.test(text)) fail('BACKUP_INVALID', `the archive is damaged: a ${what} field is not octal`);
  return parseInt(text, 8);
}

/** Parses a header block; undefined for an all-zero block (the end of the archive). */
export function parseTarHeader(h: Buffer): TarEntry | undefined {
  if (h.every((b) => b === 0)) return undefined;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  if (parseOctal(h, 148, 8, 'checksum') !== sum) fail('BACKUP_INVALID', 'the archive is damaged: a header checksum does not match');
  if (cstr(h, 257, 6) !== 'ustar') fail('BACKUP_INVALID', 'not a Liuhen backup archive (no ustar header)');
  const type = String.fromCharCode(h[156]!);
  const prefix = cstr(h, 345, 155);
  const base = cstr(h, 0, 100);
  const name = prefix ? `${prefix}/${base}` : base;
  if (type !== '0' && type !== '\0') fail('BACKUP_INVALID', `the archive holds an entry that is not a regular file: ${name.slice(0, 120)}`);
  return { name, size: parseOctal(h, 124, 12, 'size'), mode: parseOctal(h, 100, 8, 'mode') };
}

/** Writes a tar sequentially into an open file; each entry's SHA-256 is computed while it is written. */
export class TarWriter {
  private pos = 0;
  constructor(
    private readonly fh: FileHandle,
    private readonly mtime = Date.now(),
  ) {}

  /** Adds one entry from chunks (its size is known only at the end: the header is written last, in place). */
  async add(name: string, mode: number, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<{ bytes: number; sha256: string }> {
    const headerAt = this.pos;
    splitName(name); // fail before writing anything
    this.pos += BLOCK;
    const hash = createHash('sha256');
    let size = 0;
    for await (const c of chunks) {
      if (c.length === 0) continue;
      hash.update(c);
      await this.writeAll(c, this.pos);
      this.pos += c.length;
      size += c.length;
    }
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad) {
      await this.writeAll(Buffer.alloc(pad), this.pos);
      this.pos += pad;
    }
    await this.writeAll(tarHeader({ name, size, mode }, this.mtime), headerAt);
    return { bytes: size, sha256: hash.digest('hex') };
  }

  /** The end-of-archive marker: two zero blocks. */
  async end(): Promise<void> {
    await this.writeAll(Buffer.alloc(2 * BLOCK), this.pos);
    this.pos += 2 * BLOCK;
  }

  private async writeAll(b: Uint8Array, at: number): Promise<void> {
    let off = 0;
    while (off < b.length) {
      const { bytesWritten } = await this.fh.write(b, off, b.length - off, at + off);
      off += bytesWritten;
    }
  }
}

/**
 * Reads a tar sequentially: `onEntry` gets each entry with its bytes as chunks
 * (it must consume them all). A file that ends early (a partial copy) or whose
 * headers are damaged is BACKUP_INVALID.
 */
export async function readTar(fh: FileHandle, onEntry: (e: TarEntry, chunks: AsyncIterable<Buffer>) => Promise<void>): Promise<void> {
  let pos = 0;
  const readExactly = async (n: number, at: number): Promise<Buffer> => {
    const b = Buffer.alloc(n);
    let off = 0;
    while (off < n) {
      const { bytesRead } = await fh.read(b, off, n - off, at + off);
      if (bytesRead === 0) fail('BACKUP_INVALID', 'the archive is incomplete: it ends in the middle (a partial copy?)');
      off += bytesRead;
    }
    return b;
  };
  for (;;) {
    const h = await readExactly(BLOCK, pos);
    pos += BLOCK;
    const entry = parseTarHeader(h);
    if (!entry) {
      // The end marker is two zero blocks; a copy cut right after the first is still incomplete.
      const second = await readExactly(BLOCK, pos);
      if (!second.every((b) => b === 0)) fail('BACKUP_INVALID', 'the archive is damaged: data after an end-of-archive block');
      return;
    }
    const start = pos;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let off = 0; off < entry!.size; off += CHUNK) yield await readExactly(Math.min(CHUNK, entry!.size - off), start + off);
    }
    await onEntry(entry, chunks());
    pos = start + Math.ceil(entry.size / BLOCK) * BLOCK;
  }
}
