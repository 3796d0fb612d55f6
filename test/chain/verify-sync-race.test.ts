/**
 * The verdict cache's sync (src/chain/verifier-cache.ts) against a
 * reorganisation that lands WHILE it syncs: the block it had seen is replaced
 * (here: by one that raises the notary threshold) between the moment it
 * re-reads that block and the moment it reads the head. Such a change must
 * never be missed for good: the next verdict must see the new threshold.
 */
import { Contract, JsonRpcProvider, Network, NonceManager, Wallet, type BlockTag } from 'ethers';
import { afterAll, expect, it } from 'vitest';
import { devAccount } from '../../src/chain/deploy.js';
import { NOTARY_ROLE, registryInterface } from '../../src/chain/registry.js';
import { createChainVerifier } from '../../src/chain/verifier.js';
import type { Receipt } from '../../src/receipt/format.js';
import { verifyReceipt } from '../../src/verify/verify.js';
import { anchoredDecision, cosign, stopAll } from './helpers.js';

afterAll(async () => {
  await stopAll();
});

/** A provider that runs `reorg` right after it answered the block at height `at` (once), before returning it. */
class ReorgingProvider extends JsonRpcProvider {
  armed: { at: number; reorg: () => Promise<void> } | undefined;
  private pending: Promise<void> | undefined;
  override async getBlock(tag: BlockTag | string, prefetch?: boolean) {
    const arm = this.armed;
    if (arm && tag === 'latest') {
      // Let a read of the armed height issued together with this one start, and answer after its reorganisation.
      await null;
      if (this.pending) await this.pending;
    }
    if (arm && tag === arm.at) {
      this.armed = undefined;
      let done!: () => void;
      this.pending = new Promise((r) => (done = r));
      try {
        const block = await super.getBlock(tag, prefetch);
        await arm.reorg();
        return block;
      } finally {
        done();
      }
    }
    return super.getBlock(tag, prefetch);
  }
}

it('a reorganisation replacing the seen block while the view syncs (with a threshold change in it) is not missed for good', async () => {
  const { chain, registry, provider, notary, lh, record } = await anchoredDecision('C-RACE');
  let receipt: Receipt;
  try {
    await cosign(notary, chain.chainId, registry, (await lh.receipt(record.id)).batch);
    receipt = await lh.receipt(record.id);
  } finally {
    await lh.close();
  }
  const admin = new Contract(registry, registryInterface, new NonceManager(devAccount(chain.chainId, 0, provider)));
  // A second notary, so that the threshold may be raised to 2 (it never co-signs this batch).
  await (await admin.getFunction('grantRole').send(NOTARY_ROLE, Wallet.createRandom().address)).wait();
  const racy = new ReorgingProvider(chain.rpc, Network.from(chain.chainId), { staticNetwork: true, cacheTimeout: -1 });
  const verifier = createChainVerifier({ provider: racy, trustedRegistries: [registry] });
  try {
    const snapshot = (await provider.send('evm_snapshot', [])) as string;
    await provider.send('evm_mine', []);
    const seen = await provider.getBlockNumber();
    // The view syncs at `seen` and keeps the threshold (1).
    expect((await verifyReceipt({ receipt, chain: verifier })).status).toBe('verified');

    // The block at `seen` replaced by one (same height) in which the threshold is raised to 2.
    let reorganised = false;
    const reorg = async () => {
      expect(await provider.send('evm_revert', [snapshot])).toBe(true);
      (admin.runner as NonceManager).reset();
      await (await admin.getFunction('setNotaryThreshold').send(2)).wait();
      expect(await provider.getBlockNumber()).toBe(seen);
      reorganised = true;
    };
    racy.armed = { at: seen, reorg };
    await verifyReceipt({ receipt, chain: verifier }); // the sync the reorganisation lands in
    if (!reorganised) {
      racy.armed = undefined;
      await reorg();
    }
    for (let i = 0; i < 2; i++) {
      const v = await verifyReceipt({ receipt, chain: verifier });
      expect(v.checks.find((c) => c.name === 'notary')).toMatchObject({ status: 'pending', code: 'NOTARY_BELOW_THRESHOLD' });
      expect(v.status).toBe('incomplete');
    }
    // As a verifier made now says.
    const fresh = createChainVerifier({ provider, trustedRegistries: [registry] });
    expect((await verifyReceipt({ receipt, chain: fresh })).status).toBe('incomplete');
  } finally {
    verifier.close();
    racy.destroy();
    provider.destroy();
  }
}, 120_000);
