/**
 * The fault-injection suite (issue 10): the whole system as `liuhen start`
 * runs it, real processes, real signals, concurrent uploads. After each
 * fault: every acknowledged upload present, anchored once, notarized, every
 * receipt served before the fault verifies (API and `liuhen verify` exit 0),
 * and on chain each agency's batch seqs have no duplicate and no gap.
 *
 * Seeded: LIUHEN_FAULT_SEED replays a run (the seed is printed at the start);
 * LIUHEN_FAULT_ROUNDS sets the number of whole-system kills (default 3).
 * The long campaign (≥ 50 kills) is `npm run bench -- faults`.
 *
 * Scenarios listed in WAITING need work from other rooms before everything
 * can hold: they run anyway and assert what holds today (nothing acknowledged
 * lost, no duplicate or gap on chain), print the rest, and assert all of it
 * with LIUHEN_FAULTS_ALL=1 or once their entry is removed.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitStatePath, previousStatePath } from '../../src/chain/anvil.js';
import { tempDir } from '../helpers/tmp.js';
import {
  api,
  checkAll,
  components,
  crash,
  killGroup,
  Ledger,
  problems,
  receiptPoller,
  rng,
  sleep,
  startLiuhen,
  until,
  uploaders,
  type RunningLiuhen,
} from './harness.js';

const SEED = Number(process.env.LIUHEN_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
const ROUNDS = Number(process.env.LIUHEN_FAULT_ROUNDS ?? 3);
process.stderr.write(`fault suite seed: LIUHEN_FAULT_SEED=${SEED} (rounds ${ROUNDS})\n`);

/**
 * Scenarios that wait for other rooms (issue 10.1 route b, 10.2, 10.4 journal): only the checks
 * that hold today are asserted, the rest printed, unless LIUHEN_FAULTS_ALL=1. Remove an entry
 * once its dependency is on main.
 */
const WAITING: Record<string, string> = {
  'kill-group': 'the notary co-signing again what a chain rollback lost (chainops, issue 10.2); the verifier side (10.1 b) is on main',
  'kill-chain': 'the notary co-signing again what the chain lost (chainops, 10.2)',
  'torn-state': 'the notary co-signing again what the fallback to the previous snapshot lost (chainops, 10.2)',
  'empty-state':
    'the notary co-signing every batch again on the redeployed registry (chainops, 10.2); the registry decision (16.3) and the verifier (10.1 b) are on main',
};
const ALL = process.env.LIUHEN_FAULTS_ALL === '1';
/** Whether every check is asserted for this scenario (else: nothing lost, no duplicate or gap on chain). */
const strict = (key: string) => ALL || !WAITING[key];

/** Asserts the report: all of it when strict, else what holds today, printing the rest. */
function expectHolds(key: string, r: Awaited<ReturnType<typeof checkAll>>): void {
  report(key, r);
  const found = problems(r);
  if (strict(key)) {
    expect(found).toEqual([]);
    return;
  }
  if (found.length > 0) process.stderr.write(`fault scenario ${key}: not asserted yet (waits for ${WAITING[key]}):\n  ${found.join('\n  ')}\n`);
  expect(r.lost).toEqual([]);
  for (const c of Object.values(r.chain)) expect({ duplicates: c.duplicates, gaps: c.gaps }).toEqual({ duplicates: [], gaps: [] });
}

const tmp = tempDir('liuhen-faults-');
const running = new Set<RunningLiuhen>();
afterAll(async () => {
  for (const s of running) {
    killGroup(s, 'SIGKILL');
    await s.exited;
  }
  tmp.cleanup();
});

const AGENCIES = ['JN-CGJ', 'JN-SCJGJ'];

async function start(dataDir: string): Promise<RunningLiuhen> {
  const s = await startLiuhen(dataDir);
  running.add(s);
  void s.exited.then(() => running.delete(s));
  return s;
}

/** Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group. Exit code 0 expected. */
async function interrupt(s: RunningLiuhen): Promise<number | null> {
  killGroup(s, 'SIGINT');
  const timer = setTimeout(() => killGroup(s, 'SIGKILL'), 60_000);
  const { code } = await s.exited;
  clearTimeout(timer);
  return code;
}

function report(name: string, r: Awaited<ReturnType<typeof checkAll>>): void {
  process.stderr.write(
    `${name}: acked ${r.acked}, served ${r.served}, lost ${r.lost.length}, retracted ${r.retracted.length}, not notarized ${r.notNotarized.length}, recovery ${r.recoveryMs} ms, chain ${JSON.stringify(r.chain)}\n`,
  );
}

