import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeviceKey, Journal, SupervisionStats, type BatchInfo, type ChainFacts, type LiuhenRecord, type RecordDraft } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';

const SFJ = 'JN-SFJ';
const DAY = Date.parse('2026-11-02T02:00:00Z'); // 10:00 in Jinan
const at = (dayOffset: number, minutes = 0) => new Date(DAY + dayOffset * 86_400_000 + minutes * 60_000).toISOString();

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A journal with a device key, and a fake chain (a map of facts per batch root) — the statistics' only ports. */
async function world() {
  const t = tempDir('liuhen-stats-');
  cleanups.push(t.cleanup);
  const journal = await Journal.open(join(t.dir, 'journal'));
  cleanups.push(() => journal.close());
  const key = DeviceKey.generate();
  const facts = new Map<string, ChainFacts>();
  const chainFacts = async (b: BatchInfo) => facts.get(b.root);
  const open = async (name: string, maxScan?: number) => {
    const s = await SupervisionStats.open({
      ...(maxScan ? { maxScan } : {}),
      journal,
      dir: join(t.dir, name),
      supervisionAgency: SFJ,
      excludeDevices: ['gateway-audit'],
      chainFacts,
      chainRecheckMs: 0,
      now: () => DAY + 30 * 86_400_000,
    });
    return s;
  };
  const append = (d: Partial<RecordDraft> & { agency: string; device: string; capturedAt: string }) =>
    journal.append({ officer: 'OF-1', kind: 'form', body: { title: 'x' }, ...d } as RecordDraft, key);
  /** Anchors (and notarizes) every batch not yet in `facts`, `delayMinutes` after its last capture. */
  const anchorAll = async (delayMinutes: number, notarized = true) => {
    for (const agency of journal.agencies()) {
      for await (const b of journal.batches(agency)) {
        if (facts.has(b.root)) continue;
        const t0 = Math.floor(Date.parse(b.lastCapturedAt) / 1000) + delayMinutes * 60;
        facts.set(b.root, { anchoredAt: t0, notarized, ...(notarized ? { notarizedAt: t0 + 5 } : {}) });
      }
    }
  };
  return { dir: t.dir, journal, key, facts, open, append, anchorAll };
}

/** Signed records of a camera that keeps its own chain (to make holes and late fills). */
async function cameraRecords(agency: string, device: string, n: number, day: number): Promise<LiuhenRecord[]> {
  const t = tempDir('liuhen-cam-');
  const cam = await Journal.open(t.dir);
  const key = DeviceKey.generate();
  const out: LiuhenRecord[] = [];
  try {
    for (let i = 0; i < n; i++)
      out.push((await cam.append({ agency, device, officer: 'OF-9', kind: 'event', body: { event: 'clip', i }, capturedAt: at(day, i) }, key)).record);
  } finally {
    await cam.close();
    t.cleanup();
  }
  return out;
}

