import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isLiuhenError, paths, type AnchorState } from '../src/index.js';
import type { Context } from './context.js';
import { httpError } from './http/errors.js';

/**
 * `GET /metrics` (issue 14): Prometheus text format (prom-client), one
 * registry per app (tests run many apps in one process).
 *
 * Most figures are read when Prometheus scrapes, from the journal and the
 * chain port, so they are true even for work done by other processes
 * (`liuhen anchor --watch`, the notary): pending records and the oldest's age
 * (sealing lag), batches not yet anchored and the oldest's age (anchoring
 * lag), anchored batches waiting for notaries and the oldest's wait, anchor
 * transaction latency (submitted → mined, from the anchorer's state) and
 * failures (a transaction dropped, reverted or reorged out: its batch went
 * back to pending, or its reorg count rose). The newest `notaryScanBatches`
 * batches per agency are scanned; settled batches cost no RPC (the chain
 * adapter keeps them). Counted as they happen: verifications by route and
 * verdict with their latency, store errors by code, HTTP requests. The store's
 * size is its folder's size, re-read at most every 30 s. Node's own
 * (`nodejs_eventloop_lag_seconds`, heap, GC) come from prom-client.
 *
 * Who may read it: see `metricsAccess` — loopback clients only, unless a
 * metrics token is configured.
 */
export interface GatewayMetrics {
  registry: Registry;
  /** The exposition text of one scrape (the journal and chain are scanned once for it). */
  text(): Promise<string>;
  /** A finished verification (`route`: post or leaf; `status`: the verdict, or `error`). */
  verification(route: 'post' | 'leaf', status: string, seconds: number): void;
  /** A public verdict looked up in the memo (routes/verify/memo.ts): served again, computed, or recomputed because its stamp changed. */
  verdictMemo(result: 'hit' | 'miss' | 'stale'): void;
  /** Any STORE_* error answered by the gateway. */
  storeError(code: string): void;
  /** Every answered request (method, route pattern, status class). */
  request(method: string, route: string, status: number, seconds: number): void;
}

const STORE_SIZE_TTL_MS = 30_000;

