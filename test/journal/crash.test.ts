import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/journal.js';
import { recordLeaf } from '../../src/record/leaf.js';
import { verifyRecordSignature } from '../../src/record/device-key.js';
import { toHex, ZERO32 } from '../../src/util/hex.js';
import { tempDir } from '../helpers/tmp.js';

const child = new URL('../helpers/journal-child.ts', import.meta.url).pathname;

/** Runs the child until it has acknowledged `acks` records (and sealed, in seal mode), then SIGKILLs it. */
async function runAndKill(dir: string, mode: 'record' | 'seal', acks: number): Promise<{ acked: Map<string, string>; sealed: Set<string> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const acked = new Map<string, string>();
  const sealed = new Set<string>();
  const lines = createInterface({ input: proc.stdout! });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  await new Promise<void>((resolve) => {
    lines.on('line', (line) => {
      const [kind, a, b] = line.split(' ');
      if (kind === 'ack') acked.set(a!, b!);
      if (kind === 'sealed') sealed.add(a!);
      if (acked.size >= acks && (mode === 'record' || sealed.size >= 3)) resolve();
    });
    proc.on('exit', () => resolve());
  });
  proc.kill('SIGKILL');
  await exited;
  return { acked, sealed };
}

/** Every invariant the journal promises after a crash. */
async function checkJournal(dir: string, acked: Map<string, string>, sealedSeen: Set<string>): Promise<void> {
  const j = await Journal.open(dir);
  try {
    // 1. Every acknowledged record is present, unchanged, and correctly signed.
    for (const [id, leaf] of acked) {
      const s = await j.getRecord(id);
      expect(s, `acknowledged record ${id} lost`).toBeDefined();
      expect(s!.leaf).toBe(leaf);
      expect(recordLeaf(s!.record)).toBe(leaf);
      expect(verifyRecordSignature(s!.record)).toBe(true);
    }
    // 2. Device chains are unbroken: seq 1..n, each prev = previous leaf, head = last.
    for (const device of j.devices()) {
      let expectSeq = 1;
      let prev: string = ZERO32;
      for await (const s of j.deviceRecords(device)) {
        expect(s.record.seq).toBe(expectSeq++);
        expect(s.record.prev).toBe(prev);
        prev = s.leaf;
      }
      expect(j.deviceHead(device)?.leaf).toBe(prev);
    }
    // 3. Batches are whole: contiguous, chained, leaves stored and giving the root; no half batch.
    for (const agency of j.agencies()) {
      let prevRoot: string = ZERO32;
      let nextAck = 1;
      let seq = 0;
      for await (const b of j.batches(agency)) {
        expect(b.seq).toBe(++seq);
        expect(b.prevRoot).toBe(prevRoot);
        expect(b.firstAck).toBe(nextAck);
        const tree = await j.tree(b.root);
        expect(tree.size).toBe(b.size);
        expect(toHex(tree.root)).toBe(b.root);
        prevRoot = b.root;
        nextAck += b.size;
      }
      const head = await j.agencyHead(agency);
      expect(head?.seq ?? 0).toBe(seq);
      expect(head?.sealedThrough ?? 0).toBe(nextAck - 1);
    }
    // 4. Every batch the child reported as sealed exists.
    for (const root of sealedSeen) expect(await j.getBatchByRoot(root), `sealed batch ${root} lost`).toBeDefined();
    // 5. After recovery the journal keeps going: new records chain on, and a seal covers the rest.
    const { DeviceKey } = await import('../../src/record/device-key.js');
    const before = j.deviceHead('cam-a')?.leaf ?? ZERO32;
    const r = await j.append(
      { agency: 'AG-1', device: 'cam-a', officer: 'O-1', kind: 'event', body: { after: 'crash' }, capturedAt: new Date().toISOString() },
      DeviceKey.generate(),
    );
    expect(r.record.prev).toBe(before);
    await j.sealAll();
    expect(await j.pendingAgencies()).toEqual([]);
  } finally {
    await j.close();
  }
}

describe('crash safety (SIGKILL)', () => {
  let cleanup: () => void = () => undefined;
  afterEach(() => cleanup());

  it('while recording: no acknowledged record is lost, device chains intact', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    for (const acks of [200, 400]) {
      const { acked, sealed } = await runAndKill(t.dir, 'record', acks);
      expect(acked.size).toBeGreaterThanOrEqual(acks);
      await checkJournal(t.dir, acked, sealed);
    }
  });

  it('while sealing: batches are whole or absent, chains intact', async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const { acked, sealed } = await runAndKill(t.dir, 'seal', 600);
    expect(sealed.size).toBeGreaterThanOrEqual(3);
    await checkJournal(t.dir, acked, sealed);
  });
});
