import { getAddress, isError, Signature, type Provider, type Signer, type TypedDataField } from 'ethers';
import {
  attestationDigest,
  attestationDomain,
  attestationMessage,
  ATTESTATION_TYPES,
  recoverAttestationSigner,
  type BatchAttestationValue,
} from '../chain/attestation.js';
import { chainError, registryRevert, RegistryClient, type AnchorLog, type OnChainBatch } from '../chain/registry.js';
import { Outbox, type OutboxTx } from '../chain/outbox.js';
import { isNetworkError } from '../chain/rpc.js';
import type { LevelSnapshot } from '../backup/level-dump.js';
import { KeyedBackoff } from '../util/backoff.js';
import { SerialMutex } from '../util/mutex.js';
import { ignoreAbort, sleep } from '../util/sleep.js';
import { fail, isLiuhenError, LiuhenError } from '../errors.js';
import {
  batchKey,
  equivocationError,
  logDomain,
  NotaryLog,
  type CosignedDecision,
  type CosignTx,
  type DecisionBase,
  type NotaryDecision,
  type NotaryFlag,
  type RefusedDecision,
  type SignedDecision,
  type SubmittedDecision,
} from './log.js';
import { notaryTransition } from './machine.js';
import { listPending } from './pending.js';
import {
  captureFlags,
  checkBatchPolicy,
  definedOnly,
  isCaptureFlag,
  resolvePolicy,
  type AnchoredBatch,
  type NotaryPolicy,
  type NotaryPolicyInput,
  type NotaryRefusal,
} from './policy.js';
import { agencyCodeOf, anchorLogPages, isZero32, reconcile, requireAddress, type AnchoredEventFacts } from './registry.js';
import { batchRef, eventRef, type BatchOutcome, type NotaryErrorInfo, type NotaryEvent, type NotaryPendingBatch } from './types.js';

export interface CreateNotaryParameters {
  /** The notary's key: an ethers `Wallet` (from {@link openKeystore}) or any `Signer` that signs typed data and transactions. */
  wallet: Signer;
  /** Read access to the chain; the notary's transactions are broadcast through it too. */
  provider: Provider;
  /** Address of the `EvidenceRegistry`. */
  registry: string;
  /** Folder of the notary's LevelDB log (one notary key per log). */
  logDir: string;
  /** Expected chain id; CHAIN_MISMATCH when the provider serves another chain. */
  chainId?: number | undefined;
  /** Checks before signing; see {@link NotaryPolicy}. */
  policy?: NotaryPolicyInput | undefined;
  /** Send `cosign` from the notary's own account (it pays gas). With false, only sign and log, for a relayer. @default true */
  submit?: boolean | undefined;
  /** Where scans start when the log has no cursor yet (the registry's deployment block). @default 0 */
  deployBlock?: number | undefined;
  /** Rescan from this block on the first pass, whatever the cursor says. Decisions already in the log are reused. */
  fromBlock?: number | undefined;
  /** On the first pass, evaluate refused batches again under the current policy (equivocation is never rechecked). @default false */
  recheckRefused?: boolean | undefined;
  /** Milliseconds between polls when following the chain or waiting for a receipt. @default 1000 */
  pollIntervalMs?: number | undefined;
  /** How long to wait for a cosign transaction to be mined before reporting it as pending. @default 60_000 */
  receiptTimeoutMs?: number | undefined;
  /** Blocks per `eth_getLogs` request (halved automatically when the endpoint refuses the range). @default 5000 */
  logPageSize?: number | undefined;
  /** Called for every outcome and notice, as it happens. */
  onEvent?: ((event: NotaryEvent) => void) | undefined;
  /** Clock in unix seconds. @default wall clock */
  now?: (() => number) | undefined;
}

export interface RunOnceOptions {
  /**
   * While batches wait for confirmations or a transaction for its receipt,
   * keep polling up to this long; give up early when the chain makes no new
   * block for 5 s (an automining dev chain without traffic never will). @default 0
   */
  waitMs?: number;
}

/** A running notary: see {@link createNotary}. */
export interface Notary {
  readonly address: string;
  readonly chainId: number;
  readonly registry: string;
  readonly policy: Readonly<NotaryPolicy>;
  /** Works through everything anchored so far; one outcome per batch, in chain order. */
  runOnce(options?: RunOnceOptions): Promise<BatchOutcome[]>;
  /** Keeps following the chain until `signal` aborts; resolves then. Errors are reported through `onEvent` and retried with backoff. */
  follow(signal: AbortSignal): Promise<void>;
  /** Anchored batches this notary has not co-signed on chain. */
  pending(): Promise<NotaryPendingBatch[]>;
  /** Every decision in the log for this registry, oldest anchor first. */
  decisions(): Promise<NotaryDecision[]>;
  /** A point-in-time copy of the notary's log for `liuhen backup`, taken at the call. */
  backupSnapshot(): LevelSnapshot;
  close(): Promise<void>;
}

/**
 * Creates a notary: it follows `BatchAnchored` on the registry, checks each
 * batch (anchored as logged, enough confirmations, `seq`/`prevRoot`
 * continuity, size, capture times), signs the EIP-712 `BatchAttestation` and
 * sends `cosign`. Every decision is written to its log before it acts, and it
 * never signs two roots for one (agency, seq).
 *
 * @example
 * const notary = await createNotary({ wallet, provider, registry, logDir, policy: { maxAge: 3600 } });
 * for (const o of await notary.runOnce()) console.log(o.status, o.batch.seq);
 * await notary.close();
 */
