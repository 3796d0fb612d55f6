/**
 * Supervision at city scale (issue 12): a journal of N records (default
 * 1,000,000) across 20 agencies, 5,000 devices and N/10 cases over 28 days,
 * sealed and anchored (chain facts given directly: this measures the index,
 * not the chain), then
 *   - supervision.history: the history built through the SDK's journal
 *     (`Journal.append`, durable, signed) with the statistics index following
 *     it as the gateway does (a catch-up after every seal, every simulated 45 minutes);
 *   - supervision.index_build: the index rebuilt from empty (what deleting
 *     `<data>/supervision/stats` costs; by default only up to 200,000 records,
 *     LIUHEN_BENCH_SV_REBUILD=1 forces it);
 *   - supervision.stats_latency / findings_latency: GET /v1/stats and the
 *     first page of GET /v1/findings through the real gateway (auth,
 *     validation, audit, JSON), goal p99 ≤ 200 ms;
 *   - supervision.ingest_drop: durable appends with and without the index
 *     following the journal in the same process (rounds in ABBA order, the
 *     median of each way), goal drop ≤ 10 %.
 * Every line carries the goal, whether it was met and the load average (the
 * development machine is shared: compare relative costs).
 * Sizes: LIUHEN_BENCH_SV_RECORDS (default 1000000), LIUHEN_BENCH_SV_INGEST
 * (records per ingest round, default 10000), LIUHEN_BENCH_SV_ROUNDS (ingest
 * rounds each way, default 4), LIUHEN_BENCH_SV_REQUESTS (200).
 * LIUHEN_BENCH_SV_DIR keeps the data folder there (and reuses a history
 * already built there: profile the queries without building it again).
 * Run alone: `npx tsx scripts/bench/supervision.ts`, or `npm run bench -- supervision`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
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

const load = () => round(loadavg()[0]!, 2);
const GOAL_MS = 200;
const GOAL_DROP = 10;

export async function run(emit: Emit): Promise<void> {
  const n = Number(process.env.LIUHEN_BENCH_SV_RECORDS ?? 1_000_000);
  const ingest = Number(process.env.LIUHEN_BENCH_SV_INGEST ?? 10_000);
  const rounds = Number(process.env.LIUHEN_BENCH_SV_ROUNDS ?? 4);
  const requests = Number(process.env.LIUHEN_BENCH_SV_REQUESTS ?? 200);
  const rebuild = process.env.LIUHEN_BENCH_SV_REBUILD === '1' || n <= 200_000;
  const kept = process.env.LIUHEN_BENCH_SV_DIR;
  const t = kept ? { dir: kept, cleanup: () => undefined } : tempDir('liuhen-bench-sv-');
  if (kept) mkdirSync(kept, { recursive: true });
  try {
    const dataDir = join(t.dir, 'data');
    const reuse = existsSync(join(dataDir, 'config.json'));
    if (!reuse) Liuhen.init(dataDir, { agency: AGENCIES[0]!, device: 'station-1', officer: 'GW-1' });
    const liuhen = await Liuhen.open(dataDir);
    const j = liuhen.journal;
    const key = DeviceKey.generate();
    // The history's time line is stored with it (a reused folder keeps its days).
    const start = Number((await j.getMeta('bench-sv-start')) ?? Date.now() - (DAYS + 1) * 86_400_000);
    // The chain, as the index sees it: every batch anchored a minute after sealing, and notarized.
    const chainFacts = async (b: BatchInfo) => {
      const at = Math.floor(Date.parse(b.sealedAt) / 1000) + 60;
      return { anchoredAt: at, notarized: true, notarizedAt: at + 30 };
    };
    const openStats = () => SupervisionStats.open({ journal: j, dir: statsDir(dataDir), supervisionAgency: 'JN-SFJ', chainFacts, chainRecheckMs: 0 });
    const settle = async (s: SupervisionStats) => {
      do await s.catchUp();
      while (s.pendingBatches > 0);
    };

    // Build the history in capture order, sealed every 45 simulated minutes, a minute after its last capture (on time:
    // the seal and anchor policies allow an hour), with the index following it as in the gateway (a catch-up after
    // each seal, overlapping the next appends). Fewer, larger seals: each is a synced write per agency.
    let t0 = performance.now();
    let built = Number((await j.getMeta('bench-sv-records')) ?? 0);
    if (built === 0) {
      await j.putMeta('bench-sv-start', String(start));
      const follower = await openStats();
      let following: Promise<void> = Promise.resolve();
      const perChunk = Math.max(1, Math.ceil(n / (DAYS * 32)));
      let reported = performance.now();
      for (let from = 0; from < n; from += perChunk) {
        const to = Math.min(n, from + perChunk);
        await appendMany(j, key, from, to, start, n, Math.min(256, perChunk));
        const last = Date.parse(draft(to - 1, start, n).capturedAt);
        await j.sealAll({ now: () => new Date(last + 60_000), maxBatchSize: 4096 });
        await following;
        following = follower.catchUp();
        if (performance.now() - reported > 60_000) {
          reported = performance.now();
          console.error(`supervision bench: ${to} of ${n} records after ${round((reported - t0) / 1000)} s (load ${load()})`);
        }
      }
      await following;
      await settle(follower);
      await follower.close();
      built = n;
      await j.putMeta('bench-sv-records', String(n));
    }
    const buildSeconds = (performance.now() - t0) / 1000;
    emit({
      bench: 'supervision.history',
      records: built,
      cases: Math.ceil(built / 10),
      devices: Math.min(built, DEVICES),
      agencies: AGENCIES.length,
      seconds: round(buildSeconds),
      recordsPerSecond: reuse ? null : Math.round(built / buildSeconds),
      load: load(),
      note: reuse ? `reused ${dataDir}` : 'durable signed appends + seals through the SDK journal, the index following (not a target)',
    });

    if (rebuild) {
      t0 = performance.now();
      const { rmSync } = await import('node:fs');
      rmSync(statsDir(dataDir), { recursive: true, force: true });
      const stats = await openStats();
      await settle(stats);
      const indexSeconds = (performance.now() - t0) / 1000;
      const overview = stats.overview({ from: new Date(start).toISOString().slice(0, 10), to: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10) });
      emit({
        bench: 'supervision.index_build',
        records: built,
        seconds: round(indexSeconds),
        recordsPerSecond: Math.round(built / indexSeconds),
        findings: Object.values(overview.totals.findings).reduce((a, b) => a + b, 0),
        load: load(),
        note: 'the index rebuilt from empty (delete <data>/supervision/stats); afterwards it only reads what is new',
      });
      await stats.close();
    }

    // A reused history can end with records the index has not seen (a previous run's last ingest round
    // without it): catch up first, as a running gateway would have, so the figures are the steady state's
    // and not the first requests' catch-up (each waits up to catchUpWaitMs, 150 ms, for it).
    const warm = await openStats();
    await settle(warm);
    await warm.close();

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
    for (const [name, path, note] of [
      ['stats', '/v1/stats', 'aggregate figures of the last 28 days; audited per token and minute'],
      ['findings', '/v1/findings?limit=50', 'first page, newest first; one synced audit record per request'],
      [
        'findings_filtered',
        `/v1/findings?limit=50&agency=${AGENCIES[3]}&kind=CASE_DECISION_WITHOUT_REVIEW`,
        'agency + kind; one synced audit record per request',
      ],
      [
        'findings_status',
        '/v1/findings?limit=50&status=verified',
        'a status no finding has (its own index: an empty key range); one synced audit record per request',
      ],
    ] as const) {
      const ms: number[] = [];
      for (let i = 0; i < requests; i++) ms.push(await get(path));
      const p99 = round(p(ms, 0.99));
      emit({
        bench: `supervision.${name}_latency`,
        records: built,
        requests,
        p50ms: round(p(ms, 0.5)),
        p99ms: p99,
        maxms: round(Math.max(...ms)),
        goal: `p99 <= ${GOAL_MS} ms`,
        met: p99 <= GOAL_MS,
        load: load(),
        note,
      });
    }
    await running.close();

    // Ingest with and without the index following the journal (alternated rounds; the median of each way).
    // Without: no index open at all. With: the index opened (and caught up) before the round, following every
    // 50 ms during it (it also reads back the previous round's records, which it did not see arrive).
    let offset = built;
    const round1 = async (follow: boolean): Promise<number> => {
      const follower = follow ? await openStats() : undefined;
      if (follower) await settle(follower);
      let done = false;
      const following = (async () => {
        while (follower && !done) {
          await follower.catchUp();
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const s = performance.now();
      await appendMany(j, key, offset, offset + ingest, start, n);
      const rate = ingest / ((performance.now() - s) / 1000);
      done = true;
      await following;
      if (follower) {
        await settle(follower);
        await follower.close();
      }
      offset += ingest;
      return rate;
    };
    const without: number[] = [];
    const withStats: number[] = [];
    // ABBA order (without, with, with, without, …): each round leaves compaction work to the next, and
    // the journal grows; a fixed order would charge that drift to one side.
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) {
        without.push(await round1(false));
        withStats.push(await round1(true));
      } else {
        withStats.push(await round1(true));
        without.push(await round1(false));
      }
    }
    const a = p(without, 0.5);
    const b = p(withStats, 0.5);
    const drop = round(((a - b) / a) * 100);
    emit({
      bench: 'supervision.ingest_drop',
      journalRecords: offset,
      recordsPerRound: ingest,
      rounds,
      withoutStats: Math.round(a),
      withStats: Math.round(b),
      roundsWithout: without.map((x) => Math.round(x)),
      roundsWith: withStats.map((x) => Math.round(x)),
      dropPercent: drop,
      goal: `drop <= ${GOAL_DROP} %`,
      met: drop <= GOAL_DROP,
      load: load(),
      note: 'durable signed appends through the SDK journal (concurrency 256); without: no index open; with: the index catching up every 50 ms in the same process',
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
