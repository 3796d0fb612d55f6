import { getAddress, type FeeData, type JsonRpcProvider, type Signer } from 'ethers';
import type { LiuhenConfig } from '../config.js';
import { fail, isLiuhenError, LiuhenError } from '../errors.js';
import type { Journal } from '../journal/journal.js';
import type { BatchInfo } from '../journal/types.js';
import { sealIsDue } from '../journal/seal-policy.js';
import { Outbox, gasLimitFor } from './outbox.js';
import { RegistryClient, decodeRegistryError, registryRevert, type AnchorLog } from './registry.js';
import { assertChainId, connect, isNetworkError, onChain, redactUrl, unreachable } from './rpc.js';
import { checkpointSeq } from './deploy.js';
import { backoffDelay } from '../util/backoff.js';
import { SerialMutex } from '../util/mutex.js';
import { ignoreAbort, sleep } from '../util/sleep.js';
import {
  factsNeeded,
  isAnchored,
  readAnchorState,
  relocateAction,
  sameDeployment,
  transition,
  type AnchorAction,
  type AnchoredState,
  type AnchorFacts,
  type AnchorLocation,
  type AnchorState,
  type AnchorTx,
  type FinalState,
  type PendingState,
  type RegistryFact,
  type SignedState,
  type SubmittedState,
} from './state.js';

/**
 * The anchorer: puts every sealed batch of the config's agency on chain, in
 * `seq` order, one `anchor` transaction per batch, crash-safe (see state.ts
 * for the state machine).
 *
 * Exactly once: the registry refuses a root twice and a `prevRoot` that is not
 * the agency's last root, so the chain itself can never hold a batch twice or
 * out of order; the anchorer's job is to waste nothing and leave no nonce gap.
 * It therefore always (1) asks the registry whether the batch is already
 * there, (2) looks for its stored transaction by hash, (3) resends that exact
 * transaction while its nonce is still free, and (4) signs a new one only when
 * the stored one can no longer be mined (reverted, nonce used by another
 * transaction, or a nonce beyond the account's next one after a chain reset).
 */

export type AnchorEvent =
  | { type: 'sealed'; agency: string; seq: number; root: string; size: number; firstAck: number }
  | { type: 'signed'; seq: number; root: string; nonce: number; txHash: string }
  | { type: 'submitted'; seq: number; root: string; txHash: string; rebroadcast: boolean }
  | ({ type: 'anchored'; seq: number; root: string; size: number; firstAck: number } & AnchorLocation)
  /** `confirmations`: blocks on top of the anchor block. */
  | { type: 'final'; seq: number; root: string; blockNumber: number; confirmations: number }
  | { type: 'reorged'; seq: number; root: string; blockNumber: number; blockHash: string; detail: string }
  | { type: 'resign'; seq: number; root: string; nonce: number; reason: string }
  | { type: 'chain-down'; rpc: string; attempt: number; retryInMs: number; message: string }
  | { type: 'chain-up'; rpc: string; chainId: number; head: number }
  | { type: 'error'; code: string; message: string; retryInMs: number };

export interface AnchorerParameters {
  journal: Journal;
  /** Needs `agency`, `chain` (rpc, chainId, registry, confirmations, deployBlock) and, for `run`, `seal`. */
  config: Pick<LiuhenConfig, 'agency' | 'chain' | 'seal'>;
  /** Signs transactions offline (an ethers Wallet, or any Signer whose `signTransaction` works without sending). Must be bound to the agency. */
  signer: Signer;
  /** A provider for the chain; by default one is connected to `config.chain.rpc` (and destroyed by `close`). */
  provider?: JsonRpcProvider | undefined;
  onEvent?: ((e: AnchorEvent) => void) | undefined;
  /** Anchor transactions in flight at once (signed, not yet mined). @default 8 */
  maxInFlight?: number | undefined;
  /** Pause between passes when nothing moved, ms. @default 200 */
  pollMs?: number | undefined;
  /** Retry delays while the chain is down: doubling from `initialMs` up to `maxMs`. @default { initialMs: 500, maxMs: 30000 } */
  backoff?: { initialMs?: number; maxMs?: number } | undefined;
  /**
   * Real-time sealing (`run`): besides N records or T seconds (config `seal`),
   * records waiting at least this long are sealed as soon as every earlier
   * batch is anchored — the chain is idle, so a small batch costs no latency
   * and the next one grows while this one is mined. Smaller than T: capture →
   * anchored stays under a second at a steady rate, while batches stay large
   * enough that gas per record stays within a few times that of T-sized ones.
   * @default 0.5 (never more than `seal.maxSeconds`)
   */
  sealMinSeconds?: number | undefined;
}