export async function createNotary(p: CreateNotaryParameters): Promise<Notary> {
  requireAddress(p.registry, 'the registry');
  const address = getAddress(await p.wallet.getAddress());
  let chainId: number;
  let code: string;
  try {
    chainId = Number((await p.provider.getNetwork()).chainId);
    code = await p.provider.getCode(p.registry);
  } catch (e) {
    throw chainError(e, 'connecting to the chain');
  }
  if (p.chainId !== undefined && p.chainId !== chainId)
    fail('CHAIN_MISMATCH', `the RPC endpoint serves chain ${chainId}, the configuration says ${p.chainId}`, {
      details: { expected: p.chainId, actual: chainId },
    });
  if (code === '0x') fail('REGISTRY_MISSING', `no contract at ${p.registry} on chain ${chainId}; run \`liuhen deploy\` or fix chain.registry in config.json`);
  const policy = resolvePolicy(p.policy);
  const log = await NotaryLog.open(p.logDir, address);
  return new NotaryService(p, address, chainId, getAddress(p.registry), policy, log);
}

const STALL_MS = 5_000;
const MAX_BACKOFF_MS = 60_000;

class NotaryService implements Notary {
  private readonly client: RegistryClient;
  private readonly outbox: Outbox;
  private readonly d: string;
  private readonly now: () => number;
  private readonly pollMs: number;
  private readonly receiptTimeoutMs: number;
  private readonly submit: boolean;
  private readonly deployBlock: number;
  private fromBlock: number | undefined;
  private recheckPending: boolean;
  private readonly exclusiveMutex = new SerialMutex();
  private readonly failures = new KeyedBackoff<string>({ initialMs: 2_000, maxMs: MAX_BACKOFF_MS });
  private lastHead = -1;
  /** The tip last written to the log (a pass on an unchanged head writes nothing). */
  private savedTip: { block: number; hash: string } | undefined;
  private txPending = false;
  private closed = false;
  /** While following: stop waiting for receipts when it aborts (the transaction is in the log). */
  private stopSignal: AbortSignal | undefined;

  constructor(
    private readonly p: CreateNotaryParameters,
    readonly address: string,
    readonly chainId: number,
    readonly registry: string,
    readonly policy: Readonly<NotaryPolicy>,
    private readonly log: NotaryLog,
  ) {
    this.client = new RegistryClient(registry, p.provider, { logPageSize: p.logPageSize });
    this.outbox = new Outbox({ kind: 'cosign', provider: p.provider, signer: p.wallet, chainId, decodeRevert: registryRevert });
    this.d = logDomain(chainId, registry);
    this.now = p.now ?? (() => Math.floor(Date.now() / 1000));
    this.pollMs = p.pollIntervalMs ?? 1_000;
    this.receiptTimeoutMs = p.receiptTimeoutMs ?? 60_000;
    this.submit = p.submit ?? true;
    this.deployBlock = p.deployBlock ?? 0;
    this.fromBlock = p.fromBlock;
    this.recheckPending = p.recheckRefused ?? false;
  }

  // ── public ─────────────────────────────────────────────────────────────────

  runOnce(options: RunOnceOptions = {}): Promise<BatchOutcome[]> {
    return this.exclusive(async () => {
      const results = new Map<string, BatchOutcome>();
      // Keyed by (agency, root): another agency's copy of a root is another batch (issue 9.2).
      const keep = (list: BatchOutcome[]): void => list.forEach((o) => results.set(batchKey(o.batch.agencyBytes32, o.batch.root), o));
      keep(await this.pass({ backlog: true, honourBackoff: false }));
      const deadline = Date.now() + (options.waitMs ?? 0);
      let head = this.lastHead;
      let headSince = Date.now();
      while (Date.now() < deadline && [...results.values()].some(awaitsChain)) {
        await sleep(Math.min(this.pollMs, 500));
        const now = await this.blockNumber();
        if (now !== head) {
          head = now;
          headSince = Date.now();
          keep(await this.pass({ backlog: false, honourBackoff: false }));
        } else if (Date.now() - headSince > STALL_MS && !this.txPending) {
          break;
        }
      }
      return [...results.values()];
    });
  }

  async follow(signal: AbortSignal): Promise<void> {
    this.stopSignal = signal;
    let first = true;
    let delay = this.pollMs;
    while (!signal.aborted && !this.closed) {
      try {
        await this.exclusive(async () => {
          const head = await this.blockNumber();
          if (!first && head === this.lastHead && !this.txPending && !this.retryDue()) return;
          await this.pass({ backlog: first, honourBackoff: true, signal });
        });
        first = false;
        delay = this.pollMs;
      } catch (e) {
        if (signal.aborted || this.closed) break;
        this.p.onEvent?.({ status: 'error', error: errorInfo(e) });
        delay = Math.min(delay * 2, 30_000);
      }
      await sleep(delay, signal).catch(ignoreAbort(signal));
    }
  }

