import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, jsonLines, liuhen } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Issue 14: `liuhen anchor --watch` keeps the receipts written by `liuhen
 * record --receipts DIR` up to date. On a real chain (the embedded Anvil of
 * `liuhen chain`): a receipt is written pending, a running `anchor --watch`
 * completes the file in place once its batch is anchored, and again once
 * `liuhen notary --once` has co-signed it; the note is then dropped and the
 * receipt verifies. A watched receipt whose file was deleted is dropped too.
 */
const t = tempDir();
const data = join(t.dir, 'data');
const d = ['--data', data];
const procs: ChildProcess[] = [];
let rpc: string;

/** Starts the CLI in the background with --json; resolves its stdout lines as they come. */
function background(args: string[], env: Record<string, string> = {}) {
  const p = spawn(process.execPath, [BIN, ...d, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  procs.push(p);
  const out = { text: '', err: '' };
  p.stdout!.setEncoding('utf8').on('data', (s: string) => (out.text += s));
  p.stderr!.setEncoding('utf8').on('data', (s: string) => (out.err += s));
  return { p, out };
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 120_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('close', r));
  p.kill('SIGINT');
  await done;
}

beforeAll(async () => {
  expect(liuhen([...d, 'init', '--agency', 'JN-CG', '--device', 'cam-01', '--officer', '37010001']).status).toBe(0);
  const chain = background(['chain', '--port', '0']);
  await until('the chain', () => chain.out.text.includes('\n'));
  rpc = JSON.parse(chain.out.text.split('\n')[0]!).rpc;
  const dep = liuhen([...d, 'deploy', '--rpc', rpc]);
  expect(dep.status, dep.stderr).toBe(0);
}, 180_000);

afterAll(async () => {
  for (const p of procs.reverse()) await stop(p);
  t.cleanup();
});

describe('anchor --watch completes pending receipts in place', () => {
  it('pending → anchored → notarized, in the same file, while anchor --watch runs', async () => {
    const file = join(t.dir, 'clip.mp4');
    writeFileSync(file, Buffer.alloc(300_000, 7));
    const gone = join(t.dir, 'gone.jpg');
    writeFileSync(gone, Buffer.alloc(1000, 1));
    const dir = join(t.dir, 'receipts');
    mkdirSync(dir);
    const rec = liuhen([...d, '--json', 'record', file, gone, '--receipts', dir]);
    expect(rec.status, rec.stderr).toBe(0);
    const [line] = jsonLines(rec.stdout);
    const r = join(dir, 'clip.mp4.receipt.json');
    const original = JSON.parse(readFileSync(r, 'utf8'));
    expect(original.anchor).toBeNull();
    // Two notes, one per pending receipt; the file of one is then deleted by the user.
    const notes = join(data, 'receipts-watch');
    expect(readdirSync(notes).sort()).toHaveLength(2);
    const goneReceipt = join(dir, 'gone.jpg.receipt.json');
    const { rmSync } = await import('node:fs');
    rmSync(goneReceipt);

    const watch = background(['anchor', '--watch'], { LIUHEN_RECEIPT_WATCH_MS: '300' });
    const events = () => jsonLines(watch.out.text.split('\n').slice(0, -1).join('\n') || '');
    const anchored = await until('the receipt anchored in place', () => {
      const now = JSON.parse(readFileSync(r, 'utf8'));
      return now.anchor ? now : undefined;
    });
    expect(anchored.anchor).toMatchObject({ chainId: 27752, blockNumber: expect.any(Number) });
    expect(anchored.attestations).toEqual([]);
    // Only anchor (and attestations) are added: everything the receipt stated stays.
    expect({ ...anchored, anchor: null }).toEqual(original);
    expect(events()).toContainEqual(expect.objectContaining({ type: 'receipt-upgraded', id: line.id, anchored: true, complete: false }));
    expect(events()).toContainEqual(expect.objectContaining({ type: 'receipt-gone', path: goneReceipt }));
    expect(readdirSync(notes)).toEqual([`${line.id}.json`]);

    // The notary co-signs (another process); the running watcher completes the file.
    const notary = liuhen([...d, 'notary', '--once']);
    expect(notary.status, notary.stderr).toBe(0);
    const complete = await until('the receipt notarized in place', () => {
      const now = JSON.parse(readFileSync(r, 'utf8'));
      return now.attestations.length > 0 ? now : undefined;
    });
    expect(complete.anchor).toEqual(anchored.anchor);
    expect(complete.attestations[0]).toMatchObject({ notary: expect.stringMatching(/^0x[0-9a-fA-F]{40}$/) });
    await until('the complete event', () => events().some((e) => e.type === 'receipt-upgraded' && e.complete === true));
    await until('the note dropped', () => readdirSync(notes).length === 0);

    await stop(watch.p);
    expect(watch.p.exitCode, watch.out.err).toBe(0);
    expect(existsSync(r)).toBe(true);
    const v = liuhen([...d, 'verify', file, '--receipt', r, '--rpc', rpc]);
    expect(v.status, v.stdout).toBe(0);
    expect(v.stdout).toMatch(/VERIFIED/);
  }, 240_000);
});
