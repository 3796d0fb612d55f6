/**
 * Public verdicts are audited aggregated per leaf and minute (issue 11, goal
 * 1): the first read of a leaf in a minute at once, the minute's total when
 * it is over. Every read of personal data stays one audit record per request.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { auditEntries, startGateway, upload, type Harness } from './harness.js';

let h: Harness;
// A fixed clock near the real time (the journal refuses audit entries captured in the future).
const start = Math.floor(Date.now() / 60_000) * 60_000 - 60_000 + 5_000;
let now = start;
const minute = (t: number) => new Date(t).toISOString().slice(0, 16);
beforeAll(async () => {
  h = await startGateway({ clock: () => new Date(now) });
});
afterAll(() => h?.close());

describe('audit of public verdicts', () => {
  test('40 public verdicts of one leaf in a minute → two entries (first read, minute total); personal reads one each', async () => {
    const rec = await upload(h, new TextEncoder().encode('public verdict audit'));
    await h.liuhen.seal();
    for (let i = 0; i < 40; i++) {
      const r = await h.call(`/v1/verify/${rec.leaf}`);
      expect(r.status, await r.text()).toBe(200);
    }
    for (let i = 0; i < 3; i++) expect((await h.call(`/v1/records/${rec.id}`, { token: h.t.supervisor })).status).toBe(200);
    // The next minute: its first read closes the previous minute's window.
    now += 60_000;
    expect((await h.call(`/v1/verify/${rec.leaf}`)).status).toBe(200);
    await h.drain();
    const entries = await auditEntries(h);
    const pub = entries.filter((e) => e.what.route === '/v1/verify/:leaf');
    expect(pub.map((e) => [e.what.ids.minute, e.what.ids.count, e.phase])).toEqual([
      [minute(start), '1', 'access'],
      [minute(start), '40', 'end'],
      [minute(start + 60_000), '1', 'access'],
      // The app drained (as on a clean stop): the open window is written too.
      [minute(start + 60_000), '1', 'end'],
    ]);
    expect(pub.every((e) => e.what.ids.leaf === rec.leaf && e.who.token === null && e.from.includes('127.0.0.1'))).toBe(true);
    const personal = entries.filter((e) => e.what.route === '/v1/records/:id' && e.what.method === 'GET');
    // Each personal read: the durable access entry before it is served and its outcome after.
    expect(personal.filter((e) => e.phase === 'access')).toHaveLength(3);
  });

  test('unknown leaves are counted under one window, not one entry per request', async () => {
    for (let i = 0; i < 10; i++) expect((await h.call(`/v1/verify/0x${i.toString(16).padStart(64, '0')}`)).status).toBe(404);
    await h.drain();
    const unknown = (await auditEntries(h)).filter((e) => e.what.route === '/v1/verify/:leaf' && e.what.ids.leaf === 'unknown');
    // The first read at once, the total when the app drained.
    expect(unknown.map((e) => [e.what.ids.count, e.phase])).toEqual([
      ['1', 'access'],
      ['10', 'end'],
    ]);
  });
});