export interface AnchorPendingOptions {
  signal?: AbortSignal;
  /** Give up (CHAIN_UNREACHABLE, or the last error) after this long without finishing. @default no limit */
  timeoutMs?: number;
}

export interface AnchorSummary {
  /** Batches of the agency now anchored or final on chain. */
  anchored: number;
  /** Of which final (enough confirmations). */
  final: number;
  /** Batches newly seen anchored during this call. */
  newlyAnchored: number;
  head: number;
}

export interface Anchorer {
  readonly agency: string;
  /** Anchors every sealed batch and waits until each is mined. Retries with backoff while the chain is down. */
  anchorPending(options?: AnchorPendingOptions): Promise<AnchorSummary>;
  /** Seals the agency's pending records when the real-time policy says so (N records or T seconds). */
  sealDue(): Promise<BatchInfo[]>;
  /** Seals by policy and anchors continuously until `signal` aborts; never throws for chain trouble (it reports events). */
  run(signal: AbortSignal): Promise<void>;
  /** The stored anchor state of a batch. */
  state(root: string): Promise<AnchorState | undefined>;
  /** Releases the provider it created. */
  close(): void;
}

/** Creates an anchorer. Nothing touches the chain until the first pass. */
export function createAnchorer(p: AnchorerParameters): Anchorer {
  return new ChainAnchorer(p);
}

const DEFAULT_GAS_LIMIT = 300_000n;
const LOG_CHUNK = 10_000;

/** The next free nonce of the anchoring key during one pass, and the pass's fee data (fetched once). */
interface PassNonce {
  next: number;
  fees?: FeeData;
}

/** What one pass shares between the steps of its batches. */
interface StepContext {
  provider: JsonRpcProvider;
  registry: RegistryClient;
  me: string;
  head: number;
  minedNonce: number;
  nonce: PassNonce;
  /** Our anchor transactions signed and not yet mined, so far in this pass. */
  inFlight: number;
  /** A batch could not be sent (too many in flight): later ones wait too, to keep seq order. */
  blocked: boolean;
}

interface PassResult {
  inFlight: number;
  pendingLeft: number;
  progressed: boolean;
  head: number;
}

class ChainAnchorer implements Anchorer {
  readonly agency: string;
  private readonly chain: NonNullable<LiuhenConfig['chain']> & { registry: string };
  private readonly journal: Journal;
  private readonly signer: Signer;
  private readonly emit: (e: AnchorEvent) => void;
  private readonly maxInFlight: number;
  private readonly pollMs: number;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly seal: { maxRecords: number; maxSeconds: number };
  private provider: JsonRpcProvider | undefined;
  private readonly ownsProvider: boolean;
  private registry: RegistryClient | undefined;
  private address: string | undefined;
  /** Checks done since the last (re)connection: registry code, binding, full scan. */
  private verified = false;
  /** Every batch with seq ≤ cursor is final and was checked. */
  private cursor = 0;
  /** Batches up to this seq are anchored on a registry the folder moved away from (`liuhen registry migrate`): never anchored again. */
  private readonly floor: number;
  private gasLimit = DEFAULT_GAS_LIMIT;
  private firstPendingSeen: number | undefined;
  /** Every sealed batch was anchored at the end of the last pass (nothing in flight, nothing waiting to be sent). */
  private anchorIdle = true;
  private readonly sealMinMs: number;
  /** Wakes the anchoring loop of `run` early (a batch was just sealed). */
  private wake: (() => void) | undefined;
  private newlyAnchored = 0;
  private readonly passes = new SerialMutex();
  private outbox_: { provider: JsonRpcProvider; outbox: Outbox } | undefined;

