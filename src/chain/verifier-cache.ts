import type { JsonRpcProvider, Log, TransactionReceipt } from 'ethers';
import { NOTARY_ROLE, registryInterface, RegistryClient } from './registry.js';

/**
 * The verdict cache of the chain verifier (issue 11, goal 1): chain facts a
 * verdict relies on, kept so that a burst of verifications (a QR code gone
 * viral) costs no RPC per verdict — while the chain stays the authority.
 *
 * What is cached, per registry:
 * - batch facts (`batch(root)`) — only once FINAL: the block the registry holds
 *   the batch in has `finality` confirmations (1 on an instant-finality chain
 *   such as QBFT; `confirmations` otherwise). Absent or not-yet-final batches
 *   are read every time;
 * - the anchor transaction's receipt, only once found and final;
 * - notary roles (`hasRole`), the threshold and recorded co-signatures
 *   (`attestedAt`), read at the view's block — the last FINAL block
 *   (head - finality + 1), so a fact a reorganisation may still undo is
 *   never relied on — and kept until an event says they changed (below);
 * - that the registry has code.
 *
 * The invalidation rule. The view is synced with the chain at most every
 * `headTtlMs` (0: before every verification; concurrent verifications share
 * one sync). A sync reads the head and the block at the height of the last
 * sync: if that block's hash changed (a reorganisation or a rollback reached
 * below what was seen — including any block a cached fact came from, since a
 * changed block changes every hash after it) or is gone, EVERYTHING is
 * dropped; so is everything after more than 2,000 blocks without a sync, or
 * when the node will not list the logs. Otherwise the registry's logs since
 * the last sync are read:
 * `BatchCosigned(agency, root)` and `BatchNotarized(agency, root)` drop that
 * root's co-signatures;
 * `BatchAnchored` changes nothing cached (new batches are not cached until
 * final); any other event of the registry (roles granted or revoked, the
 * threshold changed, an event of a version 1 registry, anything a future
 * version adds) drops roles, threshold and co-signatures. A value read
 * while a drop happened is not stored (generation counter). So a verdict
 * served from the cache equals the uncached verdict against the chain as of
 * the last sync — at most `headTtlMs` old. A different registry is a
 * different view (nothing is shared between addresses), and whether the
 * registry is trusted is decided per verification, never cached.
 *
 * Whole verdicts (the gateway's memo of public verdicts) are keyed to the
 * same rule through `stamp(root)`: a string that changes whenever anything
 * above is dropped — every flush and every role/threshold/other event bumps
 * the view's epoch, a `BatchCosigned` or `BatchNotarized` of a root bumps that
 * root's epoch. A
 * verdict computed under a stamp is the uncached verdict for as long as the
 * stamp stays the same (and the view is synced as for any verification).
 */
export interface VerifierCacheOptions {
  /** How old the synced view may be, ms. @default 0 (synced before every verification) */
  headTtlMs?: number;
  /** Confirmations after which batch facts are final and cached. @default 1 */
  finality?: number;
  /** Entries per map before the oldest are dropped. @default 100000 */
  maxEntries?: number;
}

type StoredBatch = Awaited<ReturnType<RegistryClient['batch']>>;

/** Blocks since the last sync above which the view is dropped instead of scanning the registry's logs. */
const MAX_LOG_SCAN = 2_000;

const BATCH_ANCHORED = registryInterface.getEvent('BatchAnchored')!.topicHash;
const BATCH_COSIGNED = registryInterface.getEvent('BatchCosigned')!.topicHash;
const BATCH_NOTARIZED = registryInterface.getEvent('BatchNotarized')!.topicHash;

class Bounded<V> extends Map<string, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(k: string, v: V): this {
    super.set(k, v);
    if (this.size > this.max) this.delete(this.keys().next().value!);
    return this;
  }
}

export interface CacheStats {
  hits: number;
  misses: number;
  syncs: number;
  flushes: number;
}

let views = 0;

/** One registry's cached view of the chain (see the module comment). */
export class RegistryView {
  /** Distinguishes views, so a view dropped and made anew never repeats an old stamp. */
  private readonly id = ++views;
  /** The last final block the view synced to (the head itself when `finality` is 1). */
  private seen: { number: number; hash: string } | undefined;
  /** The head at that sync (confirmations of anchors are counted from it). */
  private headNumber = 0;
  private syncedAt = 0;
  private syncing: Promise<number> | undefined;
  private generation = 0;
  /** Bumped by every drop that may change any verdict (flush, roles, threshold, unknown events). */
  private epoch = 0;
  /** Bumped per root by its `BatchCosigned`/`BatchNotarized` events (they change that batch's verdicts only). */
  private readonly rootEpochs: Map<string, number> = new Map();
  private readonly maxEntries: number;
  private readonly ttl: number;
  private readonly finality: number;
  private readonly batches: Bounded<StoredBatch>;
  private readonly txs: Bounded<TransactionReceipt>;
  private readonly roles: Bounded<boolean>;
  private readonly cosigned: Bounded<number>;
  /** Other latest-state reads (device enrollments), dropped with the roles. */
  private readonly latest: Bounded<unknown>;
  private threshold: number | undefined;
  private deployed = false;
  readonly stats: CacheStats = { hits: 0, misses: 0, syncs: 0, flushes: 0 };