  async pending(): Promise<NotaryPendingBatch[]> {
    return listPending({
      provider: this.p.provider,
      registry: this.registry,
      notary: this.address,
      chainId: this.chainId,
      fromBlock: this.deployBlock,
      log: this.log,
    });
  }

  decisions(): Promise<NotaryDecision[]> {
    return this.log.decisions(this.d);
  }

  backupSnapshot(): LevelSnapshot {
    return this.log.backupSnapshot();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.exclusiveMutex.idle();
    await this.log.close();
  }

  // ── one pass ───────────────────────────────────────────────────────────────

  /**
   * 1. the outbox: attestations in the log not yet seen on chain (a crash, a
   *    failed send) are sent, with the signature from the log;
   * 2. refusals are rechecked when the operator asked to;
   * 3. new `BatchAnchored` events since the cursor are decided in chain order;
   * 4. earlier refusals are reported again (on the first pass).
   */
  private async pass(o: { backlog: boolean; honourBackoff: boolean; signal?: AbortSignal }): Promise<BatchOutcome[]> {
    const out: BatchOutcome[] = [];
    const seen = new Set<string>();
    // `key` is the batch's (agency, root): a squatter's copy of a root must not hide the genuine batch (issue 9.2).
    const emit = (x: BatchOutcome | undefined, key: string): void => {
      seen.add(key);
      if (x === undefined) return;
      out.push(x);
      if (x.status === 'failed') this.noteFailure(key);
      else this.failures.succeed(key);
      this.p.onEvent?.(x);
    };
    const head = await this.blockNumber();
    this.lastHead = head;
    this.txPending = false;
    await this.checkTip();

    for (const dec of await this.log.outbox(this.d)) {
      if (o.signal?.aborted) return out;
      const key = batchKey(dec.batch.agency, dec.batch.root);
      if (o.honourBackoff && !this.isDue(key)) {
        seen.add(key);
        continue;
      }
      emit(await this.finish(dec, { resumed: true, report: o.backlog }), key);
    }

    if (this.recheckPending) {
      this.recheckPending = false;
      for (const dec of await this.log.refusals(this.d)) {
        if (dec.refusal?.reason === 'EQUIVOCATION') continue;
        emit(await this.recheck(dec), batchKey(dec.batch.agency, dec.batch.root));
      }
    }

    const safe = head - this.policy.confirmations;
    const start = await this.scanStart();
    if (start <= head) {
      for await (const page of anchorLogPages(this.client, start, head)) {
        for (const ev of page.logs) {
          if (o.signal?.aborted) return out;
          const key = batchKey(ev.agencyBytes32, ev.root);
          if (seen.has(key)) continue;
          if (ev.blockNumber > safe) {
            const missing = ev.blockNumber + this.policy.confirmations - head;
            emit(
              {
                status: 'waiting',
                batch: eventRef(ev),
                reason: 'CONFIRMATIONS',
                detail: `${missing} more confirmation(s) needed (policy: ${this.policy.confirmations})`,
              },
              key,
            );
            continue;
          }
          emit(await this.handle(ev), key);
        }
        const done = Math.min(page.toBlock, safe);
        if (done >= start) await this.saveCursor(done);
      }
    }

    if (o.backlog) {
      for (const dec of await this.log.refusals(this.d)) {
        const key = batchKey(dec.batch.agency, dec.batch.root);
        if (!seen.has(key)) emit(refusedOutcome(dec, 'earlier'), key);
      }
    }
    await this.saveTip();
    return out;
  }

  /**
   * Rollback detection beyond the scan cursor: the cursor only covers
   * anchors, but this notary's own cosign transactions sit in later blocks. At
   * the end of every pass the head it saw (number and hash, after its own
   * transactions were mined) is kept in the log; at the start of the next pass
   * (and after a restart) that block must still be there. If it is not, the
   * chain lost blocks this notary acted in (a reorg, an embedded chain
   * restarted from an older state): everything is rescanned, and every batch
   * the log says co-signed is checked against the chain (`reconcileCosigned`).
   */
  private async checkTip(): Promise<void> {
    const tip = await this.log.tip(this.d);
    if (tip === undefined) return;
    const block = await this.getBlock(tip.block);
    if (block !== null && block.hash?.toLowerCase() === tip.hash.toLowerCase()) return;
    await this.log.clearCursor(this.d);
    await this.log.clearTip(this.d);
    this.savedTip = undefined;
    this.fromBlock = undefined;
    this.p.onEvent?.({
      status: 'rewound',
      fromBlock: this.deployBlock,
      detail: `block ${tip.block} ${block === null ? 'no longer exists' : 'has changed'} since the last pass (reorganisation or an embedded chain restarted from an older state); rescanning from block ${this.deployBlock} and checking every co-signature against the chain`,
    });
  }

  private async saveTip(): Promise<void> {
    const b = await this.rpc(() => this.p.provider.getBlock('latest'), 'reading the latest block');
    if (!b?.hash || (this.savedTip?.block === b.number && this.savedTip.hash === b.hash)) return;
    await this.log.setTip(this.d, { block: b.number, hash: b.hash });
    this.savedTip = { block: b.number, hash: b.hash };
  }

