import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/journal.js';
import { DeviceKey, verifyRecordSignature } from '../../src/record/device-key.js';
import { recordLeaf } from '../../src/record/leaf.js';
import { MerkleTree } from '../../src/merkle/tree.js';
import { fromHex, toHex, ZERO32 } from '../../src/util/hex.js';
import { withJournal } from '../helpers/journal.js';
import { tempDir } from '../helpers/tmp.js';

const key = DeviceKey.generate();
const draft = (device = 'cam-1', agency = 'AG-1', extra: Record<string, unknown> = {}) => ({
  agency,
  device,
  officer: 'O-7',
  kind: 'event' as const,
  body: { e: 'x' },
  capturedAt: '2026-11-27T10:00:00+08:00',
  ...extra,
});

describe('Journal', () => {
  let dir: string;
  let cleanup: () => void;
  let j: Journal;
  beforeEach(async () => {
    ({ dir, cleanup } = tempDir());
    j = await Journal.open(dir);
  });
  afterEach(async () => {
    await j.close();
    cleanup();
  });

  it('assigns per-device seq and prev in append order, even when appends are concurrent', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => j.append(draft(i % 2 ? 'cam-1' : 'cam-2'), key)));
    for (const device of ['cam-1', 'cam-2']) {
      const mine = results.filter((r) => r.record.device === device).sort((a, b) => a.record.seq - b.record.seq);
      expect(mine.map((r) => r.record.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      mine.forEach((r, i) => expect(r.record.prev).toBe(i === 0 ? ZERO32 : mine[i - 1]!.leaf));
    }
  });

  it('completes and signs records: fresh 16-byte salt, ULID, leaf over JCS', async () => {
    const a = await j.append(draft(), key);
    const b = await j.append(draft(), key);
    expect(a.record.salt).toMatch(/^0x[0-9a-f]{32}$/);
    expect(a.record.salt).not.toBe(b.record.salt);
    expect(a.record.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(a.record.sig?.key).toBe(key.publicKey);
    expect(a.leaf).toBe(recordLeaf(a.record));
    expect((await j.getRecord(a.record.id))?.record).toEqual(a.record);
  });

  it('refuses invalid drafts with field-level errors and changes nothing', async () => {
    await expect(j.append({ ...draft(), agency: 'bad agency!' }, key)).rejects.toThrow(/agency: must be 1-31 ASCII/);
    await expect(j.append({ ...draft(), capturedAt: 'yesterday' }, key)).rejects.toThrow(/capturedAt: must be an RFC 3339/);
    await expect(j.append({ ...draft(), body: undefined }, key)).rejects.toMatchObject({ code: 'INVALID_RECORD' });
    expect(j.devices()).toEqual([]);
    expect(await j.pendingAgencies()).toEqual([]);
  });

  it('refuses a duplicate explicit id', async () => {
    const a = await j.append(draft(), key);
    await expect(j.append({ ...draft(), id: a.record.id }, key)).rejects.toThrow(/already exists/);
    expect(j.deviceHead('cam-1')?.seq).toBe(1);
  });

  it('refuses concurrent appends with the same explicit id: exactly one is journaled', async () => {
    const id = '01JDQ7Z8X9Y0ABCDEFGHJKMNPR';
    const results = await Promise.allSettled([j.append({ ...draft(), id }, key), j.append({ ...draft('cam-2'), id }, key)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: expect.objectContaining({ code: 'INVALID_RECORD' }) });
  });

  it('a burst of one device is signed as runs: its chain is the same as one record at a time', async () => {
    const results = await Promise.all(Array.from({ length: 40 }, () => j.append(draft('cam-9'), key)));
    results.sort((a, b) => a.record.seq - b.record.seq);
    results.forEach((r, i) => {
      expect(r.record.seq).toBe(i + 1);
      expect(r.record.prev).toBe(i === 0 ? ZERO32 : results[i - 1]!.leaf);
      expect(r.leaf).toBe(recordLeaf(r.record));
      expect(verifyRecordSignature(r.record)).toBe(true);
    });
    // Acks (the agency's journal order, hence batch order) follow the chain order.
    expect(results.map((r) => r.ack)).toEqual([...results.map((r) => r.ack)].sort((a, b) => a - b));
    expect(j.deviceHead('cam-9')).toMatchObject({ seq: 40, leaf: results[39]!.leaf });
  });

  it('a signer that fails: its run is refused, nothing is journaled, the chain goes on', async () => {
    await j.append(draft('cam-5'), key);
    const failing = { sign: () => Promise.reject(new Error('HSM offline')) };
    await expect(Promise.all([j.append(draft('cam-5'), failing), j.append(draft('cam-5'), failing)])).rejects.toThrow(/HSM offline/);
    expect(j.deviceHead('cam-5')?.seq).toBe(1);
    const next = await j.append(draft('cam-5'), key);
    expect(next.record.seq).toBe(2);
    expect(await j.pendingCount('AG-1')).toBe(2);
  });

  it('takes only the signature from a signer other than DeviceKey, whatever else it returns or offers', async () => {
    const lying = {
      sign: (r: never) => ({ ...(key.signSync(r) as object), agency: 'OTHER', body: { forged: true } }) as never,
      chain: async () => [{ record: { agency: 'OTHER' }, leaf: ZERO32, canonical: '{}' }],
    };
    const r = await j.append(draft('cam-4'), lying);
    expect(r.record).toMatchObject({ agency: 'AG-1', body: { e: 'x' } });
    expect(recordLeaf(r.record)).toBe(r.leaf);
    expect(verifyRecordSignature(r.record)).toBe(true); // its signature was over the real record
    expect((await j.getRecord(r.record.id))?.record).toEqual(r.record);
    expect(await j.pendingCount('OTHER')).toBe(0);
  });

  it('a draft that JCS refuses (a lone surrogate) fails alone, not the rest of its device run', async () => {
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => j.append(draft('cam-3', 'AG-1', i === 2 ? { body: { s: '\uD800' } } : {}), key)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(results[2]).toMatchObject({ reason: expect.objectContaining({ code: 'JCS_UNSUPPORTED_VALUE' }) });
    expect(j.deviceHead('cam-3')?.seq).toBe(4);
  });

  it('every synced batch: the device head it writes stands on a record already on disk or in that batch', async () => {
    // A run is persisted over several groups (its first record often alone); a crash between
    // two of them must find a head that matches the records on disk, never one ahead of them.
    const db = (j as unknown as { db: { batch: () => { put: (k: string, v: string) => unknown; write: (o: unknown) => Promise<void> } } }).db;
    const batch = db.batch.bind(db);
    const durable = new Set<string>();
    const violations: string[] = [];
    db.batch = () => {
      const b = batch();
      const put = b.put.bind(b);
      const slots: string[] = [];
      const heads: [string, number][] = [];
      b.put = (k, v) => {
        const di = /^di:(.+):0*(\d+)$/.exec(k);
        if (di) slots.push(`${di[1]}#${Number(di[2])}`);
        if (k.startsWith('d:')) heads.push([k.slice(2), (JSON.parse(v) as { seq: number }).seq]);
        return put(k, v);
      };
      const write = b.write.bind(b);
      b.write = (o) => {
        for (const slot of slots) durable.add(slot);
        for (const [device, seq] of heads) if (!durable.has(`${device}#${seq}`)) violations.push(`${device} head ${seq} written before its record`);
        return write(o);
      };
      return b;
    };
    for (let burst = 0; burst < 3; burst++) {
      await Promise.all(Array.from({ length: 10 }, (_, i) => j.append(draft(i % 2 ? 'cam-8' : 'cam-9'), key)));
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(violations).toEqual([]);
    expect(j.deviceHead('cam-8')?.seq).toBe(15);
  });

  it('refuses new appends once close() has begun, and lets those in flight finish', async () => {
    const inFlight = Array.from({ length: 12 }, () => j.append(draft('cam-7'), key));
    const closing = j.close();
    await expect(j.append(draft('cam-7'), key)).rejects.toMatchObject({ code: 'JOURNAL_CLOSED' });
    const done = await Promise.all(inFlight);
    await closing;
    // A device-signed upload already verifying when close() begins is finished too, not cut off.
    j = await Journal.open(dir);
    const uploaded = key.signSync({
      v: 1,
      id: '01JDQ7Z8X9Y0ABCDEFGHJKMNPV',
      agency: 'AG-1',
      device: 'bwc-close',
      officer: 'O-7',
      kind: 'event',
      body: { e: 'x' },
      capturedAt: '2026-11-27T10:00:00+08:00',
      seq: 1,
      prev: ZERO32,
      salt: `0x${'44'.repeat(16)}`,
    });
    const ingesting = j.ingest(uploaded);
    await j.close();
    await expect(ingesting).resolves.toMatchObject({ duplicate: false });
    j = await Journal.open(dir);
    for (const r of done) expect((await j.getRecord(r.record.id))?.leaf).toBe(r.leaf);
    expect(await j.getRecord(uploaded.id)).toBeDefined();
  });

  it('a plain signer (sign only) journals the same kind of record', async () => {
    const plain = { sign: (r: never) => key.signSync(r) };
    const results = await Promise.all(Array.from({ length: 6 }, () => j.append(draft('cam-6'), plain)));
    for (const r of results) expect(verifyRecordSignature(r.record) && recordLeaf(r.record) === r.leaf).toBe(true);
    expect(j.deviceHead('cam-6')?.seq).toBe(6);
  });

  it('seals all pending records of an agency into chained batches', async () => {
    for (let i = 0; i < 5; i++) await j.append(draft(), key);
    await j.append(draft('cam-9', 'AG-2'), key);
    const [b1] = await j.seal('AG-1');
    expect(b1).toMatchObject({ agency: 'AG-1', seq: 1, size: 5, prevRoot: ZERO32, firstAck: 1 });
    expect(await j.seal('AG-1')).toEqual([]);
    for (let i = 0; i < 3; i++) await j.append(draft(), key);
    const [b2] = await j.seal('AG-1');
    expect(b2).toMatchObject({ seq: 2, size: 3, prevRoot: b1!.root, firstAck: 6 });
    expect(await j.pendingAgencies()).toEqual(['AG-2']);
    // The root is the RFC 6962 root of the records' leaves in journal order.
    const leaves: string[] = [];
    for await (const s of j.deviceRecords('cam-1')) leaves.push(s.leaf);
    expect(toHex(MerkleTree.fromLeafHashes(leaves.slice(5).map((l) => fromHex(l, 32))).root)).toBe(b2!.root);
    // Every record knows its batch and index.
    const third = await j.getRecord((await j.deviceRecords('cam-1').next()).value!.record.id);
    expect(await j.locate(third!)).toMatchObject({ batch: { seq: 1 }, index: 0 });
  });

  it('splits a large backlog into batches of maxBatchSize', async () => {
    await Promise.all(Array.from({ length: 23 }, () => j.append(draft(), key)));
    const batches = await j.seal('AG-1', { maxBatchSize: 10 });
    expect(batches.map((b) => b.size)).toEqual([10, 10, 3]);
    expect(batches[2]!.prevRoot).toBe(batches[1]!.root);
  });

  it('a pending record is not located; a sealed one is', async () => {
    const a = await j.append(draft(), key);
    expect(await j.locate((await j.getRecord(a.record.id))!)).toBeUndefined();
  });

  it('keeps everything across a reopen', async () => {
    const a = await j.append(draft(), key);
    await j.close();
    j = await Journal.open(dir);
    expect(j.deviceHead('cam-1')).toEqual({ seq: 1, leaf: a.leaf, id: a.record.id });
    const b = await j.append(draft(), key);
    expect(b.record.prev).toBe(a.leaf);
    expect(b.ack).toBe(2);
  });

  it('a second process gets a clear error naming the folder', () => {
    const code = `import('${new URL('../../src/journal/journal.ts', import.meta.url).pathname}').then(m => m.Journal.open(${JSON.stringify(dir)})).catch(e => { console.log(JSON.stringify({ code: e.code, message: e.message })); })`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8' });
    const out = JSON.parse(r.stdout.trim());
    expect(out.code).toBe('JOURNAL_LOCKED');
    expect(out.message).toContain(dir);
    expect(out.message).not.toMatch(/LOCK|IO error/);
  });

  it('refuses work after close', async () => {
    await j.close();
    await expect(j.append(draft(), key)).rejects.toMatchObject({ code: 'JOURNAL_CLOSED' });
    j = await Journal.open(dir);
  });
});

describe('Journal.ingest: records signed on the device, uploaded later', () => {
  it('keeps the device chain as signed, reports holes, fills them late, refuses forks', async () => {
    const camera = tempDir();
    const station = tempDir();
    const onCamera = await Journal.open(camera.dir);
    const atStation = await Journal.open(station.dir);
    try {
      const made = [];
      for (let i = 0; i < 5; i++) made.push((await onCamera.append(draft('bwc-9'), key)).record);
      // Clip 3 is not uploaded (deleted on the camera, or withheld).
      for (const r of [made[0], made[1], made[3], made[4]]) expect((await atStation.ingest(r)).duplicate).toBe(false);
      const { auditDevice } = await import('../../src/completeness/audit.js');
      expect((await auditDevice(atStation, 'bwc-9')).findings.map((f) => [f.code, f.missing])).toEqual([['DEVICE_SEQ_HOLE', { from: 3, to: 3 }]]);
      expect(atStation.deviceHead('bwc-9')?.seq).toBe(5);
      // It turns up late: the hole closes, the chain is whole.
      await atStation.ingest(made[2]);
      expect((await auditDevice(atStation, 'bwc-9')).findings).toEqual([]);
      // The same record again is a no-op; another record for a taken seq is a fork and refused.
      expect((await atStation.ingest(made[2])).duplicate).toBe(true);
      const elsewhere = tempDir();
      const j2 = await Journal.open(elsewhere.dir);
      const other = (await j2.append(draft('bwc-9'), key)).record;
      await j2.close();
      elsewhere.cleanup();
      await expect(atStation.ingest(other)).rejects.toThrow(/already has another record with seq 1 /);
      // Altered after signing: refused.
      await expect(atStation.ingest({ ...made[4], officer: 'X-1' })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
      await expect(atStation.ingest({ ...made[4], sig: undefined })).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
      // Sealed receipts carry the device's own leaves.
      const [batch] = await atStation.seal('AG-1');
      expect(batch!.size).toBe(5);
      expect((await atStation.getRecord(made[2]!.id))!.leaf).toBe(recordLeaf(made[2]!));
    } finally {
      await onCamera.close();
      await atStation.close();
      camera.cleanup();
      station.cleanup();
    }
  });
});

describe('Journal.ingest: weak keys', () => {
  it('refuses a record signed with a small-order key, even where OpenSSL would accept the signature', async () => {
    await withJournal(async (station) => {
      const r = {
        v: 1,
        id: '01JDQ7Z8X9Y0ABCDEFGHJKMNPT',
        agency: 'AG-1',
        device: 'cam-w',
        officer: 'O-7',
        kind: 'event',
        body: { e: 'x' },
        capturedAt: '2026-11-27T10:00:00+08:00',
        seq: 1,
        prev: ZERO32,
        salt: `0x${'33'.repeat(16)}`,
        sig: { alg: 'Ed25519', key: `0x${'00'.repeat(32)}`, value: `0x${'00'.repeat(64)}` },
      };
      await expect(station.ingest(r)).rejects.toMatchObject({ code: 'SIGNATURE_INVALID', message: expect.stringMatching(/small-order/) });
      expect(station.devices()).toEqual([]);
    });
  });
});

describe('Journal: one id, one record', () => {
  it('two records with one id, ingested (or ingested and appended) at once for two devices: exactly one is journaled', async () => {
    await withJournal(async (station) => {
      const rec = (device: string) =>
        key.signSync({
          v: 1,
          id: device === 'cam-C' ? '01JDQ7Z8X9Y0ABCDEFGHJKMNPS' : '01JDQ7Z8X9Y0ABCDEFGHJKMNPR',
          agency: 'AG-1',
          device,
          officer: 'O-7',
          kind: 'event',
          body: { d: device },
          capturedAt: '2026-11-27T10:00:00+08:00',
          seq: 1,
          prev: ZERO32,
          salt: `0x${'22'.repeat(16)}`,
        });
      const races = [
        () => [station.ingest(rec('cam-A')), station.ingest(rec('cam-B'))],
        () => [station.ingest(rec('cam-C')), station.append({ ...draft('cam-D'), id: '01JDQ7Z8X9Y0ABCDEFGHJKMNPS' }, key)],
      ];
      for (const [i, race] of races.entries()) {
        const results = await Promise.allSettled(race());
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        const stored = await station.getRecord((won[0] as PromiseFulfilledResult<{ record: { id: string } }>).value.record.id);
        expect(stored?.record).toEqual((won[0] as PromiseFulfilledResult<{ record: unknown }>).value.record);
        expect(await station.pendingCount('AG-1')).toBe(i + 1);
      }
    });
  });
});

describe('Journal: no fork under concurrency', () => {
  it('concurrent uploads of two different records for one device seq: exactly one is journaled', async () => {
    const t1 = tempDir();
    const t2 = tempDir();
    const t3 = tempDir();
    const [a, b, station] = await Promise.all([Journal.open(t1.dir), Journal.open(t2.dir), Journal.open(t3.dir)]);
    try {
      const ra = (await a.append(draft('bwc-77'), key)).record;
      const rb = (await b.append(draft('bwc-77'), key)).record;
      expect(ra.seq).toBe(1);
      expect(rb.seq).toBe(1);
      const results = await Promise.allSettled([station.ingest(ra), station.ingest(rb)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: expect.objectContaining({ code: 'INVALID_RECORD' }) });
      // An append racing an ingest for the next slot: the ingest of seq 2 is refused or the append moves on; never two seq 2.
      const rc = (await a.append(draft('bwc-77'), key)).record; // seq 2 made elsewhere
      const [appended, ingested] = await Promise.allSettled([station.append(draft('bwc-77'), key), station.ingest(rc)]);
      const seqs: number[] = [];
      for await (const s of station.deviceRecords('bwc-77')) seqs.push(s.record.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(appended.status === 'fulfilled' || ingested.status === 'fulfilled').toBe(true);
    } finally {
      await Promise.all([a.close(), b.close(), station.close()]);
      for (const t of [t1, t2, t3]) t.cleanup();
    }
  });
});
