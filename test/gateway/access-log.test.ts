import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { accessLog, createLogger } from '../../gateway/logging.js';

/**
 * The access log (gateway/logging.ts) on a real server: one line per
 * request with id, method, path without the query, the client address,
 * status and time; a client that leaves before its answer is logged 499;
 * headers (tokens) never appear. test/gateway/ops.test.ts follows one id
 * through the whole gateway.
 */
const lines: Record<string, any>[] = [];
let url: string;
let stop: () => Promise<void>;
beforeAll(async () => {
  const logger = createLogger({
    level: 'info',
    destination: {
      write: (s: string) =>
        void lines.push(
          ...s
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l)),
        ),
    },
  });
  const app = express();
  app.use(accessLog(logger));
  app.get('/ok', (_req, res) => void res.json({ ok: true }));
  app.get('/boom', (_req, res) => void res.status(503).json({ error: 'x' }));
  // Never answers: the client gives up.
  app.get('/hang', () => {});
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stop = () => new Promise((r) => (server.closeAllConnections(), server.close(() => r())));
});
afterAll(() => stop());

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('accessLog', () => {
  test('one line per request: id (also X-Request-Id), method, path without the query, address, status, ms — no header', async () => {
    const r = await fetch(`${url}/ok?name=secret-query`, { headers: { authorization: 'Bearer tok-0123456789abcdef' } });
    const id = r.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await until(() => lines.some((l) => l.req?.id === id));
    const line = lines.find((l) => l.req?.id === id)!;
    expect(line).toMatchObject({ level: 'info', message: 'GET /ok 200', req: { id, method: 'GET', path: '/ok', from: '127.0.0.1' }, res: { status: 200 } });
    expect(typeof line.ms).toBe('number');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('secret-query');
    expect(text).not.toContain('tok-0123456789abcdef');
  });

  test('a feedback tracking code (a secret of its own) never reaches the log', async () => {
    const id = (await fetch(`${url}/v1/feedback/status/TRACK0123456789AB`)).headers.get('x-request-id');
    await until(() => lines.some((l) => l.req?.id === id));
    expect(lines.find((l) => l.req?.id === id)).toMatchObject({ req: { path: '/v1/feedback/status/[redacted]' }, res: { status: 404 } });
    expect(JSON.stringify(lines)).not.toContain('TRACK0123456789AB');
  });

  test("a proxy's well-formed id is kept; a malformed one is replaced", async () => {
    expect((await fetch(`${url}/ok`, { headers: { 'x-request-id': 'proxy-req-12345678' } })).headers.get('x-request-id')).toBe('proxy-req-12345678');
    expect((await fetch(`${url}/ok`, { headers: { 'x-request-id': 'bad id with spaces' } })).headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('a server error is logged at level error', async () => {
    const id = (await fetch(`${url}/boom`)).headers.get('x-request-id');
    await until(() => lines.some((l) => l.req?.id === id));
    expect(lines.find((l) => l.req?.id === id)).toMatchObject({ level: 'error', res: { status: 503 } });
  });

  test('a client that leaves before the answer is logged 499', async () => {
    const req = request(`${url}/hang`, { headers: { 'x-request-id': 'leaving-client-0001' } });
    req.on('error', () => {});
    req.end();
    // Let the request reach the handler, then leave.
    await new Promise((r) => setTimeout(r, 100));
    req.destroy();
    await until(() => lines.some((l) => l.req?.id === 'leaving-client-0001'));
    expect(lines.find((l) => l.req?.id === 'leaving-client-0001')).toMatchObject({ level: 'info', message: 'GET /hang 499', res: { status: 499 } });
  });
});
