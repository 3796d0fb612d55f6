/**
 * The Verify page's verdict is always about the (file, receipt) pair on
 * screen (issue 16.1): a late answer for an earlier pair is never shown, on
 * a slow link (CDP Network.emulateNetworkConditions, 400 ms latency) that
 * keeps the first request in flight while the user changes the file or the
 * receipt; a record-withheld receipt with a file never reads 已验证; the
 * page's own comparison only ever weakens the server's verdict.
 */
import { createHash } from 'node:crypto';
import type { CDPSession, Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { hasChromium, launchBrowser, suiteTitle, type Browser } from './browser.js';
import { buildFixture, type Fixture } from './fixture.js';
import { startTestServer, type TestServer } from './server.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

type ProbeEvent = { type: 'change'; id: string; at: number } | { type: 'verdict'; key: string; at: number };

/**
 * Installed before the page's scripts: every change of an input (seen in the
 * capture phase, before the page's own handler) and every verdict put on
 * screen (its status and its content check's), in order. A machine too busy
 * to look at the page within the emulated latency cannot hide a stale verdict.
 */
const PROBE = () => {
  const w = window as unknown as { __events: ProbeEvent[] };
  w.__events = [];
  document.addEventListener('change', (e) => w.__events.push({ type: 'change', id: (e.target as HTMLElement).id, at: performance.now() }), true);
  document.addEventListener('DOMContentLoaded', () => {
    let last = 'none';
    new MutationObserver(() => {
      const v = document.getElementById('verdict');
      const c = v?.querySelector<HTMLElement>('li.check[data-check="content"]');
      const key = v ? `${v.dataset.status}:${c?.dataset.status ?? '-'}` : 'none';
      if (key === last) return;
      last = key;
      w.__events.push({ type: 'verdict', key, at: performance.now() });
    }).observe(document.getElementById('result')!, { childList: true, subtree: true, attributes: true });
  });
};

describe.skipIf(!hasChromium)(suiteTitle('Verify page: the verdict belongs to the pair on screen'), () => {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let fx: Fixture;
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let cdp: CDPSession;
  const pageErrors: string[] = [];
  /** /v1/verify requests not yet finished or failed. */
  let inFlight = 0;
  let verifyRequests = 0;

  beforeAll(async () => {
    tmp = tempDir('liuhen-races-');
    fx = await buildFixture(tmp.dir);
    server = await startTestServer(fx.dataDir);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const isVerify = (r: Request) => r.method() === 'POST' && new URL(r.url()).pathname === '/v1/verify';
    page.on('request', (r) => {
      if (!isVerify(r)) return;
      inFlight += 1;
      verifyRequests += 1;
    });
    page.on('requestfinished', (r) => void (isVerify(r) && (inFlight -= 1)));
    page.on('requestfailed', (r) => void (isVerify(r) && (inFlight -= 1)));
    await page.addInitScript(PROBE);
    cdp = await browser.context.newCDPSession(page);
    await cdp.send('Network.enable');
  }, 120_000);

  afterEach(async () => {
    expect(pageErrors).toEqual([]);
    await page.unroute('**/v1/verify');
    await slowNetwork(false);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    tmp?.cleanup();
  });

  async function slowNetwork(on: boolean) {
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: on ? 400 : 0, downloadThroughput: -1, uploadThroughput: -1 });
  }

  const file = (name: string, buffer: Buffer, mimeType = 'application/octet-stream') => ({ name, mimeType, buffer });
  const receipt = (text: string, name = 'receipt.json') => file(name, Buffer.from(text), 'application/json');

  async function open() {
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('核验证据');
  }

  /** Waits until no verify request is in flight and a verdict is on screen for the file hashed. */
  async function settled(expectedSha: string) {
    await expect.poll(() => page.locator('#local-sha256').textContent(), { timeout: 30_000 }).toBe(expectedSha);
    await expect.poll(async () => inFlight === 0 && (await page.locator('#verdict').count()) === 1, { timeout: 30_000 }).toBe(true);
    // Longer than the emulated latency: any late answer would have landed by now.
    await page.waitForTimeout(1_000);
    expect(inFlight).toBe(0);
  }

  const status = (sel: string) => page.locator(sel).getAttribute('data-status');

  /**
   * Holds the answer to the first /v1/verify until `release()` (on top of the
   * emulated latency), so that the change always lands while it is in flight,
   * however busy the machine.
   */
  async function holdFirstVerify(): Promise<{ release: () => void }> {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let first = true;
    await page.route('**/v1/verify', async (route) => {
      if (first) {
        first = false;
        await released;
      }
      await route.continue().catch(() => undefined); // aborted by the page meanwhile
    });
    return { release };
  }

  /** The verdicts shown after the last change of an input: never a passing content check (the pair on screen differs). */
  async function verdictsAfterLastChange(): Promise<string[]> {
    const events = await page.evaluate(() => (window as unknown as { __events: ProbeEvent[] }).__events);
    const lastChange = events.map((e) => e.type).lastIndexOf('change');
    return events.slice(lastChange + 1).flatMap((e) => (e.type === 'verdict' && e.key !== 'none' ? [e.key] : []));
  }

  it('another file chosen while the first pair is being verified: the late answer is dropped, the new pair is verified', async () => {
    await open();
    await slowNetwork(true);
    const hold = await holdFirstVerify();
    await page.setInputFiles('#receipt-input', receipt(fx.receiptText));
    const first = page.waitForRequest((r) => new URL(r.url()).pathname === '/v1/verify');
    await page.setInputFiles('#file-input', file('clip.mp4', fx.clip, 'video/mp4'));
    const req = await first;
    expect(JSON.parse(req.postData() ?? '{}').sha256).toBe(fx.clipSha256);
    const before = verifyRequests;
    // The first answer is still on its way: change the file now, then let the answer come.
    await page.setInputFiles('#file-input', file('other.mp4', fx.tamperedClip, 'video/mp4'));
    hold.release();

    await settled(sha256(fx.tamperedClip));
    // Cleared at the change; the only verdict shown since is the new pair's.
    expect(await verdictsAfterLastChange()).toEqual(['failed:fail']);
    expect(verifyRequests).toBeGreaterThan(before);
    expect(await status('#local-result')).toBe('fail');
    expect(await status('#verdict')).toBe('failed');
    expect(await status('li.check[data-check="content"]')).toBe('fail');
    expect(await page.locator('li.check[data-check="content"]').getAttribute('data-code')).toBe('CONTENT_MISMATCH');
    expect(await page.locator('#verdict-banner').textContent()).not.toContain('未发现篡改');
  });

  it('another receipt chosen while the first pair is being verified: the late answer is dropped, the new pair is verified', async () => {
    await open();
    await slowNetwork(true);
    const hold = await holdFirstVerify();
    await page.setInputFiles('#receipt-input', receipt(fx.receiptText));
    const first = page.waitForRequest((r) => new URL(r.url()).pathname === '/v1/verify');
    await page.setInputFiles('#file-input', file('clip.mp4', fx.clip, 'video/mp4'));
    await first;
    const before = verifyRequests;
    await page.setInputFiles('#receipt-input', receipt(fx.photoReceiptText, 'photo-receipt.json'));
    hold.release();

    await settled(fx.clipSha256);
    expect(await verdictsAfterLastChange()).toEqual(['failed:fail']);
    expect(verifyRequests).toBeGreaterThan(before);
    // The clip against the photo's receipt: different files.
    expect(await status('#local-result')).toBe('fail');
    expect(await status('#verdict')).toBe('failed');
    expect(await status('li.check[data-check="content"]')).toBe('fail');
    expect(await page.locator('#verdict-banner').textContent()).not.toContain('未发现篡改');
    // And the right file for that receipt passes its content check.
    await page.setInputFiles('#file-input', file('photo.jpg', fx.photo, 'image/jpeg'));
    await settled(sha256(fx.photo));
    expect(await status('#local-result')).toBe('pass');
    expect(await status('li.check[data-check="content"]')).toBe('pass');
  });

  it('a record-withheld receipt with any file is never shown as verified, even when the server says so', async () => {
    // A server (an old one, or anything between) answering "verified" with content "pass":
    // the page cannot compare the file with a withheld record, so it must not agree.
    await page.route('**/v1/verify', (route) =>
      route.fulfill({
        json: {
          format: 'liuhen-verdict/1',
          status: 'verified',
          ok: true,
          leaf: fx.clipLeaf,
          root: null,
          checks: ['format', 'content', 'signature', 'leaf', 'inclusion', 'anchor', 'notary'].map((name) => ({
            name,
            ok: true,
            status: 'pass',
            code: name === 'content' ? 'CONTENT_MATCH' : '',
          })),
        },
      }),
    );
    for (const [name, bytes] of [
      ['clip.mp4', fx.clip],
      ['other.mp4', fx.tamperedClip],
      ['photo.jpg', fx.photo],
    ] as const) {
      await open();
      await page.setInputFiles('#receipt-input', receipt(fx.withheldReceiptText));
      await page.setInputFiles('#file-input', file(name, bytes));
      await settled(sha256(bytes));
      expect(await status('#local-result')).toBe('skipped');
      expect(await status('#verdict')).toBe('incomplete');
      expect(await status('li.check[data-check="content"]')).toBe('pending');
      expect(await page.locator('#verdict-banner').textContent()).not.toContain('已验证');
    }
    // The real server, with the same receipt and file: not verified either.
    await page.unroute('**/v1/verify');
    await open();
    await page.setInputFiles('#receipt-input', receipt(fx.withheldReceiptText));
    await page.setInputFiles('#file-input', file('other.mp4', fx.tamperedClip));
    await settled(sha256(fx.tamperedClip));
    expect(await status('#verdict')).not.toBe('verified');
    expect(await page.locator('#verdict-banner').textContent()).not.toContain('已验证');
  });

  it("the page's own comparison only weakens: a local mismatch fails a server 'verified', a local match does not upgrade", async () => {
    await page.route('**/v1/verify', (route) =>
      route.fulfill({
        json: {
          format: 'liuhen-verdict/1',
          status: 'verified',
          ok: true,
          leaf: fx.clipLeaf,
          root: null,
          checks: ['format', 'content', 'signature', 'leaf', 'inclusion'].map((name) => ({ name, ok: true, status: 'pass', code: '' })),
        },
      }),
    );
    await open();
    await page.setInputFiles('#receipt-input', receipt(fx.receiptText));
    await page.setInputFiles('#file-input', file('other.mp4', fx.tamperedClip));
    await settled(sha256(fx.tamperedClip));
    expect(await status('#verdict')).toBe('failed');
    expect(await status('li.check[data-check="content"]')).toBe('fail');

    await page.route('**/v1/verify', (route) =>
      route.fulfill({
        json: {
          format: 'liuhen-verdict/1',
          status: 'incomplete',
          ok: false,
          leaf: fx.clipLeaf,
          root: null,
          checks: [
            { name: 'content', status: 'pending', code: '' },
            { name: 'anchor', status: 'pending', code: '' },
          ],
        },
      }),
    );
    await open();
    await page.setInputFiles('#receipt-input', receipt(fx.receiptText));
    await page.setInputFiles('#file-input', file('clip.mp4', fx.clip));
    await settled(fx.clipSha256);
    expect(await status('#local-result')).toBe('pass');
    expect(await status('#verdict')).toBe('incomplete');
    expect(await status('li.check[data-check="content"]')).toBe('pending');
  });
});