  private async scanStart(): Promise<number> {
    if (this.fromBlock !== undefined) {
      const from = this.fromBlock;
      this.fromBlock = undefined;
      return from;
    }
    const cursor = await this.log.cursor(this.d);
    if (cursor === undefined) return this.deployBlock;
    const block = await this.getBlock(cursor.block);
    if (block !== null && block.hash?.toLowerCase() === cursor.hash.toLowerCase()) return cursor.block + 1;
    // The block we stopped at is gone: a reorganisation or a reset dev chain. Everything is rescanned;
    // decisions in the log stand, and the equivocation guard sees any different root for a signed (agency, seq).
    await this.log.clearCursor(this.d);
    this.p.onEvent?.({
      status: 'rewound',
      fromBlock: this.deployBlock,
      detail: `block ${cursor.block} ${block === null ? 'no longer exists' : 'has changed'} (reorganisation or chain reset); rescanning from block ${this.deployBlock}`,
    });
    return this.deployBlock;
  }

  private async saveCursor(block: number): Promise<void> {
    const b = await this.getBlock(block);
    if (b?.hash) await this.log.setCursor(this.d, { block, hash: b.hash });
  }

  // ── deciding one batch ─────────────────────────────────────────────────────

  private async handle(ev: AnchorLog): Promise<BatchOutcome | undefined> {
    // The decision about THIS agency's batch: another agency's copy of the root is decided on its own (issue 9.2).
    const existing = await this.log.decision(this.d, ev.agencyBytes32, ev.root);
    if (existing !== undefined) return this.revisit(existing, ev);
    const r = reconcile(ev, await this.stored(ev.agencyBytes32, ev.root));
    if ('mismatch' in r) return { status: 'waiting', batch: eventRef(ev), reason: 'NOT_ANCHORED', detail: r.mismatch };
    return this.evaluate(r.batch);
  }

  /** A batch the log already decided, seen again on chain: the state machine says what is left to do. */
  private async revisit(dec: NotaryDecision, ev?: AnchorLog): Promise<BatchOutcome | undefined> {
    switch (dec.status) {
      case 'refused':
        return refusedOutcome(dec, 'earlier');
      case 'signed':
      case 'submitted':
        return this.finish(dec, { resumed: true, report: true });
      case 'cosigned':
        return this.reconcileCosigned(dec, ev);
    }
  }

  /**
   * The log says co-signed: is the co-signature still on chain? After a
   * rollback (an embedded chain restarted from an older state, a reorg) it may
   * not be: the notary co-signs again — its logged attestation when the
   * registry still accepts it (same digest, not before the anchor), otherwise
   * a fresh attestation over the same batch facts. Never another root for the
   * slot: the equivocation guard of `recordSigned` still applies.
   */
  private async reconcileCosigned(dec: CosignedDecision, ev?: AnchorLog): Promise<BatchOutcome | undefined> {
    const onChain = await this.attestedAt(dec.batch.agency, dec.batch.root);
    const skipped: BatchOutcome = {
      status: 'skipped',
      batch: batchRef(dec.batch),
      reason: 'ALREADY_COSIGNED',
      detail: `co-signed earlier${dec.cosigned.txHash ? ` (tx ${dec.cosigned.txHash})` : ''}`,
    };
    if (onChain !== 0) return skipped;
    const stored = await this.stored(dec.batch.agency, dec.batch.root);
    const r = stored === undefined ? undefined : reconcile(ev ?? eventFacts(dec.batch, stored), stored);
    const batch = r !== undefined && 'batch' in r ? r.batch : undefined;
    let accepted = false;
    if (batch !== undefined && dec.attestation !== undefined && dec.attestation.attestedAt >= batch.anchoredAt && sameBatchFacts(dec.batch, batch)) {
      const theirs = await this.rpc(
        () => this.client.attestationDigest(batch.agency, batch.root, dec.attestation!.attestedAt),
        `calling attestationDigest on the registry ${this.registry}`,
      );
      accepted = theirs.toLowerCase() === dec.attestation.digest.toLowerCase();
    }
    const action = notaryTransition(dec, {
      onChainAttestedAt: onChain,
      anchored: batch !== undefined,
      submit: this.submit,
      loggedAttestationAccepted: accepted,
    });
    switch (action.type) {
      case 'skip':
        return skipped;
      case 'wait-not-anchored':
        return {
          status: 'waiting',
          batch: batchRef(dec.batch),
          reason: 'NOT_ANCHORED',
          detail: `co-signed earlier, but the chain lost the batch (rollback or reorganisation); co-signed again once it is anchored again`,
        };
      case 'recosign': {
        if (batch === undefined) return skipped;
        const recosigned = (dec.recosigned ?? 0) + 1;
        this.p.onEvent?.({
          status: 'recosigning',
          batch: batchRef(batch),
          reuse: action.reuse,
          detail: `the chain lost this notary's co-signature of batch ${batch.seq} (rollback or reorganisation); co-signing again with ${action.reuse ? 'the logged attestation' : 'a fresh attestation over the same batch facts'}`,
        });
        if (!action.reuse || dec.attestation === undefined || !sameBatchFacts(dec.batch, batch)) {
          if (!sameBatchFacts(dec.batch, batch)) return this.evaluate(batch);
          return this.sign(batch, { recosigned, ...(dec.flags ? { flags: dec.flags } : {}) });
        }
        const stamp = new Date().toISOString();
        const next: SignedDecision = {
          chainId: this.chainId,
          registry: this.registry,
          batch,
          status: 'signed',
          attestation: dec.attestation,
          recosigned,
          decidedAt: stamp,
          updatedAt: stamp,
          ...(dec.flags ? { flags: dec.flags } : {}),
        };
        await this.log.recordSigned(this.d, next);
        return this.finish(next, { resumed: true, report: true });
      }
      default:
        return skipped;
    }
  }

