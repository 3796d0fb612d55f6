/**
 * The supervision pages in a real browser (Debian's Chromium, zh-CN,
 * Asia/Shanghai): the overview with its figures and ECharts charts, a finding
 * marked 已核实 and its history. Screenshots go to
 * $LIUHEN_SCREENSHOTS (default <tmp>/liuhen-supervision-screens) to be looked at.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { hasChromium, launchBrowser, suiteTitle, type Browser } from './browser.js';
import { AGENCIES, buildSupervisionWorld, type SupervisionWorld } from './supervision-fixture.js';

/** expect.poll with room for a loaded machine (its default gives up after 1 s). */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 30_000, interval: 100 });

export const SHOTS = process.env.LIUHEN_SCREENSHOTS ?? join(tmpdir(), 'liuhen-supervision-screens');

describe.skipIf(!hasChromium)(suiteTitle('Supervision overview'), () => {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let world: SupervisionWorld;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    tmp = tempDir('liuhen-sv-pages-');
    world = await buildSupervisionWorld(tmp.dir);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
  }, 120_000);

  afterEach(() => {
    const errors = pageErrors.splice(0);
    expect(errors).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await world?.close();
    tmp?.cleanup();
  });

  it('shows the figures across four agencies and the three charts, in Chinese, printable', async () => {
    await page.goto(`${world.url}/supervision?from=${world.from}&to=${world.to}`);
    await page.fill('#token-input', world.supervisor);
    await page.click('#token-form button[type=submit]');
    await page.locator('#figures').waitFor();
    expect(await page.title()).toBe('留痕 · 执法监督');
    expect(await page.locator('#page-heading').textContent()).toBe('执法监督总览');
    const fig = (k: string) => page.locator(`[data-figure="${k}"] dd`).textContent();
    // 14 days × 4 agencies × (4 or 5 stages) + 8 camera clips.
    expect(Number(await fig('records'))).toBeGreaterThan(200);
    expect(await fig('newCases')).toBe(String(14 * 4));
    expect(await fig('devicesWithHoles')).toBe('1');
    expect(Number(await fig('casesWithFindings'))).toBeGreaterThan(10);
    expect(await page.locator('[data-figure="compliance"] dt').textContent()).toBe('按时留痕率');
    // Charts: ECharts (served from node_modules) drew SVG with the data.
    for (const id of ['chart-compliance', 'chart-delay', 'chart-holes']) {
      const chart = page.locator(`#${id}`);
      await poll(() => chart.getAttribute('data-ready')).toBe('true');
      expect(await chart.locator('svg').count()).toBe(1);
      expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(0);
    }
    const legend = await page.locator('#chart-compliance svg').textContent();
    for (const a of AGENCIES) expect(legend).toContain(a);
    expect(await page.locator('#chart-holes svg').textContent()).toContain('BWC-0301');
    const vendor = await page.evaluate(() => typeof (window as unknown as { echarts?: { version: string } }).echarts?.version);
    expect(vendor).toBe('string');
    await page.setViewportSize({ width: 1300, height: 1100 });
    await page.screenshot({ path: join(SHOTS, 'supervision-overview-zh-top.png') });
    await page.screenshot({ path: join(SHOTS, 'supervision-overview-zh.png'), fullPage: true });
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('#period-form').isVisible()).toBe(false);
    await page.screenshot({ path: join(SHOTS, 'supervision-overview-print.png'), fullPage: true });
    await page.emulateMedia({ media: 'screen' });
  });

  it('lists findings, marks one 已核实 with a comment and shows it in its history', async () => {
    await page.selectOption('#filter-kind', 'CASE_DECISION_WITHOUT_REVIEW');
    await page.click('#findings-filter button[type=submit]');
    await poll(() => page.locator('tr.sv-finding').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.code))).not.toContain('RECORD_ANCHORED_LATE');
    const rows = page.locator('tr.sv-finding');
    expect(await rows.count()).toBeGreaterThan(5);
    const first = rows.first();
    const id = await first.getAttribute('data-id');
    expect(id).toMatch(/^review:/);
    expect(await first.textContent()).toContain('缺少法制审核');
    expect(await first.locator('a.sv-link').first().getAttribute('href')).toMatch(/^\/cases\//);
    await first.locator('button.sv-act').click();
    await page.locator('#action-form').waitFor();
    expect(await page.locator('#finding-history').textContent()).toBe('尚无处理记录');
    await page.selectOption('#action-status', 'verified');
    await page.fill('#action-comment', '已调阅案卷,确认缺少法制审核 <b>不是HTML</b>');
    await page.click('#action-form button[type=submit]');
    await poll(() => page.locator('#finding-history li').count()).toBe(1);
    const item = page.locator('#finding-history li').first();
    expect(await item.textContent()).toContain('已核实');
    expect(await item.textContent()).toContain('<b>不是HTML</b>');
    expect(await page.locator('#finding-history b').count()).toBe(0);
    expect(await page.locator(`tr.sv-finding[data-id="${id}"]`).getAttribute('data-status')).toBe('verified');
    expect(await page.locator('#action-note').textContent()).toContain('已记录');
    // On the journal: the supervision body's own device chain.
    const head = world.liuhen.journal.deviceHead('supervision-decisions');
    expect(head?.seq).toBe(1);
    expect((await world.liuhen.journal.getRecord(head!.id))?.record.agency).toBe('JN-SFJ');
    await page.screenshot({ path: join(SHOTS, 'supervision-finding-history.png'), fullPage: true });
  });

  it('码上监督: feedback left from the QR page, followed by supervisors to 反馈, looked up by the citizen with the tracking code', async () => {
    await page.goto(`${world.url}/v/${world.leaf}`);
    await page.locator('#feedback-go').click();
    await page.locator('#fb-form').waitFor();
    expect(await page.locator('#page-heading').textContent()).toBe('码上监督');
    await page.check('input[name=category][value=procedure]');
    await page.fill('#fb-text', '没有出示执法证件 <img src=x onerror=alert(1)>');
    expect(await page.locator('#fb-count').textContent()).toContain('/ 2000');
    await page.click('#fb-form button[type=submit]');
    await page.locator('#fb-done').waitFor();
    const code = (await page.locator('#fb-code').textContent())!;
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{16}$/);
    expect(await page.locator('#fb-receipt').getAttribute('download')).toMatch(/^feedback-receipt-/);
    await page.screenshot({ path: join(SHOTS, 'feedback-submitted.png'), fullPage: true });

    // Supervisors: the queue in the overview, one step after another.
    await page.goto(`${world.url}/supervision?from=${world.from}&to=${world.to}`);
    await page.locator('#feedback-table').waitFor();
    const row = () => page.locator('tr.sv-feedback').first();
    expect(await row().getAttribute('data-state')).toBe('submitted');
    expect(await row().textContent()).toContain('<img src=x onerror=alert(1)>');
    expect(await page.locator('#feedback-table img').count()).toBe(0);
    for (const step of ['accepted', 'investigating', 'handled', 'answered']) {
      await row().locator('input.fb-comment').fill(`内部意见:${step}`);
      await row().locator('form.fb-advance button').click();
      await poll(() => row().getAttribute('data-state')).toBe(step);
    }
    expect(await row().textContent()).toContain('反馈');
    await page.screenshot({ path: join(SHOTS, 'supervision-feedback-queue.png'), fullPage: true });

    // The citizen, no login: steps and times, never the comments.
    await page.goto(`${world.url}/feedback?code=${code}`);
    await poll(() => page.locator('#fb-state').getAttribute('data-state')).toBe('answered');
    const steps = await page.locator('#fb-steps li').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.step));
    expect(steps).toEqual(['submitted', 'accepted', 'investigating', 'handled', 'answered']);
    expect(await page.locator('#fb-steps').textContent()).toContain('受理');
    expect(await page.locator('body').textContent()).not.toContain('内部意见');
    await page.screenshot({ path: join(SHOTS, 'feedback-status.png'), fullPage: true });
  });

  it('出证: a certificate downloaded from the record page holds the SHA-256, block number and notary', async () => {
    await page.goto(`${world.url}/records/${world.photo.id}`);
    const button = page.locator('#certificate-button');
    expect(await button.textContent()).toBe('出具存证证明(PDF)');
    const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
    const path = join(SHOTS, 'certificate.pdf');
    await download.saveAs(path);
    const text = execFileSync('pdftotext', ['-layout', path, '-'], { encoding: 'utf8' });
    expect(text).toContain(world.photo.sha256);
    expect(text).toContain(`block ${world.photo.block}`);
    expect(text).toContain(world.photo.notary);
    expect(text).toContain('电子数据存证证明');
    expect(await page.locator('#certificate-note').textContent()).toContain('SHA-256');
    execFileSync('pdftoppm', ['-r', '70', '-png', '-f', '1', '-l', '1', path, join(SHOTS, 'certificate-page')]);
  });

  it('switches to English', async () => {
    await page.goto(`${world.url}/supervision?from=${world.from}&to=${world.to}`);
    await page.locator('#figures').waitFor();
    await page.click('#lang-toggle');
    await poll(() => page.locator('#page-heading').textContent()).toBe('Enforcement supervision overview');
    expect(await page.locator('[data-figure="compliance"] dt').textContent()).toBe('On-time rate');
    await page.screenshot({ path: join(SHOTS, 'supervision-overview-en.png'), fullPage: true });
    await page.click('#lang-toggle');
  });
});
