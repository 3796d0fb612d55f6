import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { caseFindings, deviceFindings, keyChanges, timelinessFindings, type AuditedRecord } from '../../src/completeness/findings.js';
import { auditCase, auditDevice } from '../../src/completeness/audit.js';
import { Journal } from '../../src/journal/journal.js';
import { DeviceKey } from '../../src/record/device-key.js';
import type { Stage } from '../../src/record/schema.js';
import { withJournal } from '../helpers/journal.js';
import { tempDir } from '../helpers/tmp.js';

const key = DeviceKey.generate();

describe('device continuity (over a real journal)', () => {
  let j: Journal;
  let t: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    t = tempDir();
    j = await Journal.open(t.dir);
  });
  afterEach(async () => {
    await j.close();
    t.cleanup();
  });

  const event = (e: string, minute: number) =>
    j.append(
      {
        agency: 'AG',
        device: 'cam-7',
        officer: 'O',
        kind: 'event',
        body: { event: e },
        capturedAt: `2026-11-27T10:${String(minute).padStart(2, '0')}:00+08:00`,
      },
      key,
    );
  const clip = (minute: number) =>
    j.append(
      {
        agency: 'AG',
        device: 'cam-7',
        officer: 'O',
        kind: 'video',
        media: { type: 'video/mp4', size: 1, sha256: String(minute).padStart(64, '0') },
        capturedAt: `2026-11-27T10:${String(minute).padStart(2, '0')}:30+08:00`,
      },
      key,
    );

  it('a complete session has no findings', async () => {
    await event('recording-start', 1);
    await clip(1);
    await event('recording-stop', 2);
    expect((await auditDevice(j, 'cam-7')).findings).toEqual([]);
  });

  it('a clip deleted from the middle shows as a hole, a replaced one as a break', async () => {
    await event('recording-start', 1);
    for (let m = 1; m <= 4; m++) await clip(m);
    await event('recording-stop', 5);
    const records: AuditedRecord[] = [];
    for await (const s of j.deviceRecords('cam-7')) records.push(s);
    // Withhold seq 3 (what a deleted clip looks like to a supervisor).
    const withHole = records.filter((r) => r.record.seq !== 3);
    expect(deviceFindings(withHole)).toEqual([expect.objectContaining({ code: 'DEVICE_SEQ_HOLE', missing: { from: 3, to: 3 }, device: 'cam-7' })]);
    // Replace seq 3 by another record: its leaf differs, so seq 4's prev no longer matches.
    const forged = { ...records[2]!, leaf: `0x${'ee'.repeat(32)}` };
    const replaced = records.map((r) => (r.record.seq === 3 ? forged : r));
    expect(deviceFindings(replaced).map((f) => f.code)).toEqual(['DEVICE_CHAIN_BREAK']);
    // Two different records claiming one seq: a fork.
    expect(deviceFindings([...records, forged]).map((f) => f.code)).toContain('DEVICE_CHAIN_FORK');
  });

  it('records cut from the end show as an unclosed session', async () => {
    await event('recording-start', 1);
    await clip(1);
    expect((await auditDevice(j, 'cam-7')).findings.map((f) => f.code)).toEqual(['DEVICE_SESSION_UNCLOSED']);
  });

  it('a hole at the start (seq 1 missing) is reported', async () => {
    await clip(1);
    await clip(2);
    const records: AuditedRecord[] = [];
    for await (const s of j.deviceRecords('cam-7')) records.push(s);
    expect(deviceFindings(records.slice(1))).toEqual([expect.objectContaining({ code: 'DEVICE_SEQ_HOLE', missing: { from: 1, to: 1 } })]);
  });
});

