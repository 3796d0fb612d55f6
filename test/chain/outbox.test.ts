/**
 * The transaction outbox: the pure reconcile table, the one gas and fee
 * policy, the one "already known" match, and the whole path on Hardhat's
 * in-process network (sign → persist → broadcast → reconcile → receipt,
 * a byte-identical resend, a nonce taken by another transaction).
 */
import { parseEther, Wallet } from 'ethers';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyTx, feeFields, gasLimitFor, isAlreadyKnown, isInsufficientFunds, Outbox, type OutboxTx, type TxFacts } from '../../src/chain/outbox.js';
import { clearFailpoints, enableFailpoint, FailpointError } from '../../src/util/failpoints.js';
import { provider } from '../notary/helpers.js';

afterEach(clearFailpoints);

const mined = { status: 1, blockNumber: 7, blockHash: '0xb7' };
const reverted = { status: 0, blockNumber: 8, blockHash: '0xb8' };

describe('classifyTx (reconcile by hash and nonce)', () => {
  const table: Array<[string, number, TxFacts, ReturnType<typeof classifyTx>['kind']]> = [
    ['receipt, success', 3, { receipt: mined, minedNonce: 4, nextNonce: 4 }, 'mined'],
    ['receipt, reverted', 3, { receipt: reverted, minedNonce: 4, nextNonce: 4 }, 'reverted'],
    ['no receipt, nonce below the mined count: replaced', 3, { receipt: null, minedNonce: 4, nextNonce: 4 }, 'replaced'],
    ['no receipt, nonce is the next: resend', 4, { receipt: null, minedNonce: 4, nextNonce: 4 }, 'unmined'],
    ['no receipt, nonce in the pool: resend', 5, { receipt: null, minedNonce: 4, nextNonce: 7 }, 'unmined'],
    ['no receipt, nonce beyond the next (reset chain): gap', 9, { receipt: null, minedNonce: 4, nextNonce: 5 }, 'gap'],
    ['receipt wins over nonces', 0, { receipt: mined, minedNonce: 9, nextNonce: 9 }, 'mined'],
  ];
  for (const [name, nonce, facts, kind] of table) {
    it(name, () => expect(classifyTx({ nonce }, facts).kind).toBe(kind));
  }
});

describe('policies', () => {
  it('one gas margin: +30 % and 10,000', () => {
    expect(gasLimitFor(100_000n)).toBe(140_000n);
    expect(gasLimitFor(0n)).toBe(10_000n);
  });

  it('EIP-1559 fields when the node gives them, else a legacy gas price', () => {
    expect(feeFields({ gasPrice: 5n, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n })).toEqual({ type: 2, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n });
    expect(feeFields({ gasPrice: 5n, maxFeePerGas: null, maxPriorityFeePerGas: null })).toEqual({ type: 0, gasPrice: 5n });
    expect(feeFields({ gasPrice: null, maxFeePerGas: 10n, maxPriorityFeePerGas: null })).toEqual({ type: 0, gasPrice: 0n });
  });

  it('one "already known" match for every way nodes say it', () => {
    for (const m of [
      'already known',
      'Known transaction: 0xab',
      'transaction already imported',
      'nonce too low',
      'nonce has already been used',
      'replacement transaction underpriced',
    ]) {
      expect(isAlreadyKnown(new Error(m)), m).toBe(true);
      expect(isAlreadyKnown({ code: 'UNKNOWN_ERROR', error: { message: m } }), m).toBe(true);
    }
    expect(isAlreadyKnown({ code: 'NONCE_EXPIRED', message: 'x' })).toBe(true);
    expect(isAlreadyKnown(new Error('insufficient funds for gas * price + value'))).toBe(false);
    expect(isInsufficientFunds(new Error('insufficient funds for gas * price + value'))).toBe(true);
  });
});

describe('Outbox on a real EVM (Hardhat in-process)', () => {
  async function funded(): Promise<Wallet> {
    const w = Wallet.createRandom().connect(provider) as unknown as Wallet;
    const admin = await provider.getSigner(0);
    await (await admin.sendTransaction({ to: w.address, value: parseEther('1') })).wait();
    return w;
  }

  it('persists before it broadcasts, reconciles to mined; a resend of the same bytes is no error', async () => {
    const w = await funded();
    const { chainId } = await provider.getNetwork();
    const outbox = new Outbox({ kind: 'anchor', provider, signer: w, chainId: Number(chainId) });
    const steps: string[] = [];
    const tx = await outbox.sign({ to: w.address, data: '0x', nonce: 0 }, 'a test transfer');
    let persisted: OutboxTx | undefined;
    await outbox.persistAndSend(tx, async (t) => {
      expect(await provider.getTransaction(t.txHash)).toBeNull(); // nothing sent before it is persisted
      persisted = t;
      steps.push('persist');
    });
    expect(persisted).toEqual(tx);
    expect(steps).toEqual(['persist']);
    const receipt = await outbox.waitReceipt(tx.txHash, { timeoutMs: 10_000, pollMs: 20 });
    expect(receipt?.status).toBe(1);
    expect((await outbox.reconcile(tx)).kind).toBe('mined');
    await expect(outbox.broadcast(tx.raw)).resolves.toBeUndefined(); // already mined: "nonce too low" / known
    expect(await provider.getTransactionCount(w.address)).toBe(1);
  });

  it('a transaction whose nonce another one used reconciles to replaced', async () => {
    const w = await funded();
    const { chainId } = await provider.getNetwork();
    const outbox = new Outbox({ kind: 'cosign', provider, signer: w, chainId: Number(chainId) });
    const stale = await outbox.sign({ to: w.address, data: '0x01', nonce: 0, gasLimit: 30_000n }, 'a test transfer');
    await (await w.sendTransaction({ to: w.address, value: 1n, nonce: 0 })).wait();
    expect((await outbox.reconcile(stale)).kind).toBe('replaced');
    const gap = await outbox.sign({ to: w.address, data: '0x', nonce: 5, gasLimit: 30_000n }, 'a test transfer');
    expect(await outbox.reconcile(gap)).toEqual({ kind: 'gap', next: 1 });
  });

  it('failpoint <kind>.after-sign stops after the persist, before anything is sent', async () => {
    const w = await funded();
    const { chainId } = await provider.getNetwork();
    const outbox = new Outbox({ kind: 'cosign', provider, signer: w, chainId: Number(chainId) });
    enableFailpoint('cosign.after-sign', 'throw');
    const tx = await outbox.sign({ to: w.address, data: '0x', nonce: 0 }, 'a test transfer');
    let persisted = false;
    await expect(outbox.persistAndSend(tx, async () => void (persisted = true))).rejects.toBeInstanceOf(FailpointError);
    expect(persisted).toBe(true);
    expect(await provider.getTransaction(tx.txHash)).toBeNull();
    expect((await outbox.reconcile(tx)).kind).toBe('unmined');
  });
});