  constructor(p: AnchorerParameters) {
    if (!p.config.chain?.registry) fail('REGISTRY_MISSING', 'the config has no chain registry; run `liuhen deploy` first');
    this.chain = p.config.chain as ChainAnchorer['chain'];
    this.agency = p.config.agency;
    this.floor = checkpointSeq(this.chain, this.agency);
    this.cursor = this.floor;
    this.journal = p.journal;
    this.signer = p.signer;
    this.emit = p.onEvent ?? (() => {});
    this.maxInFlight = Math.max(1, p.maxInFlight ?? 8);
    this.pollMs = p.pollMs ?? 200;
    this.backoff = { initialMs: p.backoff?.initialMs ?? 500, maxMs: p.backoff?.maxMs ?? 30_000 };
    this.seal = p.config.seal ?? { maxRecords: 1000, maxSeconds: 2 };
    this.sealMinMs = Math.max(0, Math.min(p.sealMinSeconds ?? 0.5, this.seal.maxSeconds)) * 1000;
    this.provider = p.provider;
    this.ownsProvider = !p.provider;
  }

  state(root: string): Promise<AnchorState | undefined> {
    return this.journal.getAnchorState<AnchorState>(root);
  }

  close(): void {
    if (this.ownsProvider) this.provider?.destroy();
    this.provider = undefined;
  }

  // ── loops ────────────────────────────────────────────────────────────────

  async anchorPending(options: AnchorPendingOptions = {}): Promise<AnchorSummary> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    const startAnchored = this.newlyAnchored;
    let attempt = 0;
    for (;;) {
      options.signal?.throwIfAborted();
      try {
        const r = await this.serialPass();
        attempt = 0;
        if (r.inFlight === 0 && r.pendingLeft === 0) return { ...(await this.count()), newlyAnchored: this.newlyAnchored - startAnchored, head: r.head };
        if (!r.progressed) {
          if (Date.now() > deadline)
            fail(
              'CHAIN_UNREACHABLE',
              `gave up after ${options.timeoutMs} ms: ${r.inFlight} anchor transaction(s) still not mined on ${redactUrl(this.chain.rpc)}`,
            );
          await sleep(this.pollMs, options.signal);
        }
      } catch (e) {
        if (!isNetworkError(e)) throw e;
        const wait = this.retryDelay(++attempt);
        if (Date.now() + wait > deadline) throw unreachable(this.chain.rpc, e);
        this.emit({ type: 'chain-down', rpc: redactUrl(this.chain.rpc), attempt, retryInMs: wait, message: describe(e) });
        await sleep(wait, options.signal);
      }
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    // Polled often enough that a record waits at most this long beyond its seal condition.
    const sealEvery = Math.max(20, Math.min(100, this.sealMinMs > 0 ? this.sealMinMs / 10 : this.seal.maxSeconds * 100));
    const sealing = (async () => {
      while (!signal.aborted) {
        try {
          const sealed = await this.sealDue();
          if (sealed.length > 0) this.wake?.();
        } catch (e) {
          // The journal refused (closed, or a failed write): say so and keep trying; anchoring goes on.
          this.emit({ type: 'error', code: isLiuhenError(e) ? e.code : 'INTERNAL', message: describe(e), retryInMs: this.backoff.maxMs });
          await sleep(this.backoff.maxMs, signal).catch(ignoreAbort(signal));
        }
        await sleep(sealEvery, signal).catch(ignoreAbort(signal));
      }
    })();
    const anchoring = (async () => {
      let attempt = 0;
      while (!signal.aborted) {
        let wait = this.pollMs;
        try {
          const r = await this.serialPass();
          attempt = 0;
          if (r.progressed) wait = 0;
        } catch (e) {
          wait = this.retryDelay(++attempt);
          if (isNetworkError(e)) this.emit({ type: 'chain-down', rpc: redactUrl(this.chain.rpc), attempt, retryInMs: wait, message: describe(e) });
          else this.emit({ type: 'error', code: isLiuhenError(e) ? e.code : 'INTERNAL', message: describe(e), retryInMs: wait });
        }
        if (wait > 0) await this.nap(wait, signal);
      }
    })();
    await Promise.all([sealing, anchoring]);
  }