  private async recheck(dec: NotaryDecision): Promise<BatchOutcome | undefined> {
    const stored = await this.stored(dec.batch.agency, dec.batch.root);
    if (stored === undefined)
      return { status: 'waiting', batch: batchRef(dec.batch), reason: 'NOT_ANCHORED', detail: 'refused earlier; the registry no longer holds this root' };
    const ev: AnchoredEventFacts = {
      agencyBytes32: dec.batch.agency,
      seq: dec.batch.seq,
      root: dec.batch.root,
      size: dec.batch.size,
      prevRoot: dec.batch.prevRoot,
      firstCapturedAt: dec.batch.firstCapturedAt,
      lastCapturedAt: dec.batch.lastCapturedAt,
      blockNumber: dec.batch.blockNumber,
      txHash: dec.batch.txHash ?? '',
    };
    const r = reconcile(ev, stored);
    if ('mismatch' in r) return { status: 'waiting', batch: batchRef(dec.batch), reason: 'NOT_ANCHORED', detail: r.mismatch };
    return this.evaluate({ ...r.batch, ...(dec.batch.txHash ? { txHash: dec.batch.txHash } : {}) });
  }

  private async evaluate(batch: AnchoredBatch): Promise<BatchOutcome | undefined> {
    const onChain = await this.attestedAt(batch.agency, batch.root);
    if (onChain !== 0) {
      const stamp = new Date().toISOString();
      await this.log.recordCosigned(this.d, {
        chainId: this.chainId,
        registry: this.registry,
        batch,
        status: 'cosigned',
        cosigned: { attestedAt: onChain },
        decidedAt: stamp,
        updatedAt: stamp,
      });
      return {
        status: 'skipped',
        batch: batchRef(batch),
        reason: 'ALREADY_COSIGNED',
        detail: `the registry already holds this notary's co-signature (attestedAt ${onChain})`,
      };
    }
    // Equivocation first: of all reasons it is the one an operator must hear.
    // Capture times are a client's choice: beyond the skew or older than maxAge they are flags in the log, never a refusal (issue 9.3).
    // Refused is only what a dishonest or broken station alone produces: equivocation, a broken batch chain, an impossible batch.
    const now = this.now();
    const policy = checkBatchPolicy(batch, this.policy, now);
    const refusal =
      (await this.checkEquivocation(batch)) ??
      (policy !== undefined && !isCaptureFlag(policy.reason) ? policy : undefined) ??
      (await this.checkContinuity(batch));
    if (refusal !== undefined) return this.refuse(batch, refusal);
    const flags: NotaryFlag[] = captureFlags(batch, this.policy, now).map((f) => ({ reason: f.reason, message: f.message, details: f.details }));
    return this.sign(batch, flags.length > 0 ? { flags } : {});
  }

  private async refuse(batch: AnchoredBatch, refusal: NotaryRefusal): Promise<BatchOutcome> {
    const stamp = new Date().toISOString();
    const code = refusal.reason === 'EQUIVOCATION' ? 'NOTARY_EQUIVOCATION' : 'NOTARY_POLICY';
    const dec: NotaryDecision = {
      chainId: this.chainId,
      registry: this.registry,
      batch,
      status: 'refused',
      refusal: { ...refusal, code },
      decidedAt: stamp,
      updatedAt: stamp,
    };
    await this.log.recordRefused(this.d, dec);
    return refusedOutcome(dec, 'now');
  }

  private async checkEquivocation(batch: AnchoredBatch): Promise<NotaryRefusal | undefined> {
    const slot = await this.log.slot(this.d, batch.agency, batch.seq);
    if (slot === undefined || slot.root.toLowerCase() === batch.root) return undefined;
    const e = equivocationError(batch, slot.root);
    return { reason: 'EQUIVOCATION', message: e.message, details: e.details ?? {} };
  }

