/**
 * The supervisor pages in a real browser: a case with a decision and no legal
 * review, a body camera with a deleted clip and a replaced record, the token
 * asked once per tab, the language toggle, and hostile server text rendered
 * as text.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { hasChromium, launchBrowser, suiteTitle, type Browser } from './browser.js';
import { CASE_ID, DEVICE_ID, buildFixture } from './fixture.js';
import { startTestServer, type TestServer } from './server.js';

describe.skipIf(!hasChromium)(suiteTitle('Case and device pages'), () => {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const text = (selector: string) => page.locator(selector).first().textContent();

  beforeAll(async () => {
    tmp = tempDir('liuhen-pages-');
    const fx = await buildFixture(tmp.dir);
    server = await startTestServer(fx.dataDir);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  afterEach(() => expect(pageErrors).toEqual([]));

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    tmp?.cleanup();
  });

  it('the case page asks for a token, refuses a wrong one, then shows the timeline with the missing review', async () => {
    const authHeaders: (string | undefined)[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/v1/cases/')) authHeaders.push(r.headers().authorization);
    });
    await page.goto(`${server.url}/cases/${encodeURIComponent(CASE_ID)}`);
    expect(await text('#subject')).toBe(CASE_ID);
    await page.fill('#token-input', 'wrong-token');
    await page.click('#token-form button[type=submit]');
    await expect.poll(() => text('#token-form')).toContain('令牌无效');
    await page.fill('#token-input', server.supervisorToken);
    await page.click('#token-form button[type=submit]');
    await page.locator('#timeline').waitFor();
    expect(authHeaders).toEqual(['Bearer wrong-token', `Bearer ${server.supervisorToken}`]);

    // Stage markers in process order; review is missing, the decision is flagged.
    const stages = page.locator('li.stage');
    expect(await stages.evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset.stage}:${(e as HTMLElement).dataset.state}`))).toEqual([
      'onsite:ok',
      'filing:ok',
      'investigation:ok',
      'review:missing',
      'decision:flagged',
      'service:ok',
      'execution:empty',
      'closing:empty',
    ]);
    const review = page.locator('li.stage[data-stage="review"]');
    expect(await review.textContent()).toContain('法制审核');
    expect(await review.textContent()).toContain('缺少法制审核');

    // The finding, highlighted, in plain words, with the decision record it concerns.
    const finding = page.locator('li.finding[data-code="CASE_DECISION_WITHOUT_REVIEW"]');
    expect(await finding.getAttribute('data-severity')).toBe('high');
    expect(await finding.locator('.finding-title').textContent()).toBe('缺少法制审核');
    expect(await finding.textContent()).toContain('作出决定之前没有法制审核记录');
    expect(await page.locator('li.finding').count()).toBe(1);
    const decision = page.locator('li.stage[data-stage="decision"] li.record');
    expect(await decision.getAttribute('data-flagged')).toBe('true');
    expect(await decision.locator('.badge').textContent()).toBe('缺少法制审核');
    expect(await decision.getAttribute('data-kind')).toBe('document');
    expect(await decision.textContent()).toContain('文书');

    // Every record with its kind, time, device and anchoring/notary status (sealed here: this server has no chain).
    expect(await page.locator('li.record').count()).toBe(5);
    expect(await page.locator('li.record .anchor[data-anchor="sealed"]').count()).toBe(5);
    expect(await page.locator('li.record .notary[data-notary="pending"]').count()).toBe(5);
    const onsite = page.locator('li.stage[data-stage="onsite"] li.record');
    expect(await onsite.getAttribute('data-kind')).toBe('video');
    expect(await onsite.textContent()).toContain('BWC-0001');
    expect(await onsite.textContent()).toContain('video/mp4');
    expect(await onsite.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);

    // English, remembered across a reload.
    await page.click('#lang-toggle');
    expect(await finding.locator('.finding-title').textContent()).toBe('Decision without legal review');
    await page.reload();
    await page.locator('#timeline').waitFor();
    expect(await text('li.stage[data-stage="review"] .stage-name')).toContain('Legal review');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    await page.click('#lang-toggle');
    expect(await text('li.stage[data-stage="review"] .stage-name')).toContain('法制审核');
  });

  it('the device page shows the deleted clip as a hole and the replaced record as breaks', async () => {
    // Same tab: the token is not asked again.
    await page.goto(`${server.url}/devices/${DEVICE_ID}`);
    await page.locator('#sequence').waitFor();
    expect(await page.locator('#token-form').count()).toBe(0);
    expect(await text('#device-summary')).toBe('共 7 条记录,最后序号 8');

    const cells = await page.locator('#cells li').evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset.seq}:${(e as HTMLElement).dataset.state}`));
    expect(cells).toEqual(['1:ok', '2:ok', '3:hole', '4:ok', '5:ok', '6:break', '7:break', '8:ok']);
    expect(await page.locator('#cells li[data-seq="3"]').getAttribute('aria-label')).toBe('序号 3:缺失');

    const holes = page.locator('#holes li');
    expect(await holes.count()).toBe(1);
    expect(await holes.getAttribute('data-from')).toBe('3');
    expect(await holes.getAttribute('data-to')).toBe('3');
    expect(await holes.textContent()).toContain('序号 3 缺失');
    expect(await page.locator('#breaks li').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.seq))).toEqual(['6', '7']);
    expect(await text('#breaks')).toContain('序号 6 与前一条不衔接');

    // The record table shows the hole where it belongs.
    const rows = await page.locator('#records tbody tr').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.state));
    expect(rows).toEqual(['ok', 'ok', 'hole', 'ok', 'ok', 'break', 'break', 'ok']);
    expect(await text('#records tbody tr[data-seq="2"]')).toContain('开始录制');
  });

  it('renders anchored and notarized records, tolerates extra fields, and shows hostile text as text', async () => {
    const hostile = '<img src=x onerror="window.__pwned=1">';
    await page.route('**/v1/cases/HOSTILE-1', (route) =>
      route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({
          case: 'HOSTILE-1',
          extra: { nested: true },
          records: [
            {
              id: '01J0000000000000000000000A',
              leaf: `0x${'11'.repeat(32)}`,
              agency: 'JN-SCJG',
              device: hostile,
              officer: hostile,
              seq: 4,
              stage: 'filing',
              kind: 'photo',
              event: null,
              capturedAt: '2026-11-27T09:30:00+08:00',
              journaledAt: '2026-11-27T09:30:01+08:00',
              media: { type: 'image/jpeg', size: 123456, sha256: 'ab'.repeat(32) },
              batch: { seq: 9, root: `0x${'33'.repeat(32)}`, index: 0, sealedAt: '2026-11-27T09:30:05+08:00' },
              chain: {
                phase: 'final',
                anchor: {
                  chainId: 31337,
                  registry: `0x${'44'.repeat(20)}`,
                  txHash: `0x${'22'.repeat(32)}`,
                  blockNumber: 1234,
                  blockHash: `0x${'55'.repeat(32)}`,
                  timestamp: 1795743010,
                },
                attestations: [
                  { notary: `0x${'aa'.repeat(20)}`, attestedAt: 1795743020, signature: `0x${'66'.repeat(65)}` },
                  { notary: `0x${'bb'.repeat(20)}`, attestedAt: 1795743021, signature: `0x${'77'.repeat(65)}` },
                ],
                notarized: true,
                somethingNew: { x: 1 },
              },
              unknownField: [1, 2, 3],
            },
            { nonsense: true },
            null,
          ],
          findings: [{ code: 'SOMETHING_NEW', severity: 'weird', message: hostile, recordIds: ['01J0000000000000000000000A'] }],
        }),
      }),
    );
    await page.goto(`${server.url}/cases/HOSTILE-1`);
    await page.locator('#timeline').waitFor();
    const rec = page.locator('li.record[data-id="01J0000000000000000000000A"]');
    expect(await rec.locator('.anchor').getAttribute('data-anchor')).toBe('anchored');
    expect(await rec.locator('.anchor').textContent()).toContain('区块 #1234');
    expect(await rec.locator('.notary').textContent()).toContain('已公证(2 家公证处)');
    expect(await rec.textContent()).toContain(hostile);
    expect(await text('li.finding')).toContain(hostile);
    expect(await page.locator('#content img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  });
});
