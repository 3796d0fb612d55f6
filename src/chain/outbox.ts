import { getAddress, isError, Transaction, type FeeData, type Provider, type Signer, type TransactionReceipt, type TransactionRequest } from 'ethers';
import { fail, isLiuhenError, LiuhenError } from '../errors.js';
import { chainMessage, classifyChainError, isNetworkError, toChainError, type ChainErrorContext } from '../util/chain-error.js';
import { failpoint, type FailpointName } from '../util/failpoints.js';
import { sleep } from '../util/sleep.js';

/**
 * The transaction outbox: the one way the SDK sends a transaction and
 * survives a crash, used by the anchorer (`anchor`) and the notary (`cosign`).
 *
 *   sign ──▶ persist the raw bytes ──▶ broadcast ──▶ reconcile by hash and nonce ──▶ receipt
 *
 * - **sign**: one gas policy (`gasLimitFor`), one fee policy (`feeFields`);
 *   the signed bytes are checked for the account and nonce asked for.
 * - **persist**: the caller's `persist(tx)` writes the raw transaction to its
 *   own durable state (the journal's anchor state, the notary log) *before*
 *   anything leaves the process. A crash after it leaves a transaction the next
 *   run finds by hash or resends byte for byte; never a second, different
 *   transaction for the same nonce.
 * - **broadcast**: a node that already has it (in its pool, or mined) says so
 *   in many words; `isAlreadyKnown` is the one match for all of them.
 * - **reconcile**: `classifyTx` (pure) says from the receipt and the account's
 *   nonces whether the transaction was mined, reverted, replaced by another
 *   transaction with its nonce, lies beyond a nonce gap (a reset chain), or can
 *   still be mined (resend the same bytes).
 *
 * Failpoints `<kind>.after-sign` (persisted, nothing sent) and
 * `<kind>.after-broadcast` (sent) let crash tests stop a process exactly there.
 */

export type TxKind = 'anchor' | 'cosign';

/** A signed transaction as persisted before its first broadcast. Public data: it is what goes on chain. */
export interface OutboxTx {
  from: string;
  nonce: number;
  /** Transaction hash. */
  txHash: string;
  /** The signed transaction, RLP, 0x hex. */
  raw: string;
  signedAt: string;
}

/** What the chain says of a persisted transaction. */
export type TxStatus =
  /** Mined and successful. */
  | { kind: 'mined'; blockNumber: number; blockHash: string }
  /** Mined and reverted: a new transaction is needed (after finding out why). */
  | { kind: 'reverted'; blockNumber: number }
  /** Not mined, and its nonce is used by another transaction: it can never be mined. */
  | { kind: 'replaced' }
  /** Not mined, and its nonce lies beyond the account's next one (the chain lost earlier transactions): sending it would leave a gap. */
  | { kind: 'gap'; next: number }
  /** Not mined, nonce still free or next: resend the same bytes. */
  | { kind: 'unmined' };

/** Chain facts about one persisted transaction. */
export interface TxFacts {
  receipt: { status: number | null; blockNumber: number; blockHash: string } | null;
  /** Transactions of the account mined so far (`eth_getTransactionCount(…, 'latest')`). */
  minedNonce: number;
  /** The account's next nonce counting the pool (`…, 'pending'`, or a running count during a pass). */
  nextNonce: number;
}

/** Pure: what became of `tx`, from `facts`. Table-tested in test/chain/outbox.test.ts. */
export function classifyTx(tx: Pick<OutboxTx, 'nonce'>, facts: TxFacts): TxStatus {
  if (facts.receipt !== null) {
    return facts.receipt.status === 0
      ? { kind: 'reverted', blockNumber: facts.receipt.blockNumber }
      : { kind: 'mined', blockNumber: facts.receipt.blockNumber, blockHash: facts.receipt.blockHash };
  }
  if (tx.nonce < facts.minedNonce) return { kind: 'replaced' };
  if (tx.nonce > facts.nextNonce) return { kind: 'gap', next: facts.nextNonce };
  return { kind: 'unmined' };
}

/** The one gas policy: the node's estimate plus 30 % and 10,000 (state-dependent paths, a storage slot turning non-zero between estimate and mining). */
export function gasLimitFor(estimate: bigint): bigint {
  return (estimate * 13n) / 10n + 10_000n;
}

