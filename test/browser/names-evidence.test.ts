/**
 * Issue 14 in a real browser over a real chain (test/browser/chain-world.ts:
 * an Anvil of its own, names registered on the registry, one clip anchored
 * and co-signed by a named and an unnamed notary):
 * - the public page /v/<leaf> names the agency and the notary office next to
 *   their code and address, and never shows a bare 0x… as a notary;
 * - the record page shows the same names, and its "下载证据文件" button
 *   downloads the evidence file — whose SHA-256 is the record's — as an
 *   audited read.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditEntries } from '../gateway/harness.js';
import { hasChromium, launchBrowser, suiteTitle, type Browser } from './browser.js';
import { AGENCY_NAME, NOTARY_NAME, startChainWorld, type ChainWorld } from './chain-world.js';

describe.skipIf(!hasChromium)(suiteTitle('Names and the evidence download (issue 14)'), () => {
  let w: ChainWorld;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    w = await startChainWorld();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
  }, 120_000);

  afterEach(() => expect(pageErrors).toEqual([]));

  afterAll(async () => {
    await browser?.close();
    await w?.close();
  });

  it('the public page names the agency and the notaries, never a bare 0x… as a notary', async () => {
    await page.goto(`${w.h.url}/v/${w.rec.leaf}`);
    const items = page.locator('.public-facts li.notary-item');
    await expect.poll(() => items.count()).toBe(2);
    const agency = page.locator('.public-facts .agency-name');
    expect(await agency.locator('.name').textContent()).toBe(AGENCY_NAME);
    expect(await agency.locator('.code').textContent()).toBe('AG-A');

    const texts = await items.allTextContents();
    for (const text of texts) {
      // The notary's name (or "no registered name") comes first, the address after it.
      expect(text.trim()).not.toMatch(/^0x/i);
      expect(text).toMatch(/[\u4e00-\u9fff]/);
    }
    const byAddress = Object.fromEntries(
      await items.evaluateAll((els) =>
        els.map((el) => {
          const n = el.querySelector('.notary-name') as HTMLElement;
          return [n.dataset.address!.toLowerCase(), { name: n.querySelector('.name')!.textContent, named: n.dataset.named }];
        }),
      ),
    );
    expect(byAddress[w.namedNotary.toLowerCase()]).toEqual({ name: NOTARY_NAME, named: 'true' });
    expect(byAddress[w.unnamedNotary.toLowerCase()]).toEqual({ name: '未登记名称的公证机构', named: 'false' });
    // Nowhere in the notary row is an address without a label before it.
    const row = await page.locator('.public-facts .fact', { hasText: '公证' }).first().textContent();
    const before = [...row!.matchAll(/(.{2})0x/g)].map((m) => m[1]);
    expect(before).toHaveLength(2);
    for (const b of before) expect(b).toMatch(/^[\u4e00-\u9fff] $/);

    // English: the same names, the unnamed label in English.
    await page.click('#lang-toggle');
    await expect.poll(() => items.allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('without a registered name')]));
    expect(await agency.locator('.name').textContent()).toBe(AGENCY_NAME);
    await page.click('#lang-toggle');
  }, 60_000);

  it('the record page names them too, and downloads the evidence file as an audited read', async () => {
    await page.goto(`${w.h.url}/records/${w.rec.id}`);
    await page.fill('#token-input', w.h.t.supervisor);
    await page.click('#token-form button[type=submit]');
    await page.locator('#content .receipt').waitFor();
    await expect.poll(() => page.locator('#content .agency-name .name').textContent()).toBe(AGENCY_NAME);
    await expect
      .poll(() => page.locator('#content .notary-name .name').allTextContents())
      .toEqual(expect.arrayContaining([NOTARY_NAME, '未登记名称的公证机构']));

    const contentReads = async () =>
      (await auditEntries(w.h)).filter((e) => e.what.route === '/v1/records/:id/content' && e.what.ids.id === w.rec.id && e.outcome.status === 200);
    expect(await contentReads()).toHaveLength(0);

    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.click('#evidence-button')]);
    expect(download.suggestedFilename()).toBe(`${w.rec.id}.mp4`);
    const path = await download.path();
    const bytes = readFileSync(path);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(w.rec.sha256);
    expect(bytes.equals(Buffer.from(w.clip))).toBe(true);
    expect(await page.locator('#evidence-local').getAttribute('data-match')).toBe('true');
    expect(await page.locator('#evidence-note').textContent()).toContain(w.rec.sha256);

    // The read is in the audit trail, with the supervisor's token.
    await w.h.drain();
    const reads = await contentReads();
    expect(reads).toHaveLength(1);
    expect(reads[0]!.who.role).toBe('supervisor');
  }, 90_000);

  it('the case page names the co-signing notaries of each record', async () => {
    // Same tab: the token is kept.
    await page.goto(`${w.h.url}/cases/C-NAMES`);
    const rec = page.locator(`li.record[data-id="${w.rec.id}"]`);
    await rec.waitFor();
    await expect.poll(() => rec.locator('.notary .notary-name .name').allTextContents()).toEqual(expect.arrayContaining([NOTARY_NAME, '未登记名称的公证机构']));
    for (const text of await rec.locator('.notary li.notary-item').allTextContents()) expect(text.trim()).not.toMatch(/^0x/i);
  }, 60_000);
});
