import type { Level } from 'level';
import { fail } from '../errors.js';

/**
 * A LevelDB as one stream of its entries, read from an explicit snapshot
 * (classic-level: `db.snapshot()`, the LevelDB `GetSnapshot` of
 * leveldb/include/leveldb/db.h): every write made before the snapshot and
 * none made after it — the point-in-time copy `liuhen backup` takes of the
 * journal and the notary log while they keep accepting writes. Raw bytes,
 * so sublevels and every encoding survive unchanged.
 *
 * Dump format (`liuhen-leveldump/1`): the magic line, then per entry
 * `u32be keyLength ‖ key ‖ u32be valueLength ‖ value`, in key order.
 */
export const LEVEL_DUMP_MAGIC = Buffer.from('liuhen-leveldump/1\n');

/** A point-in-time view of a LevelDB: taken when made, released by `close` (or at the end of `chunks`). */
export interface LevelSnapshot {
  /** The dump's bytes; `entries()` is the count once the iteration finished. */
  chunks(): AsyncGenerator<Uint8Array>;
  entries(): number;
  close(): Promise<void>;
}

type AnyLevel = Level<string, string>;

/** Takes the snapshot now (synchronously): writes after this call are not in it. */
export function snapshotLevel(db: AnyLevel): LevelSnapshot {
  const snapshot = db.snapshot();
  let count = 0;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await snapshot.close();
  };
  return {
    entries: () => count,
    close,
    async *chunks() {
      const it = db.iterator<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer', snapshot });
      try {
        yield LEVEL_DUMP_MAGIC;
        for (;;) {
          const batch = await it.nextv(1000);
          if (batch.length === 0) break;
          const parts: Buffer[] = [];
          for (const [k, v] of batch) {
            const kl = Buffer.alloc(4);
            kl.writeUInt32BE(k.length);
            const vl = Buffer.alloc(4);
            vl.writeUInt32BE(v.length);
            parts.push(kl, k, vl, v);
            count++;
          }
          yield Buffer.concat(parts);
        }
      } finally {
        await it.close();
        await close();
      }
    },
  };
}

/**
 * Writes a dump into an empty LevelDB, in synced batches; returns the entry
 * count. A dump that does not parse is BACKUP_INVALID (its SHA-256 was
 * checked before, so this means a broken backup writer, not a copy error).
 */
export async function loadLevelDump(db: AnyLevel, chunks: AsyncIterable<Uint8Array>, name: string): Promise<number> {
  let buf: Buffer = Buffer.alloc(0);
  let magicSeen = false;
  let count = 0;
  let batch: Array<{ type: 'put'; key: Buffer; value: Buffer }> = [];
  const flush = async () => {
    if (batch.length === 0) return;
    await db.batch(batch as never, { keyEncoding: 'buffer', valueEncoding: 'buffer', sync: true } as never);
    batch = [];
  };
  for await (const c of chunks) {
    buf = buf.length === 0 ? Buffer.from(c) : Buffer.concat([buf, c]);
    if (!magicSeen) {
      if (buf.length < LEVEL_DUMP_MAGIC.length) continue;
      if (!buf.subarray(0, LEVEL_DUMP_MAGIC.length).equals(LEVEL_DUMP_MAGIC)) fail('BACKUP_INVALID', `${name} is not a LevelDB dump of a Liuhen backup`);
      buf = buf.subarray(LEVEL_DUMP_MAGIC.length);
      magicSeen = true;
    }
    let off = 0;
    for (;;) {
      if (buf.length - off < 4) break;
      const kl = buf.readUInt32BE(off);
      if (buf.length - off < 8 + kl) break;
      const vl = buf.readUInt32BE(off + 4 + kl);
      if (buf.length - off < 8 + kl + vl) break;
      const key = Buffer.from(buf.subarray(off + 4, off + 4 + kl));
      const value = Buffer.from(buf.subarray(off + 8 + kl, off + 8 + kl + vl));
      batch.push({ type: 'put', key, value });
      count++;
      off += 8 + kl + vl;
    }
    buf = buf.subarray(off);
    if (batch.length >= 1000) await flush();
  }
  if (!magicSeen || buf.length !== 0) fail('BACKUP_INVALID', `${name} ends in the middle of an entry`);
  await flush();
  return count;
}
