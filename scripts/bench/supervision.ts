/**
 * Supervision at city scale (issue 12): a journal of N records (default
 * 1,000,000) across 20 agencies, 5,000 devices and N/10 cases over 28 days,
 * sealed and anchored (chain facts given directly: this measures the index,
 * not the chain), then
 *   - supervision.index_build: the incremental index catching up from empty;
 *   - supervision.stats_p99 / findings_p99: GET /v1/stats and the first page of
 *     GET /v1/findings through the real gateway (target p99 ≤ 200 ms);
 *   - supervision.ingest_drop: durable appends with and without the index
 *     following the journal concurrently (target drop ≤ 10 %).
 * Sizes: LIUHEN_BENCH_SV_RECORDS (default 1000000), LIUHEN_BENCH_SV_INGEST
 * (records per ingest round, default 20000), LIUHEN_BENCH_SV_REQUESTS (200).
 * Run alone: `npx tsx scripts/bench/supervision.ts`, or `npm run bench supervision`.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { createApp, listen, silentLogger, TokenStore, type GatewayChain } from '../../gateway/index.js';
import { DeviceKey, Journal, Liuhen, STAGES, SupervisionStats, type BatchInfo, type RecordDraft } from '../../src/index.js';
import { statsDir } from '../../gateway/routes/stats/service.js';
import { tempDir } from '../../test/helpers/tmp.js';

type Emit = (line: Record<string, unknown>) => void;
const round = (x: number, d = 1) => Number(x.toFixed(d));
const AGENCIES = Array.from({ length: 20 }, (_, i) => `AG-${String(i).padStart(2, '0')}`);
const DEVICES = 5000;
const DAYS = 28;

function draft(i: number, start: number, n: number): RecordDraft {
  const device = i % DEVICES;
  const agency = AGENCIES[device % AGENCIES.length]!;
  const caseNo = Math.floor(i / 10);
  // Ten records per case, in stage order; every 7th case skips the legal review.
  const stage = STAGES[Math.min(1 + (i % 10), STAGES.length - 1)]!;
  const skip = caseNo % 7 === 0 && stage === 'review';
  const capturedAt = new Date(start + Math.floor(Math.min(i / n, 1) * DAYS * 86_400_000)).toISOString();
  return { agency, device: `D-${device}`, officer: `OF-${device}`, case: `C-${caseNo}`, ...(skip ? {} : { stage }), kind: 'form', body: { n: i }, capturedAt };
}

async function appendMany(j: Journal, key: DeviceKey, from: number, to: number, start: number, n: number, concurrency = 256): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= to) return;
        await j.append(draft(i, start, n), key);
      }
    }),
  );
}

function p(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

export async function run(emit: Emit): Promise<void> {
  const n = Number(process.env.LIUHEN_BENCH_SV_RECORDS ?? 1_000_000);
  const ingest = Number(process.env.LIUHEN_BENCH_SV_INGEST ?? 20_000);
  const requests = Number(process.env.LIUHEN_BENCH_SV_REQUESTS ?? 200);
  const t = tempDir('liuhen-bench-sv-');
  try {
    const dataDir = join(t.dir, 'data');
    Liuhen.init(dataDir, { agency: AGENCIES[0]!, device: 'station-1', officer: 'GW-1' });
    const liuhen = await Liuhen.open(dataDir);
    const j = liuhen.journal;
    const key = DeviceKey.generate();
    const start = Date.now() - (DAYS + 1) * 86_400_000;
    // Build the history in capture order, sealed every 20 simulated minutes, a minute after its last capture (on time).
    let t0 = performance.now();
    const perHour = Math.max(1, Math.ceil(n / (DAYS * 72)));
    for (let from = 0; from < n; from += perHour) {
      const to = Math.min(n, from + perHour);
      await appendMany(j, key, from, to, start, n, Math.min(256, perHour));
      const last = Date.parse(draft(to - 1, start, n).capturedAt);
      await j.sealAll({ now: () => new Date(last + 60_000), maxBatchSize: 4096 });
    }
    const buildSeconds = (performance.now() - t0) / 1000;
    emit({
      bench: 'supervision.history',
      records: n,
      cases: Math.ceil(n / 10),
      devices: Math.min(n, DEVICES),
      agencies: AGENCIES.length,
      seconds: round(buildSeconds),
      note: 'journal appends + seals to make the history (not a target)',
    });

    // The chain, as the index sees it: every batch anchored a minute after sealing, and notarized.
    const chainFacts = async (b: BatchInfo) => {
      const at = Math.floor(Date.parse(b.sealedAt) / 1000) + 60;
      return { anchoredAt: at, notarized: true, notarizedAt: at + 30 };
    };
    t0 = performance.now();
    const stats = await SupervisionStats.open({ journal: j, dir: statsDir(dataDir), supervisionAgency: 'JN-SFJ', chainFacts, chainRecheckMs: 0 });
    await stats.catchUp();
    while ((await stats.overview({ from: '2000-01-01', to: '2100-01-01' })).batches.waiting > 0) await stats.catchUp();
    const indexSeconds = (performance.now() - t0) / 1000;
    const overview = stats.overview({ from: new Date(start).toISOString().slice(0, 10), to: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10) });
    emit({
      bench: 'supervision.index_build',
      records: n,
      seconds: round(indexSeconds),
      recordsPerSecond: Math.round(n / indexSeconds),
      findings: Object.values(overview.totals.findings).reduce((a, b) => a + b, 0),
      note: 'the index catching up from empty (a rebuild); afterwards it only reads what is new',
    });
    await stats.close();

    // Queries through the real gateway (auth, validation, audit entry, JSON).
    const tokens = await TokenStore.open(join(dataDir, 'gateway'));
    const { token } = await tokens.create({ role: 'supervisor', label: 'bench', createdBy: 'bench' });
    const chain: GatewayChain = {
      verifier: {
        checkAnchor: async () => ({ status: 'pending', code: 'ANCHOR_ABSENT', detail: 'bench' }),
        checkNotary: async () => ({ status: 'pending', code: 'NOTARY_ABSENT', detail: 'bench' }),
      } as never,
      batchStatus: async (b) => ({
        phase: 'final',
        anchor: {
          chainId: 1,
          registry: '0x0000000000000000000000000000000000000001',
          txHash: `0x${'1'.repeat(64)}`,
          blockNumber: 1,
          blockHash: `0x${'2'.repeat(64)}`,
          timestamp: (await chainFacts(b)).anchoredAt,
        },
        attestations: [],
        notarized: true,
      }),
      ping: async () => undefined,
    };
    const app = createApp({
      liuhen,
      tokens,
      chain,
      logger: silentLogger,
      config: { rateLimit: { requests: 10_000_000, verify: 10_000_000, authFailures: 10_000_000 } },
    });
    const running = await listen(app, { port: 0 });
    const get = async (path: string) => {
      const s = performance.now();
      const r = await fetch(`${running.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
      return performance.now() - s;
    };
    await get('/v1/stats'); // opens the index (catches up the audit entries)
    for (const [name, path] of [
      ['stats', '/v1/stats'],
      ['findings', '/v1/findings?limit=50'],
      ['findings_filtered', `/v1/findings?limit=50&agency=${AGENCIES[3]}&kind=CASE_DECISION_WITHOUT_REVIEW`],
    ] as const) {
      const ms: number[] = [];
      for (let i = 0; i < requests; i++) ms.push(await get(path));
      emit({
        bench: `supervision.${name}_latency`,
        records: n,
        requests,
        p50ms: round(p(ms, 0.5)),
        p99ms: round(p(ms, 0.99)),
        maxms: round(Math.max(...ms)),
        target: 'p99 <= 200 ms',
      });
    }
    await running.close();

    // Ingest with and without the index following the journal (alternated, two rounds each).
    const stats2 = await SupervisionStats.open({ journal: j, dir: statsDir(dataDir), supervisionAgency: 'JN-SFJ', chainFacts, chainRecheckMs: 0 });
    await stats2.catchUp();
    let offset = n;
    const round1 = async (follow: boolean): Promise<number> => {
      let done = false;
      const follower = (async () => {
        while (follow && !done) {
          await stats2.catchUp();
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const s = performance.now();
      await appendMany(j, key, offset, offset + ingest, start, n);
      const rate = ingest / ((performance.now() - s) / 1000);
      done = true;
      await follower;
      offset += ingest;
      return rate;
    };
    const without: number[] = [];
    const withStats: number[] = [];
    for (let r = 0; r < 2; r++) {
      without.push(await round1(false));
      withStats.push(await round1(true));
    }
    await stats2.catchUp();
    await stats2.close();
    const a = without.reduce((x, y) => x + y, 0) / without.length;
    const b = withStats.reduce((x, y) => x + y, 0) / withStats.length;
    emit({
      bench: 'supervision.ingest_drop',
      journalRecords: n,
      recordsPerRound: ingest,
      withoutStats: Math.round(a),
      withStats: Math.round(b),
      dropPercent: round(((a - b) / a) * 100),
      target: 'drop <= 10 %',
      note: 'durable appends (one device key, concurrency 256); with: the index catching up every 50 ms in the same process',
    });
    await liuhen.close();
  } finally {
    t.cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run((l) => console.log(JSON.stringify(l)));
  process.exit(0);
}
