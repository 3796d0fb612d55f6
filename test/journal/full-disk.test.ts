import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditDevice } from '../../src/completeness/audit.js';
import { Journal, type JournalHealth } from '../../src/journal/journal.js';
import { DeviceKey } from '../../src/record/device-key.js';
import { ZERO32 } from '../../src/util/hex.js';
import type { LiuhenRecord } from '../../src/record/schema.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Issue 10.4: after a full disk the journal refused every upload until a
 * restart, while it looked healthy. Now it says `failed`, refuses uploads with
 * JOURNAL_IO, reopens itself once space is back, and loses or duplicates
 * nothing acknowledged.
 */
const key = DeviceKey.generate();
const draft = (device: string) => ({
  agency: 'AG-1',
  device,
  officer: 'O-7',
  kind: 'event' as const,
  body: { e: 'x'.repeat(200) },
  capturedAt: new Date().toISOString(),
});
const DEVICES = ['cam-1', 'cam-2', 'cam-3'];

/** Waits (no timers asserting speed) until the journal reports `status`. */
function healthIs(j: Journal, status: JournalHealth['status'], events: JournalHealth[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`the journal did not become ${status}: ${JSON.stringify(j.health())}`)), 120_000);
    const check = () => {
      if (j.health().status === status || events.some((e) => e.status === status)) {
        clearTimeout(deadline);
        resolve();
      } else setImmediate(check);
    };
    check();
  });
}

/** Every acknowledged record is there once, and each device chain is whole (no hole, fork or break). */
async function checkNothingLost(j: Journal, acked: LiuhenRecord[]): Promise<void> {
  for (const r of acked) expect((await j.getRecord(r.id))?.record).toEqual(r);
  for (const device of DEVICES) {
    const seqs: number[] = [];
    let prev = ZERO32 as string;
    for await (const s of j.deviceRecords(device)) {
      seqs.push(s.record.seq);
      expect(s.record.prev).toBe(prev);
      prev = s.leaf;
    }
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(j.deviceHead(device)?.seq ?? 0).toBe(seqs.length);
    expect((await auditDevice(j, device)).findings).toEqual([]);
  }
}

/** Appends one record per device, in turn, `n` times; returns the acknowledged ones and the first error. */
async function appendSome(j: Journal, n: number, acked: LiuhenRecord[]): Promise<unknown> {
  for (let i = 0; i < n; i++) {
    const results = await Promise.allSettled(DEVICES.map((d) => j.append(draft(d), key)));
    for (const r of results) if (r.status === 'fulfilled') acked.push(r.value.record);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) return (failed as PromiseRejectedResult).reason;
  }
  return undefined;
}

async function selfRepairScenario(j: Journal, events: JournalHealth[], fill: () => void, free: () => void): Promise<void> {
  const acked: LiuhenRecord[] = [];
  expect(await appendSome(j, 10, acked)).toBeUndefined();
  fill();
  const error = await appendSome(j, 5000, acked);
  expect(error).toMatchObject({ code: 'JOURNAL_IO' });
  expect(j.health()).toMatchObject({ status: 'failed', reason: expect.stringMatching(/a write failed/) });
  // While the disk is full: refused, coded, nothing half-applied.
  await expect(j.append(draft('cam-1'), key)).rejects.toMatchObject({ code: 'JOURNAL_IO' });
  await expect(j.seal('AG-1')).rejects.toMatchObject({ code: 'JOURNAL_IO' });
  free();
  await healthIs(j, 'ok', events);
  expect(events.map((e) => e.status)).toEqual(['failed', 'ok']);
  // It resumes by itself: the chains continue from what is on disk.
  expect(await appendSome(j, 10, acked)).toBeUndefined();
  await checkNothingLost(j, acked);
  let total = 0;
  for (const device of DEVICES) total += j.deviceHead(device)?.seq ?? 0;
  const batches = await j.sealAll();
  expect(batches.reduce((n, b) => n + b.size, 0)).toBe(total);
  expect(await j.pendingCount('AG-1')).toBe(0);
}