export function createMetrics(ctx: Context): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

  // One scan per scrape (started by `text()`), shared by every gauge that needs it.
  let scan: Promise<Scan> | undefined;
  const scanned = (): Promise<Scan> => (scan ??= scanAll(ctx, seen));
  const seen: Seen = { latencyObserved: new Set(), lastStatus: new Map(), reorgs: new Map() };

  let journaledBefore = 0;
  const journaled = new Counter({
    name: 'liuhen_records_journaled_total',
    help: 'Records made durable in the journal (every device, the audit trail included).',
    registers: [registry],
    collect() {
      let n = 0;
      for (const d of ctx.journal.devices()) n += ctx.journal.deviceHead(d)?.seq ?? 0;
      if (n > journaledBefore) this.inc(n - journaledBefore);
      journaledBefore = Math.max(journaledBefore, n);
    },
  });
  void journaled;
  let sealedBefore = 0;
  new Counter({
    name: 'liuhen_batches_sealed_total',
    help: 'Batches sealed (RFC 6962 trees over pending records), all agencies.',
    registers: [registry],
    async collect() {
      const s = await scanned();
      if (s.sealed > sealedBefore) this.inc(s.sealed - sealedBefore);
      sealedBefore = Math.max(sealedBefore, s.sealed);
    },
  });
  new Gauge({
    name: 'liuhen_records_pending',
    help: 'Records journaled and not yet sealed into a batch.',
    registers: [registry],
    async collect() {
      this.set((await scanned()).pending);
    },
  });
  new Gauge({
    name: 'liuhen_sealing_lag_seconds',
    help: 'Age of the oldest record not yet sealed (0 when none). Alert when above a few minutes.',
    registers: [registry],
    async collect() {
      this.set((await scanned()).oldestPendingSeconds);
    },
  });
  new Gauge({
    name: 'liuhen_batches_unanchored',
    help: 'Sealed batches not yet anchored on chain (scanned: the newest notaryScanBatches per agency; 0 without a chain).',
    registers: [registry],
    async collect() {
      this.set((await scanned()).unanchored);
    },
  });
  new Gauge({
    name: 'liuhen_anchoring_lag_seconds',
    help: 'Age since sealing of the oldest batch not yet anchored (0 when none).',
    registers: [registry],
    async collect() {
      this.set((await scanned()).oldestUnanchoredSeconds);
    },
  });
  const anchorTx = new Histogram({
    name: 'liuhen_anchor_tx_seconds',
    help: 'Anchor transaction latency: broadcast to mined (from the anchorer state).',
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 300, 1800],
    registers: [registry],
    async collect() {
      for (const s of (await scanned()).newLatencies) anchorTx.observe(s);
    },
  });
  const anchorFailures = new Counter({
    name: 'liuhen_anchor_failures_total',
    help: 'Anchor transactions that failed after broadcast: dropped or reverted (the batch went back to pending) or reorged out.',
    registers: [registry],
    async collect() {
      const n = (await scanned()).newFailures;
      if (n > 0) anchorFailures.inc(n);
    },
  });
  new Gauge({
    name: 'liuhen_batches_awaiting_notary',
    help: 'Anchored batches without enough notary co-signatures.',
    registers: [registry],
    async collect() {
      this.set((await scanned()).awaitingNotary);
    },
  });
  new Gauge({
    name: 'liuhen_notary_wait_oldest_seconds',
    help: 'How long the oldest anchored, unnotarized batch has waited since its anchor block (0 when none). Alert above an hour.',
    registers: [registry],
    async collect() {
      this.set((await scanned()).oldestNotaryWaitSeconds);
    },
  });
  new Gauge({
    name: 'liuhen_chain_scan_errors',
    help: '1 when the last scrape could not ask the chain (figures from the chain are then missing or stale).',
    registers: [registry],
    async collect() {
      this.set((await scanned()).chainError ? 1 : 0);
    },
  });
  const verifications = new Histogram({
    name: 'liuhen_verification_seconds',
    help: 'Public verifications by route (post: POST /v1/verify, leaf: GET /v1/verify/:leaf) and verdict (verified, failed, incomplete, error); _count is the number of verifications.',
    labelNames: ['route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const memo = new Counter({
    name: 'liuhen_verdict_memo_total',
    help: 'Public verdicts looked up in the memo of verified verdicts: hit (served again), miss (computed), stale (recomputed: a chain fact it relied on may have changed).',
    labelNames: ['result'],
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'liuhen_store_errors_total',
    help: 'Evidence store errors answered by the gateway, by code.',
    labelNames: ['code'],
    registers: [registry],
  });
  let size: { at: number; bytes: Promise<number> } | undefined;
  new Gauge({
    name: 'liuhen_store_bytes',
    help: 'Bytes in the local evidence store folder (encrypted blocks), re-read at most every 30 s and after each upload.',
    registers: [registry],
    async collect() {
      if (!ctx.store) return this.set(0);
      const now = Date.now();
      if (!size || now - size.at > STORE_SIZE_TTL_MS) size = { at: now, bytes: folderBytes(paths(ctx.dataDir).store) };
      this.set(await size.bytes);
    },
  });
  const requests = new Histogram({
    name: 'liuhen_http_request_seconds',
    help: 'HTTP requests by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers: [registry],
  });

  return {
    registry,
    async text() {
      scan = undefined;
      return registry.metrics();
    },
    verification: (route, status, seconds) => verifications.observe({ route, status }, seconds),
    verdictMemo: (result) => memo.inc({ result }),
    storeError: (code) => storeErrors.inc({ code }),
    request: (method, route, status, seconds) => {
      requests.observe({ method, route, status: String(status) }, seconds);
      // A new upload: the store's size is re-read at the next scrape.
      if (method === 'POST' && status === 201) size = undefined;
    },
  };
}

interface Seen {
  latencyObserved: Set<string>;
  lastStatus: Map<string, string>;
  reorgs: Map<string, number>;
}

interface Scan {
  sealed: number;
  pending: number;
  oldestPendingSeconds: number;
  unanchored: number;
  oldestUnanchoredSeconds: number;
  awaitingNotary: number;
  oldestNotaryWaitSeconds: number;
  newLatencies: number[];
  newFailures: number;
  chainError: boolean;
}

const BOUND = 100_000;
function remember<K, V>(m: Map<K, V> | Set<K>, k: K, v?: V): void {
  if (m instanceof Map) m.set(k, v as V);
  else m.add(k);
  if (m.size > BOUND) m.delete(m.keys().next().value as K);
}

