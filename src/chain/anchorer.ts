import { getAddress, Transaction, type FeeData, type JsonRpcProvider, type Signer, type TransactionRequest } from 'ethers';
import type { LiuhenConfig } from '../config.js';
import { fail, isLiuhenError, LiuhenError } from '../errors.js';
import type { Journal } from '../journal/journal.js';
import type { BatchInfo } from '../journal/types.js';
import { RegistryClient, decodeRegistryError, type AnchorLog } from './registry.js';
import { assertChainId, connect, isNetworkError, onChain, redactUrl, unreachable } from './rpc.js';
import { checkpointSeq } from './deploy.js';
import { isAnchored, sameDeployment, type AnchorLocation, type AnchorState, type AnchorTx } from './state.js';

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

export type CrashPoint = 'after-sign' | 'after-broadcast';

export interface AnchorerParameters {
  journal: Journal;
  /** Needs `agency`, `chain` (rpc, chainId, registry, confirmations, deployBlock) and, for `run`, `seal`. */
  config: Pick<LiuhenConfig, 'agency' | 'chain' | 'seal'>;
  /** Signs transactions offline (an ethers Wallet, or any Signer whose `signTransaction` works without sending). Must be bound to the agency. */
  signer: Signer;
  /** A provider for the chain; by default one is connected to `config.chain.rpc` (and destroyed by `close`). */
  provider?: JsonRpcProvider;
  onEvent?: (e: AnchorEvent) => void;
  /** Anchor transactions in flight at once (signed, not yet mined). @default 8 */
  maxInFlight?: number;
  /** Pause between passes when nothing moved, ms. @default 200 */
  pollMs?: number;
  /** Retry delays while the chain is down: doubling from `initialMs` up to `maxMs`. @default { initialMs: 500, maxMs: 30000 } */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Test hook: SIGKILL this process at that point (default from env LIUHEN_TEST_CRASH_AT). */
  crashAt?: CrashPoint;
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
  private readonly crashAt: CrashPoint | undefined;
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
  private newlyAnchored = 0;
  private pass_ = Promise.resolve() as Promise<unknown>;

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
    const envCrash = process.env.LIUHEN_TEST_CRASH_AT;
    this.crashAt = p.crashAt ?? (envCrash === 'after-sign' || envCrash === 'after-broadcast' ? envCrash : undefined);
    this.seal = p.config.seal ?? { maxRecords: 1000, maxSeconds: 2 };
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
          if (Date.now() > deadline) fail('CHAIN_UNREACHABLE', `gave up after ${options.timeoutMs} ms: ${r.inFlight} anchor transaction(s) still not mined on ${redactUrl(this.chain.rpc)}`);
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
    const sealEvery = Math.max(20, Math.min(100, this.seal.maxSeconds * 100));
    const sealing = (async () => {
      while (!signal.aborted) {
        try {
          await this.sealDue();
        } catch (e) {
          // The journal refused (closed, or a failed write): say so and keep trying; anchoring goes on.
          this.emit({ type: 'error', code: isLiuhenError(e) ? e.code : 'INTERNAL', message: describe(e), retryInMs: this.backoff.maxMs });
          await sleep(this.backoff.maxMs, signal).catch(() => undefined);
        }
        await sleep(sealEvery, signal).catch(() => undefined);
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
        if (wait > 0) await sleep(wait, signal).catch(() => undefined);
      }
    })();
    await Promise.all([sealing, anchoring]);
  }

  async sealDue(): Promise<BatchInfo[]> {
    const n = await this.journal.pendingCount(this.agency);
    if (n === 0) {
      this.firstPendingSeen = undefined;
      return [];
    }
    const now = Date.now();
    this.firstPendingSeen ??= now;
    let due = n >= this.seal.maxRecords;
    if (!due) {
      const oldest = await this.journal.oldestPending(this.agency);
      const captured = oldest ? Date.parse(oldest.capturedAt) : NaN;
      const since = Math.min(this.firstPendingSeen, Number.isFinite(captured) ? captured : Infinity);
      due = now - since >= this.seal.maxSeconds * 1000;
    }
    if (!due) return [];
    const batches = await this.journal.seal(this.agency, { maxBatchSize: this.seal.maxRecords });
    this.firstPendingSeen = undefined;
    for (const b of batches) this.emit({ type: 'sealed', agency: b.agency, seq: b.seq, root: b.root, size: b.size, firstAck: b.firstAck });
    return batches;
  }

  private retryDelay(attempt: number): number {
    return Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(attempt - 1, 20));
  }

  /** Passes never overlap (anchorPending and run may share an anchorer). */
  private serialPass(): Promise<PassResult> {
    const next = this.pass_.then(() => this.pass());
    this.pass_ = next.catch(() => undefined);
    return next;
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
          fail('REGISTRY_MISSING', `no EvidenceRegistry at ${this.registry.address} on chain ${this.chain.chainId} (${redactUrl(rpc)}): was the chain reset? run \`liuhen deploy\``);
        }
        const bound = await this.registry.agencyOf(this.address);
        if (bound !== this.agency) {
          fail('AGENCY_NOT_BOUND', `the anchoring key ${this.address} is ${bound ? `bound to agency "${bound}"` : 'not bound to any agency'} on the registry, not to "${this.agency}"; the registry admin must call bindAgency (\`liuhen deploy\` on a dev chain)`);
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
      let inFlight = 0;
      let pendingLeft = 0;
      let blocked = false;
      let contiguousFinal = true;
      for await (const b of this.journal.batches(this.agency, { afterSeq: this.cursor })) {
        let s = await this.current(b.root);
        if (s?.status === 'anchored') {
          const before = s;
          s = await this.checkAnchored(b, s, registry, provider, head);
          progressed ||= s !== before;
        }
        if (s && (s.status === 'signed' || s.status === 'submitted')) {
          const before = s;
          s = await this.reconcileTx(b, s, registry, provider, minedNonce, nonce);
          progressed ||= s.status !== before.status;
        }
        if (!s || s.status === 'pending') {
          if (blocked || inFlight >= this.maxInFlight) {
            pendingLeft++;
            blocked = true;
            contiguousFinal = false;
            continue;
          }
          s = await this.anchorNew(b, s, registry, provider, me, inFlight, nonce);
          progressed = true;
        }
        if (s.status === 'signed' || s.status === 'submitted') inFlight++;
        if (s.status === 'final' && contiguousFinal) this.cursor = b.seq;
        else contiguousFinal = false;
      }
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

  /** The state of `root` for this deployment (a state of another chain or registry counts as none). */
  private async current(root: string): Promise<AnchorState | undefined> {
    const s = await this.journal.getAnchorState<AnchorState>(root);
    return sameDeployment(s, this.chain.chainId, this.chain.registry) ? s : undefined;
  }

  private async write(s: AnchorState): Promise<AnchorState> {
    const next = { ...s, updatedAt: new Date().toISOString() };
    await this.journal.putAnchorState(s.root, next);
    return next;
  }

  private base(b: BatchInfo): Pick<AnchorState, 'v' | 'agency' | 'seq' | 'root' | 'chainId' | 'registry'> {
    return { v: 1, agency: b.agency, seq: b.seq, root: b.root, chainId: this.chain.chainId, registry: getAddress(this.chain.registry) };
  }

  /** anchored → final after enough confirmations; → back when its block is gone. */
  private async checkAnchored(b: BatchInfo, s: AnchorState, registry: RegistryClient, provider: JsonRpcProvider, head: number): Promise<AnchorState> {
    const at = s.anchor!;
    const block = await provider.getBlock(at.blockNumber);
    if (!block || block.hash !== at.blockHash) return this.relocate(b, s, registry, provider, `block ${at.blockNumber} is now ${block?.hash ?? 'missing'}`);
    // `chain.confirmations` counts blocks on top of the anchor block (0: final once mined).
    const confirmations = head - at.blockNumber;
    if (confirmations >= this.chain.confirmations) {
      const next = await this.write({ ...s, status: 'final', finalAt: new Date().toISOString() });
      this.emit({ type: 'final', seq: b.seq, root: b.root, blockNumber: at.blockNumber, confirmations });
      return next;
    }
    return s;
  }

  /**
   * The recorded anchor of `b` is no longer on the canonical chain. If the
   * registry still holds the batch (the transaction was re-included
   * elsewhere), record the new place; otherwise the batch goes back to be
   * anchored again — by resending its transaction while that can still be
   * mined, else by a new one.
   */
  private async relocate(b: BatchInfo, s: AnchorState, registry: RegistryClient, provider: JsonRpcProvider, detail: string): Promise<AnchorState> {
    const old = s.anchor!;
    this.emit({ type: 'reorged', seq: b.seq, root: b.root, blockNumber: old.blockNumber, blockHash: old.blockHash, detail });
    const reorgs = (s.reorgs ?? 0) + 1;
    const onChain = await registry.batch(this.agency, b.root);
    if (onChain.exists) {
      const log = await registry.findAnchorLog(this.agency, b.root, onChain.blockNumber);
      if (log) return this.markAnchored(b, { ...s, reorgs }, log, onChain.anchoredAt, provider);
    }
    const { anchor: _gone, anchoredAt: _a, finalAt: _f, ...rest } = s;
    if (s.tx) return this.write({ ...rest, status: 'submitted', reorgs, note: `re-anchoring: ${detail}` });
    return this.write({ ...rest, status: 'pending', reorgs, note: `re-anchoring: ${detail}` });
  }

  private async markAnchored(b: BatchInfo, s: AnchorState | undefined, log: AnchorLog, timestamp: number | undefined, provider: JsonRpcProvider): Promise<AnchorState> {
    const ts = timestamp ?? (await provider.getBlock(log.blockHash))?.timestamp;
    if (ts === undefined) fail('CHAIN_UNREACHABLE', `block ${log.blockHash} vanished while reading it`);
    const anchor: AnchorLocation = { txHash: log.txHash, blockNumber: log.blockNumber, blockHash: log.blockHash, timestamp: ts };
    const { note: _n, ...rest } = s ?? { ...this.base(b), status: 'pending' as const, updatedAt: '' };
    const now = new Date().toISOString();
    // With confirmations 0 an anchor is final once mined: one write for both steps.
    const final = this.chain.confirmations === 0;
    const next = await this.write({ ...rest, ...this.base(b), status: final ? 'final' : 'anchored', anchor, anchoredAt: now, ...(final && { finalAt: now }) });
    this.newlyAnchored++;
    this.emit({ type: 'anchored', seq: b.seq, root: b.root, size: b.size, firstAck: b.firstAck, ...anchor });
    if (final) this.emit({ type: 'final', seq: b.seq, root: b.root, blockNumber: anchor.blockNumber, confirmations: 0 });
    return next;
  }

  /** signed/submitted → anchored, or resent (same bytes), or pending (the transaction can no longer be mined). */
  private async reconcileTx(
    b: BatchInfo,
    s: AnchorState,
    registry: RegistryClient,
    provider: JsonRpcProvider,
    minedNonce: number,
    nonce: PassNonce,
  ): Promise<AnchorState> {
    const tx = s.tx!;
    const onChain = await registry.batch(this.agency, b.root);
    if (onChain.exists) {
      const log = await registry.findAnchorLog(this.agency, b.root, onChain.blockNumber);
      if (log) return this.markAnchored(b, s, log, onChain.anchoredAt, provider);
    }
    const receipt = await provider.getTransactionReceipt(tx.txHash);
    if (receipt && receipt.status === 0) {
      const reason = await this.revertReason(b, registry);
      this.emit({ type: 'resign', seq: b.seq, root: b.root, nonce: tx.nonce, reason: `transaction ${tx.txHash} reverted${reason ? `: ${reason}` : ''}` });
      return this.write({ ...s, status: 'pending', note: `reverted: ${reason ?? 'unknown reason'}` });
    }
    if (receipt) return s; // mined a moment ago; the registry answers on the next pass
    if (tx.nonce < minedNonce) {
      this.emit({ type: 'resign', seq: b.seq, root: b.root, nonce: tx.nonce, reason: `nonce ${tx.nonce} was used by another transaction` });
      return this.write({ ...s, status: 'pending', note: `nonce ${tx.nonce} used by another transaction` });
    }
    if (tx.nonce > nonce.next) {
      // Sending it would leave a gap (the chain lost our earlier transactions, e.g. a reset dev chain).
      this.emit({ type: 'resign', seq: b.seq, root: b.root, nonce: tx.nonce, reason: `nonce ${tx.nonce} is beyond the account's next nonce ${nonce.next}` });
      return this.write({ ...s, status: 'pending', note: `nonce ${tx.nonce} beyond next nonce ${nonce.next}` });
    }
    await this.broadcast(tx.raw);
    if (tx.nonce === nonce.next) nonce.next++;
    this.emit({ type: 'submitted', seq: b.seq, root: b.root, txHash: tx.txHash, rebroadcast: true });
    return s.status === 'submitted' ? s : this.write({ ...s, status: 'submitted', submittedAt: new Date().toISOString() });
  }

  /** pending → (already in the registry: anchored) | signed → submitted. */
  private async anchorNew(
    b: BatchInfo,
    s: AnchorState | undefined,
    registry: RegistryClient,
    provider: JsonRpcProvider,
    me: string,
    inFlight: number,
    nonce: PassNonce,
  ): Promise<AnchorState> {
    const onChain = await registry.batch(this.agency, b.root);
    if (onChain.exists) {
      if (onChain.agency !== this.agency || onChain.seq !== b.seq) {
        fail('CHAIN_DIVERGED', `root ${b.root} is on chain as batch ${onChain.seq} of "${onChain.agency}", but is batch ${b.seq} of "${this.agency}" here`);
      }
      const log = await registry.findAnchorLog(this.agency, b.root, onChain.blockNumber);
      if (log) return this.markAnchored(b, s, log, onChain.anchoredAt, provider);
    }
    const args = { root: b.root, size: b.size, prevRoot: b.prevRoot, firstCapturedAt: unixSeconds(b.firstCapturedAt), lastCapturedAt: unixSeconds(b.lastCapturedAt) };
    const data = registry.encodeAnchor(args);
    let gasLimit = this.gasLimit;
    if (inFlight === 0) {
      // Nothing of ours ahead of it: the call must succeed now, which also checks prevRoot continuity.
      const latest = await registry.latest(this.agency);
      if (latest.root !== b.prevRoot) {
        fail('CHAIN_DIVERGED', `the registry's last batch of "${this.agency}" is #${latest.seq} ${latest.root}, but local batch #${b.seq} follows ${b.prevRoot}; another station with this agency's key anchored a different chain, or batches were anchored to another registry`);
      }
      try {
        const estimate = await provider.estimateGas({ from: me, to: registry.address, data });
        gasLimit = (estimate * 13n) / 10n;
        if (gasLimit > this.gasLimit || this.gasLimit === DEFAULT_GAS_LIMIT) this.gasLimit = gasLimit;
      } catch (e) {
        if (isNetworkError(e)) throw e;
        throw decodeRegistryError(e, `anchor of batch #${b.seq}`);
      }
    }
    const fees = (nonce.fees ??= await provider.getFeeData());
    const request: TransactionRequest = {
      to: registry.address,
      data,
      value: 0n,
      nonce: nonce.next,
      gasLimit,
      chainId: BigInt(this.chain.chainId),
      ...(fees.maxFeePerGas !== null && fees.maxPriorityFeePerGas !== null
        ? { type: 2, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas }
        : { type: 0, gasPrice: fees.gasPrice ?? 0n }),
    };
    const raw = await this.signer.signTransaction(request);
    const parsed = Transaction.from(raw);
    if (parsed.nonce !== nonce.next || !parsed.from || getAddress(parsed.from) !== me) fail('KEY_INVALID', 'the signer produced a transaction for another account or nonce');
    const tx: AnchorTx = { from: me, nonce: nonce.next, txHash: parsed.hash!, raw, signedAt: new Date().toISOString() };
    const { note: _n, ...prev } = s ?? { ...this.base(b), status: 'pending' as const, updatedAt: '' };
    let next = await this.write({ ...prev, ...this.base(b), status: 'signed', tx });
    this.emit({ type: 'signed', seq: b.seq, root: b.root, nonce: tx.nonce, txHash: tx.txHash });
    this.crash('after-sign');
    nonce.next++;
    await this.broadcast(raw);
    this.crash('after-broadcast');
    next = await this.write({ ...next, status: 'submitted', submittedAt: new Date().toISOString() });
    this.emit({ type: 'submitted', seq: b.seq, root: b.root, txHash: tx.txHash, rebroadcast: false });
    return next;
  }

  private async broadcast(raw: string): Promise<void> {
    const provider = this.provider!;
    try {
      await provider.send('eth_sendRawTransaction', [raw]);
    } catch (e) {
      if (isNetworkError(e)) throw e;
      const msg = describe(e);
      // Already in the pool or already mined: the next pass finds it by hash or in the registry.
      if (/already known|already imported|known transaction|nonce too low|nonce has already been used|replacement transaction underpriced|NONCE_EXPIRED|REPLACEMENT_UNDERPRICED/i.test(`${msg} ${(e as { code?: string }).code ?? ''}`)) return;
      if (/insufficient funds/i.test(msg) || (e as { code?: string }).code === 'INSUFFICIENT_FUNDS') {
        fail('CHAIN_TX_REJECTED', `the anchoring key ${this.address} has too little ether to pay for an anchor on ${redactUrl(this.chain.rpc)}; fund it`, { cause: e });
      }
      fail('CHAIN_TX_REJECTED', `the node refused the anchor transaction: ${msg.slice(0, 200)}`, { cause: e });
    }
  }

  private async revertReason(b: BatchInfo, registry: RegistryClient): Promise<string | undefined> {
    try {
      await onChain(this.chain.rpc, () => registry.contract.getFunction('anchor').staticCall(b.root, b.size, b.prevRoot, unixSeconds(b.firstCapturedAt), unixSeconds(b.lastCapturedAt), { from: this.address }));
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
    let newest: AnchorState | undefined;
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
    const block = await provider.getBlock(newest.anchor!.blockNumber);
    return !block || block.hash !== newest.anchor!.blockHash;
  }

  /**
   * Compares every anchored/final state with the registry's `BatchAnchored`
   * logs (the node's canonical chain): moved batches get their new place,
   * vanished ones go back to be anchored. Returns whether anything changed.
   */
  private async fullScan(registry: RegistryClient, provider: JsonRpcProvider, head: number): Promise<boolean> {
    const anchored: { b: BatchInfo; s: AnchorState }[] = [];
    for await (const b of this.journal.batches(this.agency, { afterSeq: this.floor })) {
      const s = await this.current(b.root);
      if (isAnchored(s)) anchored.push({ b, s });
    }
    if (anchored.length === 0) return false;
    const from = Math.min(this.chain.deployBlock ?? 0, ...anchored.map((x) => x.s.anchor!.blockNumber));
    const logs = new Map<string, AnchorLog>();
    for (let lo = from; lo <= head; lo += LOG_CHUNK) {
      for (const l of await registry.anchorLogs(this.agency, lo, Math.min(head, lo + LOG_CHUNK - 1))) logs.set(l.root, l);
    }
    let changed = false;
    for (const { b, s } of anchored) {
      const log = logs.get(b.root);
      if (log && log.blockHash === s.anchor!.blockHash && log.txHash === s.anchor!.txHash) continue;
      changed = true;
      if (log) {
        this.emit({ type: 'reorged', seq: b.seq, root: b.root, blockNumber: s.anchor!.blockNumber, blockHash: s.anchor!.blockHash, detail: `now in block ${log.blockNumber}` });
        await this.markAnchored(b, { ...s, reorgs: (s.reorgs ?? 0) + 1 }, log, undefined, provider);
      } else {
        await this.relocate(b, s, registry, provider, 'the registry no longer holds it');
      }
    }
    if (changed) this.cursor = this.floor;
    return changed;
  }

  private crash(point: CrashPoint): void {
    if (this.crashAt === point) process.kill(process.pid, 'SIGKILL');
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

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
