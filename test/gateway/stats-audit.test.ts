import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AuditTrail } from '../../gateway/index.js';
import { auditEntries, startGateway, type Harness } from './harness.js';

/**
 * GET /v1/stats (aggregate figures, no personal data) is audited per token and
 * minute — the first read of a minute durably before it is served, the total
 * when the minute is over — while a findings page (it names cases, devices and
 * records) stays one audit record per request, written before it is served.
 */
describe('audit of the supervision reads', () => {
  let h: Harness;
  let broken = false;
  // The gateway's clock, moved by the test; in the past so the journal takes the audit records' capture times.
  const base = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000;
  let offset = 0;
  const clock = () => new Date(base + offset);
  const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16);

  beforeAll(async () => {
    h = await startGateway({
      clock,
      config: { supervision: { catchUpWaitMs: 60_000 } },
      audit: (trail: AuditTrail): AuditTrail => ({
        write: (e) => trail.write(e),
        writeDurable: (e) => (broken ? Promise.reject(new Error('disk full')) : trail.writeDurable(e)),
        flush: () => trail.flush(),
        page: (o) => trail.page(o),
      }),
    });
  });
  afterAll(() => h.close());

  test('stats reads of a token are one access entry per minute and the minute’s total', async () => {
    offset = 5_000;
    for (let i = 0; i < 3; i++) expect((await h.call('/v1/stats', { token: h.t.supervisor })).status).toBe(200);
    expect((await h.call('/v1/stats?from=2026-01-01&to=2026-02-01', { token: h.t.supervisor })).status).toBe(200);
    offset = 65_000; // the next minute
    expect((await h.call('/v1/stats', { token: h.t.supervisor })).status).toBe(200);
    await h.drain(); // writes the open minute's total
    const mine = (await auditEntries(h)).filter((e) => e.what.route === '/v1/stats');
    expect(mine.map((e) => [e.phase ?? 'end', e.what.ids.minute, e.what.ids.count])).toEqual([
      ['access', minute(base), '1'],
      ['end', minute(base), '4'],
      ['access', minute(base + 60_000), '1'],
      ['end', minute(base + 60_000), '1'],
    ]);
    expect(mine[1]!.what.ids.queries).toBe('default from=2026-01-01&to=2026-02-01');
    expect(mine.every((e) => e.who.role === 'supervisor' && e.what.ids.aggregated === 'true')).toBe(true);
  });

  test('a findings page is one audit record per request, written before it is served', async () => {
    offset = 125_000;
    for (let i = 0; i < 2; i++) expect((await h.call('/v1/findings?limit=5', { token: h.t.supervisor })).status).toBe(200);
    await h.drain();
    const mine = (await auditEntries(h)).filter((e) => e.what.route === '/v1/findings');
    expect(mine.map((e) => e.phase ?? 'end')).toEqual(['access', 'end', 'access', 'end']);
  });

  test('when the trail cannot be written, the first stats read of a minute is refused with 503 and no figures leave', async () => {
    offset = 185_000;
    broken = true;
    try {
      const r = await h.call('/v1/stats', { token: h.t.supervisor });
      expect(r.status).toBe(503);
      const body = (await r.json()) as { error: { code: string }; totals?: unknown };
      expect(body.error.code).toBe('AUDIT_UNAVAILABLE');
      expect(body.totals).toBeUndefined();
    } finally {
      broken = false;
    }
    // The failed window is not kept: the next read writes its access entry and is served.
    expect((await h.call('/v1/stats', { token: h.t.supervisor })).status).toBe(200);
    await h.drain();
    const mine = (await auditEntries(h)).filter((e) => e.what.route === '/v1/stats' && e.what.ids.minute === minute(base + 180_000));
    expect(mine.map((e) => [e.phase ?? 'end', e.what.ids.count])).toEqual([
      ['access', '1'],
      ['end', '1'],
    ]);
  });
});