describe('Journal: a failed write heals itself (issue 10.4)', () => {
  it('injected ENOSPC: failed while the disk refuses writes, ok again after, nothing acknowledged lost or doubled', async () => {
    const t = tempDir();
    const events: JournalHealth[] = [];
    const j = await Journal.open(t.dir, { reopenDelayMs: { min: 5, max: 50 }, onHealth: (h) => events.push(h) });
    try {
      // The only injection point is LevelDB itself: while "full", every write it is asked for fails as a full disk does.
      const db = (j as unknown as { db: { batch: (...a: unknown[]) => unknown; put: (...a: unknown[]) => Promise<void> } }).db;
      const realBatch = db.batch.bind(db);
      const realPut = db.put.bind(db);
      let full = false;
      const enospc = () => Object.assign(new Error('IO error: /x/000005.log: No space left on device'), { code: 'LEVEL_IO_ERROR' });
      db.batch = (...a: unknown[]) => {
        if (!full) return realBatch(...a);
        return a.length === 0 ? { put: () => undefined, write: () => Promise.reject(enospc()) } : Promise.reject(enospc());
      };
      db.put = (...a: unknown[]) => (full ? Promise.reject(enospc()) : realPut(...a));
      expect(j.health().status).toBe('ok');
      await selfRepairScenario(
        j,
        events,
        () => (full = true),
        () => (full = false),
      );
    } finally {
      await j.close();
      t.cleanup();
    }
  });

  describe('a real full disk (a 48 MiB tmpfs)', () => {
    let mnt = '';
    let mounted = false;
    let why = '';
    beforeAll(() => {
      mnt = mkdtempSync(join(tmpdir(), 'liuhen-tmpfs-'));
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mnt], { stdio: 'pipe' });
        mounted = true;
      } catch (e) {
        why = `mounting a tmpfs is not permitted here (${(e as Error).message.split('\n')[0]}); the injected ENOSPC test above covers the journal's side`;
      }
    });
    afterAll(() => {
      if (mounted) {
        try {
          execFileSync('umount', [mnt], { stdio: 'pipe' });
        } catch {
          execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
        }
      }
      rmSync(mnt, { recursive: true, force: true });
    });

    it('fills up, refuses with JOURNAL_IO and says failed; frees, reopens itself and resumes; degraded while space is low', async (ctx) => {
      if (!mounted) {
        console.warn(`skipped: ${why}`);
        ctx.skip();
      }
      const dir = join(mnt, 'journal');
      mkdirSync(dir);
      const events: JournalHealth[] = [];
      const j = await Journal.open(dir, { reopenDelayMs: { min: 20, max: 500 }, minFreeBytes: 8 * 1024 * 1024, onHealth: (h) => events.push(h) });
      const filler = join(mnt, 'filler');
      try {
        expect(j.health().status).toBe('ok');
        await selfRepairScenario(
          j,
          events,
          () => {
            const fd = openSync(filler, 'w');
            try {
              for (const size of [1 << 20, 1 << 12, 1]) {
                const chunk = Buffer.alloc(size, 1);
                try {
                  for (;;) writeSync(fd, chunk);
                } catch (e) {
                  if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
                }
              }
            } finally {
              closeSync(fd);
            }
            // Almost nothing is left: the journal says so before a write fails.
            expect(j.health()).toMatchObject({ status: 'degraded', reason: expect.stringMatching(/MiB free/) });
          },
          () => unlinkSync(filler),
        );
      } finally {
        await j.close();
      }
      // Across a restart too: what is on disk is whole.
      const again = await Journal.open(dir);
      try {
        for (const device of DEVICES) expect((await auditDevice(again, device)).findings).toEqual([]);
        expect(await again.pendingCount('AG-1')).toBe(0);
      } finally {
        await again.close();
      }
    }, 180_000);
  });
});
