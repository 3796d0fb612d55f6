/**
 * Public verification under load (issue 11 goal 1), measured as a new user
 * would: the whole system (`startSystem`: embedded chain, notary, anchoring,
 * gateway, rate limits raised), a load generator from npm (autocannon, in
 * a process of its own — load.ts — sharing the 2 cores with the system under test), and
 * `GET /healthz` in the same run as the reference — each figure comes with
 * its ratio to /healthz.
 *
 * Two mixes for each of `GET /v1/verify/:leaf` (the QR verdict) and
 * `POST /v1/verify` ({receipt, sha256}):
 * - hot: one anchored, notarized receipt for every request (a viral QR code);
 * - zipf: 1,000 distinct notarized receipts drawn with a Zipf(1) law (rank r
 *   with probability ∝ 1/r), so a cache that only helps one key shows —
 *   measured after one pass over the 1,000 (each verdict computed once, as a
 *   gateway in service would have), `gateway.first_verdicts` says how fast that pass went.
 *
 * The access log is written (to a file in the run's folder), as `liuhen start`
 * writes it to stderr: a figure without it would flatter every route.
 *
 * Whatever verdict cache main has is measured as it is; this harness only
 * measures. `npm run bench -- gateway`; LIUHEN_BENCH_SECONDS (default 10) and
 * LIUHEN_BENCH_CONNECTIONS (default 32) tune a run, LIUHEN_BENCH_RECEIPTS
 * (default 1000) the zipf population.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { createLogger } from '../../gateway/logging.js';
import { startSystem } from '../../gateway/system.js';
import { tempDir } from '../../test/helpers/tmp.js';

/** A request of autocannon's (the package ships no types). */
interface LoadRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}
/** The part of autocannon's summary used here. */
interface LoadResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** Runs autocannon in a process of its own (load.ts says why) and returns its summary. */
async function autocannon(spec: { url: string; connections: number; seconds: number; requests: LoadRequest[] }, dir: string): Promise<LoadResult> {
  const file = join(dir, 'load-spec.json');
  writeFileSync(file, JSON.stringify(spec));
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./load.ts', import.meta.url)), file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`the load generator exited with ${code}`);
  return JSON.parse(out) as LoadResult;
}

/** How many requests a skewed mix pre-draws (autocannon cycles through them on each connection). */
const DRAWS = 3_000;

type Emit = (line: Record<string, unknown>) => void;

interface Options {
  seconds?: number;
  connections?: number;
  receipts?: number;
}

