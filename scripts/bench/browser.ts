/**
 * The Verify page's hashing in Chromium against `sha256sum` on the same file,
 * in the same run (issue 11, goal 2: target ≥ 0.6×).
 *
 *   npx tsx scripts/bench/browser.ts              # 512 MiB generated file
 *   LIUHEN_BENCH_BYTES=268435456 npx tsx scripts/bench/browser.ts
 *   LIUHEN_BENCH_FILE=/path/clip.mp4 npx tsx scripts/bench/browser.ts
 *
 * The page's own module (web/js/hash.js → the hashing Web Worker → hash-wasm)
 * hashes a file chosen through a file input, served by the gateway's pages
 * router behind helmet as in createApp. Each side runs twice, interleaved
 * (sha256sum, browser, sha256sum, browser), and the best of each is kept: the
 * machine is shared and noisy. Emits:
 *   {"bench":"browser.sha256sum","bytes":…,"seconds":…,"MBps":…}
 *   {"bench":"browser.hash","bytes":…,"seconds":…,"MBps":…,"vsSha256sum":…}
 *   {"bench":"browser.hash.memory","bytes":…,"chromiumRssBeforeMB":…,"chromiumRssPeakMB":…,"growthMB":…}
 * or {"bench":"browser.hash","skipped":…} without /usr/bin/chromium.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import express from 'express';
import helmet from 'helmet';
import { chromium } from 'playwright-core';
import { createPagesRouter } from '../../gateway/pages/router.js';
import { generate, round, sha256sum } from './files.js';

const CHROMIUM = '/usr/bin/chromium';
const MiB = 1024 * 1024;

/** Resident memory (bytes) of every process descending from this one: the browser and its renderer, GPU and utility processes. */
function descendantsRss(): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
      rss.set(Number(name), Number(fields[21]) * 4096);
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  for (const [pid, bytes] of rss) {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) {
      if (p === process.pid) {
        total += bytes;
        break;
      }
    }
  }
  return total;
}

export async function run(emit: (line: Record<string, unknown>) => void, opts: { sizeBytes?: number } = {}): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    emit({ bench: 'browser.hash', skipped: `${CHROMIUM} not installed` });
    return;
  }
  const work = await mkdtemp(join(tmpdir(), 'liuhen-bench-browser-'));
  const app = express();
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use(createPagesRouter());
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const profile = join(work, 'profile');
  let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
  try {
    let file = process.env.LIUHEN_BENCH_FILE;
    if (file === undefined || file === '') {
      file = join(work, 'evidence.bin');
      await generate(file, opts.sizeBytes ?? 512 * MiB);
    }
    const bytes = (await stat(file)).size;
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
    const page = await context.newPage();
    await page.goto(`${url}/`);
    // A file input of its own, so that the page's handler does not hash the file too.
    await page.evaluate(() => {
      const input = document.createElement('input');
      input.type = 'file';
      input.id = 'bench-input';
      document.body.append(input);
    });
    await page.setInputFiles('#bench-input', file);

    let bestSum = Infinity;
    let bestBrowser = Infinity;
    const baseRss = descendantsRss();
    let peakRss = baseRss;
    let expected: string | undefined;
    for (let i = 0; i < 2; i++) {
      const t = performance.now();
      expected = await sha256sum(file);
      if (expected === undefined) break;
      bestSum = Math.min(bestSum, (performance.now() - t) / 1000);
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, descendantsRss())), 100);
      const r = await page
        .evaluate(async (moduleUrl) => {
          const { hashFile } = (await import(moduleUrl)) as { hashFile: (f: File) => Promise<{ sha256: string; size: number }> };
          const f = (document.getElementById('bench-input') as HTMLInputElement).files![0]!;
          const t0 = performance.now();
          const out = await hashFile(f);
          return { ...out, ms: performance.now() - t0 };
        }, '/static/js/hash.js')
        .finally(() => clearInterval(sampler));
      if (r.size !== bytes) throw new Error(`the page hashed ${r.size} bytes, want ${bytes}`);
      if (r.sha256 !== expected) throw new Error(`the page hashed ${r.sha256}, sha256sum says ${expected}`);
      bestBrowser = Math.min(bestBrowser, r.ms / 1000);
    }
    if (expected === undefined) {
      emit({ bench: 'browser.hash', skipped: 'sha256sum not available' });
      return;
    }
    const sumMBps = bytes / 1e6 / bestSum;
    const browserMBps = bytes / 1e6 / bestBrowser;
    emit({ bench: 'browser.sha256sum', bytes, seconds: round(bestSum), MBps: round(sumMBps, 1) });
    emit({
      bench: 'browser.hash',
      bytes,
      seconds: round(bestBrowser),
      MBps: round(browserMBps, 1),
      vsSha256sum: round(browserMBps / sumMBps, 2),
      engine: 'hash-wasm in a Web Worker over File.stream()',
    });
    // Memory flat in the file size: Chromium's processes grow by far less than the file while it is hashed.
    emit({
      bench: 'browser.hash.memory',
      bytes,
      chromiumRssBeforeMB: round(baseRss / 2 ** 20, 0),
      chromiumRssPeakMB: round(peakRss / 2 ** 20, 0),
      growthMB: round((peakRss - baseRss) / 2 ** 20, 0),
    });
  } finally {
    await context?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const size = process.env.LIUHEN_BENCH_BYTES ? Number(process.env.LIUHEN_BENCH_BYTES) : undefined;
  run((l) => console.log(JSON.stringify(l)), size ? { sizeBytes: size } : {}).catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