  /** Sleeps `ms` or until `wake` (a new batch to send) or the signal. */
  private async nap(ms: number, signal: AbortSignal): Promise<void> {
    const woken = new AbortController();
    this.wake = () => woken.abort();
    const both = AbortSignal.any([signal, woken.signal]);
    await sleep(ms, both).catch(ignoreAbort(both));
    this.wake = undefined;
  }

  async sealDue(): Promise<BatchInfo[]> {
    const n = await this.journal.pendingCount(this.agency);
    if (n === 0) {
      this.firstPendingSeen = undefined;
      return [];
    }
    const now = Date.now();
    this.firstPendingSeen ??= now;
    // The count alone may decide; otherwise the oldest record's wait (T seconds, or the shorter wait once the chain is idle).
    const oldest = n >= this.seal.maxRecords ? undefined : await this.journal.oldestPending(this.agency);
    const due = sealIsDue(
      { ...this.seal, earlySeconds: this.sealMinMs / 1000 },
      { pending: n, oldestCapturedAt: oldest?.capturedAt, firstPendingSeen: this.firstPendingSeen, now, anchorIdle: this.anchorIdle },
    );
    if (!due) return [];
    const batches = await this.journal.seal(this.agency, { maxBatchSize: this.seal.maxRecords });
    this.firstPendingSeen = undefined;
    if (batches.length > 0) this.anchorIdle = false;
    for (const b of batches) this.emit({ type: 'sealed', agency: b.agency, seq: b.seq, root: b.root, size: b.size, firstAck: b.firstAck });
    return batches;
  }

  private retryDelay(attempt: number): number {
    return backoffDelay(this.backoff, attempt);
  }

  /** Passes never overlap (anchorPending and run may share an anchorer). */
  private serialPass(): Promise<PassResult> {
    return this.passes.run(() => this.pass());
  }

  private async count(): Promise<{ anchored: number; final: number }> {
    let anchored = 0;
    let final = 0;
    for await (const b of this.journal.batches(this.agency)) {
      const s = await this.current(b.root);
      if (isAnchored(s)) anchored++;
      if (s?.status === 'final') final++;
    }
    return { anchored, final };
  }

  // ── one pass ─────────────────────────────────────────────────────────────

  private async ready(): Promise<{ provider: JsonRpcProvider; registry: RegistryClient; me: string }> {
    const rpc = this.chain.rpc;
    if (!this.provider) {
      this.provider = (await connect({ rpc, expectedChainId: this.chain.chainId })).provider;
    }
    const provider = this.provider;
    try {
      await assertChainId(provider, rpc, this.chain.chainId);
      if (!this.registry || !this.address) {
        this.registry = new RegistryClient(this.chain.registry, provider);
        this.address = getAddress(await this.signer.getAddress());
      }
      if (!this.verified) {
        if (!(await this.registry.isDeployed())) {
          fail(
            'REGISTRY_MISSING',
            `no EvidenceRegistry at ${this.registry.address} on chain ${this.chain.chainId} (${redactUrl(rpc)}): was the chain reset? run \`liuhen deploy\``,
          );
        }
        const bound = await this.registry.agencyOf(this.address);
        if (bound !== this.agency) {
          fail(
            'AGENCY_NOT_BOUND',
            `the anchoring key ${this.address} is ${bound ? `bound to agency "${bound}"` : 'not bound to any agency'} on the registry, not to "${this.agency}"; the registry admin must call bindAgency (\`liuhen deploy\` on a dev chain)`,
          );
        }
      }
    } catch (e) {
      if (isNetworkError(e)) throw unreachable(rpc, e);
      throw e;
    }
    return { provider, registry: this.registry, me: this.address };
  }

