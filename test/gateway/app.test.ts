import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp, listen, silentLogger, TokenStore } from '../../gateway/index.js';
import { isLiuhenError, Liuhen, type EvidenceStore } from '../../src/index.js';
import { BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { startGateway, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startGateway({ config: { rateLimit: { requests: 100_000, verify: 3, authFailures: 3, windowMs: 60_000 } } });
});
afterAll(() => h?.close());

describe('HTTP hygiene', () => {
  test('no x-powered-by; helmet headers; JSON errors', async () => {
    const r = await h.call('/healthz');
    expect(r.headers.get('x-powered-by')).toBeNull();
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN');
  });

  test('/openapi.json documents every route, its roles and schemas from the validators', async () => {
    const doc = await (await h.call('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.entries(doc.paths as Record<string, Record<string, { 'x-roles'?: string[]; security: unknown[] }>>).flatMap(([p, m]) =>
      Object.entries(m).map(([verb, op]) => ({ key: `${verb.toUpperCase()} ${p}`, op })),
    );
    expect(ops.map((o) => o.key).sort()).toEqual(
      [
        'GET /healthz',
        'POST /v1/records',
        'POST /v1/records/signed',
        'GET /v1/records/{id}',
        'GET /v1/records/{id}/receipt',
        'GET /v1/records/{id}/content',
        'POST /v1/verify',
        'GET /v1/verify/{leaf}',
        'GET /v1/batches/{root}',
        'GET /v1/agencies/{agency}/batches',
        'GET /v1/cases/{case}',
        'GET /v1/devices/{device}/continuity',
        'GET /v1/notary/pending',
        'POST /v1/tokens',
        'GET /v1/tokens',
        'DELETE /v1/tokens/{id}',
        'GET /v1/audit',
        // Supervision (issue 12)
        'GET /v1/stats',
        'GET /v1/findings',
        'GET /v1/findings/{id}',
        'POST /v1/findings/{id}/actions',
        'POST /v1/feedback',
        'GET /v1/feedback/status/{code}',
        'GET /v1/feedback',
        'POST /v1/feedback/{ref}/steps',
        'DELETE /v1/feedback/{ref}/phone',
        'GET /v1/records/{id}/certificate',
        'GET /v1/certificates/{hash}',
        // Display names (issue 14)
        'GET /v1/names',
      ].sort(),
    );
    expect(ops.find((o) => o.key === 'GET /v1/records/{id}/content')!.op['x-roles']).toEqual(['supervisor']);
    expect(ops.find((o) => o.key === 'POST /v1/verify')!.op.security).toEqual([]);
    // Schemas come from zod: the record id pattern and the strict meta of uploads.
    const text = JSON.stringify(doc);
    expect(text).toContain('^[0-9A-HJKMNP-TV-Z]{26}$');
    expect(doc.components.schemas.BodyRecord.additionalProperties).toBe(false);
    expect(text).not.toContain('#/$defs/');
    for (const m of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) expect(doc.components.schemas[m[1]!], m[1]).toBeDefined();
  });
});

describe('rate limits', () => {
  test('public verification is limited per address (429 RATE_LIMITED with Retry-After)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await h.call(`/v1/verify/0x${'00'.repeat(32)}`);
      statuses.push(r.status);
      if (r.status === 429) {
        expect((await r.json()).error.code).toBe('RATE_LIMITED');
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      } else await r.arrayBuffer();
    }
    expect(statuses.slice(0, 3)).toEqual([404, 404, 404]);
    expect(statuses.slice(3)).toEqual([429, 429]);
  });

  test('failed authorisations are limited; past the limit even a good token waits', async () => {
    expect((await h.call('/v1/tokens', { token: h.t.admin })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await h.call('/v1/tokens', { token: h.t.supervisor })).status).toBe(403);
    const r = await h.call('/v1/tokens', { token: h.t.admin });
    expect(r.status).toBe(429);
    expect((await r.json()).error.code).toBe('RATE_LIMITED');
  });
});

