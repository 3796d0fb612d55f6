/**
 * The chain goes away while the station keeps recording: the watching
 * anchorer reports and retries with a growing (capped) delay, records keep
 * being journaled and sealed, and once the chain is back (restarted from its
 * state file) every batch is anchored, in order, none lost.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AnchorEvent } from '../../src/chain/anchorer.js';
import type { AnchorState } from '../../src/chain/state.js';
import { Liuhen } from '../../src/liuhen.js';
import { chainFor, deployedFolder, providerFor, registryOf, stopAll, tempDir, until } from './helpers.js';

afterAll(stopAll);

describe('chain down', () => {
  it('retries with backoff, keeps journaling, and anchors everything once the chain is back', async () => {
    const statePath = join(tempDir(), 'state.json');
    let chain = await chainFor({ statePath });
    const port = chain.port;
    const folder = await deployedFolder(chain.rpc);
    await chain.stop(); // state dumped on SIGINT

    const lh = await Liuhen.open(folder.dataDir);
    const events: AnchorEvent[] = [];
    // Real-time policy for the test: seal 0.2 s after the first pending record.
    lh.config.seal.maxSeconds = 0.2;
    const fast = await lh.anchorer({ onEvent: (e) => events.push(e), backoff: { initialMs: 100, maxMs: 400 }, pollMs: 50 });
    const ac = new AbortController();
    const running = fast.run(ac.signal);
    const ids: string[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        ids.push((await lh.recordBody({ event: 'tick', i })).record.id);
        await new Promise((r) => setTimeout(r, 120));
      }
      await until(() => events.filter((e) => e.type === 'chain-down').length >= 4, 10_000, 'retries');
      const downs = events.filter((e): e is Extract<AnchorEvent, { type: 'chain-down' }> => e.type === 'chain-down');
      expect(downs[0]!.message).toMatch(/ECONNREFUSED|cannot be reached/);
      const delays = downs.map((d) => d.retryInMs);
      expect(delays.slice(0, 3)).toEqual([100, 200, 400]);
      expect(Math.max(...delays)).toBe(400);
      // Sealing went on without the chain.
      const sealed = events.filter((e) => e.type === 'sealed').length;
      expect(sealed).toBeGreaterThanOrEqual(2);
      for (const id of ids) expect(await lh.journal.hasRecord(id)).toBe(true);

      chain = await chainFor({ statePath, port });
      for (let i = 6; i < 9; i++) ids.push((await lh.recordBody({ event: 'tick', i })).record.id);
      const allAnchored = async () => {
        if ((await lh.journal.pendingCount(lh.config.agency)) > 0) return false;
        for await (const b of lh.journal.batches(lh.config.agency)) {
          const s = await lh.journal.getAnchorState<AnchorState>(b.root);
          if (s?.status !== 'final') return false;
        }
        return true;
      };
      await until(allAnchored, 20_000, 'every batch anchored after the chain came back');
      expect(events.some((e) => e.type === 'chain-up')).toBe(true);
    } finally {
      ac.abort();
      await running;
      fast.close();
    }
    try {
      const provider = providerFor(chain);
      const registry = registryOf(folder, provider);
      const local = [];
      for await (const b of lh.journal.batches(lh.config.agency)) local.push(b);
      expect(local.reduce((n, b) => n + b.size, 0)).toBe(ids.length);
      expect(await registry.latest(lh.config.agency)).toEqual({ seq: local.length, root: local.at(-1)!.root });
      expect((await registry.anchorLogs(lh.config.agency, 0)).map((l) => l.root)).toEqual(local.map((b) => b.root));
      for (const id of ids) expect((await lh.receipt(id)).anchor).not.toBeNull();
      provider.destroy();
    } finally {
      await lh.close();
    }
  });
});
