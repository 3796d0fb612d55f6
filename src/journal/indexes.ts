import { fail } from '../errors.js';
import { MerkleTree } from '../merkle/tree.js';
import { toHex } from '../util/hex.js';
import { agencyHeadSchema, batchInfoSchema, decode, decodeJson, queueEntrySchema, storedRecordSchema } from './codecs.js';
import type { JournalDisk } from './disk.js';
import { end, K } from './keys.js';
import type { AgencyHead, BatchInfo, QueueEntry, SealedRecordLocation, StoredRecord } from './types.js';
import { z } from 'zod';

const decimal = z
  .string()
  .regex(/^\d{1,16}$/)
  .transform(Number);
const batchRef = z.string().regex(/^[A-Za-z0-9._-]{1,31}:\d{1,16}$/);

/**
 * The journal's read side: records, batches and the indexes over them, read
 * from the disk and validated (codecs.ts). Nothing here writes, so readers
 * never contend with the appender's locks; what they read is whatever the
 * last synced write left.
 */
export class JournalIndexes {
  /** The last batch's tree: receipts of one batch come together. The sealer fills it after a seal. */
  treeCache: { root: string; tree: MerkleTree } | undefined;

  constructor(private readonly disk: JournalDisk) {}

  /** The LevelDB, or JOURNAL_IO while the journal is reopening after a failed write (a moment, or until the disk has room again). */
  private get db() {
    const db = this.disk.db;
    if (db.status === 'closed' || db.status === 'closing') {
      if (this.disk.closed) fail('JOURNAL_CLOSED', `the journal in ${this.disk.dir} is closed`);
      fail('JOURNAL_IO', `the journal in ${this.disk.dir} is reopening after a failed write; try again later`);
    }
    return db;
  }

  async agencyHead(agency: string): Promise<AgencyHead | undefined> {
    const key = K.agencyHead(agency);
    const v = await this.db.get(key);
    return v === undefined ? undefined : decodeJson(agencyHeadSchema, v, key);
  }

  async hasRecord(id: string): Promise<boolean> {
    return (await this.db.get(K.record(id))) !== undefined;
  }

  async getRecord(id: string): Promise<StoredRecord | undefined> {
    const key = K.record(id);
    const v = await this.db.get(key);
    return v === undefined ? undefined : decodeJson(storedRecordSchema, v, key);
  }

  /** The batch holding a record and its index there, or undefined while it is pending. */
  async locate(stored: StoredRecord): Promise<SealedRecordLocation | undefined> {
    const agency = stored.record.agency;
    for await (const [key, seq] of this.db.iterator({ gte: K.batchByAck(agency, stored.ack), lt: end(K.batchByAckPrefix(agency)), limit: 1 })) {
      const batch = await this.getBatch(agency, decode(decimal, seq, key));
      if (batch && batch.firstAck <= stored.ack) return { batch, index: stored.ack - batch.firstAck };
    }
    return undefined;
  }

  async getBatch(agency: string, seq: number): Promise<BatchInfo | undefined> {
    const key = K.batch(agency, seq);
    const v = await this.db.get(key);
    return v === undefined ? undefined : decodeJson(batchInfoSchema, v, key);
  }

  async getBatchByRoot(root: string): Promise<BatchInfo | undefined> {
    const key = K.batchByRoot(root);
    const ref = await this.db.get(key);
    if (ref === undefined) return undefined;
    const checked = decode(batchRef, ref, key);
    const i = checked.lastIndexOf(':');
    return this.getBatch(checked.slice(0, i), Number(checked.slice(i + 1)));
  }

  async *batches(agency: string, options: { afterSeq?: number; limit?: number } = {}): AsyncGenerator<BatchInfo> {
    const gt = K.batch(agency, options.afterSeq ?? 0);
    for await (const [k, v] of this.db.iterator({ gt, lt: end(K.batchPrefix(agency)), limit: options.limit ?? -1 })) yield decodeJson(batchInfoSchema, v, k);
  }

  /** Queue entries of an agency from ack `from` on, in journal order. */
  async *queue(agency: string, from: number, limit: number): AsyncGenerator<QueueEntry> {
    for await (const [k, v] of this.db.iterator({ gte: K.queue(agency, from), lt: end(K.queuePrefix(agency)), limit }))
      yield decodeJson(queueEntrySchema, v, k);
  }

  /** Records of an agency in journal (ack) order, after `afterAck`, at most `limit`. */
  async *agencyRecords(agency: string, options: { afterAck?: number; limit?: number } = {}): AsyncGenerator<StoredRecord> {
    // Read in slices with one getMany each: a follower (src/stats) reads thousands per step, and
    // one get per record costs a round trip to LevelDB's thread each. Every record is still validated.
    const SLICE = 256;
    let from = (options.afterAck ?? 0) + 1;
    let left = options.limit ?? -1;
    for (;;) {
      const ids: string[] = [];
      for await (const e of this.queue(agency, from, left < 0 ? SLICE : Math.min(SLICE, left))) ids.push(e.id);
      if (ids.length === 0) return;
      const keys = ids.map((id) => K.record(id));
      const values = await this.db.getMany(keys);
      for (let i = 0; i < keys.length; i++) {
        const v = values[i];
        if (v !== undefined) yield decodeJson(storedRecordSchema, v, keys[i]!);
      }
      from += ids.length;
      if (left >= 0 && (left -= ids.length) <= 0) return;
      if (ids.length < SLICE) return;
    }
  }

  async tree(root: string): Promise<MerkleTree> {
    if (this.treeCache?.root === root) return this.treeCache.tree;
    void this.db; // refuses while reopening, as every read here
    const leaves = await this.disk.blobs.get(root);
    if (!leaves) fail('BATCH_NOT_FOUND', `no sealed batch with root ${root}`);
    const tree = MerkleTree.fromLeafHashes(Buffer.from(leaves.buffer, leaves.byteOffset, leaves.byteLength));
    if (toHex(tree.root) !== root) fail('JOURNAL_CORRUPT', `stored leaves of batch ${root} give root ${toHex(tree.root)}`);
    this.treeCache = { root, tree };
    return tree;
  }

  async recordIdByLeaf(leaf: string): Promise<string | undefined> {
    return this.db.get(K.leaf(leaf));
  }

  /** The id journaled in a device's chain slot, if any. */
  async deviceSlot(device: string, seq: number): Promise<string | undefined> {
    return this.db.get(K.deviceIndex(device, seq));
  }

  async *deviceRecords(device: string, options: { afterSeq?: number; limit?: number } = {}): AsyncGenerator<StoredRecord> {
    const prefix = K.deviceIndexPrefix(device);
    for await (const id of this.db.values({ gt: K.deviceIndex(device, options.afterSeq ?? 0), lt: end(prefix), limit: options.limit ?? -1 })) {
      const r = await this.getRecord(id);
      if (r) yield r;
    }
  }

  async *caseRecords(caseId: string): AsyncGenerator<StoredRecord> {
    const prefix = K.caseIndexPrefix(caseId);
    for await (const id of this.db.values({ gte: prefix, lt: end(prefix) })) {
      const r = await this.getRecord(id);
      if (r) yield r;
    }
  }
}
