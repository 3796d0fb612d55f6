import { fail } from '../errors.js';
import { MAX_TREE_SIZE, MerkleTree } from '../merkle/tree.js';
import { fromHex, toHex, ZERO32 } from '../util/hex.js';
import type { JournalDisk } from './disk.js';
import type { JournalIndexes } from './indexes.js';
import { K } from './keys.js';
import type { AgencyHead, BatchInfo, QueueEntry } from './types.js';

export interface SealOptions {
  /** Largest batch; more pending records are sealed into several batches. Default and maximum 2^20. */
  maxBatchSize?: number;
  /** Clock for `sealedAt` (tests). */
  now?: () => Date;
}

/** Where the appender stands per agency: the last ack journaled. */
export interface AckSource {
  ack(agency: string): number;
  agencies(): string[];
}

/**
 * Seals an agency's pending records (a contiguous range of its journal order)
 * into batches chained by root. Each batch, its packed leaves and the agency
 * head are one atomic synced write, so a crash leaves no batch or a whole
 * one. Seals run one at a time; the seal policy (when to seal) is beside this
 * file, in seal-policy.ts.
 */
export class Sealer {
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly disk: JournalDisk,
    private readonly indexes: JournalIndexes,
    private readonly acks: AckSource,
  ) {}

  /** Agencies with records not yet in a batch. */
  async pendingAgencies(): Promise<string[]> {
    const out: string[] = [];
    for (const agency of this.acks.agencies()) {
      if ((await this.pendingCount(agency)) > 0) out.push(agency);
    }
    return out.sort();
  }

  async pendingCount(agency: string): Promise<number> {
    const head = await this.indexes.agencyHead(agency);
    return this.acks.ack(agency) - (head?.sealedThrough ?? 0);
  }

  /** The oldest unsealed record of an agency (for the real-time seal policy). */
  async oldestPending(agency: string): Promise<QueueEntry | undefined> {
    const head = await this.indexes.agencyHead(agency);
    for await (const e of this.indexes.queue(agency, (head?.sealedThrough ?? 0) + 1, 1)) return e;
    return undefined;
  }

  /**
   * Seals every pending record of `agency` (durable at the time of the call)
   * into batches of at most `maxBatchSize`, each chained to the previous root.
   * Returns the new batches, empty when nothing was pending.
   */
  seal(agency: string, options: SealOptions = {}): Promise<BatchInfo[]> {
    const run = this.lock.then(() => this.disk.track(() => this.sealNow(agency, options)));
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Resolves when the seals queued so far have ended. */
  idle(): Promise<unknown> {
    return this.lock;
  }

  async sealAll(options: SealOptions = {}): Promise<BatchInfo[]> {
    const out: BatchInfo[] = [];
    for (const agency of await this.pendingAgencies()) out.push(...(await this.seal(agency, options)));
    return out;
  }

  private async sealNow(agency: string, options: SealOptions): Promise<BatchInfo[]> {
    this.disk.assertUsable();
    const max = Math.min(options.maxBatchSize ?? MAX_TREE_SIZE, MAX_TREE_SIZE);
    if (!Number.isInteger(max) || max < 1) fail('INVALID_INPUT', `maxBatchSize must be a positive integer, got ${options.maxBatchSize}`);
    const now = options.now ?? (() => new Date());
    const out: BatchInfo[] = [];
    for (;;) {
      const head = await this.indexes.agencyHead(agency);
      const from = (head?.sealedThrough ?? 0) + 1;
      const leaves: Buffer[] = [];
      let first = '';
      let last = '';
      for await (const e of this.indexes.queue(agency, from, max)) {
        leaves.push(Buffer.from(fromHex(e.leaf, 32)));
        if (!first || Date.parse(e.capturedAt) < Date.parse(first)) first = e.capturedAt;
        if (!last || Date.parse(e.capturedAt) > Date.parse(last)) last = e.capturedAt;
      }
      if (leaves.length === 0) return out;
      const packed = Buffer.concat(leaves);
      const tree = MerkleTree.fromLeafHashes(packed);
      const root = toHex(tree.root);
      const batch: BatchInfo = {
        agency,
        seq: (head?.seq ?? 0) + 1,
        root,
        size: leaves.length,
        prevRoot: head?.root ?? ZERO32,
        firstAck: from,
        firstCapturedAt: first,
        lastCapturedAt: last,
        sealedAt: now().toISOString(),
      };
      if (await this.disk.db.get(K.batchByRoot(root))) {
        // Only possible with identical leaves, which random salts rule out; never overwrite a batch.
        fail('JOURNAL_CORRUPT', `batch root ${root} already exists`);
      }
      const newHead: AgencyHead = { seq: batch.seq, root, sealedThrough: from + leaves.length - 1 };
      const puts = [
        { type: 'put' as const, key: K.batch(agency, batch.seq), value: JSON.stringify(batch) },
        { type: 'put' as const, key: K.batchByRoot(root), value: `${agency}:${batch.seq}` },
        { type: 'put' as const, key: K.batchByAck(agency, newHead.sealedThrough), value: String(batch.seq) },
        { type: 'put' as const, key: K.agencyHead(agency), value: JSON.stringify(newHead) },
        { type: 'put' as const, sublevel: this.disk.blobs as never, key: root, value: packed as never },
      ];
      await this.disk.write(() => this.disk.db.batch(puts, { sync: true }));
      this.indexes.treeCache = { root, tree };
      out.push(batch);
      // A partial batch took everything durable at the time of the call; records
      // arriving meanwhile wait for the next seal instead of making tiny batches.
      if (leaves.length < max) return out;
    }
  }
}
