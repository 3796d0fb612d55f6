/**
 * The fault campaign (issue 10): `liuhen start` killed again and again under
 * concurrent uploads, then checked once at the end with the same checks as
 * test/faults/ (every acknowledged upload present and notarized, every
 * receipt served at any point still verifying, no duplicate or gap in any
 * agency's batch seqs).
 *
 *   npm run bench -- faults
 *   LIUHEN_FAULT_KILLS=50 LIUHEN_FAULT_SEED=1234 npx tsx scripts/bench/faults.ts
 *
 * Faults, chosen by the seeded generator: mostly SIGKILL of the whole process
 * group (`kill -9 -- -PGID`) at a random point (0.5–8 s of load, or right
 * after a receipt was served); every 5th a SIGKILL of the chain alone (the
 * supervisor restarts it); the 3rd of every 10 a torn chain state file (cut
 * in half) after the group kill. Not part of `npm run bench` without the name: it runs
 * for many minutes.
 *
 * Emits (after faults-snapshot.ts's figures; LIUHEN_FAULT_SNAPSHOT=0 skips them):
 *   {"bench":"faults.campaign","seed":…,"kills":…,"group_kills":…,"chain_kills":…,"torn":…,"acknowledged":…,"lost":…,
 *    "served":…,"retracted":…,"not_notarized":…,"duplicates":…,"gaps":…,
 *    "recovery_p50_ms":…,"recovery_p99_ms":…,"start_p50_ms":…,"final_catch_up_ms":…}
 *
 * recovery = from the kill until the gateway acknowledges an upload again;
 * start = from spawning `liuhen start` until it printed its line.
 */
import { mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  checkAll,
  components,
  crash,
  killAllStarted,
  killGroup,
  Ledger,
  percentile,
  problems,
  receiptPoller,
  rng,
  sleep,
  startLiuhen,
  until,
  uploaders,
  type RunningLiuhen,
} from '../../test/faults/harness.js';

export type Emit = (line: Record<string, unknown>) => void;

export async function run(emit: Emit): Promise<void> {
  // First what one state snapshot costs as the chain grows (seconds), then the campaign.
  if (process.env.LIUHEN_FAULT_SNAPSHOT !== '0') await (await import('./faults-snapshot.js')).run(emit);
  const kills = Number(process.env.LIUHEN_FAULT_KILLS ?? 50);
  const seed = Number(process.env.LIUHEN_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = rng(seed);
  console.error(`fault campaign: ${kills} kills, LIUHEN_FAULT_SEED=${seed}`);
  const dir = mkdtempSync(join(tmpdir(), 'liuhen-bench-faults-'));
  const dataDir = join(dir, 'data');
  const ledger = new Ledger(join(dir, 'ledger'));
  let current: RunningLiuhen | undefined;
  const target = () => current;
  const recoveries: number[] = [];
  const starts: number[] = [];
  const counts = { group: 0, chain: 0, torn: 0 };
  try {
    current = await startLiuhen(dataDir);
    starts.push(current.startedInMs);
    const up = uploaders({ ledger, target, count: 4, agencies: ['JN-CGJ', 'JN-SCJGJ'], random });
    const poll = receiptPoller({ ledger, target });
    for (let k = 1; k <= kills; k++) {
      ledger.round = k;
      if (random() < 0.3) {
        const before = ledger.served.size;
        await until('a served receipt', () => (ledger.served.size > before ? true : undefined), 60_000, 50).catch(() => undefined);
      } else await sleep(500 + Math.floor(random() * 7500));
      const ackedBefore = ledger.acked.size;
      const t0 = Date.now();
      if (k % 5 === 0) {
        counts.chain++;
        const pid = (await components(current)).byName.chain?.data?.pid as number | undefined;
        if (pid) process.kill(pid, 'SIGKILL');
        await until('the chain restarted', async () => ((await components(current!)).byName.chain?.status === 'ok' ? true : undefined), 120_000);
      } else {
        counts.group++;
        const s = current;
        current = undefined;
        await crash(s);
        if (k % 10 === 3) {
          counts.torn++;
          const statePath = join(dataDir, 'chain', 'state.json');
          truncateSync(statePath, Math.floor(statSync(statePath).size / 2));
        }
        current = await startLiuhen(dataDir);
        starts.push(current.startedInMs);
      }
      await until('an upload acknowledged after the fault', () => (ledger.acked.size > ackedBefore ? true : undefined), 180_000, 50);
      recoveries.push(Date.now() - t0);
      console.error(
        `kill ${k}/${kills} (${k % 5 === 0 ? 'chain' : k % 10 === 3 ? 'group+torn' : 'group'}): recovered in ${Date.now() - t0} ms; ${ledger.acked.size} acknowledged, ${ledger.served.size} receipts served`,
      );
    }
    await up.stop();
    await poll.stop();
    const r = await checkAll({ sys: current, ledger, dataDir, timeoutMs: 300_000, cliSample: 5, random });
    const found = problems(r);
    emit({
      bench: 'faults.campaign',
      seed,
      kills,
      group_kills: counts.group,
      chain_kills: counts.chain,
      torn: counts.torn,
      acknowledged: r.acked,
      attempts: ledger.attempts,
      lost: r.lost.length,
      served: r.served,
      retracted: r.retracted.length,
      cli_verify_failures: r.cliFailures.length,
      not_notarized: r.notNotarized.length,
      duplicates: Object.values(r.chain).reduce((a, c) => a + c.duplicates.length, 0),
      gaps: Object.values(r.chain).reduce((a, c) => a + c.gaps.length, 0),
      batches: Object.fromEntries(Object.entries(r.chain).map(([a, c]) => [a, c.batches])),
      recovery_p50_ms: percentile(recoveries, 50),
      recovery_p99_ms: percentile(recoveries, 99),
      start_p50_ms: percentile(starts, 50),
      final_catch_up_ms: r.recoveryMs,
    });
    for (const p of found) console.error(`PROBLEM: ${p}`);
    killGroup(current, 'SIGINT');
    await current.exited;
  } finally {
    if (current) {
      killGroup(current, 'SIGKILL');
      await current.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

// Stopped from outside: the systems run in their own process groups and would outlive this one.
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    killAllStarted();
    process.exit(130);
  });

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await run((l) => console.log(JSON.stringify(l)));
  process.exit(0);
}