  private async pass(): Promise<PassResult> {
    try {
      const { provider, registry, me } = await this.ready();
      const head = await provider.getBlockNumber();
      let progressed = false;
      if (!this.verified) {
        progressed = (await this.fullScan(registry, provider, head)) || progressed;
        this.verified = true;
        this.emit({ type: 'chain-up', rpc: redactUrl(this.chain.rpc), chainId: this.chain.chainId, head });
      } else if (await this.tailChanged(registry, provider)) {
        progressed = (await this.fullScan(registry, provider, head)) || progressed;
      }

      const minedNonce = await provider.getTransactionCount(me, 'latest');
      const nonce: PassNonce = { next: Math.max(minedNonce, await provider.getTransactionCount(me, 'pending')) };
      const ctx: StepContext = { provider, registry, me, head, minedNonce, nonce, inFlight: 0, blocked: false };
      let pendingLeft = 0;
      let contiguousFinal = true;
      for await (const b of this.journal.batches(this.agency, { afterSeq: this.cursor })) {
        const before = await this.current(b.root);
        let s = await this.step(b, before, ctx);
        // A batch that just went back to pending (resign, requeue) is anchored anew in the same pass.
        if (s !== before && s?.status === 'pending') s = await this.step(b, s, ctx);
        if (s !== before) progressed = true;
        if (!s || s.status === 'pending') {
          pendingLeft++;
          contiguousFinal = false;
          continue;
        }
        if (s.status === 'signed' || s.status === 'submitted') ctx.inFlight++;
        if (s.status === 'final' && contiguousFinal) this.cursor = b.seq;
        else contiguousFinal = false;
      }
      const inFlight = ctx.inFlight;
      if (inFlight === 0 && pendingLeft === 0) this.anchorIdle = true;
      return { inFlight, pendingLeft, progressed, head };
    } catch (e) {
      if (isNetworkError(e)) {
        // A node that comes back may be another node (or a reset dev chain): check everything again.
        this.verified = false;
        this.cursor = this.floor;
        throw unreachable(this.chain.rpc, e);
      }
      throw e;
    }
  }

  /** The state of `root` for this deployment, validated (a state of another chain or registry counts as none). */
  private async current(root: string): Promise<AnchorState | undefined> {
    const s = await readAnchorState(this.journal, root);
    return sameDeployment(s, this.chain.chainId, this.chain.registry) ? s : undefined;
  }

  private async write<S extends AnchorState>(s: S): Promise<S> {
    const next = { ...s, updatedAt: new Date().toISOString() };
    await this.journal.putAnchorState(s.root, next);
    return next;
  }

  private base(b: BatchInfo): Pick<AnchorState, 'v' | 'agency' | 'seq' | 'root' | 'chainId' | 'registry'> {
    return { v: 1, agency: b.agency, seq: b.seq, root: b.root, chainId: this.chain.chainId, registry: getAddress(this.chain.registry) };
  }

  /** The carried-over annotations of a state (reorg count), for the next one. */
  private carry(s: AnchorState | undefined): Pick<AnchorState, 'reorgs'> {
    return s?.reorgs === undefined ? {} : { reorgs: s.reorgs };
  }

  /** What the registry says of `b.root`, with its canonical log when it holds it. */
  private async registryFact(b: BatchInfo, registry: RegistryClient): Promise<RegistryFact & { anchoredAt?: number }> {
    const onChain = await registry.batch(this.agency, b.root);
    if (!onChain.exists) return { held: false };
    const log = await registry.findAnchorLog(this.agency, b.root, onChain.blockNumber);
    const location = log ? { txHash: log.txHash, blockNumber: log.blockNumber, blockHash: log.blockHash, timestamp: onChain.anchoredAt } : undefined;
    return { held: true, agency: onChain.agency, seq: onChain.seq, location, anchoredAt: onChain.anchoredAt };
  }

  /**
   * One batch, one step: gathers the facts its state needs, asks the pure
   * `transition` what to do, and does it (state written before anything is
   * sent). Returns the new state.
   */
  private async step(b: BatchInfo, s: AnchorState | undefined, ctx: StepContext): Promise<AnchorState | undefined> {
    const need = factsNeeded(s);
    const facts: AnchorFacts = { agency: this.agency, seq: b.seq, head: ctx.head, confirmations: this.chain.confirmations };
    if (need.registry) facts.registry = await this.registryFact(b, ctx.registry);
    if (need.anchorBlock && isAnchored(s)) facts.anchorBlockHash = (await ctx.provider.getBlock(s.anchor.blockNumber))?.hash ?? null;
    if (need.tx && (s?.status === 'signed' || s?.status === 'submitted') && !facts.registry?.held) {
      facts.tx = await this.outbox().reconcile(s.tx, { minedNonce: ctx.minedNonce, nextNonce: ctx.nonce.next });
    }
    return this.apply(b, s, transition(s, facts), ctx);
  }

