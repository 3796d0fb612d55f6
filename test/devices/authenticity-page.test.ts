/**
 * The authenticity panel in a real Chromium (playwright-core, /usr/bin/chromium)
 * over the real gateway, pages and chain (Anvil): a record signed by an
 * enrolled body camera reads 由登记的执法设备在采集时签名 on the Verify page,
 * and a record of a stolen camera uploaded after the stated compromise time
 * reads 签名密钥已被吊销 on its public page /v/<leaf>, with the station's flag
 * from the moment it arrived — Chinese first, English on the toggle.
 */
import { JsonRpcProvider, Network } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayChain, type ClosableGatewayChain } from '../../gateway/index.js';
import { createPagesRouter } from '../../gateway/pages/router.js';
import {
  agencyKey,
  createAnchorer,
  deploy,
  DeviceKey,
  enrollDevice,
  Journal,
  openKey,
  revokeDeviceKey,
  rotateDeviceKey,
  startAnvil,
  type EmbeddedChain,
  type LiuhenRecord,
} from '../../src/index.js';
import { hasChromium, launchBrowser, suiteTitle, type Browser } from '../browser/browser.js';
import { AGENCY, startGateway, type Harness } from '../gateway/harness.js';
import { tempDir } from '../helpers/tmp.js';

let anvil: EmbeddedChain;
let h: Harness;
let adapter: ClosableGatewayChain | undefined;
let provider: JsonRpcProvider;
let browser: Browser | undefined;
const camera = tempDir('liuhen-cam-page-');
let good: { receipt: string; leaf: string };
let stolen: { leaf: string; id: string };

beforeAll(async () => {
  if (!hasChromium) return;
  anvil = await startAnvil({ port: 0 });
  provider = new JsonRpcProvider(anvil.rpc, Network.from(anvil.chainId), { staticNetwork: true, cacheTimeout: -1 });
  h = await startGateway({
    prepare: async (dir) => void (await deploy({ dataDir: dir, rpc: anvil.rpc })),
    chain: (liuhen) => (adapter = createGatewayChain({ journal: liuhen.journal, chain: liuhen.config.chain!, cacheMs: 0 })),
    pages: createPagesRouter(),
  });
  const now = (await provider.getBlock('latest'))!.timestamp;
  const registry = h.liuhen.config.chain!.registry!;
  const signer = (await openKey(agencyKey(h.dir), anvil.chainId)).connect(provider);
  const goodKey = DeviceKey.generate();
  const stolenKey = DeviceKey.generate();
  await enrollDevice(registry, signer, { agency: AGENCY, deviceId: 'BWC-OK', kind: 'body-camera', publicKey: goodKey.publicKey, validFrom: now - 3600 });
  await enrollDevice(registry, signer, { agency: AGENCY, deviceId: 'BWC-LOST', kind: 'body-camera', publicKey: stolenKey.publicKey, validFrom: now - 3600 });
  // A camera whose key was rotated (enrolled key #0, then #1 from 300 s ago): its key change is explained.
  const rotA = DeviceKey.generate();
  const rotB = DeviceKey.generate();
  await enrollDevice(registry, signer, { agency: AGENCY, deviceId: 'BWC-ROT', kind: 'body-camera', publicKey: rotA.publicKey, validFrom: now - 3600 });
  await rotateDeviceKey(registry, signer, { agency: AGENCY, deviceId: 'BWC-ROT', publicKey: rotB.publicKey, validFrom: now - 300 });
  const j = await Journal.open(camera.dir);
  const made: LiuhenRecord[] = [];
  const rotated: LiuhenRecord[] = [];
  try {
    for (const [device, key] of [
      ['BWC-OK', goodKey],
      ['BWC-LOST', stolenKey],
    ] as const)
      made.push(
        (
          await j.append(
            {
              agency: AGENCY,
              device,
              officer: '37010001',
              case: 'C-PAGE',
              kind: 'event',
              body: { event: 'patrol' },
              capturedAt: new Date((now - 600) * 1000).toISOString(),
            },
            key,
          )
        ).record,
      );
    for (const [key, secondsAgo] of [
      [rotA, 600],
      [rotB, 200],
    ] as const)
      rotated.push(
        (
          await j.append(
            {
              agency: AGENCY,
              device: 'BWC-ROT',
              officer: '37010001',
              kind: 'event',
              body: { event: 'patrol' },
              capturedAt: new Date((now - secondsAgo) * 1000).toISOString(),
            },
            key,
          )
        ).record,
      );
  } finally {
    await j.close();
  }
  const post = (record: LiuhenRecord) =>
    h.call('/v1/records/signed', { method: 'POST', token: h.t.agency, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ record }) });
  expect((await post(made[0]!)).status).toBe(201);
  for (const r of rotated) expect((await post(r)).status).toBe(201);
  // The camera is stolen: revoked as compromised from now; its record reaches the station afterwards.
  const revokeAt = (await provider.getBlock('latest'))!.timestamp;
  await revokeDeviceKey(registry, signer, { agency: AGENCY, deviceId: 'BWC-LOST', keyIndex: 0, compromisedAt: revokeAt - 1, reason: 'stolen on patrol' });
  expect((await (await post(made[1]!)).json()).deviceCheck.code).toBe('DEVICE_KEY_REVOKED');
  await h.liuhen.seal();
  const anchorer = createAnchorer({ journal: h.liuhen.journal, config: h.liuhen.config, signer, provider });
  try {
    await anchorer.anchorPending({ timeoutMs: 30_000 });
  } finally {
    anchorer.close();
  }
  const view = async (id: string) => (await h.call(`/v1/records/${id}`, { token: h.t.supervisor })).json();
  good = { receipt: await (await h.call(`/v1/records/${made[0]!.id}/receipt`, { token: h.t.supervisor })).text(), leaf: (await view(made[0]!.id)).leaf };
  stolen = { leaf: (await view(made[1]!.id)).leaf, id: made[1]!.id };
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  adapter?.close();
  provider?.destroy();
  await h?.close();
  await anvil?.stop();
  camera.cleanup();
});

