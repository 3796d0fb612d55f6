import { Level } from 'level';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { Journal } from '../../src/journal/journal.js';
import { sealIsDue } from '../../src/journal/seal-policy.js';
import { DeviceKey } from '../../src/record/device-key.js';
import type { LiuhenRecord } from '../../src/record/schema.js';
import { withJournal } from '../helpers/journal.js';
import { tempDir } from '../helpers/tmp.js';

/** Issue 15: the journal split by job — typed sub-stores validated when read back, no polling, the seal policy beside the sealer. */
const key = DeviceKey.generate();
const draft = (device = 'cam-1') => ({
  agency: 'AG-1',
  device,
  officer: 'O-7',
  kind: 'event' as const,
  body: { e: 'x' },
  capturedAt: '2026-11-27T10:00:00+08:00',
});
const root = `0x${'ab'.repeat(32)}`;

describe('Journal typed sub-stores', () => {
  it('anchor state: stored synced, read back validated; an invalid value is refused before it is written', async () => {
    await withJournal(async (j) => {
      const state = { v: 1, status: 'anchored', root, agency: 'AG-1', seq: 1, extra: { kept: true } };
      await j.putAnchorState(root, state);
      expect(await j.getAnchorState(root)).toEqual(state);
      // A caller that knows the exact shape reads through its own schema.
      const exact = z.strictObject({
        v: z.literal(1),
        status: z.enum(['anchored', 'final']),
        root: z.string(),
        agency: z.string(),
        seq: z.number(),
        extra: z.object({ kept: z.boolean() }),
      });
      expect(await j.getAnchorState(root, exact)).toEqual(state);
      await expect(j.getAnchorState(root, z.strictObject({ v: z.literal(2) }))).rejects.toMatchObject({ code: 'JOURNAL_CORRUPT' });
      await expect(j.putAnchorState(root, { root: 'nope', status: 'anchored' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
      await expect(j.putAnchorState(root, { root })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
      expect([...(await collect(j.anchorStates()))]).toEqual([[root, state]]);
      await j.putMeta('greeting', '你好');
      expect(await j.getMeta('greeting')).toBe('你好');
      expect(await j.getMeta('absent')).toBeUndefined();
      // Kept as plain text, as before it was typed: data folders written earlier read the same.
      expect(await (j as unknown as { db: { get: (k: string) => Promise<string> } }).db.get('m:greeting')).toBe('你好');
    });
  });

  it('a damaged data folder gives JOURNAL_CORRUPT naming the key, never a wrongly typed value', async () => {
    const t = tempDir();
    try {
      let j = await Journal.open(t.dir);
      const a = await j.append(draft(), key);
      await j.append(draft(), key); // the head: read at open for the device's owner
      await j.putAnchorState(root, { status: 'signed', root });
      await j.close();
      const db = new Level<string, string>(t.dir, { valueEncoding: 'utf8' });
      await db.put(`r:${a.record.id}`, JSON.stringify({ record: { ...a.record, seq: 'one' }, leaf: a.leaf, ack: 1, journaledAt: 1 }));
      await db.put(`x:${root}`, JSON.stringify({ status: 'signed', root: `0x${'cd'.repeat(32)}` }));
      await db.put('x:0xnot-json', '{');
      await db.close();
      j = await Journal.open(t.dir);
      try {
        await expect(j.getRecord(a.record.id)).rejects.toMatchObject({ code: 'JOURNAL_CORRUPT', message: expect.stringMatching(/r:.*record\.seq/) });
        await expect(j.getAnchorState(root)).rejects.toMatchObject({ code: 'JOURNAL_CORRUPT' });
        await expect(collect(j.anchorStates())).rejects.toMatchObject({ code: 'JOURNAL_CORRUPT', message: expect.stringMatching(/not JSON/) });
      } finally {
        await j.close();
      }
      // A damaged device head is found at open.
      const db2 = new Level<string, string>(t.dir, { valueEncoding: 'utf8' });
      await db2.put('d:cam-1', JSON.stringify({ seq: 2 ** 53, leaf: a.leaf, id: a.record.id }));
      await db2.close();
      await expect(Journal.open(t.dir)).rejects.toMatchObject({ code: 'JOURNAL_CORRUPT', message: expect.stringMatching(/d:cam-1/) });
      // …and the folder is not left locked.
      const db3 = new Level<string, string>(t.dir, { valueEncoding: 'utf8' });
      await db3.open();
      await db3.close();
    } finally {
      t.cleanup();
    }
  });
});

describe('Journal close()', () => {
  afterEach(() => vi.restoreAllMocks());

  it('waits for appends in flight on an event, not on a timer', async () => {
    await withJournal(async (j) => {
      // A plain signer (no signing thread, which has a timer of its own).
      const plain = { sign: (r: LiuhenRecord) => key.signSync(r) };
      const inFlight = Array.from({ length: 20 }, (_, i) => j.append(draft(`cam-${i % 3}`), plain));
      const timers = vi.spyOn(globalThis, 'setTimeout');
      await j.close();
      expect(timers).not.toHaveBeenCalled();
      const settled = await Promise.allSettled(inFlight);
      expect(settled.every((s) => s.status === 'fulfilled')).toBe(true);
    });
  });
});

describe('seal policy (beside the sealer)', () => {
  const policy = { maxRecords: 100, maxSeconds: 2 };
  const now = Date.parse('2026-11-30T08:00:10Z');
  it.each([
    ['nothing pending', { pending: 0, oldestCapturedAt: undefined, firstPendingSeen: now - 60_000 }, false],
    ['N records', { pending: 100, oldestCapturedAt: '2026-11-30T08:00:10Z', firstPendingSeen: now }, true],
    ['T seconds since capture', { pending: 1, oldestCapturedAt: '2026-11-30T08:00:08Z', firstPendingSeen: now }, true],
    ['not yet', { pending: 1, oldestCapturedAt: '2026-11-30T08:00:09Z', firstPendingSeen: now }, false],
    ['a capture time in the future does not hold it back', { pending: 1, oldestCapturedAt: '2026-11-30T09:00:00Z', firstPendingSeen: now - 2000 }, true],
    ['an unreadable capture time counts from when it was seen', { pending: 1, oldestCapturedAt: 'garbage', firstPendingSeen: now - 1999 }, false],
  ] as const)('%s', (_name, input, due) => {
    expect(sealIsDue(policy, { ...input, now })).toBe(due);
  });
});

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of gen) out.push(v);
  return out;
}
