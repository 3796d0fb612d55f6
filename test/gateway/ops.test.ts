import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AnchorState } from '../../src/index.js';
import { createLogger } from '../../gateway/logging.js';
import { parsePrometheusText, sampleValue, type Family } from '../helpers/prometheus.js';
import { FakeChain } from './fake-chain.js';
import { auditEntries, json, startGateway, upload, type Harness } from './harness.js';

/**
 * Issue 14, operations: the access log with its request id, the id in error
 * bodies and audit entries, and /metrics parsed as Prometheus text with each
 * figure moving. The chain is the FakeChain test double (anchor/notary
 * states set directly); the anchorer's state for the latency and failure
 * figures is written to the journal as the anchorer writes it.
 */
describe('logs, request ids and metrics', () => {
  let h: Harness;
  const chain = new FakeChain();
  const lines: string[] = [];
  const logged = () => lines.map((l) => JSON.parse(l) as Record<string, any>);
  beforeAll(async () => {
    const logger = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(...s.split('\n').filter(Boolean)) } });
    h = await startGateway({ chain, logger });
  });
  afterAll(() => h.close());

  test('every request gets an id: X-Request-Id, the access log line, the error body and the audit entry', async () => {
    const r = await h.call('/v1/records/01HZZZZZZZZZZZZZZZZZZZZZZZ', { token: 'not-a-real-token-000000' });
    expect(r.status).toBe(401);
    const id = r.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await r.json()).error.requestId).toBe(id);
    const line = logged().find((l) => l.req?.id === id);
    expect(line).toMatchObject({ level: 'info', req: { id, method: 'GET', path: '/v1/records/01HZZZZZZZZZZZZZZZZZZZZZZZ' }, res: { status: 401 } });
    expect(typeof line!.ms).toBe('number');
    await h.drain();
    expect((await auditEntries(h)).find((e) => (e as { request?: string }).request === id)).toMatchObject({ outcome: { status: 401 } });
    // A proxy's id is kept; the tokens sent never reach the log.
    const r2 = await h.call('/healthz', { headers: { 'x-request-id': 'proxy-req-12345678' }, token: h.t.admin });
    expect(r2.headers.get('x-request-id')).toBe('proxy-req-12345678');
    expect(lines.join('\n')).not.toContain(h.t.admin);
    expect(lines.join('\n')).not.toContain('not-a-real-token-000000');
  });

  test('levels work: debug is dropped at info, info is written', () => {
    const out: string[] = [];
    const l = createLogger({ level: 'info', destination: { write: (s: string) => void out.push(s) } });
    l.debug('hidden');
    l.info('shown', { token: 'secret-token-value', nested: { passphrase: 'pw-123456' }, tokenId: 'abcd' });
    expect(out).toHaveLength(1);
    expect(out[0]).not.toContain('secret-token-value');
    expect(out[0]).not.toContain('pw-123456');
    expect(JSON.parse(out[0]!)).toMatchObject({ level: 'info', message: 'shown', token: '[redacted]', tokenId: 'abcd' });
  });

  test('/metrics: Prometheus text, and every figure moves after an upload, sealing, anchoring, a verification and a store error', async () => {
    const scrape = async (): Promise<Map<string, Family>> => {
      const r = await h.call('/metrics');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await r.text();
      // Liuhen's own figures are never NaN (prom-client's event-loop gauges may be, before their first sample).
      expect(text.split('\n').filter((l) => /^liuhen_.* Nan$/i.test(l))).toEqual([]);
      return parsePrometheusText(text);
    };
    const v = (m: Map<string, Family>, name: string, labels?: Record<string, string>) => sampleValue(m, name, labels) ?? 0;
    const m0 = await scrape();
    for (const name of [
      'liuhen_records_journaled_total',
      'liuhen_batches_sealed_total',
      'liuhen_records_pending',
      'liuhen_sealing_lag_seconds',
      'liuhen_batches_unanchored',
      'liuhen_anchoring_lag_seconds',
      'liuhen_anchor_tx_seconds',
      'liuhen_anchor_failures_total',
      'liuhen_batches_awaiting_notary',
      'liuhen_notary_wait_oldest_seconds',
      'liuhen_verification_seconds',
      'liuhen_store_errors_total',
      'liuhen_store_bytes',
      'nodejs_eventloop_lag_seconds',
      'liuhen_http_request_seconds',
    ]) {
      expect(m0.has(name), name).toBe(true);
    }
    expect(m0.get('liuhen_records_journaled_total')!.type).toBe('counter');

    const bytes = randomBytes(3000);
    const created = await upload(h, bytes);
    await new Promise((r) => setTimeout(r, 20));
    const m1 = await scrape();
    expect(v(m1, 'liuhen_records_journaled_total')).toBeGreaterThan(v(m0, 'liuhen_records_journaled_total'));
    expect(v(m1, 'liuhen_records_pending')).toBeGreaterThan(v(m0, 'liuhen_records_pending'));
    expect(v(m1, 'liuhen_sealing_lag_seconds')).toBeGreaterThan(0);
    expect(v(m1, 'liuhen_store_bytes')).toBeGreaterThan(v(m0, 'liuhen_store_bytes'));

    const [batch] = (await h.liuhen.seal()).filter((b) => b.agency === 'AG-A');
    await new Promise((r) => setTimeout(r, 20));
    const m2 = await scrape();
    expect(v(m2, 'liuhen_batches_sealed_total')).toBeGreaterThan(v(m1, 'liuhen_batches_sealed_total'));
    expect(v(m2, 'liuhen_records_pending')).toBe(0);
    expect(v(m2, 'liuhen_batches_unanchored')).toBeGreaterThan(0);
    expect(v(m2, 'liuhen_anchoring_lag_seconds')).toBeGreaterThan(0);

    // The anchorer's state as it writes it once mined (submitted 1.5 s before it saw the block), and the chain's view: anchored, no notary yet.
    const now = Date.now();
    const state = {
      v: 1,
      status: 'final',
      agency: batch!.agency,
      seq: batch!.seq,
      root: batch!.root,
      chainId: 27752,
      registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      submittedAt: new Date(now - 1500).toISOString(),
      anchoredAt: new Date(now).toISOString(),
      updatedAt: new Date(now).toISOString(),
    } as unknown as AnchorState;
    await h.liuhen.journal.putAnchorState(batch!.root, state);
    chain.anchor(batch!, { timestamp: Math.floor(now / 1000) - 5 });
    const m3 = await scrape();
    expect(v(m3, 'liuhen_anchor_tx_seconds_count')).toBe(v(m2, 'liuhen_anchor_tx_seconds_count') + 1);
    expect(v(m3, 'liuhen_anchor_tx_seconds_sum')).toBeCloseTo(1.5, 1);
    expect(v(m3, 'liuhen_batches_awaiting_notary')).toBeGreaterThan(0);
    expect(v(m3, 'liuhen_notary_wait_oldest_seconds')).toBeGreaterThanOrEqual(5);

    // A failed anchor transaction: broadcast, then back to pending (dropped or reverted).
    await h.liuhen.journal.putAnchorState(batch!.root, { ...state, status: 'submitted', anchoredAt: undefined, root: batch!.root } as unknown as AnchorState);
    await scrape();
    await h.liuhen.journal.putAnchorState(batch!.root, { ...state, status: 'pending', anchoredAt: undefined, note: 'reverted' } as unknown as AnchorState);
    const m4 = await scrape();
    expect(v(m4, 'liuhen_anchor_failures_total')).toBe(v(m3, 'liuhen_anchor_failures_total') + 1);

    // A verification, counted by verdict.
    const receipt = await (await h.call(`/v1/records/${created.id}/receipt`, { token: h.t.agency })).json();
    const verdict = await (await h.call('/v1/verify', json({ receipt, sha256: created.sha256 }))).json();
    const m5 = await scrape();
    expect(v(m5, 'liuhen_verification_seconds_count', { route: 'post', status: verdict.status })).toBe(
      v(m4, 'liuhen_verification_seconds_count', { route: 'post', status: verdict.status }) + 1,
    );

    // A store error: a stored object altered on disk, then downloaded.
    const victim = await upload(h, randomBytes(2000), { device: 'cam-9' });
    const file = allFiles(join(h.dir, 'store')).find((f) => f.includes(victim.cid))!;
    const b = readFileSync(file);
    b[b.length - 40] ^= 1;
    writeFileSync(file, b);
    const bad = await h.call(`/v1/records/${victim.id}/content`, { token: h.t.supervisor });
    const code = (await bad.json()).error.code as string;
    const m6 = await scrape();
    expect(v(m6, 'liuhen_store_errors_total', { code })).toBe(v(m5, 'liuhen_store_errors_total', { code }) + 1);
    expect(Number.isFinite(v(m6, 'nodejs_eventloop_lag_seconds'))).toBe(true);
    expect(v(m6, 'liuhen_http_request_seconds_count', { method: 'POST', route: '/v1/records', status: '201' })).toBeGreaterThanOrEqual(2);
  });

  test('/metrics is refused to other addresses behind a proxy unless a metrics token is configured', async () => {
    const h2 = await startGateway({ config: { trustProxy: 1 } });
    try {
      expect((await h2.call('/metrics')).status).toBe(403);
    } finally {
      await h2.close();
    }
    const { createHash } = await import('node:crypto');
    const token = 'metrics-token-0123456789abcdef';
    const h3 = await startGateway({ config: { trustProxy: 1, metrics: { tokenSha256: createHash('sha256').update(token).digest('hex') } } });
    try {
      expect((await h3.call('/metrics')).status).toBe(401);
      expect((await h3.call('/metrics', { token: 'metrics-token-wrong-0000000000' })).status).toBe(401);
      expect((await h3.call('/metrics', { token })).status).toBe(200);
    } finally {
      await h3.close();
    }
  });
});

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(join(dir, e.name)) : [join(dir, e.name)]));
}
