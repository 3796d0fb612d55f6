/**
 * Issue 9.2, the anchorer's side: another agency anchors our root first
 * (root squatting: it saw our batch, or copied a root). On registry v2
 * batches are keyed by (agency, root), so our anchor still goes through, and
 * the anchorer never stops on CHAIN_DIVERGED for what another agency did.
 */
import { Contract, encodeBytes32String } from 'ethers';
import { afterAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../src/chain/deploy.js';
import { registryInterface } from '../../src/chain/registry.js';
import { Liuhen } from '../../src/liuhen.js';
import { ZERO32 } from '../../src/util/hex.js';
import { chainFor, deployedFolder, providerFor, registryOf, stopAll } from './helpers.js';

afterAll(stopAll);

describe('anchoring against another agency', () => {
  it('another agency anchoring our root first does not stop our anchor', async () => {
    const chain = await chainFor();
    const folder = await deployedFolder(chain.rpc);
    const provider = providerFor(chain);
    try {
      const registry = registryOf(folder, provider);
      const admin = devAccount(chain.chainId, 0, provider);
      const attacker = devAccount(chain.chainId, 7, provider);
      const asAdmin = new Contract(registry.address, registryInterface, admin);
      await (await asAdmin.getFunction('bindAgency')(attacker.address, encodeBytes32String('EVIL-AG'))).wait();

      const lh = await Liuhen.open(folder.dataDir);
      try {
        await lh.recordBody({ event: 'recording-start' });
        const [batch] = await lh.journal.seal(lh.config.agency);
        // The attacker anchors the same root (same size and capture span) under its own agency first.
        const first = Math.floor(Date.parse(batch!.firstCapturedAt) / 1000);
        const last = Math.floor(Date.parse(batch!.lastCapturedAt) / 1000);
        await (await new Contract(registry.address, registryInterface, attacker).getFunction('anchor')(batch!.root, batch!.size, ZERO32, first, last)).wait();
        expect((await registry.batch('EVIL-AG', batch!.root)).exists).toBe(true);

        const anchorer = await lh.anchorer();
        try {
          const summary = await anchorer.anchorPending({ timeoutMs: 60_000 });
          expect(summary).toMatchObject({ anchored: 1, newlyAnchored: 1 });
        } finally {
          anchorer.close();
        }
        const ours = await registry.batch(lh.config.agency, batch!.root);
        expect(ours).toMatchObject({ exists: true, seq: 1, agency: lh.config.agency });
        expect(await registry.latest(lh.config.agency)).toEqual({ seq: 1, root: batch!.root });
      } finally {
        await lh.close();
      }
    } finally {
      provider.destroy();
      await chain.stop();
    }
  });
});
