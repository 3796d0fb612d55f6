/**
 * Issue 9.3: a station learns from the chain alone which of its batches stay
 * unnotarized (`listUnnotarized`), whatever the cause; ages by block time.
 */
import hre from 'hardhat';
import { afterAll, describe, expect, it } from 'vitest';
import { listUnnotarized } from '../../src/notary/index.js';
import { AGENCY_A, AGENCY_B, anchor, makeNotary, setupChain, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

describe('listUnnotarized', () => {
  it('lists anchored batches below the notary threshold for longer than a threshold, oldest first, with their age', async () => {
    const chain = await setupChain();
    const [me] = chain.notaries;
    const a1 = await anchor(chain, chain.agencyA);
    const notary = await makeNotary(chain, me!, dirs.make());
    try {
      await notary.runOnce(); // a1 notarized
    } finally {
      await notary.close();
    }
    const a2 = await anchor(chain, chain.agencyA);
    const b1 = await anchor(chain, chain.agencyB);
    const params = { provider: chain.provider, registry: chain.registryAddress, fromBlock: chain.deployBlock };

    const all = await listUnnotarized(params);
    expect(all.map((u) => [u.batch.agency, u.batch.root])).toEqual([
      [AGENCY_A, a2],
      [AGENCY_B, b1],
    ]);
    expect(all.every((u) => u.cosigners === 0 && u.ageSeconds >= 0 && u.ageSeconds < 3600)).toBe(true);
    expect(all.map((u) => u.batch.root)).not.toContain(a1);
    expect((await listUnnotarized({ ...params, agency: AGENCY_A })).map((u) => u.batch.root)).toEqual([a2]);

    // Nothing is older than an hour yet; an hour later (chain time) both are.
    expect(await listUnnotarized({ ...params, olderThanSeconds: 3600 })).toEqual([]);
    await hre.network.provider.send('evm_increaseTime', [3600]);
    await hre.network.provider.send('evm_mine', []);
    const late = await listUnnotarized({ ...params, olderThanSeconds: 3600 });
    expect(late.map((u) => u.batch.root)).toEqual([a2, b1]);
    expect(late[0]!.ageSeconds).toBeGreaterThanOrEqual(3600);
    await expect(listUnnotarized({ ...params, olderThanSeconds: -1 })).rejects.toThrow(RangeError);
  });
});
