import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AuditTrail } from '../../gateway/index.js';
import { auditEntries, startGateway, type Harness } from './harness.js';

/** Every read of evidence is on record before it is served: a trail that cannot be written refuses the read. */
describe('audit before access', () => {
  let h: Harness;
  let broken = false;
  let id = '';
  const bytes = Buffer.from('a clip of a citizen’s face');
  beforeAll(async () => {
    h = await startGateway({
      audit: (trail: AuditTrail): AuditTrail => ({
        write: (e) => trail.write(e),
        writeDurable: (e) => (broken ? Promise.reject(new Error('disk full')) : trail.writeDurable(e)),
        flush: () => trail.flush(),
        page: (o) => trail.page(o),
      }),
    });
    const form = new FormData();
    form.append('meta', JSON.stringify({ device: 'BWC-1', officer: '37010001', kind: 'video', capturedAt: new Date().toISOString() }));
    form.append('file', new Blob([new Uint8Array(bytes)]), 'c.mp4');
    id = (await (await h.call('/v1/records', { method: 'POST', body: form, token: h.t.agency })).json()).id;
  });
  afterAll(() => h.close());

  test('a content read journals an access entry first, then the outcome', async () => {
    const r = await h.call(`/v1/records/${id}/content`, { token: h.t.supervisor });
    expect(Buffer.from(await r.arrayBuffer())).toEqual(bytes);
    await h.drain();
    const mine = (await auditEntries(h)).filter((e) => e.what.route === '/v1/records/:id/content' && e.what.ids.id === id);
    expect(mine.map((e) => e.phase ?? 'end')).toEqual(['access', 'end']);
    expect(mine[0]!.who.role).toBe('supervisor');
  });

  test('when the trail cannot be written, the read is refused with 503 and no evidence leaves', async () => {
    broken = true;
    try {
      const r = await h.call(`/v1/records/${id}/content`, { token: h.t.supervisor });
      expect(r.status).toBe(503);
      const body = await r.text();
      expect(JSON.parse(body).error.code).toBe('AUDIT_UNAVAILABLE');
      expect(body).not.toContain('citizen');
      expect((await h.call(`/v1/records/${id}`, { token: h.t.supervisor })).status).toBe(503);
    } finally {
      broken = false;
    }
  });
});