  constructor(
    readonly registry: RegistryClient,
    private readonly provider: JsonRpcProvider,
    o: VerifierCacheOptions = {},
    /** Called when the blocks seen were replaced or vanished (a reorganisation, a rollback, or a node restarted as another chain). */
    private readonly onReset?: () => void,
  ) {
    this.ttl = o.headTtlMs ?? 0;
    this.finality = Math.max(1, o.finality ?? 1);
    const max = (this.maxEntries = o.maxEntries ?? 100_000);
    this.batches = new Bounded(max);
    this.txs = new Bounded(max);
    this.roles = new Bounded(max);
    this.cosigned = new Bounded(max);
    this.latest = new Bounded(max);
    this.unpinned = new RegistryClient(registry.address, provider);
  }

  /**
   * The same registry read at the latest block: for batch facts (a batch anchored since the
   * sync must read as pending, never as unknown — they are kept only once final, in a block the
   * sync checked) and for a notary role not held at the synced block (granted since: not kept).
   */
  private readonly unpinned: RegistryClient;

  /**
   * A token for memoising whole verdicts about `root` (see the module comment):
   * equal tokens mean no fact such a verdict relies on was dropped in between.
   * Call after `head()`, which syncs the view.
   */
  stamp(root: string): string {
    return `${this.id}.${this.epoch}.${this.rootEpochs.get(root.toLowerCase()) ?? 0}`;
  }

  /**
   * The block the view last synced: its registry client reads at it (verifier.ts). A value
   * read at the latest block instead could come from a block the view never synced; were that
   * block reorganised away, the next sync — which checks the blocks it saw — would not notice,
   * and the value (a co-signature that is no longer on chain) would stay cached for good.
   */
  get syncedBlock(): number | undefined {
    return this.seen?.number;
  }

