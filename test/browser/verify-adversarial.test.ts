/**
 * The adversarial table of the security issue (test/adversarial/cases.ts)
 * through the Verify page in Chromium: every case that hands over a file is
 * chosen on the page (receipt + file) and the page must show the case's
 * verdict and check codes, like the SDK, the CLI and the gateway. The world
 * (Anvil, a deployed registry, two anchored and notarized records) is the
 * verify room's; the page is served by the pages router, its /v1 calls
 * forwarded to that world's gateway.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import helmet from 'helmet';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPagesRouter } from '../../gateway/pages/router.js';
import { adversarialCases, type CaseFixture } from '../adversarial/cases.js';
import { startWorld, type World } from '../adversarial/world.js';
import { hasChromium, launchBrowser, suiteTitle, type Browser } from './browser.js';

describe.skipIf(!hasChromium)(suiteTitle('Verify page: the adversarial table'), () => {
  let w: World;
  let fixture: CaseFixture;
  let browser: Browser;
  let page: Page;
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    w = await startWorld();
    fixture = { chainId: w.chainId, registry: w.registry, a: w.a, b: w.b };
    const app = express();
    app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
    app.use(express.raw({ type: '*/*', limit: '1mb' }));
    app.use('/v1', async (req, res) => {
      const r = await fetch(`${w.gateway.url}/v1${req.url}`, {
        method: req.method,
        headers: { 'content-type': req.get('content-type') ?? 'application/json' },
        ...(req.method === 'POST' ? { body: new Uint8Array(req.body as Buffer) } : {}),
      });
      res
        .status(r.status)
        .type(r.headers.get('content-type') ?? 'application/json')
        .send(Buffer.from(await r.arrayBuffer()));
    });
    app.use(createPagesRouter());
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    close = async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    };
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(30_000);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await close?.();
    await w?.close();
  });

  it('every case with a file: the page shows the verdict and the codes every other verifier gives', async () => {
    const cases = adversarialCases;
    let ran = 0;
    for (const c of cases) {
      const input = await c.build(fixture);
      if (!input.file) continue; // the page hashes files; a bare SHA-256 is not something it is handed
      await page.goto(`${url}/`);
      await page.setInputFiles('#receipt-input', { name: 'receipt.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(input.receipt)) });
      // The page reads the chosen file asynchronously: wait until it has judged it (named it, or refused it).
      await page.waitForFunction(() => {
        const status = document.getElementById('receipt-status');
        return !!status && (status.classList.contains('status-fail') || (status.textContent ?? '').includes('receipt.json'));
      });
      const refusedLocally = (await page.locator('#receipt-status.status-fail').count()) > 0;
      if (refusedLocally) {
        // Not a receipt at all (format): refused before any request, never verified.
        expect(c.status, c.name).toBe('failed');
        ran++;
        continue;
      }
      await page.setInputFiles('#file-input', { name: 'evidence.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(input.file) });
      await page.locator('#verdict').waitFor({ timeout: 60_000 });
      expect(await page.locator('#verdict').getAttribute('data-status'), c.name).toBe(c.status);
      for (const [check, want] of Object.entries(c.checks)) {
        const li = page.locator(`li.check[data-check="${check}"]`);
        const got = `${await li.getAttribute('data-status')}:${await li.getAttribute('data-code')}`;
        if (typeof want === 'string') expect(got, `${c.name}: ${check}`).toBe(want);
        else expect(got, `${c.name}: ${check}`).toMatch(want);
      }
      ran++;
    }
    expect(ran).toBeGreaterThan(10);
  }, 900_000);
});
