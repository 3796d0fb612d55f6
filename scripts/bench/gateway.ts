/**
 * Gateway load check (issue 5): verifications per second and p50/p99 latency
 * of `POST /v1/verify` with an anchored, notarized receipt, on loopback,
 * against the whole system (`startSystem`: embedded chain, notary, gateway).
 * Every verification re-checks the anchor and the attestations on chain.
 * Run alone: `npx tsx scripts/bench/gateway.ts`. The load generator shares the
 * 2 cores with the system under test, so these are conservative figures.
 */
import { pathToFileURL } from 'node:url';
import { startSystem } from '../../gateway/system.js';
import { tempDir } from '../../test/helpers/tmp.js';

type Emit = (line: Record<string, unknown>) => void;

export async function run(emit: Emit, opts: { seconds?: number; concurrency?: number } = {}): Promise<void> {
  const t = tempDir('liuhen-bench-gw-');
  const silent = { info() {}, warn() {}, error() {} };
  const sys = await startSystem({ dataDir: t.dir, port: 0, chainPort: 0, logger: silent, onProgress: () => {}, gatewayConfig: { rateLimit: { requests: 10_000_000, verify: 10_000_000, authFailures: 10_000_000 } } });
  try {
    const form = new FormData();
    form.append('meta', JSON.stringify({ device: 'BWC-BENCH', officer: '37010000', kind: 'photo', capturedAt: new Date().toISOString() }));
    form.append('file', new Blob([new Uint8Array(Buffer.from('bench photo'))], { type: 'image/jpeg' }), 'p.jpg');
    const created = await (await fetch(`${sys.url}/v1/records`, { method: 'POST', body: form, headers: { authorization: `Bearer ${sys.tokens.agency}` } })).json();
    let receipt: { attestations: unknown[] } | undefined;
    for (let i = 0; i < 120 && !(receipt?.attestations.length); i++) {
      await new Promise((r) => setTimeout(r, 250));
      const res = await fetch(`${sys.url}/v1/records/${created.id}/receipt`, { headers: { authorization: `Bearer ${sys.tokens.supervisor}` } });
      if (res.ok) receipt = await res.json();
    }
    if (!receipt?.attestations.length) throw new Error('the record was not notarized in time');
    const body = JSON.stringify({ receipt, sha256: created.sha256 });
    const verifyOnce = async (): Promise<number> => {
      const t0 = performance.now();
      const res = await fetch(`${sys.url}/v1/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const v = await res.json();
      if (v.status !== 'verified') throw new Error(`verdict ${v.status}`);
      return performance.now() - t0;
    };
    for (let i = 0; i < 50; i++) await verifyOnce(); // warm-up
    const seconds = opts.seconds ?? 15;
    const concurrency = opts.concurrency ?? 16;
    const latencies: number[] = [];
    const end = Date.now() + seconds * 1000;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) latencies.push(await verifyOnce());
    }));
    const elapsed = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const q = (p: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1));
    emit({ bench: 'gateway.verify', requests: latencies.length, concurrency, seconds: Number(elapsed.toFixed(1)), perSecond: Math.round(latencies.length / elapsed), p50_ms: q(0.5), p99_ms: q(0.99), note: 'anchored+notarized receipt; anchor and notary re-checked on the embedded chain each time' });
  } finally {
    await sys.stop();
    t.cleanup();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  await run((l) => console.log(JSON.stringify(l)));
}
