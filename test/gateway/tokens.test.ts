import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDevTokens, TokenStore } from '../../gateway/index.js';
import { tempDir } from '../helpers/tmp.js';
import { json, startGateway, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(() => h?.close());

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('tokens', () => {
  test('created once: the token is in the 201 only; the state folder holds only its hash', async () => {
    const r = await h.call('/v1/tokens', { ...json({ role: 'agency', agency: 'AG-C', label: '城管执法局 终端' }), token: h.t.admin });
    expect(r.status).toBe(201);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const created = await r.json();
    expect(created.token).toMatch(/^lh_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ role: 'agency', agency: 'AG-C', label: '城管执法局 终端', createdBy: expect.stringMatching(/^[0-9a-f]{16}$/) });
    // 256 bits of randomness after the id.
    expect(Buffer.from(created.token.slice('lh_'.length + 16 + 1), 'base64url')).toHaveLength(32);

    const list = await (await h.call('/v1/tokens', { token: h.t.admin })).json();
    const listed = JSON.stringify(list);
    expect(listed).toContain(created.id);
    expect(listed).not.toContain(created.token);
    expect(listed).not.toContain('hash');

    const state = join(h.dir, 'gateway');
    const everything = filesUnder(h.dir)
      .map((f) => readFileSync(f))
      .concat([]);
    for (const token of [created.token, ...Object.values(h.t)]) {
      for (const bytes of everything) expect(bytes.includes(Buffer.from(token)), 'a token in plain text on disk').toBe(false);
    }
    const file = readFileSync(join(state, 'tokens.json'), 'utf8');
    const { createHash } = await import('node:crypto');
    expect(file).toContain(createHash('sha256').update(created.token).digest('hex'));
    expect(statSync(join(state, 'tokens.json')).mode & 0o777).toBe(0o600);

    // The new token works for its agency, and only its agency.
    const mine = await h.call('/v1/agencies/AG-C/batches', { token: created.token });
    expect(mine.status).toBe(200);
    expect((await h.call('/v1/agencies/AG-A/batches', { token: created.token })).status).toBe(403);
  });

  test('a revoked token → 401, immediately; revocation is audited', async () => {
    const created = await (await h.call('/v1/tokens', { ...json({ role: 'supervisor', label: 'temp' }), token: h.t.admin })).json();
    expect((await h.call('/v1/cases/NONE', { token: created.token })).status).toBe(404); // authorised, no such case
    const del = await h.call(`/v1/tokens/${created.id}`, { method: 'DELETE', token: h.t.admin });
    expect(del.status).toBe(200);
    expect((await del.json()).revokedAt).toBeDefined();
    const after = await h.call('/v1/cases/NONE', { token: created.token });
    expect(after.status).toBe(401);
    expect((await after.json()).error.message).toMatch(/revoked/);
    expect((await h.call(`/v1/tokens/${'f'.repeat(16)}`, { method: 'DELETE', token: h.t.admin })).status).toBe(404);
    const audit = await (await h.call('/v1/audit?limit=50', { token: h.t.admin })).json();
    expect(
      audit.entries.some((e: { what: { method: string; ids: Record<string, string> } }) => e.what.method === 'DELETE' && e.what.ids.id === created.id),
    ).toBe(true);
    expect(audit.entries.some((e: { who: { token: string | null; presented?: string } }) => e.who.token === created.id && e.who.presented === 'revoked')).toBe(
      true,
    );
  });

  test('role/agency rules and the last admin', async () => {
    for (const body of [
      { role: 'agency', label: 'x' },
      { role: 'supervisor', agency: 'AG-A', label: 'x' },
      { role: 'root', label: 'x' },
      { role: 'admin', label: '' },
      { role: 'admin', label: 'a\nb' },
    ]) {
      const r = await h.call('/v1/tokens', { ...json(body), token: h.t.admin });
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    const admins = h.tokens.list().filter((t) => t.role === 'admin' && !t.revokedAt);
    expect(admins).toHaveLength(1);
    const r = await h.call(`/v1/tokens/${admins[0]!.id}`, { method: 'DELETE', token: h.t.admin });
    expect(r.status).toBe(400);
    expect((await r.json()).error.message).toMatch(/last active admin/);
  });

  test('malformed Authorization headers → 401', async () => {
    for (const header of [
      'Bearer',
      'Basic dXNlcjpwYXNz',
      `Bearer ${h.t.admin} extra`,
      `bearer ${h.t.admin}`,
      `Bearer ${h.t.admin.slice(0, -1)}`,
      `Bearer ${h.t.admin.slice(0, -1)}${h.t.admin.endsWith('A') ? 'B' : 'A'}`,
    ]) {
      const r = await h.call('/v1/tokens', { headers: { authorization: header } });
      expect(r.status, header).toBe(401);
    }
  });
});

describe('token store', () => {
  test('bootstrap: an admin token on the first start only; dev tokens replace earlier dev tokens', async () => {
    const { dir, cleanup } = tempDir('liuhen-tokens-');
    try {
      const first = await TokenStore.open(dir);
      const admin = await first.bootstrap();
      expect(admin).toMatch(/^lh_/);
      expect(first.authenticate(admin)).toMatchObject({ ok: true, principal: { role: 'admin' } });
      const again = await TokenStore.open(dir);
      expect(await again.bootstrap()).toBeUndefined();
      expect(again.authenticate(admin).ok).toBe(true);

      const dev1 = await createDevTokens(again, 'AG-A');
      const dev2 = await createDevTokens(again, 'AG-A');
      expect(again.authenticate(dev1.supervisor)).toMatchObject({ ok: false, reason: 'revoked' });
      expect(again.authenticate(dev2.agency)).toMatchObject({ ok: true, principal: { role: 'agency', agency: 'AG-A' } });
      const reopened = await TokenStore.open(dir);
      expect(reopened.authenticate(dev2.notary)).toMatchObject({ ok: true, principal: { role: 'notary' } });
      expect(readdirSync(dir)).toEqual(['tokens.json']); // no temp files left behind
    } finally {
      cleanup();
    }
  });
});