  private async apply(b: BatchInfo, s: AnchorState | undefined, action: AnchorAction, ctx: StepContext): Promise<AnchorState | undefined> {
    switch (action.type) {
      case 'none':
      case 'wait':
        return s;
      case 'diverged':
        return fail('CHAIN_DIVERGED', `root ${b.root}: ${action.reason}`);
      case 'mark-anchored':
        return this.markAnchored(b, s, action.location);
      case 'mark-final': {
        if (!isAnchored(s)) return s;
        const next = await this.write<FinalState>({ ...s, status: 'final', finalAt: new Date().toISOString() });
        this.emit({ type: 'final', seq: b.seq, root: b.root, blockNumber: s.anchor.blockNumber, confirmations: action.confirmations });
        return next;
      }
      case 'relocate':
        return isAnchored(s) ? this.relocate(b, s, ctx.registry, action.detail) : s;
      case 'requeue':
        return s; // only produced by relocateAction
      case 'rebroadcast': {
        if (s?.status !== 'signed' && s?.status !== 'submitted') return s;
        await this.broadcast(s.tx.raw);
        if (s.tx.nonce === ctx.nonce.next) ctx.nonce.next++;
        this.emit({ type: 'submitted', seq: b.seq, root: b.root, txHash: s.tx.txHash, rebroadcast: true });
        return s.status === 'submitted' ? s : this.write<SubmittedState>({ ...s, status: 'submitted', submittedAt: new Date().toISOString() });
      }
      case 'resign': {
        if (s?.status !== 'signed' && s?.status !== 'submitted') return s;
        let reason = action.reason;
        if (ctx.registry && reason.endsWith('reverted')) {
          const why = await this.revertReason(b, ctx.registry);
          reason = `${reason}${why ? `: ${why}` : ''}`;
        }
        this.emit({ type: 'resign', seq: b.seq, root: b.root, nonce: s.tx.nonce, reason });
        return this.write<PendingState>({ ...this.base(b), ...this.carry(s), status: 'pending', tx: s.tx, note: reason, updatedAt: '' });
      }
      case 'sign-new':
        if (ctx.blocked || ctx.inFlight >= this.maxInFlight) {
          ctx.blocked = true;
          return s;
        }
        return this.anchorNew(b, s, ctx);
    }
  }

  /**
   * The recorded anchor of `b` is no longer on the canonical chain. If the
   * registry still holds the batch (the transaction was re-included
   * elsewhere), record the new place; otherwise the batch goes back to be
   * anchored again — by resending its transaction while that can still be
   * mined, else by a new one.
   */
  private async relocate(b: BatchInfo, s: AnchoredState | FinalState, registry: RegistryClient, detail: string): Promise<AnchorState | undefined> {
    const old = s.anchor;
    this.emit({ type: 'reorged', seq: b.seq, root: b.root, blockNumber: old.blockNumber, blockHash: old.blockHash, detail });
    const reorgs = (s.reorgs ?? 0) + 1;
    const action = relocateAction(s, await this.registryFact(b, registry), detail);
    switch (action.type) {
      case 'mark-anchored':
        return this.markAnchored(b, { ...s, reorgs }, action.location);
      case 'requeue': {
        const common = { ...this.base(b), reorgs, note: `re-anchoring: ${action.detail}`, updatedAt: '' };
        if (s.tx) return this.write<SubmittedState>({ ...common, status: 'submitted', tx: s.tx, submittedAt: new Date().toISOString() });
        return this.write<PendingState>({ ...common, status: 'pending' });
      }
      default:
        return s;
    }
  }