  /** Syncs the view if it is older than the TTL; resolves with the head block number. */
  head(): Promise<number> {
    if (this.seen && Date.now() - this.syncedAt <= this.ttl && this.ttl > 0) return Promise.resolve(this.headNumber);
    this.syncing ??= this.sync().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async sync(): Promise<number> {
    this.stats.syncs++;
    const seen = this.seen;
    // Read one after the other, and the blocks checked again AFTER the logs were listed: a
    // reorganisation landing between concurrent reads (the seen block re-read on the old
    // fork, the head read on the new one) would otherwise leave the seen block's replacement,
    // and any event in it, unread for good — the view would then take the new fork's head
    // as seen and never notice (a threshold raised in it stayed unseen, verdicts stayed verified).
    const head = await this.provider.getBlock('latest');
    if (!head?.hash) throw new Error('the node returned no latest block');
    // The view stands on the last FINAL block (issue 11: a verdict relies only on final chain
    // facts): with `finality` f, the head's f-th confirmation, head - f + 1. Co-signatures, roles,
    // the threshold and enrollments are read there, so a fact in a block a reorganisation may still
    // replace is not counted yet (the verdict is incomplete until it is final, and then verified).
    const latest = this.finality <= 1 ? head : await this.provider.getBlock(Math.max(0, head.number - this.finality + 1));
    if (!latest?.hash) throw new Error(`the node returned no block ${head.number - this.finality + 1}`);
    if (seen && latest.number <= seen.number) {
      // No new block: the seen one must still be there (a rollback below it, or a replacement at its height, drops everything).
      const again = latest.number === seen.number ? latest : await this.provider.getBlock(seen.number);
      if (!again || again.hash !== seen.hash) this.reset();
    } else if (seen && latest.number - seen.number > MAX_LOG_SCAN) {
      // Idle for long: re-reading is cheaper than scanning (and nodes cap log ranges). Whether the
      // seen block is still there is not known: the chain id is read again as after a reset.
      this.reset();
    } else if (seen) {
      let logs: Log[] | undefined;
      try {
        logs = await this.provider.getLogs({ address: this.registry.address, fromBlock: seen.number + 1, toBlock: latest.number });
      } catch {
        logs = undefined; // a node that will not list them: drop everything rather than guess
      }
      const [again, still] = await Promise.all([this.provider.getBlock(seen.number), this.provider.getBlock(latest.number)]);
      if (!again || again.hash !== seen.hash || !still || still.hash !== latest.hash) this.reset();
      else if (logs) for (const l of logs) this.apply(l);
      else this.flush();
    }
    this.seen = { number: latest.number, hash: latest.hash };
    this.headNumber = head.number;
    this.syncedAt = Date.now();
    return head.number;
  }

  /** The blocks seen were replaced or vanished: everything is dropped, and the verifier told (it may be another chain now). */
  private reset(): void {
    this.flush();
    this.onReset?.();
  }

  private apply(l: Log): void {
    const topic = l.topics[0];
    if (topic === BATCH_ANCHORED) return;
    // A co-signature, or the threshold reached by one: only that batch's co-signatures may have changed.
    if (topic === BATCH_COSIGNED || topic === BATCH_NOTARIZED) {
      let root: string | undefined;
      try {
        root = registryInterface.parseLog({ topics: [...l.topics], data: l.data })?.args.root as string | undefined;
      } catch {
        root = undefined;
      }
      if (root) {
        for (const k of [...this.cosigned.keys()]) if (k.includes(`|${root}|`)) this.cosigned.delete(k);
        const r = root.toLowerCase();
        // A forgotten root would read as epoch 0 again: when the map is full, start a new epoch instead.
        if (!this.rootEpochs.has(r) && this.rootEpochs.size >= this.maxEntries) {
          this.rootEpochs.clear();
          this.epoch++;
        }
        this.rootEpochs.set(r, (this.rootEpochs.get(r) ?? 0) + 1);
      } else {
        this.cosigned.clear();
        this.epoch++;
      }
      this.generation++;
      return;
    }
    // Roles, threshold, devices, anything else — or an event of another registry version: drop what may have changed.
    this.roles.clear();
    this.latest.clear();
    this.cosigned.clear();
    this.threshold = undefined;
    this.generation++;
    this.epoch++;
  }

  /** Drops everything (a reorganisation or rollback reached below what was seen). */
  flush(): void {
    this.stats.flushes++;
    this.generation++;
    this.epoch++;
    this.batches.clear();
    this.txs.clear();
    this.roles.clear();
    this.latest.clear();
    this.cosigned.clear();
    this.threshold = undefined;
    this.deployed = false;
    this.rootEpochs.clear();
  }

  /** Reads through the cache: `keep` decides whether the value may be stored. */
  private async through<V>(map: Map<string, V>, key: string, read: () => Promise<V>, keep: (v: V) => boolean): Promise<V> {
    const hit = map.get(key);
    if (hit !== undefined) {
      this.stats.hits++;
      return hit;
    }
    this.stats.misses++;
    const gen = this.generation;
    const v = await read();
    if (gen === this.generation && keep(v)) map.set(key, v);
    return v;
  }

  async isDeployed(): Promise<boolean> {
    if (this.deployed) return true;
    const gen = this.generation;
    const yes = (await this.provider.getCode(this.registry.address)) !== '0x';
    if (yes && gen === this.generation) this.deployed = true;
    return yes;
  }

  /** Batch facts; stored only when final at `head`. */
  batch(agency: string, root: string, head: number): Promise<StoredBatch> {
    return this.through(
      this.batches,
      `${agency}|${root}`,
      () => this.unpinned.batch(agency, root),
      (b) => b.exists && head - b.blockNumber + 1 >= this.finality,
    );
  }

  /** The anchor transaction's receipt; stored only when found and final at `head`. */
  transaction(hash: string, head: number): Promise<TransactionReceipt | null> {
    return this.through(
      this.txs,
      hash,
      () => this.provider.getTransactionReceipt(hash),
      (t) => !!t && head - t.blockNumber + 1 >= this.finality,
    ) as Promise<TransactionReceipt | null>;
  }

  async isNotary(account: string): Promise<boolean> {
    const atSync = await this.through(
      this.roles,
      account,
      () => this.registry.hasRole(NOTARY_ROLE, account),
      () => true,
    );
    // Not a notary at the synced block: granted since (within the TTL)? Asked at the latest block, never kept —
    // only where every block is final at once (finality 1); otherwise a grant counts once final.
    return atSync || (this.finality <= 1 && this.unpinned.hasRole(NOTARY_ROLE, account));
  }

  attestedAt(agency: string, root: string, notary: string): Promise<number> {
    return this.through(
      this.cosigned,
      `${agency}|${root}|${notary}`,
      () => this.registry.attestedAt(agency, root, notary),
      () => true,
    );
  }

  /**
   * Any other latest-state read of the registry (e.g. a device's enrollment
   * history): kept until an event other than BatchAnchored/BatchCosigned/BatchNotarized
   * (enrollments, rotations and revocations are such events) or a flush.
   */
  latestState<V>(key: string, read: () => Promise<V>): Promise<V> {
    return this.through(this.latest as Bounded<V>, key, read, () => true);
  }

  async notaryThreshold(): Promise<number> {
    if (this.threshold !== undefined) {
      this.stats.hits++;
      return this.threshold;
    }
    this.stats.misses++;
    const gen = this.generation;
    const t = await this.registry.notaryThreshold();
    if (gen === this.generation) this.threshold = t;
    return t;
  }
}
