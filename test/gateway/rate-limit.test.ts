import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, test } from 'vitest';
import { silentLogger } from '../../gateway/index.js';
import { errorMiddleware } from '../../gateway/http/errors.js';
import { addressKey, rateLimiter, releaseRateLimit, type RateLimitOptions } from '../../gateway/http/rate-limit.js';

/**
 * The per-address limiter (gateway/http/rate-limit.ts) over a real HTTP
 * server: counts, headers, windows, the "counts only failures" mode (counted
 * on arrival, released once known not to count), and IPv6 clients counted
 * per /56 (IPv4 inside IPv6 as the IPv4 host). The clock is a variable so windows turn
 * without waiting.
 */
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(o: Omit<RateLimitOptions, 'now'>, clock: { t: number }, status: (n: number) => number = () => 200, delayMs = 0) {
  const app = express();
  app.set('trust proxy', true);
  let n = 0;
  app.use(rateLimiter({ ...o, now: () => clock.t }));
  app.get('/', (_req, res) => {
    const s = status(n++);
    setTimeout(() => res.status(s).json({ ok: true }), delayMs);
  });
  app.use(errorMiddleware(silentLogger, '/nonexistent'));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  close = () => new Promise((r) => server.close(() => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return (from = '198.51.100.7') => fetch(url, { headers: { 'x-forwarded-for': from } });
}

describe('rateLimiter', () => {
  test('an address gets `limit` requests per window, then 429 RATE_LIMITED with Retry-After; the next window starts afresh', async () => {
    const clock = { t: 1_800_000_000_000 + 15_000 };
    const call = await serve({ windowMs: 60_000, limit: 3, what: 'verifications' }, clock);
    const first = await call();
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('3;w=60');
    expect(first.headers.get('ratelimit')).toBe('limit=3, remaining=2, reset=45');
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(200);
    const refused = await call();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('45');
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('RATE_LIMITED');
    expect(body.error.message).toContain('too many verifications from this address');
    // Another address has its own count.
    expect((await call('203.0.113.9')).status).toBe(200);
    clock.t += 45_000;
    expect((await call()).status).toBe(200);
  });

  test('counts: only responses that count stay counted', async () => {
    const clock = { t: 1_800_000_000_000 };
    // The first two answers are failures (401), then successes.
    const call = await serve({ windowMs: 60_000, limit: 3, what: 'failed authorisations', counts: (res) => res.statusCode === 401 }, clock, (n) =>
      n < 2 ? 401 : 200,
    );
    expect((await call()).status).toBe(401);
    expect((await call()).status).toBe(401);
    // Successes are not counted: any number of them pass.
    for (let i = 0; i < 5; i++) expect((await call()).status).toBe(200);
    // Two failures counted of three: one more request is let in.
    expect((await call()).status).toBe(200);
  });

  test('counts: past the limit of failures even a good request waits', async () => {
    const clock = { t: 1_800_000_000_000 };
    const call = await serve({ windowMs: 60_000, limit: 2, what: 'failed authorisations', counts: (res) => res.statusCode === 401 }, clock, (n) =>
      n < 2 ? 401 : 200,
    );
    expect((await call()).status).toBe(401);
    expect((await call()).status).toBe(401);
    expect((await call()).status).toBe(429);
  });

  test('counts: attempts in flight count until answered, so a burst of concurrent guesses cannot all slip in', async () => {
    const clock = { t: 1_800_000_000_000 };
    const call = await serve({ windowMs: 60_000, limit: 2, what: 'failed authorisations', counts: (res) => res.statusCode === 401 }, clock, () => 401, 100);
    const statuses = (await Promise.all(Array.from({ length: 6 }, () => call()))).map((r) => r.status).sort();
    expect(statuses).toEqual([401, 401, 429, 429, 429, 429]);
  });

  test('counts: a request released as not counting (its token checked out) frees its place at once, even while it runs or when its client leaves', async () => {
    const clock = { t: 1_800_000_000_000 };
    const app = express();
    app.set('trust proxy', true);
    app.use(rateLimiter({ windowMs: 60_000, limit: 2, what: 'failed authorisations', counts: (res) => res.statusCode === 401, now: () => clock.t }));
    app.get('/slow', (_req, res) => {
      releaseRateLimit(res);
      setTimeout(() => res.json({ ok: true }), 300);
    });
    app.get('/denied', (_req, res) => void res.status(401).json({}));
    app.use(errorMiddleware(silentLogger, '/nonexistent'));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    close = () => new Promise((r) => (server.closeAllConnections(), server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Four long authorised requests at once, then one abandoned by its client: none holds a place.
    const slow = Array.from({ length: 4 }, () => fetch(`${url}/slow`));
    const gone = new AbortController();
    const abandoned = fetch(`${url}/slow`, { signal: gone.signal }).catch(() => 'aborted');
    await new Promise((r) => setTimeout(r, 50));
    gone.abort();
    expect(await abandoned).toBe('aborted');
    expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    // Both failures still have their places.
    expect((await fetch(`${url}/denied`)).status).toBe(401);
    expect((await fetch(`${url}/denied`)).status).toBe(401);
    expect((await fetch(`${url}/denied`)).status).toBe(429);
  });

  test('counts: a released request whose answer counts after all (a 403 from its handler) is counted again', async () => {
    const clock = { t: 1_800_000_000_000 };
    const app = express();
    app.use(rateLimiter({ windowMs: 60_000, limit: 2, what: 'failed authorisations', counts: (res) => res.statusCode === 403, now: () => clock.t }));
    app.get('/', (_req, res) => {
      releaseRateLimit(res);
      res.status(403).json({});
    });
    app.use(errorMiddleware(silentLogger, '/nonexistent'));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    close = () => new Promise((r) => server.close(() => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    expect((await fetch(url)).status).toBe(403);
    expect((await fetch(url)).status).toBe(403);
    expect((await fetch(url)).status).toBe(429);
  });

  test('IPv6 clients are counted per /56: rotating addresses inside one customer prefix does not escape the limit', async () => {
    const clock = { t: 1_800_000_000_000 };
    const call = await serve({ windowMs: 60_000, limit: 2, what: 'requests' }, clock);
    expect((await call('2001:db8:1:100::1')).status).toBe(200);
    expect((await call('2001:db8:1:1ff:ffff::2')).status).toBe(200);
    expect((await call('2001:db8:1:1aa::3')).status).toBe(429);
    // The next /56 is another customer.
    expect((await call('2001:db8:1:200::1')).status).toBe(200);
  });
});

describe('addressKey', () => {
  test.each([
    ['198.51.100.7', '198.51.100.7'],
    ['::ffff:198.51.100.7', '198.51.100.7'],
    ['2001:db8:1:1ab::1', '2001:db8:1:100::/56'],
    ['2001:0db8:0001:01ff:0:0:0:1', '2001:db8:1:100::/56'],
    ['2001:db8::1', '2001:db8:0:0::/56'],
    ['::1', '0:0:0:0::/56'],
    ['fe80::1%eth0', 'fe80:0:0:0::/56'],
    // IPv4 hosts written inside IPv6 are those hosts: one NAT64 prefix is not one bucket for every IPv4 client.
    ['64:ff9b::198.51.100.7', '198.51.100.7'],
    ['64:ff9b::c633:6407', '198.51.100.7'],
    ['::FFFF:c633:6407', '198.51.100.7'],
    ['0:0:0:0:0:ffff:198.51.100.7', '198.51.100.7'],
    ['::198.51.100.7', '198.51.100.7'],
    ['::', '0:0:0:0::/56'],
    ['2001:DB8:1:1AB::1', '2001:db8:1:100::/56'],
    // Not an address (a proxy's garbage in X-Forwarded-For): one shared key, never a fresh limit per string.
    ['unknown', '(not an IP address)'],
    ['garbage' + 'x'.repeat(3000), '(not an IP address)'],
  ])('%s → %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});
