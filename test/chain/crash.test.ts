/**
 * kill -9 of `liuhen anchor` between signing and broadcast, and between
 * broadcast and receipt (failpoints anchor.after-sign|after-broadcast, set through LIUHEN_FAILPOINTS, make the anchorer
 * SIGKILL its own process there). After a restart every batch is anchored
 * exactly once: the registry's head is the last local batch, each root has one
 * `BatchAnchored` log, in seq order, and the anchoring account sent exactly
 * one transaction per batch (no nonce gap, nothing wasted, nothing stuck).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AnchorState } from '../../src/chain/state.js';
import { Journal } from '../../src/journal/journal.js';
import type { BatchInfo } from '../../src/journal/types.js';
import { paths } from '../../src/config.js';
import { Liuhen } from '../../src/liuhen.js';
import { agencyWallet, chainFor, cli, deployedFolder, providerFor, registryOf, stopAll } from './helpers.js';

afterAll(stopAll);

const BATCHES = 3;

/** A deployed folder with BATCHES sealed batches of two records each. */
async function folderWithBatches(rpc: string) {
  const folder = await deployedFolder(rpc);
  const lh = await Liuhen.open(folder.dataDir);
  try {
    for (let i = 0; i < BATCHES; i++) {
      await lh.recordBody({ event: 'recording-start', n: i });
      await lh.recordBody({ event: 'recording-stop', n: i });
      await lh.journal.seal(lh.config.agency);
    }
  } finally {
    await lh.close();
  }
  return folder;
}

async function journalView(dataDir: string): Promise<{ batches: BatchInfo[]; states: (AnchorState | undefined)[] }> {
  const j = await Journal.open(paths(dataDir).journal);
  try {
    const batches: BatchInfo[] = [];
    for await (const b of j.batches('310115-ZFJ')) batches.push(b);
    return { batches, states: await Promise.all(batches.map((b) => j.getAnchorState<AnchorState>(b.root))) };
  } finally {
    await j.close();
  }
}

describe('anchoring survives kill -9', () => {
  for (const crashAt of ['after-sign', 'after-broadcast'] as const) {
    it(`killed ${crashAt.replace('-', ' ')}: after a restart every batch is anchored exactly once`, async () => {
      const chain = await chainFor();
      const folder = await folderWithBatches(chain.rpc);
      const provider = providerFor(chain);
      const registry = registryOf(folder, provider);
      const agencyAddress = folder.deployed.agencyAddress;
      try {
        const crashed = await cli(['--data', folder.dataDir, 'anchor'], { LIUHEN_FAILPOINTS: `anchor.${crashAt}=kill` });
        expect(crashed.signal, crashed.stderr).toBe('SIGKILL');

        // What the crash left behind: the first batch signed, its raw transaction on disk.
        const before = await journalView(folder.dataDir);
        expect(before.batches).toHaveLength(BATCHES);
        expect(before.states[0]?.status).toBe('signed');
        expect(before.states[0]?.tx?.nonce).toBe(0);
        expect(before.states.slice(1).every((s) => s === undefined)).toBe(true);
        const onChainBefore = await registry.latest('310115-ZFJ');
        expect(onChainBefore.seq).toBe(crashAt === 'after-sign' ? 0 : 1);

        const resumed = await cli(['--data', folder.dataDir, '--json', 'anchor']);
        expect(resumed.status, resumed.stderr).toBe(0);

        const after = await journalView(folder.dataDir);
        expect(after.states.map((s) => s?.status)).toEqual(Array(BATCHES).fill('final'));
        // The crashed batch went out with the transaction signed before the crash.
        expect(after.states[0]!.anchor!.txHash).toBe(before.states[0]!.tx!.txHash);

        const latest = await registry.latest('310115-ZFJ');
        expect(latest).toEqual({ seq: BATCHES, root: after.batches.at(-1)!.root });
        const logs = await registry.anchorLogs('310115-ZFJ', 0);
        expect(logs.map((l) => l.root)).toEqual(after.batches.map((b) => b.root));
        expect(logs.map((l) => l.seq)).toEqual(after.batches.map((b) => b.seq));
        for (const [i, s] of after.states.entries()) expect(s!.anchor!.txHash).toBe(logs[i]!.txHash);

        // One transaction per batch: nonces 0..BATCHES-1 used, none pending, none reverted.
        expect(await provider.getTransactionCount(agencyAddress, 'latest')).toBe(BATCHES);
        expect(await provider.getTransactionCount(agencyAddress, 'pending')).toBe(BATCHES);
        for (const s of after.states) expect((await provider.getTransactionReceipt(s!.anchor!.txHash))!.status).toBe(1);

        // Idempotent: running again changes nothing.
        const again = await cli(['--data', folder.dataDir, '--json', 'anchor']);
        expect(again.status).toBe(0);
        expect(JSON.parse(again.stdout.trim().split('\n').at(-1)!)).toMatchObject({ type: 'done', newlyAnchored: 0, anchored: BATCHES });
        expect(await provider.getTransactionCount(agencyAddress, 'latest')).toBe(BATCHES);
      } finally {
        provider.destroy();
        await chain.stop();
      }
    });
  }

  it('re-signs a stored transaction whose nonce another transaction used, leaving no gap', async () => {
    const chain = await chainFor();
    const folder = await folderWithBatches(chain.rpc);
    const provider = providerFor(chain);
    const registry = registryOf(folder, provider);
    try {
      const crashed = await cli(['--data', folder.dataDir, 'anchor'], { LIUHEN_FAILPOINTS: 'anchor.after-sign=kill' });
      expect(crashed.signal).toBe('SIGKILL');
      const before = await journalView(folder.dataDir);
      // The same key spends nonce 0 elsewhere before the anchorer comes back.
      const key = await agencyWallet(folder.dataDir, chain.chainId, provider);
      await (await key.sendTransaction({ to: key.address, value: 1n, nonce: 0 })).wait();

      const resumed = await cli(['--data', folder.dataDir, '--json', 'anchor']);
      expect(resumed.status, resumed.stderr).toBe(0);
      const events = resumed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events).toContainEqual(expect.objectContaining({ type: 'resign', seq: 1, nonce: 0 }));

      const after = await journalView(folder.dataDir);
      expect(after.states.map((s) => s?.status)).toEqual(Array(BATCHES).fill('final'));
      expect(after.states[0]!.anchor!.txHash).not.toBe(before.states[0]!.tx!.txHash);
      expect(after.states[0]!.tx!.nonce).toBe(1);
      expect((await registry.latest('310115-ZFJ')).seq).toBe(BATCHES);
      expect((await registry.anchorLogs('310115-ZFJ', 0)).map((l) => l.root)).toEqual(after.batches.map((b) => b.root));
      // The foreign transaction plus one per batch, contiguous.
      expect(await provider.getTransactionCount(key.address, 'latest')).toBe(BATCHES + 1);
      expect(await provider.getTransactionCount(key.address, 'pending')).toBe(BATCHES + 1);
    } finally {
      provider.destroy();
      await chain.stop();
    }
  });
});