/** The one fee policy: EIP-1559 fields when the node gives them, else a legacy gas price. */
export function feeFields(
  fees: Pick<FeeData, 'gasPrice' | 'maxFeePerGas' | 'maxPriorityFeePerGas'>,
): Pick<TransactionRequest, 'type' | 'gasPrice' | 'maxFeePerGas' | 'maxPriorityFeePerGas'> {
  if (fees.maxFeePerGas !== null && fees.maxPriorityFeePerGas !== null)
    return { type: 2, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
  return { type: 0, gasPrice: fees.gasPrice ?? 0n };
}

const ALREADY_KNOWN =
  /already known|already imported|known transaction|nonce too low|nonce has already been used|replacement transaction underpriced|transaction already in pool/i;

/**
 * True when a node's refusal of `eth_sendRawTransaction` means it already has
 * the transaction (in its pool, or mined) or its nonce is spent: a resend of
 * persisted bytes after a crash. The next reconcile finds out which.
 */
export function isAlreadyKnown(e: unknown): boolean {
  if (isError(e, 'NONCE_EXPIRED') || isError(e, 'REPLACEMENT_UNDERPRICED')) return true;
  const parts: string[] = [];
  for (let cur: unknown = e, i = 0; cur && typeof cur === 'object' && i < 5; i++) {
    const c = cur as { shortMessage?: unknown; message?: unknown; code?: unknown; error?: unknown; info?: { error?: unknown }; cause?: unknown };
    for (const m of [c.shortMessage, c.message, c.code]) if (typeof m === 'string') parts.push(m);
    cur = c.error ?? c.info?.error ?? c.cause;
  }
  return ALREADY_KNOWN.test(parts.join(' ')) || /NONCE_EXPIRED|REPLACEMENT_UNDERPRICED/.test(parts.join(' '));
}

/** True when a node refused a transaction because the account cannot pay for it. */
export function isInsufficientFunds(e: unknown): boolean {
  return isError(e, 'INSUFFICIENT_FUNDS') || /insufficient funds|enough funds/i.test(chainMessage(e));
}

export interface OutboxParameters {
  kind: TxKind;
  provider: Provider;
  /** Signs offline (`signTransaction`); its address is the sending account. */
  signer: Signer;
  chainId: number;
  /** For error messages: the redacted endpoint, when it may be named. */
  endpoint?: string;
  /** Decodes the contract's custom errors in reverts (the registry's `registryRevert`). */
  decodeRevert?: ChainErrorContext['decodeRevert'];
}

export interface SignParameters {
  to: string;
  data: string;
  nonce: number;
  /** A gas limit to use as is; otherwise the node estimates and `gasLimitFor` adds the margin. */
  gasLimit?: bigint;
  /** Fee data to reuse (one `eth_feeHistory` per pass); otherwise fetched. */
  fees?: FeeData;
}

export class Outbox {
  readonly kind: TxKind;
  private readonly p: OutboxParameters;
  private from: string | undefined;

  constructor(p: OutboxParameters) {
    this.kind = p.kind;
    this.p = p;
  }

  /** The sending account (checksummed). */
  async address(): Promise<string> {
    this.from ??= getAddress(await this.p.signer.getAddress());
    return this.from;
  }

  /** The node's estimate for a call from the sending account; a revert comes back as CHAIN_REVERTED. */
  async estimate(to: string, data: string, doing: string): Promise<bigint> {
    const from = await this.address();
    try {
      return await this.p.provider.estimateGas({ from, to, data });
    } catch (e) {
      throw this.error(e, doing);
    }
  }

  /** Signs a transaction (not yet persisted, not sent). */
  async sign(s: SignParameters, doing: string): Promise<OutboxTx> {
    const from = await this.address();
    const gasLimit = s.gasLimit ?? gasLimitFor(await this.estimate(s.to, s.data, doing));
    const fees = s.fees ?? (await this.rpc(() => this.p.provider.getFeeData(), 'reading gas prices'));
    const request: TransactionRequest = { to: s.to, data: s.data, value: 0n, nonce: s.nonce, gasLimit, chainId: BigInt(this.p.chainId), ...feeFields(fees) };
    const raw = await this.p.signer.signTransaction(request);
    const parsed = Transaction.from(raw);
    if (parsed.nonce !== s.nonce || !parsed.from || getAddress(parsed.from) !== from || parsed.hash === null) {
      fail('KEY_INVALID', `the ${this.kind} signer produced a transaction for another account or nonce`);
    }
    return { from, nonce: s.nonce, txHash: parsed.hash, raw, signedAt: new Date().toISOString() };
  }

  /**
   * Persists `tx` through `persist` (which must be durable when it resolves),
   * then broadcasts it. The failpoints sit exactly between the steps.
   */
  async persistAndSend(tx: OutboxTx, persist: (tx: OutboxTx) => Promise<void>, unfunded?: (e: unknown) => LiuhenError): Promise<void> {
    await persist(tx);
    failpoint(`${this.kind}.after-sign` satisfies FailpointName);
    await this.broadcast(tx.raw, unfunded);
    failpoint(`${this.kind}.after-broadcast` satisfies FailpointName);
  }

  /**
   * `eth_sendRawTransaction` of persisted bytes. A node that already has them
   * (or whose account nonce moved past them) is no error: the next reconcile
   * tells. Network failures are CHAIN_UNREACHABLE; an unpaid account
   * CHAIN_TX_REJECTED (or what `unfunded` returns); any other refusal a coded
   * error (`toChainError`).
   */
  async broadcast(raw: string, unfunded?: (e: unknown) => LiuhenError): Promise<void> {
    try {
      await this.p.provider.broadcastTransaction(raw);
    } catch (e) {
      if (isNetworkError(e)) throw this.error(e, `sending the ${this.kind} transaction`);
      if (isAlreadyKnown(e)) return;
      if (isInsufficientFunds(e)) {
        throw (
          unfunded?.(e) ??
          new LiuhenError('CHAIN_TX_REJECTED', `the account ${this.from ?? ''} has too little ether to pay for the ${this.kind} transaction; fund it`, {
            cause: e,
          })
        );
      }
      if (classifyChainError(e) === 'revert') throw this.error(e, `sending the ${this.kind} transaction`);
      fail('CHAIN_TX_REJECTED', `the node refused the ${this.kind} transaction: ${chainMessage(e)}`, { cause: e });
    }
  }

  /** What became of `tx` (receipt by hash, then the account's nonces). */
  async reconcile(tx: OutboxTx, nonces?: { minedNonce: number; nextNonce: number }): Promise<TxStatus> {
    const receipt = await this.receipt(tx.txHash);
    if (receipt !== null) return classifyTx(tx, { receipt, minedNonce: 0, nextNonce: 0 });
    const n = nonces ?? (await this.nonces());
    return classifyTx(tx, { receipt: null, ...n });
  }

  /** The sending account's mined and next nonce. */
  async nonces(): Promise<{ minedNonce: number; nextNonce: number }> {
    const from = await this.address();
    const minedNonce = await this.rpc(() => this.p.provider.getTransactionCount(from, 'latest'), 'reading the account nonce');
    const pending = await this.rpc(() => this.p.provider.getTransactionCount(from, 'pending'), 'reading the account nonce');
    return { minedNonce, nextNonce: Math.max(minedNonce, pending) };
  }

  async receipt(hash: string): Promise<TransactionReceipt | null> {
    return this.rpc(() => this.p.provider.getTransactionReceipt(hash), `reading the receipt of ${hash}`);
  }

  /** Polls for the receipt of `hash` until it exists, `timeoutMs` passes (null) or `signal` aborts (null). */
  async waitReceipt(hash: string, o: { timeoutMs: number; pollMs: number; signal?: AbortSignal }): Promise<TransactionReceipt | null> {
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      const r = await this.receipt(hash);
      if (r !== null) return r;
      if (Date.now() >= deadline || o.signal?.aborted) return null;
      try {
        await sleep(o.pollMs, o.signal);
      } catch {
        return null;
      }
    }
  }

  private async rpc<T>(fn: () => Promise<T>, doing: string): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.error(e, doing);
    }
  }

  private error(e: unknown, doing: string): LiuhenError {
    if (isLiuhenError(e)) return e;
    return toChainError(e, {
      doing,
      ...(this.p.endpoint === undefined ? {} : { endpoint: this.p.endpoint }),
      ...(this.p.decodeRevert ? { decodeRevert: this.p.decodeRevert } : {}),
    });
  }
}