/** Rank sampler for Zipf(s) over 1..n by inverse CDF. */
export function zipfSampler(n: number, s = 1, random: () => number = Math.random): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 1; r <= n; r++) cdf[r - 1] = sum += 1 / r ** s;
  for (let i = 0; i < n; i++) cdf[i]! /= sum;
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export async function run(emit: Emit, opts: Options = {}): Promise<void> {
  const seconds = opts.seconds ?? Number(process.env.LIUHEN_BENCH_SECONDS ?? 10);
  const connections = opts.connections ?? Number(process.env.LIUHEN_BENCH_CONNECTIONS ?? 32);
  const population = opts.receipts ?? Number(process.env.LIUHEN_BENCH_RECEIPTS ?? 1000);
  const t = tempDir('liuhen-bench-gw-');
  // The access log is on, as under `liuhen start` (info, one synchronous line per request), written to a file as an operator would redirect stderr.
  const logger = createLogger({ level: 'info', destination: pino.destination({ dest: join(t.dir, 'gateway.log'), sync: true }) });
  const big = 10_000_000;
  const sys = await startSystem({
    dataDir: t.dir,
    port: 0,
    chainPort: 0,
    logger,
    onProgress: () => {},
    gatewayConfig: {
      rateLimit: { requests: big, verify: big, authFailures: big },
      http: { slowPerAddress: 100_000 },
      limits: { verifyUploadsPerAddress: 1024, verifyUploads: 1024 },
    },
  });
  try {
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    // The population: small structured records (a form each), journaled through the API as a station would.
    const ids: { id: string; leaf: string; sha256?: string }[] = [];
    for (let i = 0; i < population; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, population - i) }, async (_, k) => {
          const meta = { device: `TERM-B${(i + k) % 20}`, officer: '37010000', kind: 'form', capturedAt: new Date().toISOString() };
          const res = await fetch(`${sys.url}/v1/records`, {
            method: 'POST',
            headers: { ...auth(sys.tokens.agency), 'content-type': 'application/json' },
            body: JSON.stringify({ meta, body: { title: `bench form ${i + k}` } }),
          });
          if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
          return (await res.json()) as { id: string; leaf: string };
        }),
      );
      ids.push(...batch);
    }
    // Wait until every record is anchored and notarized (the real-time loop and the dev notary).
    const receipts: Record<string, unknown>[] = new Array(ids.length);
    const deadline = Date.now() + 300_000;
    let missing = ids.map((_, i) => i);
    while (missing.length > 0) {
      if (Date.now() > deadline) throw new Error(`${missing.length} records not notarized in time`);
      const still: number[] = [];
      for (let j = 0; j < missing.length; j += 32) {
        await Promise.all(
          missing.slice(j, j + 32).map(async (i) => {
            const res = await fetch(`${sys.url}/v1/records/${ids[i]!.id}/receipt`, { headers: auth(sys.tokens.supervisor) });
            const r = res.ok ? ((await res.json()) as { attestations: unknown[] }) : undefined;
            if (r && r.attestations.length > 0) receipts[i] = r;
            else still.push(i);
          }),
        );
      }
      missing = still;
      if (missing.length > 0) await new Promise((r) => setTimeout(r, 500));
    }
    const bodies = receipts.map((receipt) => JSON.stringify({ receipt }));
    const leafPaths = ids.map((x) => `/v1/verify/${x.leaf}`);
    // Sanity: each kind of request answers verified before it is measured.
    for (const [path, init] of [
      [leafPaths[0]!, {}],
      ['/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[0] }],
    ] as const) {
      const v = (await (await fetch(`${sys.url}${path}`, init as RequestInit)).json()) as { status?: string };
      if (v.status !== 'verified') throw new Error(`${path}: verdict ${v.status}`);
    }

    const load = async (requests: LoadRequest[]): Promise<{ rps: number; p50: number; p99: number; non2xx: number; errors: number }> => {
      const r = await autocannon({ url: sys.url, connections, seconds, requests }, t.dir);
      return { rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts };
    };
    const zipf = zipfSampler(ids.length);
    const health = await load([{ method: 'GET', path: '/healthz' }]);
    emit({
      bench: 'gateway.healthz',
      connections,
      seconds,
      perSecond: health.rps,
      p50_ms: health.p50,
      p99_ms: health.p99,
      non2xx: health.non2xx,
      errors: health.errors,
    });
    const json = { 'content-type': 'application/json' };
    const draw = (make: (i: number) => LoadRequest): LoadRequest[] => Array.from({ length: DRAWS }, () => make(zipf()));
    const cases: [string, LoadRequest[]][] = [
      ['gateway.verify_leaf.hot', [{ method: 'GET', path: leafPaths[0]! }]],
      ['gateway.verify_leaf.zipf', draw((i) => ({ method: 'GET', path: leafPaths[i]! }))],
      ['gateway.verify_post.hot', [{ method: 'POST', path: '/v1/verify', headers: json, body: bodies[0]! }]],
      ['gateway.verify_post.zipf', draw((i) => ({ method: 'POST', path: '/v1/verify', headers: json, body: bodies[i]! }))],
    ];
    // A crowd keeps asking for minutes: the skewed mixes are measured after one pass over the
    // population (each distinct verdict computed once), as they would meet a gateway in service.
    const warm = async (make: (i: number) => [string, RequestInit]) => {
      for (let i = 0; i < ids.length; i += 16)
        await Promise.all(
          ids.slice(i, i + 16).map(async (_, k) => {
            const [path, init] = make(i + k);
            const res = await fetch(`${sys.url}${path}`, init);
            await res.arrayBuffer();
          }),
        );
    };
    const w0 = Date.now();
    await warm((i) => [leafPaths[i]!, {}]);
    const w1 = Date.now();
    await warm((i) => ['/v1/verify', { method: 'POST', headers: json, body: bodies[i]! }]);
    const w2 = Date.now();
    // The first verdict of each receipt (nothing memoised yet), 16 at a time.
    emit({
      bench: 'gateway.first_verdicts',
      receipts: ids.length,
      leaf_per_second: Math.round(ids.length / ((w1 - w0) / 1000)),
      post_per_second: Math.round(ids.length / ((w2 - w1) / 1000)),
    });
    // The memo's counters (GET /metrics answers loopback clients): how each mix was served.
    const memoCounts = async (): Promise<Record<string, number>> => {
      const text = await (await fetch(`${sys.url}/metrics`)).text();
      const n = (result: string) => Number(new RegExp(`^liuhen_verdict_memo_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return { hit: n('hit'), miss: n('miss'), stale: n('stale') };
    };
    for (const [bench, requests] of cases) {
      const before = await memoCounts();
      const r = await load(requests);
      const after = await memoCounts();
      emit({
        bench,
        connections,
        seconds,
        receipts: bench.endsWith('zipf') ? ids.length : 1,
        perSecond: r.rps,
        p50_ms: r.p50,
        p99_ms: r.p99,
        ratio_to_healthz: Number((r.rps / Math.max(1, health.rps)).toFixed(2)),
        non2xx: r.non2xx,
        errors: r.errors,
        memo: { hit: after.hit! - before.hit!, miss: after.miss! - before.miss!, stale: after.stale! - before.stale! },
        goal: '≥ 1,000/s, p99 ≤ 50 ms, ≥ 0.4× healthz',
      });
    }
  } finally {
    await sys.stop();
    t.cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  await run((l) => console.log(JSON.stringify(l)));
}
