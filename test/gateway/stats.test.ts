import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statsDir } from '../../gateway/routes/stats/service.js';
import { FakeChain } from './fake-chain.js';
import { AGENCY, json, startGateway, type Harness } from './harness.js';

/**
 * GET /v1/stats, GET /v1/findings and the findings workflow over a real
 * journal; the chain is the FakeChain test double (anchor and notary state
 * set directly), the real adapter is covered by the chain tests.
 */
const chain = new FakeChain();
let h: Harness;
const NOW = Date.now();
const ago = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();
const dayOf = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);
// A period of two days (UTC+8) around now: captures up to 90 minutes ago may fall on yesterday.
const FROM = dayOf(NOW - 86_400_000);
const TO = dayOf(NOW + 86_400_000);
const PERIOD = `from=${FROM}&to=${TO}`;

async function form(meta: Record<string, unknown>) {
  const r = await h.call('/v1/records', {
    token: h.t.agency,
    ...json({ meta: { officer: 'OF-1', kind: 'form', ...meta }, body: { title: String(meta.stage ?? 'x') } }),
  });
  expect(r.status).toBe(201);
  return (await r.json()) as { id: string; leaf: string };
}
const get = async (path: string, token = h.t.supervisor) => {
  const r = await h.call(path, { token });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
};