describe('case stages', () => {
  let n = 0;
  const rec = (stage: Stage, hour: number): AuditedRecord => ({
    record: {
      v: 1,
      id: `01JDQ7Z8X9Y0ABCDEFGHJKM${String(n++).padStart(3, '0')}`,
      agency: 'AG',
      device: 'cam-1',
      officer: 'O',
      case: 'C-1',
      stage,
      kind: 'form',
      body: {},
      capturedAt: `2026-11-${String(10 + hour).padStart(2, '0')}T10:00:00+08:00`,
      seq: 1,
      prev: `0x${'00'.repeat(32)}`,
      salt: `0x${'11'.repeat(16)}`,
    },
    leaf: `0x${'00'.repeat(32)}`,
  });
  const codes = (rs: AuditedRecord[]) => caseFindings('C-1', rs).map((f) => f.code);

  it('the full process in order has no findings', () => {
    expect(
      codes([
        rec('onsite', 0),
        rec('filing', 1),
        rec('investigation', 2),
        rec('review', 3),
        rec('decision', 4),
        rec('service', 5),
        rec('execution', 6),
        rec('closing', 7),
      ]),
    ).toEqual([]);
  });
  it('a decision without a prior legal review', () => {
    expect(codes([rec('filing', 1), rec('investigation', 2), rec('decision', 4), rec('service', 5)])).toEqual(['CASE_DECISION_WITHOUT_REVIEW']);
    expect(codes([rec('filing', 1), rec('decision', 4), rec('review', 5), rec('service', 6)])).toContain('CASE_DECISION_WITHOUT_REVIEW');
  });
  it('a decision never served', () => {
    expect(codes([rec('filing', 1), rec('review', 3), rec('decision', 4)])).toEqual(['CASE_DECISION_NOT_SERVED']);
  });
  it('a stage out of order', () => {
    expect(codes([rec('filing', 1), rec('review', 3), rec('decision', 4), rec('investigation', 5), rec('service', 6)])).toEqual(['CASE_STAGE_OUT_OF_ORDER']);
    expect(codes([rec('filing', 1), rec('review', 3), rec('decision', 4), rec('service', 6), rec('onsite', 7)])).toEqual(['CASE_STAGE_OUT_OF_ORDER']);
  });
  it('records captured in the future, or sealed/anchored long after capture', () => {
    const r = rec('filing', 1);
    const captured = Date.parse(r.record.capturedAt);
    expect(timelinessFindings({ ...r, journaledAt: captured - 3600_000 }).map((f) => f.code)).toEqual(['RECORD_CAPTURED_IN_FUTURE']);
    expect(timelinessFindings({ ...r, sealedAt: new Date(captured + 7200_000).toISOString() }).map((f) => f.code)).toEqual(['RECORD_SEALED_LATE']);
    expect(timelinessFindings({ ...r, sealedAt: new Date(captured + 7200_000).toISOString() }, { maxSealDelaySeconds: 86_400 })).toEqual([]);
    expect(timelinessFindings({ ...r, anchoredAt: captured / 1000 + 7200 }).map((f) => f.code)).toEqual(['RECORD_ANCHORED_LATE']);
    expect(
      timelinessFindings({ ...r, journaledAt: captured + 1000, sealedAt: new Date(captured + 2000).toISOString(), anchoredAt: captured / 1000 + 5 }),
    ).toEqual([]);
  });
});

describe('auditCase over a journal', () => {
  it('finds the missing review of a journaled case', async () => {
    await withJournal(async (j) => {
      for (const [stage, day] of [
        ['filing', 1],
        ['investigation', 2],
        ['decision', 3],
        ['service', 4],
      ] as const) {
        await j.append(
          {
            agency: 'AG',
            device: 'term-1',
            officer: 'O',
            case: 'JN-2026-001',
            stage,
            kind: 'form',
            body: { stage },
            capturedAt: `2026-11-0${day}T09:00:00+08:00`,
          },
          key,
        );
      }
      await j.append(
        { agency: 'AG', device: 'term-1', officer: 'O', case: 'JN-2026-002', stage: 'filing', kind: 'form', body: {}, capturedAt: '2026-11-01T09:00:00+08:00' },
        key,
      );
      const audit = await auditCase(j, 'JN-2026-001');
      expect(audit.records.map((r) => r.record.stage)).toEqual(['filing', 'investigation', 'decision', 'service']);
      expect(audit.findings.map((f) => f.code)).toEqual(['CASE_DECISION_WITHOUT_REVIEW']);
    });
  });
});

