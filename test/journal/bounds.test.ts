import { describe, expect, it } from 'vitest';
import { DeviceKey } from '../../src/record/device-key.js';
import { recordLeaf } from '../../src/record/leaf.js';
import { MAX_DEVICE_SEQ, type LiuhenRecord } from '../../src/record/schema.js';
import { monotonicUlid } from '../../src/util/ulid.js';
import { ZERO32 } from '../../src/util/hex.js';
import { withJournal } from '../helpers/journal.js';

const key = DeviceKey.generate();
const nextId = monotonicUlid();
const draft = (device: string, agency = 'AG-1', extra: Record<string, unknown> = {}) => ({
  agency,
  device,
  officer: 'O-7',
  kind: 'event' as const,
  body: { e: 'x' },
  capturedAt: '2026-11-27T10:00:00+08:00',
  ...extra,
});
/** A record as a device signs it, at any seq (the device's prev is irrelevant to the journal beyond seq 1). */
const signed = (device: string, seq: number, extra: Record<string, unknown> = {}): LiuhenRecord =>
  key.signSync({
    v: 1,
    id: nextId(),
    ...draft(device),
    seq,
    prev: seq === 1 ? ZERO32 : `0x${'11'.repeat(32)}`,
    salt: `0x${'22'.repeat(16)}`,
    ...extra,
  } as LiuhenRecord);

describe('Journal: device sequence bound (issue 9.4)', () => {
  it('refuses a signed record whose seq is beyond MAX_DEVICE_SEQ (2^53 - 1 was accepted and later appends reused one seq)', async () => {
    await withJournal(async (j) => {
      await expect(j.ingest(signed('cam-big', Number.MAX_SAFE_INTEGER))).rejects.toMatchObject({
        code: 'INVALID_RECORD',
        message: expect.stringMatching(/seq: must be at most/),
      });
      await expect(j.ingest(signed('cam-big', MAX_DEVICE_SEQ + 1))).rejects.toMatchObject({ code: 'INVALID_RECORD' });
      expect(j.devices()).toEqual([]);
    });
  });

  it('a chain reaches MAX_DEVICE_SEQ and no further: the record that would go past it is refused, no seq is used twice', async () => {
    await withJournal(async (j) => {
      await j.ingest(signed('cam-top', MAX_DEVICE_SEQ - 1));
      // Three appends in one run: one fits, two are refused with a coded error; the index keeps every record.
      const results = await Promise.allSettled([j.append(draft('cam-top'), key), j.append(draft('cam-top'), key), j.append(draft('cam-top'), key)]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
      expect((results[0] as PromiseFulfilledResult<{ record: LiuhenRecord }>).value.record.seq).toBe(MAX_DEVICE_SEQ);
      for (const r of results.slice(1))
        expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'DEVICE_SEQ_EXHAUSTED', details: { device: 'cam-top', seq: MAX_DEVICE_SEQ } });
      await expect(j.append(draft('cam-top'), key)).rejects.toMatchObject({ code: 'DEVICE_SEQ_EXHAUSTED' });
      const seqs: number[] = [];
      for await (const s of j.deviceRecords('cam-top')) {
        seqs.push(s.record.seq);
        expect(s.leaf).toBe(recordLeaf(s.record));
      }
      expect(seqs).toEqual([MAX_DEVICE_SEQ - 1, MAX_DEVICE_SEQ]);
      expect(j.deviceHead('cam-top')?.seq).toBe(MAX_DEVICE_SEQ);
      expect(await j.pendingCount('AG-1')).toBe(2);
      // Other devices are untouched.
      expect((await j.append(draft('cam-other'), key)).record.seq).toBe(1);
    });
  });
});