  /** `seq` = previous + 1 and `prevRoot` = the previous batch's root, by this notary's own attestations and by the chain. */
  private async checkContinuity(batch: AnchoredBatch): Promise<NotaryRefusal | undefined> {
    const details = { agency: batch.agencyCode ?? batch.agency, seq: batch.seq, prevRoot: batch.prevRoot };
    if (batch.seq === 1) {
      return isZero32(batch.prevRoot) ? undefined : { reason: 'SEQ_GAP', message: `batch 1 must have a zero prevRoot, has ${batch.prevRoot}`, details };
    }
    if (batch.seq < 1 || !Number.isSafeInteger(batch.seq)) return { reason: 'SEQ_GAP', message: `batch seq ${batch.seq} is out of range`, details };
    if (isZero32(batch.prevRoot)) return { reason: 'SEQ_GAP', message: `batch ${batch.seq} has a zero prevRoot, as if it were the agency's first`, details };
    const mine = await this.log.slot(this.d, batch.agency, batch.seq - 1);
    if (mine !== undefined && mine.root.toLowerCase() !== batch.prevRoot) {
      return {
        reason: 'PREV_ROOT_MISMATCH',
        message: `prevRoot ${batch.prevRoot} is not root ${mine.root}, which this notary attested as batch ${batch.seq - 1} of agency ${details.agency}`,
        details: { ...details, attestedPrevRoot: mine.root },
      };
    }
    const prev = await this.stored(batch.agency, batch.prevRoot);
    if (prev === undefined) return { reason: 'PREV_ROOT_MISMATCH', message: `prevRoot ${batch.prevRoot} is not anchored in the registry`, details };
    if (prev.agencyBytes32.toLowerCase() !== batch.agency)
      return {
        reason: 'PREV_ROOT_MISMATCH',
        message: `prevRoot ${batch.prevRoot} is a batch of agency ${agencyCodeOf(prev.agencyBytes32) ?? prev.agencyBytes32}, not of ${details.agency}`,
        details,
      };
    if (prev.seq !== batch.seq - 1)
      return {
        reason: 'SEQ_GAP',
        message: `prevRoot ${batch.prevRoot} is batch ${prev.seq}, not ${batch.seq - 1}`,
        details: { ...details, prevSeq: prev.seq },
      };
    return undefined;
  }

  private async sign(batch: AnchoredBatch, extra: Pick<DecisionBase, 'recosigned' | 'flags'> = {}): Promise<BatchOutcome | undefined> {
    const attestedAt = Math.max(this.now(), batch.anchoredAt);
    const agency = batch.agencyCode ?? fail('NOTARY_POLICY', `agency ${batch.agency} is not a text agency code`);
    const value: BatchAttestationValue = { root: batch.root, agency, seq: batch.seq, size: batch.size, prevRoot: batch.prevRoot, attestedAt };
    const version = await this.rpc(() => this.client.version(), `reading the version of the registry ${this.registry}`);
    const digest = attestationDigest(this.chainId, this.registry, value, version);
    // The registry computes the digest from its own storage; if the two differ, a signature would be useless.
    const theirs = await this.rpc(
      () => this.client.attestationDigest(batch.agency, batch.root, attestedAt),
      `calling attestationDigest on the registry ${this.registry}`,
    );
    if (theirs.toLowerCase() !== digest.toLowerCase()) {
      fail(
        'CHAIN_MISMATCH',
        `the registry ${this.registry} computes attestation digest ${theirs} for batch ${batch.seq} of ${value.agency}, the SDK ${digest}: not a registry this SDK version can attest for`,
        { details: { ours: digest, theirs } },
      );
    }
    const types = ATTESTATION_TYPES as unknown as Record<string, TypedDataField[]>;
    const signature = Signature.from(
      await this.p.wallet.signTypedData(attestationDomain(this.chainId, this.registry, version), types, attestationMessage(value)),
    ).serialized;
    const signer = recoverAttestationSigner(this.chainId, this.registry, value, signature, version);
    if (signer !== this.address) fail('KEY_INVALID', `the notary signer produced a signature of ${signer}, not of ${this.address}`);
    const stamp = new Date().toISOString();
    const dec: SignedDecision = {
      chainId: this.chainId,
      registry: this.registry,
      batch,
      status: 'signed',
      attestation: { attestedAt, signature, digest },
      decidedAt: stamp,
      updatedAt: stamp,
      ...definedOnly(extra),
    };
    try {
      await this.log.recordSigned(this.d, dec);
    } catch (e) {
      if (!isLiuhenError(e, 'NOTARY_EQUIVOCATION')) throw e;
      return this.refuse(batch, { reason: 'EQUIVOCATION', message: e.message, details: e.details ?? {} });
    }
    return this.finish(dec, { resumed: false, report: true });
  }

  // ── sending cosign ─────────────────────────────────────────────────────────

  /** Brings a signed decision to the chain (or reports it, in relayer mode). */
  private async finish(dec: SignedDecision | SubmittedDecision, o: { resumed: boolean; report: boolean }): Promise<BatchOutcome | undefined> {
    const at = dec.attestation;
    const onChain = await this.attestedAt(dec.batch.agency, dec.batch.root);
    const anchored = onChain === 0 && this.submit ? (await this.stored(dec.batch.agency, dec.batch.root)) !== undefined : true;
    try {
      const tx =
        dec.status === 'submitted' && onChain === 0 && this.submit && anchored ? await this.outbox.reconcile(outboxTx(dec.tx, this.address)) : undefined;
      const action = notaryTransition(dec, { onChainAttestedAt: onChain, anchored, submit: this.submit, ...(tx ? { tx } : {}) });
      switch (action.type) {
        case 'record-cosigned':
          return await this.markCosigned(dec, action.attestedAt, o.resumed, dec.tx?.hash);
        case 'report-signed':
          return o.report ? signedOutcome(dec, false, o.resumed) : undefined;
        case 'wait-not-anchored':
          return {
            status: 'waiting',
            batch: batchRef(dec.batch),
            reason: 'NOT_ANCHORED',
            detail: `signed (attestedAt ${at.attestedAt}); the registry does not hold this root now`,
          };
        case 'rebroadcast':
          if (dec.status !== 'submitted') return await this.sendTx(dec, o.resumed);
          try {
            await this.outbox.broadcast(dec.tx.raw, (e) => this.sendError(e, dec));
          } catch (e) {
            throw this.sendError(e, dec);
          }
          return await this.awaitReceipt(dec, o.resumed);
        case 'send':
          return await this.sendTx(dec, o.resumed);
        case 'evaluate':
        case 'skip':
        case 'recosign':
        case 'report-refused':
          return undefined; // not reachable from signed/submitted
      }
    } catch (e) {
      // The chain itself is gone: let the pass fail (follow retries with backoff). Anything else concerns this batch only.
      if (isLiuhenError(e, 'CHAIN_UNREACHABLE') && isNetworkError(e.cause)) throw e;
      return { status: 'failed', batch: batchRef(dec.batch), error: errorInfo(e) };
    }
  }

