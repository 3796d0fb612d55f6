/**
 * Flat memory: a child `node --max-old-space-size=64` stores and reads back a
 * 256 MiB generated stream. The hashes must agree three ways and the peak RSS
 * must stay well below the file size.
 *
 * What the RSS holds: ~90 MiB of Node + tsx + modules before the first byte
 * (`baselineRssBytes`), a few MiB of buffers in flight (importer batch, write
 * queue, two 4 MiB read windows), and up to ~64 MiB of spent Buffers that V8
 * frees lazily (its external-memory GC trigger). None of it grows with the file.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, tempDir } from './helpers.js';

const FILE_BYTES = 256 * 1024 * 1024;
const MiB = 1024 * 1024;
const child = fileURLToPath(new URL('./fixtures/roundtrip-child.ts', import.meta.url));

interface ChildReport {
  generatedSha256: string;
  putSha256: string;
  getSha256: string;
  putSize: number;
  getSize: number;
  baselineRssBytes: number;
  maxRssBytes: number;
  heapLimitBytes: number;
}

function runChild(dir: string): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--max-old-space-size=64', '--import', 'tsx', child, dir], {
      env: { ...process.env, LIUHEN_ROUNDTRIP_BYTES: String(FILE_BYTES) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`child exited ${code}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildReport);
    });
  });
}

describe('flat memory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('liuhen-memory-');
  });
  afterAll(async () => cleanup(dir));

  it('round-trips 256 MiB under a 64 MiB old-space limit with peak RSS well below the file size', async () => {
    const r = await runChild(join(dir, 'run'));
    expect(r.putSize).toBe(FILE_BYTES);
    expect(r.getSize).toBe(FILE_BYTES);
    expect(r.putSha256).toBe(r.generatedSha256);
    expect(r.getSha256).toBe(r.generatedSha256);
    // the numbers, for whoever reads the test log
    console.info(`peak RSS ${(r.maxRssBytes / MiB).toFixed(0)} MiB (baseline ${(r.baselineRssBytes / MiB).toFixed(0)} MiB) for a ${FILE_BYTES / MiB} MiB file`);
    expect(r.maxRssBytes).toBeLessThan(0.75 * FILE_BYTES);
    expect(r.maxRssBytes - r.baselineRssBytes).toBeLessThan(FILE_BYTES / 2);
  }, 120_000);
});
