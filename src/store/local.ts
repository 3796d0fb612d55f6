/**
 * The default backend: encrypted objects in the data folder, one CARv1 file
 * per object (`<dir>/objects/<xy>/<cid>.car`, see pack.ts). Objects are
 * imported with Kubo-compatible UnixFS settings (unixfs.ts), so a CID here is
 * the CID Kubo gives the same bytes, and read back with
 * ipfs-unixfs-exporter, in bounded windows.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { exporter, type UnixFSEntry } from 'ipfs-unixfs-exporter';
import type { CID } from 'multiformats/cid';
import { fail, isLiuhenError } from '../errors.js';
import type { ObjectBackend } from './backend.js';
import { writeCar } from './car.js';
import { dagBudget, walkDag } from './dag.js';
import { objectPath, PackReader, PackWriter } from './pack.js';
import { spoolCar, sweepIncoming } from './spool.js';
import { importOne } from './unixfs.js';

export interface LocalBackendOptions {
  /** fdatasync each object file and fsync its folder before `add`/`importCar` resolve. @default true */
  durable?: boolean;
  /** Bytes read ahead by `cat` (two windows at most are in memory). @default 4 MiB */
  readWindow?: number;
}

const DEFAULT_READ_WINDOW = 4 * 1024 * 1024;

export class LocalBackend implements ObjectBackend {
  readonly kind = 'local' as const;
  private readonly objects: string;
  private readonly incoming: string;

  private constructor(
    readonly dir: string,
    private readonly durable: boolean,
    private readonly window: number,
  ) {
    this.objects = join(dir, 'objects');
    this.incoming = join(dir, 'incoming');
  }

  /** Open the store under `dir` (folders are created on first write). */
  static async open(dir: string, options: LocalBackendOptions = {}): Promise<LocalBackend> {
    if (typeof dir !== 'string' || dir.length === 0) fail('INVALID_INPUT', 'the local store needs a data folder');
    const window = options.readWindow ?? DEFAULT_READ_WINDOW;
    if (!Number.isInteger(window) || window < 262_144) fail('INVALID_INPUT', 'readWindow must be at least 262144 bytes');
    const st = await stat(dir).catch(() => undefined);
    if (st !== undefined && !st.isDirectory()) fail('STORE_UNAVAILABLE', `${dir} is not a folder`, { details: { dir } });
    const backend = new LocalBackend(dir, options.durable ?? true, window);
    // Spools and half-written objects of a process killed mid-import.
    await sweepIncoming(backend.incoming);
    return backend;
  }

  private writer(): Promise<PackWriter> {
    return PackWriter.create(this.objects, this.incoming, { durable: this.durable });
  }

  async add(content: AsyncIterable<Uint8Array>): Promise<CID> {
    const pack = await this.writer();
    let cid: CID;
    try {
      ({ cid } = await importOne(content, pack));
    } catch (e) {
      await pack.abort();
      throw e;
    }
    await pack.finish(cid);
    return cid;
  }

  async has(cid: CID): Promise<boolean> {
    const st = await stat(objectPath(this.objects, cid).file).catch(() => undefined);
    return st?.isFile() === true;
  }

  private reader(cid: CID): Promise<PackReader> {
    return PackReader.open(objectPath(this.objects, cid).file, cid);
  }

  private static async entry(cid: CID, blocks: PackReader): Promise<UnixFSEntry> {
    try {
      return await exporter(cid, { get: (c: CID) => one(blocks.get(c)) });
    } catch (cause) {
      if (isLiuhenError(cause)) throw cause;
      fail('STORE_INTEGRITY', `evidence object ${cid.toString()} is not a readable UnixFS file`, { details: { cid: cid.toString() }, cause });
    }
  }

  /**
   * The exporter pushes blocks into an unbounded queue as fast as the disk
   * allows; a slow reader (an HTTP client) would make it buffer the whole
   * file. So the file is read in windows of `readWindow` bytes, the next one
   * prefetched while the current one is consumed: at most two in memory.
   */
  async *cat(cid: CID): AsyncGenerator<Uint8Array, void, undefined> {
    const blocks = await this.reader(cid);
    try {
      const entry = await LocalBackend.entry(cid, blocks);
      if (entry.type !== 'file' && entry.type !== 'raw') {
        fail('STORE_INTEGRITY', `${cid.toString()} is a ${entry.type}, not a file`, { details: { cid: cid.toString() } });
      }
      const total = Number(entry.size);
      const readWindow = async (offset: number): Promise<Uint8Array[]> => {
        const parts: Uint8Array[] = [];
        try {
          for await (const c of entry.content({ offset, length: Math.min(this.window, total - offset) })) parts.push(c);
        } catch (cause) {
          if (isLiuhenError(cause)) throw cause;
          fail('STORE_INTEGRITY', `evidence object ${cid.toString()} cannot be read`, { details: { cid: cid.toString(), offset }, cause });
        }
        return parts;
      };
      let offset = 0;
      let next: Promise<Uint8Array[]> | undefined = total > 0 ? readWindow(0) : undefined;
      while (next !== undefined) {
        const parts: Uint8Array[] = await next;
        offset += this.window;
        next = offset < total ? readWindow(offset) : undefined;
        next?.catch(() => undefined); // surfaced when awaited; no unhandled rejection if the reader stops early
        for (const p of parts) yield p;
      }
    } finally {
      await blocks.close();
    }
  }

  exportCar(cids: readonly CID[], sink: Writable): Promise<void> {
    const self = this;
    return writeCar(cids, sink, async function* (root) {
      const blocks = await self.reader(root);
      try {
        yield* walkDag(root, (c) => blocks.get(c), dagBudget(blocks.blocks));
      } finally {
        await blocks.close();
      }
    });
  }

  /**
   * Import a CARv1: its verified blocks are spooled to a temporary file (each
   * once), then each root's DAG is walked within the limits of dag.ts and
   * copied into that root's own object file, each block once. The spool is
   * removed whatever happens; a root already imported stays (it is complete).
   */
  async importCar(source: AsyncIterable<Uint8Array>): Promise<CID[]> {
    const spool = await spoolCar(source, this.objects, this.incoming);
    try {
      const budget = dagBudget(spool.blocks);
      for (const root of spool.roots) {
        if (!spool.reader.has(root)) fail('STORE_INTEGRITY', `the CAR does not hold its root ${root.toString()}`, { details: { cid: root.toString() } });
        const pack = await this.writer();
        try {
          for await (const block of walkDag(root, (c) => spool.reader.get(c), budget)) await pack.put(block.cid, block.bytes);
        } catch (e) {
          await pack.abort();
          if (isLiuhenError(e, 'STORE_INTEGRITY') && e.details?.missing === true) {
            fail('STORE_INTEGRITY', `the CAR is incomplete: root ${root.toString()} lacks block ${String(e.details.block)}`, {
              details: { cid: root.toString(), block: e.details.block },
            });
          }
          throw e;
        }
        await pack.finish(root);
      }
    } finally {
      await spool.discard();
    }
    return spool.roots;
  }

  async close(): Promise<void> {
    // nothing held open between calls
  }
}

async function* one(p: Promise<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  yield await p;
}