describe.skipIf(!hasChromium)(suiteTitle('the authenticity panel (Chromium)'), () => {
  it('Verify page: a receipt of the enrolled camera reads "signed at capture by the enrolled device", zh then en', async () => {
    const page = await browser!.context.newPage();
    try {
      await page.goto(`${h.url}/`);
      await page.setInputFiles('#receipt-input', { name: 'receipt.json', mimeType: 'application/json', buffer: Buffer.from(good.receipt) });
      // A receipt alone (the record carries no file): verified on the button.
      await page.locator('#run:not([disabled])').click();
      const panel = page.locator('#result #authenticity');
      await panel.waitFor({ timeout: 60_000 });
      expect(await panel.getAttribute('data-level')).toBe('device-signed');
      expect(await panel.locator('#authenticity-words').textContent()).toBe('由登记的执法设备在采集时签名');
      expect(await panel.locator('#authenticity-means').textContent()).toContain('登记簿');
      expect(await panel.locator('#authenticity-ingest').getAttribute('data-flagged')).toBe('false');
      await page.click('#lang-toggle');
      await expect.poll(() => panel.locator('#authenticity-words').textContent()).toBe('Signed at capture by the enrolled device');
      await page.click('#lang-toggle');
      await expect.poll(() => page.locator('#result #authenticity-words').textContent()).toBe('由登记的执法设备在采集时签名');
    } finally {
      await page.close();
    }
  }, 120_000);

  it('/v/<leaf> of the stolen camera: 签名密钥已被吊销, flagged on receipt; English on the toggle', async () => {
    const page = await browser!.context.newPage();
    try {
      await page.goto(`${h.url}/v/${stolen.leaf}`);
      const panel = page.locator('#public #authenticity');
      await panel.waitFor({ timeout: 60_000 });
      expect(await panel.getAttribute('data-level')).toBe('revoked-key');
      expect(await panel.locator('#authenticity-words').textContent()).toBe('签名密钥已被吊销');
      expect(await panel.locator('#authenticity-means').textContent()).toContain('泄露');
      const ingest = panel.locator('#authenticity-ingest');
      expect(await ingest.getAttribute('data-flagged')).toBe('true');
      expect(await ingest.getAttribute('data-code')).toBe('DEVICE_KEY_REVOKED');
      expect(await ingest.textContent()).toContain('未被拒收');
      // Nothing on the public page names the device.
      expect(await page.locator('#public').textContent()).not.toContain('BWC-LOST');
      await page.click('#lang-toggle');
      await expect.poll(() => page.locator('#public #authenticity-words').textContent()).toBe('Signed by a revoked key');
      expect(await page.locator('#public #authenticity-ingest').textContent()).toContain('kept, not refused');
    } finally {
      await page.close();
    }
  }, 120_000);

  it('device pages: the rotation is explained by the registry; the stolen camera’s later upload is listed as flagged', async () => {
    const page = await browser!.context.newPage();
    try {
      await page.goto(`${h.url}/devices/BWC-ROT`);
      await page.fill('#token-input', h.t.supervisor);
      await page.click('#token-form button[type=submit]');
      const change = page.locator('#device-keys #key-changes li');
      await change.first().waitFor({ timeout: 60_000 });
      // The profile remembers the language the previous test left: start from Chinese.
      if ((await page.getAttribute('html', 'lang')) === 'en') await page.click('#lang-toggle');
      expect(await change.count()).toBe(1);
      expect(await change.getAttribute('data-explained')).toBe('true');
      expect(await change.textContent()).toContain('登记簿记录的密钥轮换');
      expect(await page.locator('#findings').textContent()).not.toContain('签名密钥变更');
      await page.click('#lang-toggle');
      await expect.poll(() => change.textContent()).toContain('key rotation enrolled on the registry');
      await page.click('#lang-toggle');

      await page.goto(`${h.url}/devices/BWC-LOST`);
      const flagged = page.locator('#device-keys #flagged li');
      await flagged.first().waitFor({ timeout: 60_000 });
      expect(await flagged.getAttribute('data-code')).toBe('DEVICE_KEY_REVOKED');
      expect(await flagged.textContent()).toContain('签名密钥已被吊销');

      // The case page lists the case's flagged records with their device.
      await page.goto(`${h.url}/cases/C-PAGE`);
      const inCase = page.locator('#device-keys #flagged li');
      await inCase.first().waitFor({ timeout: 60_000 });
      expect(await inCase.count()).toBe(1);
      expect(await inCase.textContent()).toContain('BWC-LOST');

      // The record page (supervisor): verifying its receipt shows the same panel.
      await page.goto(`${h.url}/records/${stolen.id}`);
      await page.locator('#verify-receipt').click();
      const panel = page.locator('#authenticity');
      await panel.waitFor({ timeout: 60_000 });
      expect(await panel.getAttribute('data-level')).toBe('revoked-key');
      expect(await panel.locator('#authenticity-ingest').getAttribute('data-flagged')).toBe('true');
    } finally {
      await page.close();
    }
  }, 120_000);
});
