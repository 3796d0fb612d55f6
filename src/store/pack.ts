/**
 * One object, one file: the blocks of an encrypted object are kept together
 * in a CARv1 file, `<dir>/objects/<xy>/<cid>.car` (xy = the next-to-last two
 * characters of the CID, the flatfs sharding rule).
 *
 * Why not one file per 256 KiB block (blockstore-fs / Kubo's flatfs): a 1 GiB
 * clip is 4096 block files. Creating a file costs ~1 ms of kernel time on
 * the machines we run on (measured: docs/store.md), so the store stayed
 * below half of `sha256sum`'s speed whatever we did; an archive of years of
 * body-camera video would also hold billions of inodes. A CAR per object is one
 * sequential write, is fsync'ed once, and is itself the transport format:
 * `ipfs dag import <cid>.car` puts the evidence into any IPFS node.
 *
 * Hostile input: the files (disk rot, tampering). Every block read is
 * re-hashed against its CID before use, and the header must name the CID the
 * file is filed under.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { readBlockHead, readHeader } from '@ipld/car/decoder';
import { CarWriter } from '@ipld/car/writer';
import { varint } from 'multiformats';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { create as createDigest } from 'multiformats/hashes/digest';
import { fsyncDir } from '../util/atomic-write.js';
import { fail, isLiuhenError } from '../errors.js';
import { MAX_CAR_BLOCK_BYTES } from './car.js';
import { SHA2_256_CODE } from './validate.js';

/** Placeholder root written first and replaced once the real root is known (same encoded length). */
const PLACEHOLDER_ROOT = CID.createV1(raw.code, createDigest(SHA2_256_CODE, new Uint8Array(32)));
let headerBytes: Promise<Uint8Array> | undefined;

/** The CARv1 header naming `PLACEHOLDER_ROOT`. */
function placeholderHeader(): Promise<Uint8Array> {
  headerBytes ??= (async () => {
    const { writer, out } = CarWriter.create([PLACEHOLDER_ROOT]);
    const parts: Uint8Array[] = [];
    const collect = (async () => {
      for await (const p of out) parts.push(p);
    })();
    await writer.close();
    await collect;
    return Buffer.concat(parts);
  })();
  return headerBytes;
}

/** Where an object's CAR file lives. */
export function objectPath(objectsDir: string, cid: CID): { folder: string; file: string } {
  const s = cid.toString();
  const folder = join(objectsDir, s.slice(-3, -1));
  return { folder, file: join(folder, `${s}.car`) };
}