  private async sendTx(dec: SignedDecision | SubmittedDecision, resumed: boolean): Promise<BatchOutcome | undefined> {
    const data = await this.rpc(
      () => this.client.encodeCosign(dec.batch.agency, dec.batch.root, [dec.attestation]),
      `reading the version of the registry ${this.registry}`,
    );
    let next: SubmittedDecision;
    try {
      const { nextNonce } = await this.outbox.nonces();
      const tx = await this.outbox.sign({ to: this.registry, data, nonce: nextNonce }, `cosign for batch ${dec.batch.seq}`);
      next = {
        ...withoutStatus(dec),
        status: 'submitted',
        attestation: dec.attestation,
        tx: { hash: tx.txHash, nonce: tx.nonce, raw: tx.raw, signedAt: tx.signedAt },
        updatedAt: new Date().toISOString(),
      };
      await this.outbox.persistAndSend(
        tx,
        () => this.log.recordSubmitted(this.d, next),
        (e) => this.sendError(e, dec),
      );
    } catch (e) {
      throw this.sendError(e, dec);
    }
    return this.awaitReceipt(next, resumed);
  }

  private async awaitReceipt(dec: SubmittedDecision, resumed: boolean): Promise<BatchOutcome> {
    const tx = dec.tx;
    const receipt = await this.outbox.waitReceipt(tx.hash, {
      timeoutMs: this.receiptTimeoutMs,
      pollMs: Math.min(this.pollMs, 250),
      ...(this.stopSignal ? { signal: this.stopSignal } : {}),
    });
    if (receipt === null) {
      this.txPending = true;
      return {
        status: 'waiting',
        batch: batchRef(dec.batch),
        reason: 'TX_PENDING',
        detail: `cosign transaction ${tx.hash} (nonce ${tx.nonce}) not mined yet; it is rebroadcast on the next run`,
      };
    }
    const onChain = receipt.status === 1 ? await this.attestedAt(dec.batch.agency, dec.batch.root) : 0;
    if (onChain !== 0) return this.markCosigned(dec, onChain, resumed, tx.hash, receipt.blockNumber);
    fail(
      'CHAIN_REVERTED',
      `the cosign transaction ${tx.hash} for batch ${dec.batch.seq} of ${dec.batch.agencyCode ?? dec.batch.agency} did not record the co-signature; the attestation stays in the log and is sent again on the next run`,
      { details: { tx: tx.hash } },
    );
  }

  private async markCosigned(
    dec: SignedDecision | SubmittedDecision,
    attestedAt: number,
    resumed: boolean,
    txHash?: string,
    blockNumber?: number,
  ): Promise<BatchOutcome> {
    const next: CosignedDecision = {
      ...withoutStatus(dec),
      status: 'cosigned',
      attestation: dec.attestation,
      ...(dec.tx ? { tx: dec.tx } : {}),
      cosigned: { attestedAt, ...(txHash === undefined ? {} : { txHash }), ...(blockNumber === undefined ? {} : { blockNumber }) },
      updatedAt: new Date().toISOString(),
    };
    await this.log.recordCosigned(this.d, next);
    return signedOutcome(next, true, resumed);
  }

  /** What went wrong sending cosign, with what to do about it. */
  private sendError(err: unknown, dec: NotaryDecision): LiuhenError {
    if (isLiuhenError(err, 'NOTARY_UNFUNDED')) return err;
    // The outbox hands back coded errors; the node's own error is their cause.
    const e = isLiuhenError(err) ? err.cause : err;
    if (e === undefined) return err as LiuhenError;
    const what = `batch ${dec.batch.seq} of ${dec.batch.agencyCode ?? dec.batch.agency}`;
    if (isError(e, 'INSUFFICIENT_FUNDS') || /insufficient funds|enough funds/i.test(messageOf(e))) {
      return new LiuhenError(
        'NOTARY_UNFUNDED',
        `the notary account ${this.address} cannot pay the gas of cosign for ${what}; fund it (on a dev chain: send it ETH from a dev account), or run with --no-submit and hand the signatures to a relayer. The attestation stays in the log.`,
        { cause: e, details: { notary: this.address } },
      );
    }
    const revert = registryRevert(e);
    if (revert?.name === 'EvidenceRegistryNotNotary') {
      return new LiuhenError(
        'CHAIN_REVERTED',
        `cosign for ${what} reverted: ${this.address} does not hold NOTARY_ROLE; the registry admin must grant it (the attestation stays in the log and is sent once the role is granted)`,
        { cause: e, details: { error: revert.name, args: revert.args } },
      );
    }
    return isLiuhenError(err) ? err : chainError(e, `sending cosign for ${what}`);
  }

