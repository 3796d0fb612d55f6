/**
 * A long-lived chain verifier (the gateway's) whose node was restarted as
 * ANOTHER chain (another chain id, a new genesis) at the same address, with
 * the registry deployed again at the same address and the batch's facts
 * anchored and co-signed again there. A receipt naming the old chain must not
 * verify against it — as a verifier created after the restart already says
 * (CHAIN_MISMATCH) — although the verifier learnt the chain id when it first
 * connected.
 */
import { Contract, NonceManager } from 'ethers';
import { afterAll, expect, it } from 'vitest';
import { devAccount } from '../../src/chain/deploy.js';
import { NOTARY_ROLE, registryInterface } from '../../src/chain/registry.js';
import { createChainVerifier } from '../../src/chain/verifier.js';
import type { Receipt } from '../../src/receipt/format.js';
import { verifyReceipt } from '../../src/verify/verify.js';
import { agencyWallet, anchoredDecision, chainFor, cosign, deployedFolder, notaryWallet, providerFor, stopAll } from './helpers.js';

afterAll(async () => {
  await stopAll();
});

it('a node restarted as another chain (new chain id, same registry address, the facts anchored again): a receipt of the old chain is not verified', async () => {
  const { chain: first, folder, registry, provider: p1, notary, lh, record } = await anchoredDecision('C-RESTART', { chainId: 27752 });
  const port = Number(new URL(first.rpc).port);
  let receipt: Receipt;
  try {
    await cosign(notary, first.chainId, registry, (await lh.receipt(record.id)).batch);
    receipt = await lh.receipt(record.id);
  } finally {
    await lh.close();
    p1.destroy();
  }
  const verifier = createChainVerifier({ rpc: first.rpc, trustedRegistries: [registry] });
  try {
    expect((await verifyReceipt({ receipt, chain: verifier })).status).toBe('verified');

    await first.stop();
    const second = await chainFor({ chainId: 31337, port });
    expect(second.rpc).toBe(first.rpc);
    const p2 = providerFor(second);
    try {
      // The registry again at the same address (same deployer, same nonce), the same batch facts anchored by
      // an agency key bound to the same code, and the receipt's notary co-signing them on this chain.
      const other = await deployedFolder(second.rpc);
      expect(other.deployed.chain.registry).toBe(registry);
      const b = receipt.batch;
      const agency = new Contract(registry, registryInterface, await agencyWallet(other.dataDir, second.chainId, p2));
      await (await agency.getFunction('anchor').send(b.root, b.size, b.prevRoot, 0, 0)).wait();
      const admin = new Contract(registry, registryInterface, new NonceManager(devAccount(second.chainId, 0, p2)));
      const notary = await notaryWallet(folder.dataDir, second.chainId, p2);
      await (await admin.getFunction('grantRole').send(NOTARY_ROLE, notary.address)).wait();
      await p2.send('anvil_setBalance', [notary.address, '0x56BC75E2D63100000']);
      await cosign(notary, second.chainId, registry, b);

      // A verifier made now refuses the receipt of the other chain.
      const fresh = createChainVerifier({ rpc: second.rpc, trustedRegistries: [registry] });
      try {
        const v = await verifyReceipt({ receipt, chain: fresh });
        expect(v.status).toBe('failed');
        expect(v.checks.find((c) => c.name === 'anchor')).toMatchObject({ status: 'fail', code: 'CHAIN_MISMATCH' });
      } finally {
        fresh.close();
      }
      // The long-lived one must not verify it either: its view saw the old chain's blocks vanish.
      const again = await verifyReceipt({ receipt, chain: verifier });
      expect(again.status).toBe('failed');
      expect(again.checks.some((c) => c.code === 'CHAIN_MISMATCH')).toBe(true);
      // And no verdict about it is memoised any more (no stamp for a receipt of another chain).
      expect(await verifier.verdictStamp!(receipt)).toBeUndefined();
    } finally {
      p2.destroy();
    }
  } finally {
    verifier.close();
  }
}, 120_000);