/** A system with uploads running and at least `served` receipts served as notarized. */
async function loaded(dataDir: string, ledger: Ledger, random: () => number, served = 1) {
  let current: RunningLiuhen | undefined = await start(dataDir);
  const target = () => current;
  const up = uploaders({ ledger, target, count: 3, agencies: AGENCIES, random });
  const poll = receiptPoller({ ledger, target });
  await until(`${served} notarized receipt(s) served`, () => (ledger.served.size >= served ? true : undefined), 90_000);
  return {
    get sys() {
      return current!;
    },
    set: (s: RunningLiuhen | undefined) => (current = s),
    stop: async () => {
      await up.stop();
      await poll.stop();
    },
  };
}

describe('fault injection on the whole system (liuhen start)', () => {
  it(`SIGKILL of the whole process group at random points under concurrent uploads (${ROUNDS} rounds, seed ${SEED})`, { timeout: 600_000 }, async () => {
    const random = rng(SEED);
    const dataDir = join(tmp.dir, 'kill-group');
    const ledger = new Ledger(join(tmp.dir, 'kill-group-ledger'));
    const run = await loaded(dataDir, ledger, random);
    for (let round = 1; round <= ROUNDS; round++) {
      ledger.round = round;
      // A random point: 0.5–6 s of load; in the last round right after a receipt was served (issue 10.1's reproduction).
      if (round === ROUNDS) {
        const before = ledger.served.size;
        await until('a receipt served in the last round', () => (ledger.served.size > before ? true : undefined), 90_000, 50);
      } else await sleep(500 + Math.floor(random() * 5500));
      const s = run.sys;
      run.set(undefined);
      await crash(s);
      process.stderr.write(`round ${round}: killed after ${ledger.acked.size} acknowledged uploads\n`);
      run.set(await start(dataDir));
    }
    await sleep(1000);
    await run.stop();
    const r = await checkAll({ sys: run.sys, ledger, dataDir, random, ...(strict('kill-group') ? {} : { timeoutMs: 15_000 }) });
    expectHolds('kill-group', r);
    expect(r.served).toBeGreaterThan(0);
    expect(await interrupt(run.sys)).toBe(0);
  });

  it('SIGKILL of the chain alone: supervised and restarted, nothing served is retracted', { timeout: 300_000 }, async () => {
    const random = rng(SEED + 1);
    const dataDir = join(tmp.dir, 'kill-chain');
    const ledger = new Ledger(join(tmp.dir, 'kill-chain-ledger'));
    const run = await loaded(dataDir, ledger, random);
    const chain = (await components(run.sys)).byName.chain!;
    const pid = chain.data!.pid as number;
    process.kill(pid, 'SIGKILL');
    await until('the chain restarted', async () => {
      const c = (await components(run.sys)).byName.chain!;
      return c.status === 'ok' && (c.data!.restarts as number) >= 1 ? true : undefined;
    });
    const before = ledger.acked.size;
    await until('uploads after the restart', () => (ledger.acked.size > before + 5 ? true : undefined));
    await run.stop();
    const r = await checkAll({ sys: run.sys, ledger, dataDir, random, ...(strict('kill-chain') ? {} : { timeoutMs: 15_000 }) });
    expectHolds('kill-chain', r);
    expect(await interrupt(run.sys)).toBe(0);
  });

  it('SIGINT under load: a clean stop (exit 0), and everything acknowledged is there after the restart', { timeout: 300_000 }, async () => {
    const random = rng(SEED + 2);
    const dataDir = join(tmp.dir, 'sigint');
    const ledger = new Ledger(join(tmp.dir, 'sigint-ledger'));
    const run = await loaded(dataDir, ledger, random);
    await sleep(Math.floor(random() * 2000));
    const s = run.sys;
    run.set(undefined);
    expect(await interrupt(s)).toBe(0);
    ledger.round = 1;
    run.set(await start(dataDir));
    await sleep(1000);
    await run.stop();
    const r = await checkAll({ sys: run.sys, ledger, dataDir, random });
    expectHolds('sigint', r);
    expect(await interrupt(run.sys)).toBe(0);
  });

  for (const [key, title, damage] of [
    [
      'torn-state',
      'a torn chain state file (cut in half) after a kill: liuhen start comes up from the previous snapshot',
      (statePath: string) => {
        truncateSync(statePath, Math.floor(statSync(statePath).size / 2));
      },
    ],
    [
      'empty-state',
      'empty chain state files (all of them) after a kill: liuhen start comes up, says so, and anchors everything again',
      (statePath: string) => {
        for (const f of [statePath, previousStatePath(statePath), exitStatePath(statePath)]) writeFileSync(f, '');
      },
    ],
  ] as const) {
    it(title, { timeout: 300_000 }, async () => {
      const random = rng(SEED + 3);
      const dataDir = join(tmp.dir, key);
      const ledger = new Ledger(join(tmp.dir, `${key}-ledger`));
      const run = await loaded(dataDir, ledger, random, 3);
      const s = run.sys;
      run.set(undefined);
      await crash(s);
      damage(join(dataDir, 'chain', 'state.json'));
      ledger.round = 1;
      run.set(await start(dataDir));
      const h = await components(run.sys);
      if (key === 'empty-state') expect(h.byName['chain-state']?.detail).toMatch(/lost its state/);
      else expect(h.byName['chain-state']?.detail).toMatch(/previous snapshot/);
      await sleep(1000);
      await run.stop();
      const r = await checkAll({ sys: run.sys, ledger, dataDir, random, ...(strict(key) ? {} : { timeoutMs: 15_000 }) });
      expectHolds(key, r);
      expect(await interrupt(run.sys)).toBe(0);
    });
  }

  it(
    'a disk that fills up and frees again (size-limited tmpfs): uploads refused while full, /healthz says so, resumed without a restart',
    { timeout: 300_000 },
    async (ctx) => {
      // 160 MB: above the journal's low-space threshold (64 MiB) until the filler takes the rest.
      const mnt = join(tmp.dir, 'disk');
      mkdirSync(mnt, { recursive: true });
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=160m', 'tmpfs', mnt], { stdio: 'pipe' });
      } catch (e) {
        process.stderr.write(`disk-full scenario skipped: mounting a tmpfs is not allowed here (${(e as Error).message.split('\n')[0]})\n`);
        ctx.skip();
        return;
      }
      const random = rng(SEED + 4);
      const dataDir = join(mnt, 'data');
      const ledger = new Ledger(join(tmp.dir, 'disk-ledger'));
      let run: Awaited<ReturnType<typeof loaded>> | undefined;
      const filler = join(mnt, 'filler');
      try {
        run = await loaded(dataDir, ledger, random);
        // Fill the disk: dd stops with ENOSPC.
        try {
          execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M'], { stdio: 'pipe' });
        } catch {
          /* ENOSPC: expected */
        }
        const ackedWhileFull = ledger.acked.size;
        if (strict('disk-full')) {
          const full = await until('/healthz to report the full disk', async () => {
            const h = await components(run!.sys);
            // Down once a write failed (it refuses writes), degraded while only the free space is low.
            return h.status === 'degraded' && h.byName.journal?.status !== 'ok' ? h : undefined;
          });
          expect(full.reasons.join(' ')).toMatch(/journal/);
        } else {
          await sleep(3000);
          process.stderr.write(`disk-full: /healthz while full: ${JSON.stringify((await components(run.sys)).reasons)}\n`);
        }
        await sleep(2000);
        rmSync(filler);
        if (strict('disk-full')) {
          // Resumed without a restart: new acknowledgements, and /healthz ok again.
          await until('uploads after the disk freed', () => (ledger.acked.size > ackedWhileFull + 5 ? true : undefined), 90_000);
          await until('/healthz ok again', async () => ((await components(run!.sys)).byName.journal?.status === 'ok' ? true : undefined));
        } else {
          // Today a journal that failed a write needs a restart: do it, then check that nothing acknowledged was lost.
          const s = run.sys;
          run.set(undefined);
          await crash(s);
          run.set(await start(dataDir));
          await until('uploads after the restart', () => (ledger.acked.size > ackedWhileFull + 5 ? true : undefined), 90_000);
        }
        await run.stop();
        const r = await checkAll({ sys: run.sys, ledger, dataDir, random, ...(strict('disk-full') ? {} : { timeoutMs: 15_000 }) });
        expectHolds('disk-full', r);
        expect(await interrupt(run.sys)).toBe(0);
      } finally {
        if (run) {
          await run.stop().catch(() => undefined);
          killGroup(run.sys, 'SIGKILL');
          await run.sys.exited;
        }
        try {
          execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
        } catch {
          /* already unmounted */
        }
      }
    },
  );
});

describe('the harness itself', () => {
  it('the seeded generator replays', () => {
    const a = rng(42);
    const b = rng(42);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  });

  it('api helper builds bearer requests', async () => {
    const f = api('http://127.0.0.1:9', 'x');
    await expect(f('/healthz', { signal: AbortSignal.timeout(2000) })).rejects.toBeTruthy();
  });
});