  // ── plumbing ───────────────────────────────────────────────────────────────

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new LiuhenError('JOURNAL_CLOSED', 'the notary is closed'));
    return this.exclusiveMutex.run(fn);
  }

  private blockNumber(): Promise<number> {
    return this.rpc(() => this.p.provider.getBlockNumber(), 'reading the block number');
  }

  private getBlock(n: number): ReturnType<Provider['getBlock']> {
    return this.rpc(() => this.p.provider.getBlock(n), `reading block ${n}`);
  }

  /** The registry's batch of `root`; undefined when it was never anchored. */
  private async stored(agency: string, root: string): Promise<OnChainBatch | undefined> {
    const b = await this.rpc(() => this.client.batch(agency, root), `calling batch on the registry ${this.registry}`);
    return b.exists ? b : undefined;
  }

  private attestedAt(agency: string, root: string): Promise<number> {
    return this.rpc(() => this.client.attestedAt(agency, root, this.address), `calling attestedAt on the registry ${this.registry}`);
  }

  private async rpc<T>(fn: () => Promise<T>, doing: string): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw chainError(e, doing);
    }
  }

  private noteFailure(key: string): void {
    this.failures.fail(key);
  }

  private isDue(key: string): boolean {
    return this.failures.due(key);
  }

  private retryDue(): boolean {
    return this.failures.anyDue();
  }
}

function awaitsChain(o: BatchOutcome): boolean {
  return o.status === 'waiting' && (o.reason === 'CONFIRMATIONS' || o.reason === 'TX_PENDING');
}

function signedOutcome(dec: NotaryDecision, submitted: boolean, resumed: boolean): BatchOutcome {
  const at = dec.attestation;
  const txHash = dec.cosigned?.txHash ?? dec.tx?.hash;
  return {
    status: 'signed',
    batch: batchRef(dec.batch),
    attestedAt: at?.attestedAt ?? dec.cosigned?.attestedAt ?? 0,
    signature: at?.signature ?? '',
    submitted,
    resumed,
    ...(submitted && txHash !== undefined ? { cosignTx: txHash } : {}),
    ...(dec.flags !== undefined && dec.flags.length > 0 ? { flags: dec.flags } : {}),
  };
}

function refusedOutcome(dec: RefusedDecision, recorded: 'now' | 'earlier'): BatchOutcome {
  const r = dec.refusal;
  return { status: 'refused', batch: batchRef(dec.batch), reason: r.reason, error: { code: r.code, message: r.message, details: r.details }, recorded };
}

export function errorInfo(e: unknown): NotaryErrorInfo {
  if (e instanceof LiuhenError)
    return e.details === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, details: e.details };
  return { code: 'INTERNAL', message: messageOf(e) };
}

function messageOf(e: unknown): string {
  const parts: string[] = [];
  let cursor: unknown = e;
  for (let i = 0; i < 4 && typeof cursor === 'object' && cursor !== null; i++) {
    const m = (cursor as { shortMessage?: unknown; message?: unknown }).shortMessage ?? (cursor as { message?: unknown }).message;
    if (typeof m === 'string') parts.push(m);
    cursor = (cursor as { error?: unknown; info?: { error?: unknown } }).error ?? (cursor as { info?: { error?: unknown } }).info?.error;
  }
  return parts.join(': ') || String(e);
}

/** A cosign transaction of the log as the outbox knows it (the log keeps its own field names, `hash`). */
function outboxTx(tx: CosignTx, from: string): OutboxTx {
  return { from, nonce: tx.nonce, txHash: tx.hash, raw: tx.raw, signedAt: tx.signedAt };
}

/** The facts of the stored batch as an event (a revisit that did not come from a scan). */
function eventFacts(batch: AnchoredBatch, stored: OnChainBatch): AnchoredEventFacts {
  return {
    agencyBytes32: stored.agencyBytes32,
    seq: stored.seq,
    root: batch.root,
    size: stored.size,
    prevRoot: stored.prevRoot,
    firstCapturedAt: stored.firstCapturedAt,
    lastCapturedAt: stored.lastCapturedAt,
    blockNumber: stored.blockNumber,
    txHash: batch.txHash ?? '',
  };
}

/** The facts an attestation signs (and the registry keeps per batch), equal in both: re-anchoring the same batch keeps them. */
function sameBatchFacts(a: AnchoredBatch, b: AnchoredBatch): boolean {
  const eq = (x: string, y: string) => x.toLowerCase() === y.toLowerCase();
  return (
    eq(a.agency, b.agency) &&
    a.seq === b.seq &&
    eq(a.root, b.root) &&
    a.size === b.size &&
    eq(a.prevRoot, b.prevRoot) &&
    a.firstCapturedAt === b.firstCapturedAt &&
    a.lastCapturedAt === b.lastCapturedAt
  );
}

/** The fields every decision shares, without its status-specific ones. */
function withoutStatus(d: NotaryDecision): DecisionBase {
  return {
    chainId: d.chainId,
    registry: d.registry,
    batch: d.batch,
    decidedAt: d.decidedAt,
    updatedAt: d.updatedAt,
    ...(d.flags === undefined ? {} : { flags: d.flags }),
    ...(d.recosigned === undefined ? {} : { recosigned: d.recosigned }),
  };
}