async function writeAll(fh: FileHandle, bufs: Uint8Array[], position: number): Promise<void> {
  let pending = bufs;
  let pos = position;
  while (pending.length > 0) {
    const total = pending.reduce((n, b) => n + b.byteLength, 0);
    const { bytesWritten } = await fh.writev(pending, pos);
    pos += bytesWritten;
    if (bytesWritten === total) return;
    let skip = bytesWritten; // short write: drop what went out and retry the rest
    const rest: Uint8Array[] = [];
    for (const b of pending) {
      if (skip >= b.byteLength) skip -= b.byteLength;
      else {
        rest.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    pending = rest;
  }
}

export interface PackWriterOptions {
  /** fdatasync the file and fsync its folder before `finish` resolves. @default true */
  durable?: boolean;
  /** Bytes not yet on disk before `put` waits. @default 2 MiB */
  highWater?: number;
}

/**
 * Appends blocks to a temporary CAR file as the importer produces them
 * (write-behind, bounded), then files it under its root CID.
 */
export class PackWriter {
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private unwritten = 0;
  private position: number;
  private writing: Promise<void> | undefined;
  private current: Promise<void> | undefined;
  private error: unknown;
  private done = false;

  private constructor(
    private readonly fh: FileHandle,
    private readonly tmp: string,
    private readonly objectsDir: string,
    private readonly durable: boolean,
    private readonly highWater: number,
    headerLength: number,
  ) {
    this.position = headerLength;
  }

  static async create(objectsDir: string, incomingDir: string, options: PackWriterOptions = {}): Promise<PackWriter> {
    await mkdir(incomingDir, { recursive: true });
    // The pid lets the next open remove what a killed process left (spool.ts, sweepIncoming).
    const tmp = join(incomingDir, `${process.pid}-${randomBytes(12).toString('hex')}.car.tmp`);
    const fh = await open(tmp, 'wx+', 0o600);
    const header = await placeholderHeader();
    try {
      await writeAll(fh, [header], 0);
    } catch (e) {
      await fh.close();
      await rm(tmp, { force: true });
      throw e;
    }
    return new PackWriter(fh, tmp, objectsDir, options.durable ?? true, options.highWater ?? 2 * 1024 * 1024, header.length);
  }

  /** Queue one block; resolves once the bytes not yet on disk are under the high-water mark. */
  async put(cid: CID, bytes: Uint8Array): Promise<CID> {
    if (this.error !== undefined) throw this.error;
    if (this.done) throw new Error('PackWriter is finished');
    const cidBytes = cid.bytes;
    const len = cidBytes.byteLength + bytes.byteLength;
    const head = new Uint8Array(varint.encodingLength(len));
    varint.encodeTo(len, head, 0);
    this.queue.push(head, cidBytes, bytes);
    const n = head.byteLength + len;
    this.queuedBytes += n;
    this.unwritten += n;
    this.writing ??= this.drainLoop();
    // Wait for the write in progress only, so encryption and disk writes overlap.
    while (this.unwritten > this.highWater && this.current !== undefined) await this.current;
    if (this.error !== undefined) throw this.error;
    return cid;
  }

  /** Writes queued batches one after the other (one writev each) until the queue is empty. */
  private async drainLoop(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.error === undefined) {
        const bufs = this.queue;
        const n = this.queuedBytes;
        this.queue = [];
        this.queuedBytes = 0;
        const at = this.position;
        this.position += n;
        this.current = writeAll(this.fh, bufs, at).then(
          () => {
            this.unwritten -= n;
          },
          (e: unknown) => {
            this.error ??= e;
          },
        );
        await this.current;
      }
    } finally {
      this.current = undefined;
      this.writing = undefined;
    }
  }

  private async flushWrites(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
    if (this.queue.length > 0 && this.error === undefined) {
      this.writing = this.drainLoop();
      await this.writing;
    }
    if (this.error !== undefined) throw this.error;
  }

  /** Write the real root into the header, make it durable and file it as `<root>.car`. Returns the path. */
  async finish(root: CID): Promise<string> {
    try {
      await this.flushWrites();
      await CarWriter.updateRootsInFile(this.fh, [root]);
      if (this.durable) await this.fh.datasync();
    } catch (e) {
      await this.abort();
      throw e;
    }
    this.done = true;
    await this.fh.close();
    const { folder, file } = objectPath(this.objectsDir, root);
    try {
      await mkdir(folder, { recursive: true });
      await rename(this.tmp, file);
      if (this.durable) {
        await fsyncDir(folder);
        await fsyncDir(this.objectsDir);
      }
    } catch (e) {
      await rm(this.tmp, { force: true });
      throw e;
    }
    return file;
  }

  /** Flush and close without filing (a spool for CAR import); returns the temporary file, which the caller removes. */
  async seal(): Promise<string> {
    try {
      await this.flushWrites();
    } catch (e) {
      await this.abort();
      throw e;
    }
    this.done = true;
    await this.fh.close();
    return this.tmp;
  }

  /** Drop the temporary file (after a failed import). */
  async abort(): Promise<void> {
    this.error ??= new Error('aborted');
    while (this.writing !== undefined) await this.writing;
    if (!this.done) {
      this.done = true;
      await this.fh.close().catch(() => undefined);
    }
    await rm(this.tmp, { force: true });
  }
}

/** A seekable `BytesReader` (the @ipld/car decoder's interface) over a file: reads only what is asked. */
class FileBytesReader {
  pos = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private bufPos = 0;

  constructor(private readonly fh: FileHandle) {}

