import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seedDemoHistory } from '../../gateway/demo-history.js';
import { Journal, SupervisionStats, type AnchorState } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * `liuhen demo --history`: a fresh folder whose real embedded chain (Anvil
 * from npm) starts days in the past and is advanced day by day — every batch
 * sealed, anchored and notarized at a time that fits its records, everything
 * marked as demo history.
 */
const t = tempDir('liuhen-demo-history-');
afterAll(() => t.cleanup());

describe('demo history', () => {
  it('anchors each day at its own time on a chain started in the past, marked as demo history', async () => {
    const dir = join(t.dir, 'demo');
    const s = await seedDemoHistory({ dataDir: dir, days: 3, casesPerDay: 1 });
    expect(s.agencies).toHaveLength(4);
    expect(s.records).toBeGreaterThan(40);
    expect(readFileSync(join(dir, 'DEMO-HISTORY.txt'), 'utf8')).toContain('DEMO HISTORY');
    expect(existsSync(join(dir, 'chain', 'state.exit.json'))).toBe(true);
    await expect(seedDemoHistory({ dataDir: dir, days: 1 })).rejects.toMatchObject({ code: 'DATA_DIR_EXISTS' });

    const journal = await Journal.open(join(dir, 'journal'));
    try {
      let anchored = 0;
      for await (const [root, state] of journal.anchorStates<AnchorState>()) {
        const batch = (await journal.getBatchByRoot(root))!;
        expect(state.anchor).toBeDefined();
        const at = state.anchor!.timestamp;
        // Anchored after sealing, within the hour, and days in the past.
        expect(at).toBeGreaterThanOrEqual(Math.floor(Date.parse(batch.sealedAt) / 1000));
        expect(at - Date.parse(batch.lastCapturedAt) / 1000).toBeLessThan(4 * 3600);
        expect(at).toBeLessThan(Date.now() / 1000 - 3600);
        anchored++;
      }
      expect(anchored).toBe(s.batches);
      for await (const r of journal.agencyRecords('JN-CGJ', { limit: 5 })) expect((r.record.body as { demo?: string }).demo).toBe('history');
      // The supervision overview sees the history: on time apart from the planned late anchor.
      const stats = await SupervisionStats.open({
        journal,
        dir: join(t.dir, 'stats'),
        supervisionAgency: 'JN-SFJ',
        chainFacts: async (b) => {
          const st = await journal.getAnchorState<AnchorState>(b.root);
          return st?.anchor ? { anchoredAt: st.anchor.timestamp, notarized: true } : undefined;
        },
      });
      await stats.catchUp();
      const day = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);
      const o = stats.overview({ from: day(Date.now() - 10 * 86_400_000), to: day(Date.now() + 86_400_000) });
      expect(o.agencies).toEqual(['JN-CGJ', 'JN-JTYS', 'JN-SCJGJ', 'JN-STHJ']);
      expect(o.totals.sealedLate).toBe(0);
      expect(o.totals.records).toBeGreaterThan(40);
      expect(o.totals.anchored).toBe(o.totals.records);
      expect(o.totals.compliance).toBeGreaterThan(0.9);
      expect(o.feedback.submitted).toBeGreaterThan(0);
      await stats.close();
    } finally {
      await journal.close();
    }
  }, 300_000);
});