async function scanAll(ctx: Context, seen: Seen): Promise<Scan> {
  const now = ctx.clock().getTime();
  const s: Scan = {
    sealed: 0,
    pending: 0,
    oldestPendingSeconds: 0,
    unanchored: 0,
    oldestUnanchoredSeconds: 0,
    awaitingNotary: 0,
    oldestNotaryWaitSeconds: 0,
    newLatencies: [],
    newFailures: 0,
    chainError: false,
  };
  for (const agency of await ctx.journal.pendingAgencies()) {
    s.pending += await ctx.journal.pendingCount(agency);
    const first = await ctx.journal.oldestPending(agency);
    const stored = first ? await ctx.journal.getRecord(first.id) : undefined;
    if (stored) s.oldestPendingSeconds = Math.max(s.oldestPendingSeconds, Math.max(0, (now - stored.journaledAt) / 1000));
  }
  for (const agency of ctx.journal.agencies()) {
    const head = (await ctx.journal.agencyHead(agency))?.seq ?? 0;
    s.sealed += head;
    if (!ctx.chain) continue;
    for await (const b of ctx.journal.batches(agency, { afterSeq: Math.max(head - ctx.config.notaryScanBatches, 0) })) {
      const state = await ctx.journal.getAnchorState<AnchorState>(b.root);
      if (state) {
        // Latency: broadcast → mined, once per batch.
        if (state.anchoredAt && state.submittedAt && !seen.latencyObserved.has(b.root)) {
          remember(seen.latencyObserved, b.root);
          s.newLatencies.push(Math.max(0, (Date.parse(state.anchoredAt) - Date.parse(state.submittedAt)) / 1000));
        }
        // Failures: back to pending after a broadcast, or a reorg more.
        const before = seen.lastStatus.get(b.root);
        if (state.status === 'pending' && (before === 'submitted' || before === 'signed' || before === 'anchored')) s.newFailures++;
        const reorgs = state.reorgs ?? 0;
        if (reorgs > (seen.reorgs.get(b.root) ?? 0)) s.newFailures += reorgs - (seen.reorgs.get(b.root) ?? 0);
        remember(seen.reorgs, b.root, reorgs);
        remember(seen.lastStatus, b.root, state.status);
      }
      let status;
      try {
        status = await ctx.chain.batchStatus(b);
      } catch (e) {
        s.chainError = true;
        void isLiuhenError(e);
        continue;
      }
      if (status.phase === 'anchored' || status.phase === 'final') {
        if (!status.notarized) {
          s.awaitingNotary++;
          const since = status.anchor ? status.anchor.timestamp * 1000 : Date.parse(b.sealedAt);
          s.oldestNotaryWaitSeconds = Math.max(s.oldestNotaryWaitSeconds, Math.max(0, (now - since) / 1000));
        }
      } else {
        s.unanchored++;
        s.oldestUnanchoredSeconds = Math.max(s.oldestUnanchoredSeconds, Math.max(0, (now - Date.parse(b.sealedAt)) / 1000));
      }
    }
  }
  return s;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) total += (await stat(p).catch(() => ({ size: 0 }))).size;
    }
  };
  await walk(dir);
  return total;
}

/**
 * Who may read /metrics. The figures are aggregate (no record, no personal
 * data) but tell an attacker how the system is doing, so not everyone:
 * - with `metrics.tokenSha256` configured: a Bearer token whose SHA-256 is
 *   that digest (Prometheus `authorization.credentials_file`) — a token that
 *   can read nothing else, unlike a supervisor token, which reads evidence;
 * - without it: loopback clients only, and only when `trustProxy` is off (a
 *   proxy on the same host makes every Internet client look local).
 */
export function metricsAccess(ctx: Context): RequestHandler {
  return (req, _res, next) => {
    const digest = ctx.config.metrics.tokenSha256;
    if (digest) {
      const header = req.headers.authorization;
      const bearer = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{16,200})$/.exec(header) : null;
      if (!bearer) return next(httpError('UNAUTHORIZED', 'send Authorization: Bearer <metrics token>'));
      return import('node:crypto').then(({ createHash, timingSafeEqual }) => {
        const got = createHash('sha256').update(bearer[1]!).digest();
        const want = Buffer.from(digest, 'hex');
        next(got.length === want.length && timingSafeEqual(got, want) ? undefined : httpError('UNAUTHORIZED', 'the metrics token is not valid'));
      }, next);
    }
    const addr = req.socket.remoteAddress ?? '';
    const loopback = addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1';
    if (ctx.config.trustProxy !== false && ctx.config.trustProxy !== 0)
      return next(httpError('FORBIDDEN', 'behind a proxy /metrics needs a metrics token: set metrics.tokenSha256 in gateway/config.json'));
    if (!loopback) return next(httpError('FORBIDDEN', '/metrics is served to this machine only unless metrics.tokenSha256 is configured'));
    return next();
  };
}
