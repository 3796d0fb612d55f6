import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, jsonLines, liuhen } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Issue 14: `liuhen record --receipts DIR`, `liuhen receipt info R` and
 * `liuhen receipt upgrade R` (like `ots info` / `ots upgrade`) on a real
 * chain: the embedded Anvil (`liuhen chain`), `liuhen deploy`, `liuhen
 * anchor`, `liuhen notary --once` — a receipt written while pending becomes
 * anchored, then notarized, in place, and then verifies.
 */
const t = tempDir();
const data = join(t.dir, 'data');
const d = ['--data', data];
let chain: ChildProcess | undefined;
let rpc: string;

beforeAll(async () => {
  expect(liuhen([...d, 'init', '--agency', 'JN-CG', '--device', 'cam-01', '--officer', '37010001']).status).toBe(0);
  chain = spawn(process.execPath, [BIN, ...d, '--json', 'chain', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  chain.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const started = Date.now();
  while (!out.includes('\n') && Date.now() - started < 120_000) await new Promise((r) => setTimeout(r, 100));
  rpc = JSON.parse(out.split('\n')[0]!).rpc;
  const dep = liuhen([...d, 'deploy', '--rpc', rpc]);
  expect(dep.status, dep.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  if (chain && chain.exitCode === null) {
    const done = new Promise((r) => chain!.once('close', r));
    chain.kill('SIGINT');
    await done;
  }
  t.cleanup();
});

describe('receipts that upgrade themselves', () => {
  it('record --receipts → info (pending) → upgrade after anchoring → upgrade after notarization → verified', () => {
    const file = join(t.dir, 'clip.mp4');
    writeFileSync(file, Buffer.alloc(2_500_000, 9));
    const dir = join(t.dir, 'receipts');
    mkdirSync(dir);
    const rec = liuhen([...d, '--json', 'record', file, '--receipts', dir]);
    expect(rec.status, rec.stderr).toBe(0);
    const [line] = jsonLines(rec.stdout);
    const r = join(dir, 'clip.mp4.receipt.json');
    expect(line).toMatchObject({ receipt: r, size: 2_500_000 });
    const original = JSON.parse(readFileSync(r, 'utf8'));
    expect(original.anchor).toBeNull();

    // info: readable, pending (exit 3); JSON with exact bytes.
    const info = liuhen([...d, 'receipt', 'info', r]);
    expect(info.status).toBe(3);
    expect(info.stdout).toContain(`record ${line.id}`);
    expect(info.stdout).toContain('2.50 MB (2500000 bytes');
    expect(info.stdout).toMatch(/anchored +not yet/);
    expect(JSON.parse(liuhen([...d, '--json', 'receipt', 'info', r]).stdout)).toMatchObject({
      record: line.id,
      file: { size: 2_500_000 },
      anchored: false,
      complete: false,
    });

    // Nothing on chain yet: unchanged, still pending.
    const pendingText = readFileSync(r, 'utf8');
    expect(liuhen([...d, 'receipt', 'upgrade', r]).status).toBe(3);
    expect(readFileSync(r, 'utf8')).toBe(pendingText);

    expect(liuhen([...d, 'anchor']).status).toBe(0);
    const up1 = liuhen([...d, '--json', 'receipt', 'upgrade', r]);
    expect(up1.status).toBe(3);
    expect(JSON.parse(up1.stdout)).toMatchObject({ upgraded: true, anchored: true, notaries: 0, complete: false });
    const anchored = JSON.parse(readFileSync(r, 'utf8'));
    expect(anchored.anchor).toMatchObject({ chainId: 27752 });
    // Only anchor and attestations were added.
    expect({ ...anchored, anchor: null, attestations: [] }).toEqual({ ...original, anchor: null, attestations: [] });

    const notary = liuhen([...d, 'notary', '--once']);
    expect(notary.status, notary.stderr).toBe(0);
    const up2 = liuhen([...d, '--json', 'receipt', 'upgrade', r]);
    expect(up2.status).toBe(0);
    expect(JSON.parse(up2.stdout)).toMatchObject({ upgraded: true, anchored: true, notaries: 1, complete: true });
    const info2 = liuhen([...d, 'receipt', 'info', r]);
    expect(info2.status).toBe(0);
    expect(info2.stdout).toMatch(/notary +0x[0-9a-fA-F]{40}, co-signed/);

    // Upgrading a complete receipt changes nothing.
    const before = readFileSync(r, 'utf8');
    expect(JSON.parse(liuhen([...d, '--json', 'receipt', 'upgrade', r]).stdout)).toMatchObject({ upgraded: false, complete: true });
    expect(readFileSync(r, 'utf8')).toBe(before);

    const v = liuhen([...d, 'verify', file, '--receipt', r, '--rpc', rpc]);
    expect(v.status, v.stdout).toBe(0);
    expect(v.stdout).toMatch(/VERIFIED/);
  }, 240_000);

  it('refuses to graft another batch’s anchor onto a receipt', () => {
    const file = join(t.dir, 'other.jpg');
    writeFileSync(file, Buffer.alloc(1000, 3));
    const dir = join(t.dir, 'r2');
    mkdirSync(dir);
    expect(liuhen([...d, 'record', file, '--receipts', dir]).status).toBe(0);
    expect(liuhen([...d, 'anchor']).status).toBe(0);
    const r = join(dir, 'other.jpg.receipt.json');
    const forged = JSON.parse(readFileSync(r, 'utf8'));
    forged.batch.size += 1; // claims a batch the registry does not hold
    writeFileSync(r, JSON.stringify(forged));
    const up = liuhen([...d, 'receipt', 'upgrade', r]);
    expect(up.status).not.toBe(0);
    expect(JSON.parse(readFileSync(r, 'utf8')).anchor).toBeNull();
  }, 120_000);
});
