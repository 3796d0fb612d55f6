import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FakeChain } from './fake-chain.js';
import { auditEntries, json, startGateway, upload, type Harness } from './harness.js';

/**
 * The role × route matrix: every protected route with no token (401), with
 * each role it does not allow (403), and — where data belongs to an agency —
 * with another agency's token (403). Each refusal must be in the audit trail.
 */
type Role = 'admin' | 'supervisor' | 'notary' | 'agency';
const ROLES: Role[] = ['admin', 'supervisor', 'notary', 'agency'];

interface Row {
  method: 'GET' | 'POST' | 'DELETE';
  route: string;
  path: (ids: Ids) => string;
  allowed: Role[];
  /** The resource belongs to agency AG-A: AG-B's token is refused. */
  agencyScoped?: boolean;
  body?: () => RequestInit;
}

interface Ids {
  id: string;
  leaf: string;
  root: string;
  tokenId: string;
}

const ROWS: Row[] = [
  {
    method: 'POST',
    route: '/v1/records',
    path: () => '/v1/records',
    allowed: ['agency'],
    body: () => json({ meta: { device: 'cam-1', officer: 'OF-1', kind: 'form', capturedAt: new Date().toISOString() }, body: { note: 'x' } }),
  },
  { method: 'GET', route: '/v1/records/:id', path: (i) => `/v1/records/${i.id}`, allowed: ['supervisor', 'agency'], agencyScoped: true },
  { method: 'GET', route: '/v1/records/:id/receipt', path: (i) => `/v1/records/${i.id}/receipt`, allowed: ['supervisor', 'agency'], agencyScoped: true },
  { method: 'GET', route: '/v1/records/:id/content', path: (i) => `/v1/records/${i.id}/content`, allowed: ['supervisor'] },
  { method: 'GET', route: '/v1/batches/:root', path: (i) => `/v1/batches/${i.root}`, allowed: ['supervisor', 'agency'], agencyScoped: true },
  { method: 'GET', route: '/v1/agencies/:agency/batches', path: () => '/v1/agencies/AG-A/batches', allowed: ['supervisor', 'agency'], agencyScoped: true },
  { method: 'GET', route: '/v1/cases/:case', path: () => '/v1/cases/C-100', allowed: ['supervisor'] },
  { method: 'GET', route: '/v1/devices/:device/continuity', path: () => '/v1/devices/cam-1/continuity', allowed: ['supervisor'] },
  { method: 'GET', route: '/v1/notary/pending', path: () => '/v1/notary/pending', allowed: ['notary'] },
  { method: 'POST', route: '/v1/tokens', path: () => '/v1/tokens', allowed: ['admin'], body: () => json({ role: 'supervisor', label: 'matrix' }) },
  { method: 'GET', route: '/v1/tokens', path: () => '/v1/tokens', allowed: ['admin'] },
  { method: 'DELETE', route: '/v1/tokens/:id', path: (i) => `/v1/tokens/${i.tokenId}`, allowed: ['admin'] },
  { method: 'GET', route: '/v1/audit', path: () => '/v1/audit', allowed: ['admin'] },
];

const PUBLIC = ['/healthz', '/openapi.json'];

let h: Harness;
let ids: Ids;
const refusals: { method: string; route: string; status: number; role: string | null }[] = [];

beforeAll(async () => {
  h = await startGateway({ chain: new FakeChain() });
  const rec = await upload(h, new TextEncoder().encode('matrix evidence'), { case: 'C-100', stage: 'onsite' });
  const [batch] = await h.liuhen.seal();
  const victim = await h.tokens.create({ role: 'supervisor', label: 'to revoke', createdBy: 'test' });
  ids = { id: rec.id, leaf: rec.leaf, root: batch!.root, tokenId: victim.info.id };
});
afterAll(() => h?.close());