describe('device keys', () => {
  it('a record signed with another key in the middle of a device chain is reported', async () => {
    await withJournal(async (j) => {
      const other = DeviceKey.generate();
      for (const k of [key, key, other, other])
        await j.append({ agency: 'AG', device: 'cam-k', officer: 'O', kind: 'event', body: { e: 1 }, capturedAt: '2026-11-27T10:00:00+08:00' }, k);
      const audit = await auditDevice(j, 'cam-k');
      expect(audit.findings).toEqual([expect.objectContaining({ code: 'DEVICE_KEY_CHANGED', device: 'cam-k' })]);
      expect(audit.findings[0]!.message).toMatch(/record 3 with another key/);
    });
  });
});

describe('key changes explained by the enrollment history (issue 13)', () => {
  const k1 = `0x${'11'.repeat(32)}`;
  const k2 = `0x${'22'.repeat(32)}`;
  const k3 = `0x${'33'.repeat(32)}`;
  const T = Date.parse('2026-11-27T10:00:00Z') / 1000;
  const rec = (seq: number, key: string, at: number): AuditedRecord => ({
    leaf: `0x${String(seq).padStart(64, '0')}`,
    record: {
      v: 1,
      id: `r${seq}`,
      agency: 'AG',
      device: 'cam-r',
      officer: 'O',
      seq,
      prev: `0x${String(seq - 1).padStart(64, '0')}`,
      kind: 'event',
      body: {},
      capturedAt: new Date(at * 1000).toISOString(),
      salt: `0x${'00'.repeat(16)}`,
      sig: { alg: 'ed25519', key, value: '0x' },
    } as unknown as AuditedRecord['record'],
  });
  const history = {
    agency: 'AG',
    deviceId: 'cam-r',
    deviceHash: `0x${'ab'.repeat(32)}`,
    kind: 'body-camera' as const,
    enrolledAt: T - 7200,
    keys: [
      { index: 0, publicKey: k1, validFrom: T - 7200, validUntil: T, compromisedAt: 0, revokedAt: 0 },
      { index: 1, publicKey: k2, validFrom: T, validUntil: 0, compromisedAt: 0, revokedAt: 0 },
    ],
  };
  const chain = [rec(1, k1, T - 60), rec(2, k2, T + 60), rec(3, k3, T + 120)];

  it('a rotation enrolled on the registry is explained (no finding); an unknown key is not', () => {
    const changes = keyChanges(chain, { enrollment: { known: true, history } });
    expect(changes.map((c) => [c.fromSeq, c.toSeq, c.explained])).toEqual([
      [1, 2, true],
      [2, 3, false],
    ]);
    expect(changes[0]!.enrollment).toEqual({ fromIndex: 0, toIndex: 1, validFrom: T, fromRevokedAt: 0, fromCompromisedAt: 0 });
    expect(changes[0]!.zh).toContain('密钥轮换');
    expect(changes[1]!.en).toMatch(/new key was not enrolled/);
    expect(deviceFindings(chain, { enrollment: { known: true, history } }).map((f) => [f.code, f.recordIds])).toEqual([['DEVICE_KEY_CHANGED', ['r2', 'r3']]]);
  });

  it('without the registry (unknown, or the device not enrolled) every change stays a finding', () => {
    expect(deviceFindings(chain).filter((f) => f.code === 'DEVICE_KEY_CHANGED')).toHaveLength(2);
    expect(deviceFindings(chain, { enrollment: { known: false, history: undefined } }).filter((f) => f.code === 'DEVICE_KEY_CHANGED')).toHaveLength(2);
    const none = keyChanges(chain, { enrollment: { known: true, history: undefined } });
    expect(none.every((c) => !c.explained && /not enrolled/.test(c.en))).toBe(true);
  });

  it('a new key used before its validFrom is not a rotation', () => {
    const early = [rec(1, k1, T - 120), rec(2, k2, T - 60)];
    expect(keyChanges(early, { enrollment: { known: true, history } })[0]!.explained).toBe(false);
  });
});