beforeAll(async () => {
  // Wait for the index to catch up fully (the default answers after 150 ms with the figures so far: a loaded CI machine would see a partial index).
  h = await startGateway({ chain, config: { supervision: { catchUpWaitMs: 60_000 } } });
  await form({ device: 'TERM-1', case: 'CASE-1', stage: 'filing', capturedAt: ago(90) });
  await form({ device: 'TERM-1', case: 'CASE-1', stage: 'decision', capturedAt: ago(55) });
  await form({ device: 'TERM-1', case: 'CASE-1', stage: 'service', capturedAt: ago(30) });
  const batches = await h.liuhen.journal.sealAll();
  for (const b of batches) chain.anchor(b, { timestamp: Math.floor(NOW / 1000) + 600, notaries: ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8'] });
});
afterAll(() => h?.close());

describe('GET /v1/stats', () => {
  it('gives the figures of a period across agencies, from the incremental index', async () => {
    const { status, body } = await get(`/v1/stats?${PERIOD}`);
    expect(status).toBe(200);
    expect(body.agencies).toEqual([AGENCY]);
    expect(body.totals).toMatchObject({ records: 3, newCases: 1, devices: 1, sealed: 3, sealedLate: 1, anchored: 3, anchoredLate: 2, late: 2 });
    expect(body.totals.compliance).toBeCloseTo(1 / 3, 3);
    expect(body.totals.findings).toMatchObject({ CASE_DECISION_WITHOUT_REVIEW: 1, RECORD_ANCHORED_LATE: 2 });
    expect(body.delay.counts.reduce((a: number, b: number) => a + b, 0)).toBe(3);
    expect(body.daily.days).toEqual([FROM, dayOf(NOW)]);
    expect(body.batches.waiting).toBe(0);
  });

  it('gives the same figures after the index is thrown away and rebuilt from the journal', async () => {
    const before = (await get(`/v1/stats?${PERIOD}`)).body;
    await h.drain(); // closes the index
    rmSync(statsDir(h.dir), { recursive: true, force: true });
    const after = (await get(`/v1/stats?${PERIOD}`)).body;
    // (asOf moves on: the audit trail of these reads is journaled under AG-A.)
    expect({ ...after, asOf: null }).toEqual({ ...before, asOf: null });
  });

  it('is for supervisors, validates the period and is described in OpenAPI', async () => {
    expect((await get('/v1/stats', h.t.agency)).status).toBe(403);
    expect((await h.call('/v1/stats')).status).toBe(401);
    const bad = await get('/v1/stats?from=2026-13-01');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_INPUT');
    expect((await get('/v1/stats?from=2026-11-05&to=2026-11-01')).status).toBe(400);
    const doc = (await (await h.call('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/stats', '/v1/findings', '/v1/findings/{id}', '/v1/findings/{id}/actions']));
  });
});

describe('GET /v1/findings and the workflow', () => {
  it('lists findings newest first, filtered, with links to their case, device and record', async () => {
    const { status, body } = await get(`/v1/findings?agency=${AGENCY}&from=${FROM}`);
    expect(status).toBe(200);
    const ats = body.findings.map((f: { at: string }) => f.at);
    expect([...ats].sort((a: string, b: string) => Date.parse(b) - Date.parse(a))).toEqual(ats);
    const review = (await get('/v1/findings?kind=CASE_DECISION_WITHOUT_REVIEW')).body.findings;
    expect(review).toHaveLength(1);
    expect(review[0]).toMatchObject({ id: 'review:CASE-1', severity: 'high', status: 'open', case: 'CASE-1' });
    expect(review[0].links).toContainEqual({ rel: 'case', href: '/cases/CASE-1' });
    expect((await get('/v1/findings?severity=low')).body.findings).toHaveLength(0);
    const p1 = (await get('/v1/findings?limit=1')).body;
    expect(p1.findings).toHaveLength(1);
    const p2 = (await get(`/v1/findings?limit=1&cursor=${encodeURIComponent(p1.next)}`)).body;
    expect(p2.findings[0].id).not.toBe(p1.findings[0].id);
    expect((await get('/v1/findings?kind=NOPE')).status).toBe(400);
  });

  it('journals a supervisor marking a finding 已核实 as the supervision body, and shows it in the history', async () => {
    const before = h.liuhen.journal.deviceHead('supervision-decisions')?.seq ?? 0;
    const r = await h.call('/v1/findings/review%3ACASE-1/actions', {
      token: h.t.supervisor,
      ...json({ status: 'verified', comment: '已调阅案卷,缺法制审核' }),
    });
    expect(r.status).toBe(201);
    const action = (await r.json()) as { recordId: string; leaf: string };
    const stored = await h.liuhen.journal.getRecord(action.recordId);
    expect(stored?.record).toMatchObject({ agency: 'JN-SFJ', device: 'supervision-decisions', seq: before + 1, kind: 'event' });
    expect(stored?.record.body).toMatchObject({ event: 'finding-action', finding: 'review:CASE-1', status: 'verified' });
    const view = (await get('/v1/findings/review%3ACASE-1')).body;
    expect(view.finding.status).toBe('verified');
    expect(view.history).toEqual([
      expect.objectContaining({ status: 'verified', comment: '已调阅案卷,缺法制审核', recordId: action.recordId, leaf: action.leaf }),
    ]);
    // Sealed in the supervision body's own batch, never the agency's.
    const sealed = await h.liuhen.journal.sealAll();
    expect(sealed.map((b) => b.agency)).toContain('JN-SFJ');
    expect((await get('/v1/findings?status=verified')).body.findings.map((f: { id: string }) => f.id)).toEqual(['review:CASE-1']);
  });

  it('refuses bad actions with nothing journaled', async () => {
    const before = h.liuhen.journal.deviceHead('supervision-decisions')?.seq ?? 0;
    for (const body of [
      { status: 'done', comment: 'x' },
      { status: 'verified', comment: '' },
      { status: 'verified', comment: 'x'.repeat(1001) },
      { status: 'verified', comment: 'x', extra: 1 },
    ]) {
      expect((await h.call('/v1/findings/review%3ACASE-1/actions', { token: h.t.supervisor, ...json(body) })).status).toBe(400);
    }
    expect((await h.call('/v1/findings/review%3ANOPE/actions', { token: h.t.supervisor, ...json({ status: 'verified', comment: 'x' }) })).status).toBe(404);
    expect((await h.call('/v1/findings/review%3ACASE-1/actions', { token: h.t.agency, ...json({ status: 'verified', comment: 'x' }) })).status).toBe(403);
    expect(h.liuhen.journal.deviceHead('supervision-decisions')?.seq ?? 0).toBe(before);
  });
});