describe('supervision statistics (src/stats)', () => {
  it('counts records, late sealing and anchoring, holes and case findings incrementally; a rebuild from the journal gives the same numbers', async () => {
    const w = await world();
    let stats = await w.open('stats');

    // Day 0: agency A, a complete case; agency B, a decision without review.
    for (const [stage, m] of [
      ['filing', 0],
      ['investigation', 10],
      ['review', 20],
      ['decision', 30],
      ['service', 40],
    ] as const) {
      await w.append({ agency: 'JN-A', device: 'TERM-A1', case: 'A-1', stage, capturedAt: at(0, m) });
    }
    await w.append({ agency: 'JN-B', device: 'TERM-B1', case: 'B-1', stage: 'filing', capturedAt: at(0, 5) });
    await w.append({ agency: 'JN-B', device: 'TERM-B1', case: 'B-1', stage: 'decision', capturedAt: at(0, 50) });
    // The gateway's audit trail and the supervision body's records are not enforcement.
    await w.append({ agency: 'JN-A', device: 'gateway-audit', kind: 'event', body: { event: 'gateway-access' }, capturedAt: at(0, 1) });
    await stats.catchUp();
    await w.journal.sealAll({ now: () => new Date(DAY + 60 * 60_000) });
    await stats.catchUp();
    let o = stats.overview({ from: '2026-11-02', to: '2026-11-03' });
    expect(o.totals.records).toBe(7);
    expect(o.totals.newCases).toBe(2);
    expect(o.totals.sealed).toBe(7);
    expect(o.totals.anchored).toBe(0);
    expect(o.batches.waiting).toBe(2);

    // Anchored 2 hours after the last capture: the first records are anchored late.
    await w.anchorAll(120);
    await stats.catchUp();
    o = stats.overview({ from: '2026-11-02', to: '2026-11-03' });
    expect(o.totals.anchored).toBe(7);
    expect(o.totals.anchoredLate).toBe(7);
    expect(o.totals.compliance).toBe(0);
    expect(o.batches.waiting).toBe(0);
    expect(o.delay.counts.reduce((a, b) => a + b, 0)).toBe(7);
    const b1 = await stats.findings({ agency: 'JN-B', limit: 50 });
    expect(b1.findings.map((f) => f.code).sort()).toEqual([
      'CASE_DECISION_NOT_SERVED',
      'CASE_DECISION_WITHOUT_REVIEW',
      'RECORD_ANCHORED_LATE',
      'RECORD_ANCHORED_LATE',
    ]);

    // Restart: the index reopens where it stopped.
    await stats.close();
    stats = await w.open('stats');

    // Day 1: a camera with a hole (seq 3 missing) and the service of B-1 arriving later (resolves one finding).
    const clips = await cameraRecords('JN-B', 'BWC-B1', 5, 1);
    for (const r of clips) if (r.seq !== 3) await w.journal.ingest(r);
    await w.append({ agency: 'JN-B', device: 'TERM-B1', case: 'B-1', stage: 'service', capturedAt: at(1, 30) });
    await stats.catchUp();
    o = stats.overview({ from: '2026-11-02', to: '2026-11-04' });
    expect(o.totals.records).toBe(7 + 4 + 1);
    expect(o.totals.devicesWithHoles).toBe(1);
    expect(o.holes.devices).toEqual(['BWC-B1']);
    expect(o.holes.cells).toEqual([[1, 0, 1]]);
    let codes = (await stats.findings({ agency: 'JN-B', limit: 50 })).findings.map((f) => f.code);
    expect(codes).toContain('DEVICE_SEQ_HOLE');
    expect(codes).not.toContain('CASE_DECISION_NOT_SERVED');

    // A partial run interrupted by a close, then the late clip (the hole is filled) and more batches.
    await w.journal.sealAll({ now: () => new Date(DAY + 86_400_000 + 40 * 60_000) });
    await w.anchorAll(1, false); // anchored, not notarized
    await stats.catchUp();
    await w.journal.ingest(clips[2]!);
    await stats.close();
    stats = await w.open('stats');
    await stats.catchUp();
    o = stats.overview({ from: '2026-11-02', to: '2026-11-04' });
    expect(o.totals.devicesWithHoles).toBe(0);
    expect(o.batches.anchoredNotNotarized).toBeGreaterThan(0);
    codes = (await stats.findings({ limit: 100 })).findings.map((f) => f.code);
    expect(codes).not.toContain('DEVICE_SEQ_HOLE');

    // The supervision body's action on a finding (journaled as its own record) shows in the finding's history.
    const review = (await stats.findings({ agency: 'JN-B', code: 'CASE_DECISION_WITHOUT_REVIEW', limit: 1 })).findings[0]!;
    await w.append({
      agency: SFJ,
      device: 'supervision-decisions',
      kind: 'event',
      body: { event: 'finding-action', finding: review.id, status: 'verified', comment: '已调阅案卷', by: 'SV-1' },
      capturedAt: at(2),
    });
    await stats.catchUp();
    expect((await stats.getFinding(review.id))?.status).toBe('verified');
    expect((await stats.findingHistory(review.id)).map((h) => [h.status, h.comment])).toEqual([['verified', '已调阅案卷']]);
    expect(stats.overview({ from: '2026-11-02', to: '2026-11-05' }).agencies).toEqual(['JN-A', 'JN-B']);

    // Rebuilt from the journal alone, in one pass: the same index.
    const rebuilt = await w.open('rebuilt');
    await rebuilt.catchUp();
    expect(await rebuilt.dump()).toEqual(await stats.dump());
    expect(rebuilt.overview({ from: '2026-11-02', to: '2026-11-05' })).toEqual(stats.overview({ from: '2026-11-02', to: '2026-11-05' }));
    await rebuilt.close();
    await stats.close();
  });

  it('pages findings newest first with a cursor and filters by period, severity and kind', async () => {
    const w = await world();
    const stats = await w.open('stats');
    for (let d = 0; d < 6; d++) await w.append({ agency: 'JN-A', device: `T-${d}`, case: `C-${d}`, stage: 'decision', capturedAt: at(d) });
    await stats.catchUp();
    const all: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await stats.findings({ limit: 4, ...(cursor ? { cursor } : {}) });
      all.push(...page.findings.map((f) => f.at));
      if (!page.next) break;
      cursor = page.next;
    }
    expect(all).toHaveLength(12); // without review + not served, per case
    expect([...all].sort().reverse()).toEqual(all);
    const period = await stats.findings({ from: '2026-11-03', to: '2026-11-05', limit: 50 });
    expect(new Set(period.findings.map((f) => f.case))).toEqual(new Set(['C-1', 'C-2']));
    expect((await stats.findings({ code: 'CASE_DECISION_NOT_SERVED', severity: 'high', limit: 50 })).findings).toHaveLength(6);
    expect((await stats.findings({ severity: 'low', limit: 50 })).findings).toHaveLength(0);
    await expect(stats.findings({ limit: 5, cursor: 'bogus' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await stats.close();
  });

  it('never scans the findings list for a page: filters checked per entry stop after maxScan entries and give a cursor to go on', async () => {
    const w = await world();
    const stats = await w.open('stats', 5);
    // 6 cases with a decision only: 12 findings, 6 of each kind; the medium-severity ones are interleaved.
    for (let d = 0; d < 6; d++) await w.append({ agency: 'JN-A', device: `T-${d}`, case: `C-${d}`, stage: 'decision', capturedAt: at(d) });
    for (let d = 0; d < 3; d++) await w.append({ agency: 'JN-A', device: `T-${d}`, case: `C-${d}`, stage: 'onsite', capturedAt: at(d, 5) });
    await stats.catchUp();
    const pages: number[] = [];
    const found: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await stats.findings({ severity: 'medium', limit: 50, ...(cursor ? { cursor } : {}) });
      pages.push(page.findings.length);
      found.push(...page.findings.map((f) => f.id));
      if (!page.next) break;
      cursor = page.next;
    }
    // 15 findings, at most 5 read per page: 3 pages however few match, and together every medium one, newest first.
    expect(pages.length).toBe(3);
    expect(found).toEqual(['onsite:C-2', 'onsite:C-1', 'onsite:C-0']);
    await stats.close();
  });

  it('indexes findings by a status other than open: the workflow queue is a key range, kept through a rebuild', async () => {
    const w = await world();
    const stats = await w.open('stats', 2);
    for (let d = 0; d < 6; d++) await w.append({ agency: 'JN-A', device: `T-${d}`, case: `C-${d}`, stage: 'decision', capturedAt: at(d) });
    const act = (finding: string, status: string, minutes: number) =>
      w.append({
        agency: SFJ,
        device: 'supervision-decisions',
        kind: 'event',
        body: { event: 'finding-action', finding, status, comment: 'checked' },
        capturedAt: at(7, minutes),
      });
    await act('review:C-1', 'verified', 0);
    await act('served:C-4', 'verified', 1);
    await act('served:C-4', 'rectified', 2);
    await stats.catchUp();
    // maxScan 2: a filter checked per entry over the whole list would need several pages; the status index needs one.
    const verified = await stats.findings({ status: 'verified', limit: 50 });
    expect(verified.findings.map((f) => [f.id, f.status])).toEqual([['review:C-1', 'verified']]);
    expect(verified.next).toBeNull();
    expect((await stats.findings({ status: 'rectified', limit: 50 })).findings.map((f) => f.id)).toEqual(['served:C-4']);
    expect((await stats.getFinding('served:C-4'))?.status).toBe('rectified');
    const rebuilt = await w.open('rebuilt', 2);
    await rebuilt.catchUp();
    expect(await rebuilt.dump()).toEqual(await stats.dump());
    await rebuilt.close();
    await stats.close();
  });

  it('takes what this process journals from the journal’s in-process tail, and gives the same figures as reading it back', async () => {
    const w = await world();
    const stats = await w.open('stats');
    const reads = vi.spyOn(w.journal, 'agencyRecords');
    for (let d = 0; d < 5; d++) await w.append({ agency: 'JN-A', device: `T-${d % 2}`, case: `C-${d}`, stage: 'decision', capturedAt: at(d) });
    await stats.catchUp();
    expect(reads).not.toHaveBeenCalled();
    reads.mockRestore();
    const rebuilt = await w.open('rebuilt');
    await rebuilt.catchUp(); // reads the journal: the records are older than it
    expect(await rebuilt.dump()).toEqual(await stats.dump());
    await rebuilt.close();
    await stats.close();
  });
});
