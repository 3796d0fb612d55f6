import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/journal.js';
import { DeviceKey } from '../../src/record/device-key.js';
import { recordLeaf } from '../../src/record/leaf.js';
import { MerkleTree } from '../../src/merkle/tree.js';
import { fromHex, toHex, ZERO32 } from '../../src/util/hex.js';
import { tempDir } from '../helpers/tmp.js';

const key = DeviceKey.generate();
const draft = (device = 'cam-1', agency = 'AG-1', extra: Record<string, unknown> = {}) => ({
  agency, device, officer: 'O-7', kind: 'event' as const, body: { e: 'x' }, capturedAt: '2026-11-27T10:00:00+08:00', ...extra,
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