  private async at(length: number): Promise<Uint8Array> {
    const off = this.pos - this.bufPos;
    if (off >= 0 && off + length <= this.buf.byteLength) return this.buf.subarray(off, off + length);
    const size = Math.max(length, 512);
    const b = Buffer.allocUnsafe(size);
    const { bytesRead } = await this.fh.read(b, 0, size, this.pos);
    this.buf = b.subarray(0, bytesRead);
    this.bufPos = this.pos;
    return this.buf.subarray(0, Math.min(length, bytesRead));
  }

  async upTo(length: number): Promise<Uint8Array> {
    return this.at(length);
  }

  async exactly(length: number, seek = false): Promise<Uint8Array> {
    const b = await this.at(length);
    if (b.byteLength < length) throw new Error('Unexpected end of data');
    if (seek) this.pos += length;
    return b;
  }

  seek(length: number): void {
    this.pos += length;
  }
}

/** Random access to the blocks of one object file, each verified against its CID when read. */
export class PackReader {
  private constructor(
    private readonly fh: FileHandle,
    private readonly index: Map<string, { offset: number; length: number }>,
    private readonly where: string,
  ) {}

  /**
   * Open `file` and index its sections (reads only the section heads).
   * Requires a CARv1 whose only root is `root` (any roots when `root` is
   * undefined: a spool). `STORE_NOT_FOUND` when absent.
   */
  static async open(file: string, root: CID | undefined): Promise<PackReader> {
    const name = root?.toString() ?? 'spool';
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
        fail('STORE_NOT_FOUND', `no evidence object ${name} in the local store`, { details: { cid: name } });
      }
      fail('STORE_UNAVAILABLE', `cannot open the object file of ${name}`, { details: { cid: name }, cause });
    }
    try {
      const { size } = await fh.stat();
      const reader = new FileBytesReader(fh);
      const header = await readHeader(reader, 1);
      if (root !== undefined && (header.roots.length !== 1 || !header.roots[0]!.equals(root))) {
        fail('STORE_INTEGRITY', `the object file of ${name} names another root`, { details: { cid: name } });
      }
      const index = new Map<string, { offset: number; length: number }>();
      while (reader.pos < size) {
        const head = await readBlockHead(reader);
        if (head.blockLength > MAX_CAR_BLOCK_BYTES || reader.pos + head.blockLength > size) {
          fail('STORE_INTEGRITY', `the object file of ${name} is truncated or damaged`, { details: { cid: name } });
        }
        index.set(head.cid.toString(), { offset: reader.pos, length: head.blockLength });
        reader.seek(head.blockLength);
      }
      return new PackReader(fh, index, name);
    } catch (cause) {
      await fh.close();
      if (isLiuhenError(cause)) throw cause;
      fail('STORE_INTEGRITY', `the object file of ${name} is not a valid CARv1`, { details: { cid: name }, cause });
    }
  }

  /** The block `cid`, re-hashed (SHA-256 on the thread pool) against its CID. */
  async get(cid: CID): Promise<Uint8Array> {
    const at = this.index.get(cid.toString());
    if (at === undefined) {
      fail('STORE_INTEGRITY', `evidence object ${this.where} is incomplete: block ${cid.toString()} is missing`, {
        details: { cid: this.where, block: cid.toString(), missing: true },
      });
    }
    const bytes = Buffer.allocUnsafe(at.length);
    const { bytesRead } = await this.fh.read(bytes, 0, at.length, at.offset);
    if (bytesRead !== at.length) fail('STORE_INTEGRITY', `evidence object ${this.where} is truncated`, { details: { cid: this.where } });
    if (cid.multihash.code !== SHA2_256_CODE) fail('STORE_INTEGRITY', `block ${cid.toString()} is not sha2-256`, { details: { cid: this.where } });
    const digest = Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes));
    if (!digest.equals(cid.multihash.digest)) {
      fail('STORE_INTEGRITY', `block ${cid.toString()} of evidence object ${this.where} does not match its hash (disk damage or tampering)`, {
        details: { cid: this.where, block: cid.toString() },
      });
    }
    return bytes;
  }

  has(cid: CID): boolean {
    return this.index.has(cid.toString());
  }

  /** Number of distinct blocks in the file. */
  get blocks(): number {
    return this.index.size;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