describe('role × route', () => {
  for (const row of ROWS) {
    test(`${row.method} ${row.route}`, async () => {
      const send = (token?: string) => h.call(row.path(ids), { ...(row.body?.() ?? { method: row.method }), method: row.method, ...(token ? { token } : {}) });

      const none = await send();
      expect(none.status).toBe(401);
      expect((await none.json()).error.code).toBe('UNAUTHORIZED');
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      refusals.push({ method: row.method, route: row.route, status: 401, role: null });

      const junk = await send('lh_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
      expect(junk.status).toBe(401);

      for (const role of ROLES.filter((r) => !row.allowed.includes(r))) {
        const r = await send(h.t[role]);
        expect(r.status, `${role} on ${row.method} ${row.route}`).toBe(403);
        expect((await r.json()).error.code).toBe('FORBIDDEN');
        refusals.push({ method: row.method, route: row.route, status: 403, role });
      }
      if (row.agencyScoped) {
        const r = await send(h.t.otherAgency);
        expect(r.status, `another agency on ${row.method} ${row.route}`).toBe(403);
        expect((await r.json()).error.code).toBe('FORBIDDEN');
        refusals.push({ method: row.method, route: row.route, status: 403, role: 'agency' });
      }
      for (const role of row.allowed) {
        const r = await send(h.t[role]);
        expect([200, 201], `${role} on ${row.method} ${row.route}: ${r.status}`).toContain(r.status);
        await r.arrayBuffer();
      }
    });
  }

  test('an agency cannot record for another agency’s device', async () => {
    const r = await h.call('/v1/records', {
      ...json({ meta: { device: 'cam-1', officer: 'OF-9', kind: 'event', capturedAt: new Date().toISOString() }, body: { event: 'power-on' } }),
      token: h.t.otherAgency,
    });
    expect(r.status).toBe(403);
    refusals.push({ method: 'POST', route: '/v1/records', status: 403, role: 'agency' });
    const audit = await h.call('/v1/records', {
      ...json({ meta: { device: 'gateway-audit', officer: 'OF-9', kind: 'event', capturedAt: new Date().toISOString() }, body: { event: 'forged' } }),
      token: h.t.agency,
    });
    expect(audit.status).toBe(403);
  });

  test('public routes need no token', async () => {
    for (const p of PUBLIC) expect((await h.call(p)).status).toBe(200);
    expect((await h.call(`/v1/verify/${ids.leaf}`)).status).toBe(200);
  });

  test('every refusal is in the audit trail (who, what, when, from, outcome), never a token', async () => {
    const entries = await auditEntries(h);
    for (const want of refusals) {
      const hit = entries.find(
        (e) =>
          e.what.method === want.method &&
          e.what.route === want.route &&
          e.outcome.status === want.status &&
          e.who.role === (want.status === 401 ? null : want.role),
      );
      expect(hit, `audit entry for ${want.status} ${want.method} ${want.route} (${want.role})`).toBeDefined();
      expect(hit!.from).toMatch(/127\.0\.0\.1/);
      expect(Date.parse(hit!.when)).not.toBeNaN();
      if (want.status === 401) expect(hit!.who.presented).toBeDefined();
    }
    const text = JSON.stringify(entries);
    for (const token of Object.values(h.t)) expect(text).not.toContain(token);
    // The reads that succeeded are there too, with the ids they addressed.
    expect(entries.some((e) => e.what.route === '/v1/records/:id/content' && e.outcome.status === 200 && e.what.ids.id === ids.id)).toBe(true);
  });

  test("an agency token cannot read the gateway's audit records, a supervisor can", async () => {
    const [entry] = await auditEntries(h);
    expect((await h.call(`/v1/records/${entry!.id}`, { token: h.t.agency })).status).toBe(403);
    expect((await h.call(`/v1/records/${entry!.id}`, { token: h.t.supervisor })).status).toBe(200);
  });

  test('the audit trail is a journaled, sealable device chain', async () => {
    const head = h.liuhen.journal.deviceHead('gateway-audit');
    expect(head?.seq).toBeGreaterThan(40);
    const audit = await h.liuhen.auditDevice('gateway-audit');
    expect(audit.findings).toEqual([]);
    const batches = await h.liuhen.seal();
    expect(batches.some((b) => b.agency === 'AG-A')).toBe(true);
  });
});
