/**
 * The Verify page in a real browser: a good file and a tampered one, the
 * file's bytes never sent, the receipt's QR code, the public QR target
 * /v/:leaf and a record's receipt view.
 */
import { createHash } from 'node:crypto';
import QRCode from 'qrcode';
import type { Page, Request } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QR_OPTIONS } from '../../gateway/pages/router.js';
import { tempDir } from '../helpers/tmp.js';
import { hasChromium, launchBrowser, suiteTitle, type Browser } from './browser.js';
import { AGENCY, buildFixture, type Fixture } from './fixture.js';
import { startTestServer, type TestServer } from './server.js';

describe.skipIf(!hasChromium)(suiteTitle('Verify page'), () => {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let fx: Fixture;
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  /** Every request body the browser sent, across the suite. */
  const sent: { url: string; body: Buffer }[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = tempDir('liuhen-pages-');
    fx = await buildFixture(tmp.dir);
    server = await startTestServer(fx.dataDir);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('request', (r: Request) => sent.push({ url: r.url(), body: r.postDataBuffer() ?? Buffer.alloc(0) }));
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterEach(() => expect(pageErrors).toEqual([]));

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    tmp?.cleanup();
  });

  const receiptFile = () => ({ name: 'receipt.json', mimeType: 'application/json', buffer: Buffer.from(fx.receiptText) });

  it('a good file: hashed locally with progress, content check passes, nothing fails', async () => {
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('核验证据');
    await page.setInputFiles('#receipt-input', receiptFile());
    await page.setInputFiles('#file-input', { name: 'clip.mp4', mimeType: 'video/mp4', buffer: fx.clip });

    const verdict = page.locator('#verdict');
    await verdict.waitFor();
    // The hash the page computed is the file's SHA-256, over every byte (the progress bar reached the total).
    expect(await page.locator('#local-sha256').textContent()).toBe(fx.clipSha256);
    const progress = page.locator('#progress-text');
    expect(await progress.getAttribute('data-done')).toBe(String(fx.clip.length));
    expect(await progress.getAttribute('data-total')).toBe(String(fx.clip.length));
    expect(await page.locator('#hash-progress').evaluate((el: HTMLProgressElement) => el.value === el.max)).toBe(true);

    expect(await page.locator('#local-result').getAttribute('data-status')).toBe('pass');
    const content = page.locator('li.check[data-check="content"]');
    expect(await content.getAttribute('data-status')).toBe('pass');
    expect(await content.getAttribute('data-code')).toBe('CONTENT_MATCH');
    for (const name of ['format', 'signature', 'leaf', 'inclusion'])
      expect(await page.locator(`li.check[data-check="${name}"]`).getAttribute('data-status')).toBe('pass');
    expect(await page.locator('li.check[data-status="fail"]').count()).toBe(0);
    // This server consults no chain: anchoring and notarization are pending, so the verdict is incomplete, not failed.
    expect(await verdict.getAttribute('data-status')).toBe('incomplete');
    await expect.poll(() => page.locator('#verdict-banner').textContent()).toContain('未发现篡改');
    await expect.poll(() => page.locator('li.check[data-check="anchor"]').textContent()).toContain('待确认');
  });

  it('the receipt view shows a QR code for <origin>/v/<leaf>, and the image encodes exactly that link', async () => {
    const link = `${server.url}/v/${fx.clipLeaf}`;
    const qr = page.locator('#receipt-qr');
    expect(await qr.getAttribute('data-link')).toBe(link);
    await expect.poll(() => qr.locator('a.qr-link').textContent()).toBe(link);
    expect(await qr.locator('a.qr-link').getAttribute('href')).toBe(link);
    const img = qr.locator('img');
    expect(await img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0)).toBe(true);
    const src = await img.getAttribute('src');
    const svg = await (await fetch(new URL(src!, server.url))).text();
    expect(svg).toBe(await QRCode.toString(link, QR_OPTIONS));
    // The QR endpoint encodes verification links only.
    expect((await fetch(`${server.url}/qr.svg?link=${encodeURIComponent('https://evil.example/phish')}`)).status).toBe(400);
  });

  it('a tampered file dropped with its receipt: the verdict fails and names the content check', async () => {
    await page.goto(`${server.url}/`);
    const dataTransfer = await page.evaluateHandle(
      ({ receipt, clip }) => {
        const dt = new DataTransfer();
        dt.items.add(new File([receipt], 'receipt.json', { type: 'application/json' }));
        dt.items.add(new File([Uint8Array.from(atob(clip), (c) => c.charCodeAt(0))], 'clip.mp4', { type: 'video/mp4' }));
        return dt;
      },
      { receipt: fx.receiptText, clip: fx.tamperedClip.toString('base64') },
    );
    await page.dispatchEvent('#dropzone', 'drop', { dataTransfer });

    const verdict = page.locator('#verdict');
    await verdict.waitFor();
    expect(await page.locator('#local-sha256').textContent()).toBe(createHash('sha256').update(fx.tamperedClip).digest('hex'));
    expect(await page.locator('#local-result').getAttribute('data-status')).toBe('fail');
    expect(await verdict.getAttribute('data-status')).toBe('failed');
    const content = page.locator('li.check[data-check="content"]');
    expect(await content.getAttribute('data-status')).toBe('fail');
    expect(await content.getAttribute('data-code')).toBe('CONTENT_MISMATCH');
    await expect.poll(() => content.textContent()).toContain('文件与记录中的不一致');
    await expect.poll(() => page.locator('#verdict-failed').textContent()).toBe('未通过的检查:文件内容');
    // Only the content check fails: the receipt itself is intact.
    expect(await page.locator('li.check[data-status="fail"]').count()).toBe(1);

    // The same verdict in English.
    await page.click('#lang-toggle');
    await expect.poll(() => page.locator('#verdict-failed').textContent()).toBe('Failed checks: File content');
    await expect.poll(() => content.textContent()).toContain('The file differs from the one recorded');
    await page.click('#lang-toggle');
    await expect.poll(() => page.locator('#verdict-failed').textContent()).toBe('未通过的检查:文件内容');
  });

  it('the file bytes were never sent: request bodies are small and hold no part of the file', async () => {
    const posts = sent.filter((s) => s.body.length > 0);
    expect(posts.map((p) => new URL(p.url).pathname)).toEqual(['/v1/verify', '/v1/verify']);
    expect(posts.every((p) => p.body.length > 0)).toBe(true);
    const slice = fx.clip.subarray(2_000_000, 2_000_064);
    for (const p of posts) {
      expect(p.body.length).toBeLessThan(16 * 1024);
      expect(p.body.includes(fx.marker)).toBe(false);
      expect(p.body.includes(slice)).toBe(false);
      expect(p.body.includes(slice.toString('hex'))).toBe(false);
      expect(p.body.includes(slice.toString('base64'))).toBe(false);
      const json = JSON.parse(p.body.toString('utf8')) as { receipt: unknown; sha256: string };
      expect(Object.keys(json).sort()).toEqual(['receipt', 'sha256']);
    }
    // And the server side agrees: no request it read, headers included, came anywhere near the clip's size.
    const verifies = server.received.filter((r) => r.path === '/v1/verify');
    expect(verifies.map((r) => r.method)).toEqual(['POST', 'POST']);
    for (const r of server.received) expect(r.bytes).toBeLessThan(16 * 1024);
  });

  it('a receipt that is not a receipt: the format check fails, in plain words', async () => {
    await page.goto(`${server.url}/`);
    const broken = JSON.parse(fx.receiptText) as { inclusion: { path: string[] } };
    broken.inclusion.path.push(`0x${'00'.repeat(32)}`);
    await page.setInputFiles('#receipt-input', { name: 'receipt.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(broken)) });
    await page.click('#run');
    await page.locator('#verdict').waitFor();
    expect(await page.locator('#verdict').getAttribute('data-status')).toBe('failed');
    const format = page.locator('li.check[data-check="format"]');
    expect(await format.getAttribute('data-code')).toBe('INVALID_RECEIPT');
    expect(await format.textContent()).toContain('回执不完整、格式错误');
    await page.setInputFiles('#receipt-input', { name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"hello": 1}') });
    await expect.poll(() => page.locator('#receipt-status').textContent()).toContain('不是留痕回执');
    expect(await page.locator('#run').isDisabled()).toBe(true);
  });

  it('the QR target /v/<leaf> shows the public verdict without personal data', async () => {
    await page.goto(`${server.url}/v/${fx.clipLeaf}`);
    const box = page.locator('#public');
    await box.locator('#public-status').waitFor();
    await expect.poll(() => box.textContent()).toContain(AGENCY);
    await expect.poll(() => box.textContent()).toContain('尚未上链');
    await expect.poll(() => box.textContent()).toContain('尚未公证');
    expect(await box.locator('#receipt-qr').getAttribute('data-link')).toBe(`${server.url}/v/${fx.clipLeaf}`);
    // No officer number, no device, no case number on the public page.
    const text = (await box.textContent()) ?? '';
    for (const secret of ['37010012345', '济市监罚', 'BWC-0001']) expect(text).not.toContain(secret);

    await page.goto(`${server.url}/v/0x${'ab'.repeat(32)}`);
    await expect.poll(() => page.locator('#public').textContent()).toContain('没有这条记录');
    await page.goto(`${server.url}/v/not-a-leaf`);
    await expect.poll(() => page.locator('#public').textContent()).toContain('链接无效');
  });

  it("a record's receipt view (supervisor) shows its QR code and verifies the receipt", async () => {
    await page.goto(`${server.url}/records/${fx.clipRecordId}`);
    await page.fill('#token-input', server.supervisorToken);
    await page.click('#token-form button[type=submit]');
    await page.locator('#receipt-qr').waitFor();
    expect(await page.locator('#receipt-qr').getAttribute('data-link')).toBe(`${server.url}/v/${fx.clipLeaf}`);
    await expect.poll(() => page.locator('#content').textContent()).toContain(fx.clipSha256);
    await page.click('#verify-receipt');
    await page.locator('#verdict').waitFor();
    expect(await page.locator('li.check[data-check="content"]').getAttribute('data-status')).toBe('skipped');
    expect(await page.locator('li.check[data-status="fail"]').count()).toBe(0);
  });
});