  /** Records where the chain holds `b` (`timestamp` read from the block when not given). */
  private async markAnchored(
    b: BatchInfo,
    s: AnchorState | undefined,
    location: Omit<AnchorLocation, 'timestamp'> & { timestamp?: number },
  ): Promise<AnchorState> {
    const timestamp = location.timestamp ?? (await this.provider?.getBlock(location.blockHash))?.timestamp;
    if (timestamp === undefined) fail('CHAIN_UNREACHABLE', `block ${location.blockHash} vanished while reading it`);
    const anchor: AnchorLocation = { txHash: location.txHash, blockNumber: location.blockNumber, blockHash: location.blockHash, timestamp };
    const now = new Date().toISOString();
    const tx = s?.tx;
    const submittedAt = s?.submittedAt;
    const common = {
      ...this.base(b),
      ...this.carry(s),
      ...(tx ? { tx } : {}),
      ...(submittedAt ? { submittedAt } : {}),
      anchor,
      anchoredAt: now,
      updatedAt: '',
    };
    // With confirmations 0 an anchor is final once mined: one write for both steps.
    const final = this.chain.confirmations === 0;
    const next = final
      ? await this.write<FinalState>({ ...common, status: 'final', finalAt: now })
      : await this.write<AnchoredState>({ ...common, status: 'anchored' });
    this.newlyAnchored++;
    this.emit({ type: 'anchored', seq: b.seq, root: b.root, size: b.size, firstAck: b.firstAck, ...anchor });
    if (final) this.emit({ type: 'final', seq: b.seq, root: b.root, blockNumber: anchor.blockNumber, confirmations: 0 });
    return next;
  }

  /** pending → signed → submitted: signs a new anchor transaction and sends it through the outbox. */
  private async anchorNew(b: BatchInfo, s: AnchorState | undefined, ctx: StepContext): Promise<AnchorState> {
    const { registry, provider, me, nonce } = ctx;
    const args = {
      root: b.root,
      size: b.size,
      prevRoot: b.prevRoot,
      firstCapturedAt: unixSeconds(b.firstCapturedAt),
      lastCapturedAt: unixSeconds(b.lastCapturedAt),
    };
    const data = registry.encodeAnchor(args);
    let gasLimit = this.gasLimit;
    const outbox = this.outbox();
    if (ctx.inFlight === 0) {
      // Nothing of ours ahead of it: the call must succeed now, which also checks prevRoot continuity.
      const latest = await registry.latest(this.agency);
      if (latest.root !== b.prevRoot) {
        fail(
          'CHAIN_DIVERGED',
          `the registry's last batch of "${this.agency}" is #${latest.seq} ${latest.root}, but local batch #${b.seq} follows ${b.prevRoot}; another station with this agency's key anchored a different chain, or batches were anchored to another registry`,
        );
      }
      gasLimit = gasLimitFor(await outbox.estimate(registry.address, data, `anchor of batch #${b.seq}`));
      if (gasLimit > this.gasLimit || this.gasLimit === DEFAULT_GAS_LIMIT) this.gasLimit = gasLimit;
    }
    const fees = (nonce.fees ??= await provider.getFeeData());
    const tx: AnchorTx = await outbox.sign({ to: registry.address, data, nonce: nonce.next, gasLimit, fees }, `anchor of batch #${b.seq}`);
    if (tx.from !== me) fail('KEY_INVALID', 'the signer produced a transaction for another account');
    const common = { ...this.base(b), ...this.carry(s), tx, updatedAt: '' };
    await outbox.persistAndSend(
      tx,
      async () => {
        await this.write<SignedState>({ ...common, status: 'signed' });
        this.emit({ type: 'signed', seq: b.seq, root: b.root, nonce: tx.nonce, txHash: tx.txHash });
        nonce.next++;
      },
      (e) => this.unfunded(e),
    );
    const next = await this.write<SubmittedState>({ ...common, status: 'submitted', submittedAt: new Date().toISOString() });
    this.emit({ type: 'submitted', seq: b.seq, root: b.root, txHash: tx.txHash, rebroadcast: false });
    return next;
  }

  /** The anchoring key's outbox (one per provider). */
  private outbox(): Outbox {
    const provider = this.provider ?? fail('CHAIN_UNREACHABLE', 'the anchorer is not connected');
    if (this.outbox_?.provider !== provider) {
      this.outbox_ = {
        provider,
        outbox: new Outbox({
          kind: 'anchor',
          provider,
          signer: this.signer,
          chainId: this.chain.chainId,
          endpoint: redactUrl(this.chain.rpc),
          decodeRevert: registryRevert,
        }),
      };
    }
    return this.outbox_.outbox;
  }

  private unfunded(e: unknown): LiuhenError {
    return new LiuhenError(
      'CHAIN_TX_REJECTED',
      `the anchoring key ${this.address} has too little ether to pay for an anchor on ${redactUrl(this.chain.rpc)}; fund it`,
      { cause: e },
    );
  }