describe('Journal: one device, one agency (issue 9.5)', () => {
  const of = (agency: string, device: string, seq: number) => signed(device, seq, { agency });

  it('two agencies racing for one new device name: exactly one owns it, the other gets DEVICE_OTHER_AGENCY (many rounds)', async () => {
    await withJournal(async (j) => {
      const races: Array<(device: string) => Array<Promise<unknown>>> = [
        // Two device-signed uploads (different seqs, so no fork check decides it).
        (d) => [j.ingest(of('AG-A', d, 1)), j.ingest(of('AG-B', d, 2))],
        // Two station appends.
        (d) => [j.append(draft(d, 'AG-A'), key), j.append(draft(d, 'AG-B'), key)],
        // An upload and an append, several of each.
        (d) => [j.append(draft(d, 'AG-B'), key), j.ingest(of('AG-A', d, 3)), j.append(draft(d, 'AG-B'), key), j.ingest(of('AG-A', d, 5))],
      ];
      for (let round = 0; round < 60; round++) {
        const device = `cam-race-${round}`;
        const results = await Promise.allSettled(races[round % races.length]!(device));
        const agencies = new Set<string>();
        for await (const s of j.deviceRecords(device)) agencies.add(s.record.agency);
        expect(agencies.size, `round ${round}`).toBe(1);
        for (const r of results) {
          if (r.status === 'rejected') expect(r.reason, `round ${round}`).toMatchObject({ code: 'DEVICE_OTHER_AGENCY', details: { device } });
        }
        expect(
          results.some((r) => r.status === 'rejected'),
          `round ${round}`,
        ).toBe(true);
      }
    });
  });

  it("the owner survives a reopen (it is the agency of the device head's record)", async () => {
    const { tempDir } = await import('../helpers/tmp.js');
    const { Journal } = await import('../../src/journal/journal.js');
    const t = tempDir();
    try {
      let j = await Journal.open(t.dir);
      await j.append(draft('cam-own', 'AG-A'), key);
      await j.ingest(of('AG-A', 'cam-up', 4));
      await j.close();
      j = await Journal.open(t.dir);
      try {
        for (const device of ['cam-own', 'cam-up']) {
          await expect(j.append(draft(device, 'AG-B'), key)).rejects.toMatchObject({ code: 'DEVICE_OTHER_AGENCY' });
          await expect(j.ingest(of('AG-B', device, 1))).rejects.toMatchObject({ code: 'DEVICE_OTHER_AGENCY' });
          await j.append(draft(device, 'AG-A'), key);
        }
      } finally {
        await j.close();
      }
    } finally {
      t.cleanup();
    }
  });
});

describe('Journal: capture times (issue 9.3, ingest side)', () => {
  const iso = (ms: number) => new Date(ms).toISOString();

  it('refuses a capture beyond the clock skew, for station appends and device uploads, with a coded error the gateway maps to 400', async () => {
    const { httpStatusOf } = await import('../../gateway/http/errors.js');
    expect(httpStatusOf('CAPTURE_IN_FUTURE')).toBe(400);
    await withJournal(async (j) => {
      const in2099 = '2099-01-01T00:00:00Z';
      await expect(j.append(draft('cam-f', 'AG-1', { capturedAt: in2099 }), key)).rejects.toMatchObject({
        code: 'CAPTURE_IN_FUTURE',
        details: { capturedAt: in2099, maxFutureSkewSeconds: 120 },
      });
      await expect(j.ingest(signed('cam-g', 1, { capturedAt: in2099 }))).rejects.toMatchObject({ code: 'CAPTURE_IN_FUTURE' });
      const hourAhead = iso(Date.now() + 3600_000);
      await expect(j.append(draft('cam-f', 'AG-1', { capturedAt: hourAhead }), key)).rejects.toMatchObject({ code: 'CAPTURE_IN_FUTURE' });
      expect(j.devices()).toEqual([]);
      expect(await j.pendingAgencies()).toEqual([]);
      // Within the skew: accepted.
      expect((await j.append(draft('cam-f', 'AG-1', { capturedAt: iso(Date.now() + 60_000) }), key)).record.seq).toBe(1);
      expect((await j.ingest(signed('cam-g', 1, { capturedAt: iso(Date.now() + 60_000) }))).duplicate).toBe(false);
    });
  });

  it('a device whose clock runs fast uploads the same signed record again once its capture time has come', async () => {
    const { tempDir } = await import('../helpers/tmp.js');
    const { Journal } = await import('../../src/journal/journal.js');
    const t = tempDir();
    let now = Date.parse('2026-11-30T08:00:00Z');
    const j = await Journal.open(t.dir, { maxFutureSkewSeconds: 30, now: () => now });
    try {
      const r = signed('cam-fast', 1, { capturedAt: '2026-11-30T08:01:00Z' });
      await expect(j.ingest(r)).rejects.toMatchObject({ code: 'CAPTURE_IN_FUTURE', details: { retryAfterSeconds: 30 } });
      now += 30_000;
      expect((await j.ingest(r)).duplicate).toBe(false);
      expect((await j.getRecord(r.id))?.journaledAt).toBe(now);
    } finally {
      await j.close();
      t.cleanup();
    }
  });

  it('an old capture is journaled, not refused; once sealed, completeness flags it late', async () => {
    const { auditDevice } = await import('../../src/completeness/audit.js');
    await withJournal(async (j) => {
      const old = signed('cam-old', 1, { capturedAt: '2001-09-09T01:46:40Z' });
      expect((await j.ingest(old)).duplicate).toBe(false);
      await j.append(draft('term-old', 'AG-1', { capturedAt: '2020-01-01T00:00:00+08:00' }), key);
      await j.append(draft('term-old', 'AG-1', { capturedAt: iso(Date.now() - 60_000) }), key);
      const [batch] = await j.seal('AG-1');
      expect(batch!.size).toBe(3);
      for (const device of ['cam-old', 'term-old']) {
        const findings = (await auditDevice(j, device)).findings;
        expect(findings.map((f) => [f.code, f.recordIds.length])).toEqual([['RECORD_SEALED_LATE', 1]]);
        expect(findings[0]!.message).toMatch(/sealed \d+ s after capture/);
      }
    });
  });
});
