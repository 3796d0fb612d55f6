/**
 * Capture-to-anchored latency on the embedded chain (Anvil, automine), with
 * the real-time pipeline as a station runs it in-process: journal appends at a
 * steady rate → seal policy (config `seal`: 1000 records or 2 s) → one anchor
 * transaction per batch (`Liuhen.anchorer().run`).
 *
 * Latency of a record = local time it was seen anchored (its batch's
 * `anchored` event) − the time the app handed it to the SDK. The seal policy's
 * T dominates it by design: a record waits up to T seconds for its batch.
 *
 *   npx tsx scripts/bench/chain.ts
 *   LIUHEN_BENCH_RATE=500 LIUHEN_BENCH_SECONDS=20 npx tsx scripts/bench/chain.ts
 *
 * Emits:
 *   {"bench":"chain.latency","rate":500,"seconds":20,"records":…,"batches":…,"p50_ms":…,"p99_ms":…,"max_ms":…,"seal":{…},"gas_per_anchor":…,"gas_per_record":…}
 *   {"bench":"chain.anchor_tx","batches":…,"p50_ms":…,"p99_ms":…}   seal → anchored (sign, send, mine, confirm)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAnvil } from '../../src/chain/anvil.js';
import type { AnchorEvent } from '../../src/chain/anchorer.js';
import { deploy } from '../../src/chain/deploy.js';
import { Liuhen } from '../../src/liuhen.js';

export type Emit = (line: Record<string, unknown>) => void;

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;

export async function run(emit: Emit): Promise<void> {
  const rate = Number(process.env.LIUHEN_BENCH_RATE ?? 500);
  const seconds = Number(process.env.LIUHEN_BENCH_SECONDS ?? 20);
  const dir = mkdtempSync(join(tmpdir(), 'liuhen-bench-chain-'));
  const chain = await startAnvil({ port: 0 });
  try {
    const dataDir = join(dir, 'data');
    Liuhen.init(dataDir, { agency: 'BENCH-AG', device: 'bench-cam', officer: 'B-1' });
    await deploy({ dataDir, rpc: chain.rpc });
    const lh = await Liuhen.open(dataDir);
    const capturedAt = new Map<number, number>();
    const latencies: number[] = [];
    const sealedAt = new Map<number, number>();
    const txLatencies: number[] = [];
    let batches = 0;
    const anchorTxs = new Set<string>();
    const onEvent = (e: AnchorEvent) => {
      const now = performance.now();
      if (e.type === 'sealed') sealedAt.set(e.seq, now);
      if (e.type !== 'anchored') return;
      batches++;
      anchorTxs.add(e.txHash);
      const s = sealedAt.get(e.seq);
      if (s !== undefined) txLatencies.push(now - s);
      for (let ack = e.firstAck; ack < e.firstAck + e.size; ack++) {
        const t = capturedAt.get(ack);
        if (t !== undefined) {
          latencies.push(now - t);
          capturedAt.delete(ack);
        }
      }
    };
    const anchorer = await lh.anchorer({ onEvent });
    const ac = new AbortController();
    const running = anchorer.run(ac.signal);

    const total = Math.round(rate * seconds);
    const start = performance.now();
    const inflight = new Set<Promise<unknown>>();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      for (; sent < due; sent++) {
        const t = performance.now();
        const p = lh.recordBody({ event: 'bench', n: sent }, { kind: 'event' }).then((r) => {
          capturedAt.set(r.ack, t);
        });
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(inflight);
    const generated = (performance.now() - start) / 1000;
    const deadline = Date.now() + 60_000;
    while (latencies.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await running;
    anchorer.close();
    // Gas actually paid for the anchors (receipts' gasUsed), per record anchored.
    const { JsonRpcProvider } = await import('ethers');
    const rpc = new JsonRpcProvider(chain.rpc, undefined, { staticNetwork: true });
    let gasUsed = 0n;
    for (const h of anchorTxs) gasUsed += (await rpc.getTransactionReceipt(h))?.gasUsed ?? 0n;
    rpc.destroy();
    await lh.close();

    latencies.sort((a, b) => a - b);
    txLatencies.sort((a, b) => a - b);
    const ms = (x: number) => Math.round(x);
    emit({
      bench: 'chain.latency',
      rate,
      seconds,
      achievedRate: Math.round(total / generated),
      records: total,
      anchored: latencies.length,
      batches,
      p50_ms: ms(quantile(latencies, 0.5)),
      p99_ms: ms(quantile(latencies, 0.99)),
      max_ms: ms(latencies.at(-1) ?? NaN),
      seal: lh.config.seal,
      gas_per_anchor: batches > 0 ? Math.round(Number(gasUsed) / anchorTxs.size) : null,
      gas_per_record: latencies.length > 0 ? Math.round(Number(gasUsed) / latencies.length) : null,
      chain: 'anvil automine',
    });
    emit({ bench: 'chain.anchor_tx', batches: txLatencies.length, p50_ms: ms(quantile(txLatencies, 0.5)), p99_ms: ms(quantile(txLatencies, 0.99)) });
  } finally {
    await chain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run((line) => process.stdout.write(`${JSON.stringify(line)}\n`));
}