  private async broadcast(raw: string): Promise<void> {
    await this.outbox().broadcast(raw, (e) => this.unfunded(e));
  }

  private async revertReason(b: BatchInfo, registry: RegistryClient): Promise<string | undefined> {
    try {
      await onChain(this.chain.rpc, () =>
        registry.contract
          .getFunction('anchor')
          .staticCall(b.root, b.size, b.prevRoot, unixSeconds(b.firstCapturedAt), unixSeconds(b.lastCapturedAt), { from: this.address }),
      );
      return undefined;
    } catch (e) {
      if (isNetworkError(e)) throw e;
      const d = decodeRegistryError(e, 'anchor');
      return d instanceof LiuhenError ? ((d.details?.error as string | undefined) ?? d.message) : undefined;
    }
  }

  /**
   * Cheap per-pass check of what is already final: the registry's head for the
   * agency must be at least our newest anchored batch, and that batch's block
   * must still be canonical. Anything else triggers a full scan.
   */
  private async tailChanged(registry: RegistryClient, provider: JsonRpcProvider): Promise<boolean> {
    const head = await this.journal.agencyHead(this.agency);
    if (!head) return false;
    let newest: AnchoredState | FinalState | undefined;
    for (let seq = head.seq; seq >= 1 && seq > head.seq - 64; seq--) {
      const b = await this.journal.getBatch(this.agency, seq);
      const s = b && (await this.current(b.root));
      if (isAnchored(s)) {
        newest = s;
        break;
      }
    }
    if (!newest) return false;
    const latest = await registry.latest(this.agency);
    if (latest.seq < newest.seq) return true;
    const block = await provider.getBlock(newest.anchor.blockNumber);
    return !block || block.hash !== newest.anchor.blockHash;
  }

  /**
   * Compares every anchored/final state with the registry's `BatchAnchored`
   * logs (the node's canonical chain): moved batches get their new place,
   * vanished ones go back to be anchored. Returns whether anything changed.
   */
  private async fullScan(registry: RegistryClient, provider: JsonRpcProvider, head: number): Promise<boolean> {
    const anchored: { b: BatchInfo; s: AnchoredState | FinalState }[] = [];
    for await (const b of this.journal.batches(this.agency, { afterSeq: this.floor })) {
      const s = await this.current(b.root);
      if (isAnchored(s)) anchored.push({ b, s });
    }
    if (anchored.length === 0) return false;
    const from = Math.min(this.chain.deployBlock ?? 0, ...anchored.map((x) => x.s.anchor.blockNumber));
    const logs = new Map<string, AnchorLog>();
    for (let lo = from; lo <= head; lo += LOG_CHUNK) {
      for (const l of await registry.anchorLogs(this.agency, lo, Math.min(head, lo + LOG_CHUNK - 1))) logs.set(l.root, l);
    }
    let changed = false;
    for (const { b, s } of anchored) {
      const log = logs.get(b.root);
      if (log && log.blockHash === s.anchor.blockHash && log.txHash === s.anchor.txHash) continue;
      changed = true;
      if (log) {
        this.emit({
          type: 'reorged',
          seq: b.seq,
          root: b.root,
          blockNumber: s.anchor.blockNumber,
          blockHash: s.anchor.blockHash,
          detail: `now in block ${log.blockNumber}`,
        });
        await this.markAnchored(b, { ...s, reorgs: (s.reorgs ?? 0) + 1 }, { txHash: log.txHash, blockNumber: log.blockNumber, blockHash: log.blockHash });
      } else {
        await this.relocate(b, s, registry, 'the registry no longer holds it');
      }
    }
    if (changed) this.cursor = this.floor;
    return changed;
  }
}

/** RFC 3339 → unix seconds (floor). */
export function unixSeconds(rfc3339: string): number {
  const ms = Date.parse(rfc3339);
  if (!Number.isFinite(ms)) fail('INVALID_INPUT', `not a time: ${rfc3339}`);
  return Math.max(0, Math.floor(ms / 1000));
}

function describe(e: unknown): string {
  if (isLiuhenError(e)) return e.message;
  const x = e as { shortMessage?: string; message?: string; code?: string };
  return x?.shortMessage ?? x?.message ?? x?.code ?? String(e);
}
