/**
 * Finding details in Chinese on Chinese pages (issue 14). The server's
 * finding `message` is one English line; the pages rebuild it in Chinese
 * (web/js/finding-detail.js). Checked on the real fixture's case and device
 * pages and on a case answer holding every message form the SDK writes
 * (src/completeness/findings.ts): no finding detail on a Chinese page is
 * English-only, and in English the server's line is shown as it is.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { hasChromium, launchBrowser, suiteTitle, type Browser } from './browser.js';
import { CASE_ID, DEVICE_ID, buildFixture } from './fixture.js';
import { startTestServer, type TestServer } from './server.js';

/** Words of the English finding messages: none may be left in a Chinese detail (outside the quoted original of an unknown form). */
const ENGLISH =
  /\b(record|records|device|missing|deleted|uploaded|different|chain|replaced|signs|another|key|recording|started|stop|captured|decision|stage|began|after|before|legal|review|service|claims|journaled|sealed|anchored|policy)\b/i;
const HAN = /[\u4e00-\u9fff]/;

/** One finding per message form of src/completeness/findings.ts (and src/stats/stats.ts, which uses the same forms). */
const FORMS = [
  { code: 'DEVICE_SEQ_HOLE', message: 'record 3 of device BWC-0007 is missing (deleted or never uploaded)', missing: { from: 3, to: 3 } },
  { code: 'DEVICE_SEQ_HOLE', message: 'records 3–5 of device BWC-0007 are missing (deleted or never uploaded)', missing: { from: 3, to: 5 } },
  { code: 'DEVICE_CHAIN_FORK', message: 'device BWC-0007 has 2 different records with seq 4' },
  { code: 'DEVICE_CHAIN_BREAK', message: 'record 6 of device BWC-0007 does not chain to record 5 (prev differs): a record was replaced' },
  { code: 'DEVICE_KEY_CHANGED', message: 'device BWC-0007 signs record 7 with another key (0x04a1b2c3d4e5f6…) than record 6 (0x04ffeeddccbbaa…)' },
  { code: 'DEVICE_SESSION_UNCLOSED', message: 'recording started at 2026-11-27T01:00:00.000Z on device BWC-0007 has no stop before the next start' },
  { code: 'DEVICE_SESSION_UNCLOSED', message: 'recording started at 2026-11-27T01:00:00.000Z on device BWC-0007 has no stop record yet' },
  { code: 'CASE_STAGE_OUT_OF_ORDER', message: 'on-site record captured after the decision (2026-11-27T03:00:00.000Z)' },
  { code: 'CASE_STAGE_OUT_OF_ORDER', message: 'stage filing began (2026-11-27T03:00:00.000Z) after stage decision (2026-11-27T02:00:00.000Z)' },
  { code: 'CASE_DECISION_WITHOUT_REVIEW', message: 'decision of 2026-11-27T02:00:00.000Z has no prior legal review (法制审核) record' },
  { code: 'CASE_DECISION_NOT_SERVED', message: 'decision of 2026-11-27T02:00:00.000Z has no service (送达) record after it' },
  { code: 'RECORD_CAPTURED_IN_FUTURE', message: 'record 01J0000000000000000000000A claims capture at 2026-11-28T02:00:00.000Z, after it was journaled' },
  { code: 'RECORD_SEALED_LATE', message: 'record 01J0000000000000000000000A was sealed 7260 s after capture (policy: 3600 s)' },
  { code: 'RECORD_ANCHORED_LATE', message: 'record 01J0000000000000000000000A was anchored 5400 s after capture (policy: 3600 s)' },
];

describe.skipIf(!hasChromium)(suiteTitle('Finding details in Chinese (issue 14)'), () => {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    tmp = tempDir('liuhen-findings-');
    const fx = await buildFixture(tmp.dir);
    server = await startTestServer(fx.dataDir);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}/cases/${encodeURIComponent(CASE_ID)}`);
    await page.fill('#token-input', server.supervisorToken);
    await page.click('#token-form button[type=submit]');
    await page.locator('#timeline').waitFor();
  }, 60_000);

  afterEach(() => expect(pageErrors).toEqual([]));

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    tmp?.cleanup();
  });

  const details = () => page.locator('.finding-detail').allTextContents();
  const expectChinese = (texts: string[]) => {
    for (const text of texts) {
      expect(text, text).toMatch(HAN);
      expect(text.replace(/原文:.*$/s, ''), text).not.toMatch(ENGLISH);
    }
  };

  it('the real case and device pages: every finding detail is Chinese', async () => {
    await page.goto(`${server.url}/cases/${encodeURIComponent(CASE_ID)}`);
    await page.locator('#timeline').waitFor();
    const onCase = await details();
    expect(onCase.length).toBeGreaterThan(0);
    expectChinese(onCase);
    expect(onCase.join('\n')).toContain('作出的决定之前没有法制审核记录');

    await page.goto(`${server.url}/devices/${DEVICE_ID}`);
    await page.locator('#breaks').waitFor();
    const onDevice = await details();
    expect(onDevice.length).toBeGreaterThan(2);
    expectChinese(onDevice);
    expect(onDevice.join('\n')).toContain(`设备 ${DEVICE_ID} 的第 3 条记录缺失`);
    expect(onDevice.join('\n')).not.toContain('原文');
  });

  it('every message form the SDK writes has its Chinese text; an unknown one leads with Chinese; English shows the server line', async () => {
    const unknown = { code: 'SOMETHING_NEW', message: 'a brand new kind of finding the page does not know yet' };
    await page.route('**/v1/cases/FORMS-1', (route) =>
      route.fulfill({
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ records: [], findings: [...FORMS, unknown].map((f) => ({ severity: 'high', recordIds: [], ...f })) }),
      }),
    );
    await page.goto(`${server.url}/cases/FORMS-1`);
    await page.locator('li.finding').first().waitFor();
    const texts = await details();
    expect(texts).toHaveLength(FORMS.length + 1);
    expectChinese(texts);
    // Each known form was translated (no original quoted); the unknown one keeps its original after the Chinese.
    expect(texts.slice(0, FORMS.length).filter((x) => x.includes('原文'))).toEqual([]);
    expect(texts[FORMS.length]).toContain(`原文:${unknown.message}`);
    expect(texts.join('\n')).toContain('第 3–5 条记录缺失');
    expect(texts.join('\n')).toContain('“立案”环节');

    await page.click('#lang-toggle');
    await expect.poll(details).toEqual([...FORMS, unknown].map((f) => `${f.code} — ${f.message}`));
    await page.click('#lang-toggle');
    await page.unroute('**/v1/cases/FORMS-1');
  });
});
