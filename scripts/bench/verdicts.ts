/**
 * Public-verdict load (issue 11 goal 1, the verify engineer's own measurement;
 * the full harness is scripts/bench/gateway.ts): a gateway over a real Anvil
 * with two anchored and notarized records, autocannon against /healthz,
 * GET /v1/verify/:leaf and POST /v1/verify {receipt, sha256}, with the
 * verdict cache off (TTL 0: one chain sync per verdict) and on (TTL 1 s).
 *
 *   npx tsx scripts/bench/verdicts.ts [seconds=5] [connections=32]
 *
 * Prints one JSON line per target.
 */
// @ts-expect-error autocannon ships no type declarations (the result fields used are typed below)
import autocannonUntyped from 'autocannon';
import { startWorld } from '../../test/adversarial/world.js';

interface Result {
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
}
const autocannon = autocannonUntyped as (o: Record<string, unknown>) => Promise<Result>;

const seconds = Number(process.argv[2] ?? 5);
const connections = Number(process.argv[3] ?? 32);

async function run(url: string, opts: Record<string, unknown> = {}): Promise<{ rps: number; p50: number; p99: number; errors: number; non2xx: number }> {
  const r = await autocannon({ url, connections, duration: seconds, ...opts });
  return { rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

for (const ttl of [0, 1000]) {
  const w = await startWorld({ verdictCacheMs: ttl });
  try {
    const base = w.gateway.url;
    const health = await run(`${base}/healthz`);
    const get = await run(`${base}/v1/verify/${w.a.leaf}`);
    const post = await run(`${base}/v1/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ receipt: w.a.receipt, sha256: w.a.sha256 }),
    });
    for (const [name, m] of [
      ['healthz', health],
      ['GET /v1/verify/:leaf', get],
      ['POST /v1/verify', post],
    ] as const) {
      console.log(JSON.stringify({ bench: 'verdicts', verdictCacheMs: ttl, target: name, ...m, ratioToHealthz: Number((m.rps / health.rps).toFixed(2)) }));
    }
  } finally {
    await w.close();
  }
}
