/**
 * The verdict cache (src/chain/verifier-cache.ts) reads latest state between
 * syncs. A value read from a block the view has not synced yet (here: a
 * notary's co-signature) must not outlive that block being reorganised away:
 * the next sync checks only the blocks it saw, so such a value would stay
 * cached for good and the verdict stay verified with no co-signature on chain.
 * Time is a fake clock (only `Date`): the view's TTL decides when it syncs.
 */
import { Contract } from 'ethers';
import { afterAll, afterEach, expect, it, vi } from 'vitest';
import { agencyToBytes32 } from '../../src/chain/attestation.js';
import { registryInterface } from '../../src/chain/registry.js';
import { createChainVerifier } from '../../src/chain/verifier.js';
import type { Receipt } from '../../src/receipt/format.js';
import { verifyReceipt } from '../../src/verify/verify.js';
import { anchoredDecision, cosign, stopAll } from './helpers.js';

afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => {
  await stopAll();
});

it('a co-signature read from a block the view had not synced, then reorganised away: the verdict is not verified', async () => {
  const { chain, registry, provider, notary, lh, record } = await anchoredDecision('C-FORK');
  let receipt: Receipt;
  let anchored: string;
  try {
    anchored = (await provider.send('evm_snapshot', [])) as string;
    // The co-signature as the receipt carries it (then rolled back: not on chain).
    await cosign(notary, chain.chainId, registry, (await lh.receipt(record.id)).batch);
    receipt = await lh.receipt(record.id);
    expect(receipt.attestations.length).toBe(1);
  } finally {
    await lh.close();
  }
  expect(await provider.send('evm_revert', [anchored])).toBe(true);
  await provider.send('evm_mine', []);

  vi.useFakeTimers({ toFake: ['Date'] });
  const verifier = createChainVerifier({ provider, trustedRegistries: [registry], cache: { headTtlMs: 60_000 } });
  try {
    // The view syncs (no co-signature on chain yet) without reading the co-signature.
    expect(await verifier.verdictStamp!(receipt)).toBeDefined();
    // The same attestation co-signed on chain (a block the view has not synced: its TTL has not passed) …
    const fork = (await provider.send('evm_snapshot', [])) as string;
    const c = new Contract(registry, registryInterface, notary);
    const att = receipt.attestations[0]!;
    await (await c.getFunction('cosign').send(agencyToBytes32(receipt.batch.agency), receipt.batch.root, [att])).wait();
    const during = await verifyReceipt({ receipt, chain: verifier });
    // … and that block reorganised away (another block at its height, no co-signature).
    expect(await provider.send('evm_revert', [fork])).toBe(true);
    await provider.send('evm_mine', []);
    vi.setSystemTime(Date.now() + 120_000); // the TTL passed: the next verdict syncs
    const fresh = createChainVerifier({ provider, trustedRegistries: [registry] });
    expect((await verifyReceipt({ receipt, chain: fresh })).status).toBe('incomplete');
    for (let i = 0; i < 2; i++) {
      const v = await verifyReceipt({ receipt, chain: verifier });
      expect(v.checks.find((x) => x.name === 'notary')).toMatchObject({ status: 'pending', code: 'NOTARY_NOT_ON_CHAIN' });
      expect(v.status).toBe('incomplete');
    }
    expect(['verified', 'incomplete']).toContain(during.status);
  } finally {
    verifier.close();
    provider.destroy();
  }
}, 120_000);
