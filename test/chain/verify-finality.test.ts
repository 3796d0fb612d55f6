/**
 * Issue 11: a verdict relies only on chain facts that are FINAL. On a chain
 * whose policy asks for 2 confirmations, a notary's co-signature in the head
 * block (1 confirmation: a reorganisation may still undo it) must not make a
 * receipt verified — neither for a fresh verifier nor for a long-lived one
 * whose cached view would keep it — until its block has its second
 * confirmation. On the embedded chain (finality 1) nothing changes.
 */
import { afterAll, expect, it } from 'vitest';
import { createChainVerifier } from '../../src/chain/verifier.js';
import type { Receipt } from '../../src/receipt/format.js';
import { verifyReceipt } from '../../src/verify/verify.js';
import { anchoredDecision, cosign, stopAll } from './helpers.js';

afterAll(async () => {
  await stopAll();
});

it('with 2 confirmations asked, a co-signature in the head block is not counted until its block is final', async () => {
  const { chain, registry, provider, notary, lh, record } = await anchoredDecision('C-FINAL');
  let receipt: Receipt;
  try {
    // The anchor gets its second confirmation; the co-signature then lands in the head block.
    await provider.send('evm_mine', []);
    await cosign(notary, chain.chainId, registry, (await lh.receipt(record.id)).batch);
    receipt = await lh.receipt(record.id);
    expect(receipt.attestations.length).toBe(1);
  } finally {
    await lh.close();
  }

  const longLived = createChainVerifier({ provider, trustedRegistries: [registry], minConfirmations: 2, cache: { headTtlMs: 0 } });
  const uncached = () => createChainVerifier({ provider, trustedRegistries: [registry], minConfirmations: 2 });
  try {
    for (const verifier of [longLived, uncached()]) {
      const v = await verifyReceipt({ receipt, chain: verifier });
      expect(v.checks.find((c) => c.name === 'notary')).toMatchObject({ status: 'pending' });
      expect(v.status).toBe('incomplete');
    }
    // One more block: the co-signature's block is final now.
    await provider.send('evm_mine', []);
    expect((await verifyReceipt({ receipt, chain: longLived })).status).toBe('verified');
    expect((await verifyReceipt({ receipt, chain: uncached() })).status).toBe('verified');
  } finally {
    longLived.close();
    provider.destroy();
  }
}, 120_000);