describe('failures inside', () => {
  test('an unexpected error is a 500 INTERNAL without stack or message details; the process stays up', async () => {
    const { dir, cleanup } = tempDir('liuhen-gw-broken-');
    Liuhen.init(dir, { agency: 'AG-A', device: 'station', officer: 'GW-1' });
    const liuhen = await Liuhen.open(dir);
    const broken = {
      kind: 'local',
      async put() {
        throw new Error('disk exploded at /secret/path/of/the/server');
      },
      get() {
        throw new Error('nope');
      },
      async has() {
        return false;
      },
    } as unknown as EvidenceStore;
    const tokens = await TokenStore.open(`${dir}/gateway`);
    const agency = (await tokens.create({ role: 'agency', agency: 'AG-A', label: 'a', createdBy: 't' })).token;
    const running = await listen(createApp({ liuhen, tokens, store: broken, logger: silentLogger }), { port: 0 });
    try {
      const form = new FormData();
      form.append('meta', JSON.stringify({ device: 'cam', officer: 'O-1', kind: 'photo', capturedAt: new Date().toISOString() }));
      form.append('file', new Blob([new Uint8Array(100)]), 'p.jpg');
      const r = await fetch(`${running.url}/v1/records`, { method: 'POST', headers: { authorization: `Bearer ${agency}` }, body: form });
      expect(r.status).toBe(500);
      const text = await r.text();
      expect(JSON.parse(text).error.code).toBe('INTERNAL');
      expect(text).not.toContain('secret');
      expect(text).not.toContain('exploded');
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
      expect(liuhen.journal.deviceHead('cam')).toBeUndefined();
    } finally {
      await running.close(100);
      await liuhen.close();
      cleanup();
    }
  });

  test('an invalid configuration is refused with CONFIG_INVALID naming the field', async () => {
    try {
      createApp({ liuhen: h.liuhen, tokens: h.tokens, config: { limits: { uploadBytes: -1 } } as never });
      expect.unreachable();
    } catch (e) {
      expect(isLiuhenError(e, 'CONFIG_INVALID')).toBe(true);
      expect((e as Error).message).toMatch(/limits\.uploadBytes/);
    }
  });

  test('trustProxy true is refused: it would let every client choose its own address (rate limits, audit)', () => {
    try {
      createApp({ liuhen: h.liuhen, tokens: h.tokens, config: { trustProxy: true } as never });
      expect.unreachable();
    } catch (e) {
      expect(isLiuhenError(e, 'CONFIG_INVALID')).toBe(true);
      expect((e as Error).message).toMatch(/trustProxy.*number of reverse proxies/);
    }
  });
});

describe('liuhen gateway', () => {
  test('serves the data folder, prints the bootstrap admin token once, stops on SIGINT', async () => {
    const { dir, cleanup } = tempDir('liuhen-gw-cli-');
    try {
      Liuhen.init(dir, { agency: 'AG-A', device: 'station', officer: 'GW-1' });
      const start = () => {
        const child = spawn(process.execPath, [BIN, '--data', dir, '--json', 'gateway', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
        const line = new Promise<Record<string, unknown>>((resolve, reject) => {
          let out = '';
          let err = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const nl = out.indexOf('\n');
            if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
          });
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
        });
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        return { child, line, exited };
      };
      const first = start();
      const info = await first.line;
      expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(info.adminToken).toMatch(/^lh_/);
      expect((await fetch(`${info.url}/healthz`)).status).toBe(200);
      const tokens = await fetch(`${info.url}/v1/tokens`, { headers: { authorization: `Bearer ${info.adminToken}` } });
      expect(tokens.status).toBe(200);
      first.child.kill('SIGINT');
      expect(await first.exited).toBe(0);

      const second = start();
      const again = await second.line;
      expect(again.adminToken).toBeUndefined();
      const still = await fetch(`${again.url}/v1/audit`, { headers: { authorization: `Bearer ${info.adminToken}` } });
      expect(still.status).toBe(200);
      expect((await still.json()).entries.some((e: { what: { route: string } }) => e.what.route === '/v1/tokens')).toBe(true);
      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
    } finally {
      cleanup();
    }
  }, 60_000);
});
