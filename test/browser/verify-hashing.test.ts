/**
 * Hashing a big file on the Verify page (issue 11, goal 2): the hash runs in a
 * Web Worker, the page's main thread has no task over 100 ms while a 256 MB
 * file is hashed (Long Tasks API), progress is painted several times a
 * second, a click is answered during the hash, and cancel stops it. The big
 * file is generated in a temp folder and removed afterwards.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_CSP } from '../../gateway/pages/router.js';
import { tempDir } from '../helpers/tmp.js';
import { hasChromium, launchBrowser, suiteTitle, type Browser } from './browser.js';
import { buildFixture, type Fixture } from './fixture.js';
import { startTestServer, type TestServer } from './server.js';

const BIG = 256 * 1024 * 1024;

/** A file of `size` bytes (a random 1 MiB block repeated, its last block made unique), without holding it in memory. */
export function writeBigFile(path: string, size: number): void {
  const block = randomBytes(1024 * 1024);
  const fd = openSync(path, 'w');
  try {
    for (let off = 0; off < size; off += block.length) {
      if (off + block.length >= size) block.writeUInt32BE(off >>> 20, 0);
      writeSync(fd, block, 0, Math.min(block.length, size - off));
    }
  } finally {
    closeSync(fd);
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Installed before the page's scripts: long tasks and every change of the progress text, with their times. */
const PROBE = () => {
  const w = window as unknown as { __longTasks: { start: number; duration: number }[]; __progress: { at: number; done: number }[] };
  w.__longTasks = [];
  w.__progress = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.__longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  document.addEventListener('DOMContentLoaded', () => {
    const text = document.getElementById('progress-text')!;
    new MutationObserver(() => w.__progress.push({ at: performance.now(), done: Number(text.dataset.done ?? 0) })).observe(text, {
      attributes: true,
      attributeFilter: ['data-done'],
    });
  });
};

describe.skipIf(!hasChromium)(suiteTitle('Verify page: hashing a big file'), () => {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let fx: Fixture;
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let bigPath: string;
  let bigSha: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = tempDir('liuhen-hashing-');
    fx = await buildFixture(tmp.dir);
    bigPath = join(tmp.dir, 'big.mp4');
    writeBigFile(bigPath, BIG);
    bigSha = await sha256File(bigPath);
    server = await startTestServer(fx.dataDir);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.addInitScript(PROBE);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    tmp?.cleanup();
  });

  it('the worker and hash-wasm are served from the gateway, the worker with a policy allowing WebAssembly only', async () => {
    const worker = await fetch(`${server.url}/static/js/hash-worker.js`);
    expect(worker.status).toBe(200);
    expect(worker.headers.get('content-security-policy')).toBe(WORKER_CSP);
    expect(WORKER_CSP).toContain("'wasm-unsafe-eval'");
    expect(WORKER_CSP.split(/[\s;]+/)).not.toContain("'unsafe-eval'");
    const lib = await fetch(`${server.url}/vendor/hash-wasm/sha256.umd.min.js`);
    expect(lib.status).toBe(200);
    expect(lib.headers.get('content-type')).toMatch(/javascript/);
    expect((await lib.text()).length).toBeGreaterThan(10_000);
    // Nothing else from node_modules.
    expect((await fetch(`${server.url}/vendor/hash-wasm/index.umd.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/vendor/hash-wasm/..%2Fpackage.json`)).status).toBe(404);
    // The page itself keeps helmet's policy: no WebAssembly, no eval.
    const html = await fetch(`${server.url}/`);
    expect(html.headers.get('content-security-policy')).not.toContain('wasm-unsafe-eval');
  });

  it('a 256 MB file: the right SHA-256, no main-thread task over 100 ms, progress painted as it goes, a click answered during the hash', async () => {
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('核验证据');
    const t0 = await page.evaluate(() => performance.now());
    await page.setInputFiles('#file-input', bigPath);
    // While hashing: the language button answers.
    await expect.poll(() => page.evaluate(() => Number(document.getElementById('progress-text')!.dataset.done ?? 0))).toBeGreaterThan(0);
    await page.click('#lang-toggle');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Verify evidence');
    await page.click('#lang-toggle');
    await expect.poll(() => page.locator('#local-sha256').textContent(), { timeout: 240_000 }).toBe(bigSha);
    const t1 = await page.evaluate(() => performance.now());

    const { longTasks, progress } = await page.evaluate(() => {
      const w = window as unknown as { __longTasks: { start: number; duration: number }[]; __progress: { at: number; done: number }[] };
      return { longTasks: w.__longTasks, progress: w.__progress };
    });
    const during = longTasks.filter((t) => t.start >= t0 && t.start <= t1);
    const longest = Math.max(0, ...during.map((t) => t.duration));
    console.info(
      `hashing ${BIG / 2 ** 20} MiB in the page: ${((t1 - t0) / 1000).toFixed(1)} s, longest main-thread task ${longest.toFixed(0)} ms, ${progress.length} progress paints`,
    );
    expect(longest).toBeLessThan(100);

    // Progress: many intermediate values, increasing, ending at the size; the median gap
    // between paints is at most 250 ms (≥ 4 per second; the worker reports every 100 ms).
    const steps = progress.filter((p) => p.at >= t0);
    const partial = steps.filter((p) => p.done > 0 && p.done < BIG);
    expect(partial.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < steps.length; i++) expect(steps[i]!.done).toBeGreaterThanOrEqual(steps[i - 1]!.done);
    expect(steps.at(-1)!.done).toBe(BIG);
    const gaps = partial
      .slice(1)
      .map((p, i) => p.at - partial[i]!.at)
      .sort((a, b) => a - b);
    expect(gaps[Math.floor(gaps.length / 2)]!).toBeLessThanOrEqual(250);
    expect(pageErrors).toEqual([]);
  }, 300_000);

  it('cancel stops the hash: no more progress, no hash, and the next file is hashed normally', async () => {
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('核验证据');
    await page.setInputFiles('#file-input', bigPath);
    const done = () => page.evaluate(() => Number(document.getElementById('progress-text')!.dataset.done ?? 0));
    await expect.poll(done).toBeGreaterThan(0);
    await page.click('#cancel-hash');
    expect(await page.locator('#progress').getAttribute('data-state')).toBe('cancelled');
    expect(await page.locator('#cancel-hash').isHidden()).toBe(true);
    await expect.poll(() => page.locator('#progress-label').textContent()).toBe('已取消计算');
    const stoppedAt = await done();
    expect(stoppedAt).toBeLessThan(BIG);
    await page.waitForTimeout(1_500);
    expect(await done()).toBe(stoppedAt);
    expect(await page.locator('#local-sha256').count()).toBe(0);

    await page.setInputFiles('#file-input', { name: 'clip.mp4', mimeType: 'video/mp4', buffer: fx.clip });
    await expect.poll(() => page.locator('#local-sha256').textContent()).toBe(fx.clipSha256);
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
