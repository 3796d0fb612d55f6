import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeChain } from './fake-chain.js';
import { startGateway, upload, type Harness } from './harness.js';

/**
 * 出证: the A4 PDF certificate of a record, its text extracted with poppler's
 * pdftotext (Debian poppler-utils), its registration (hash journaled by the
 * supervision body) and the public lookup that detects a doctored file.
 */
const chain = new FakeChain();
const NOTARY = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
let h: Harness;
let rec: { id: string; leaf: string; sha256: string };
let block = 0;

beforeAll(async () => {
  h = await startGateway({ chain });
  rec = await upload(h, new TextEncoder().encode('现场执法录像 certificate test'), { case: '济城管罚〔2026〕101号', stage: 'onsite' });
  for (const b of await h.liuhen.journal.sealAll()) block = chain.anchor(b, { notaries: [NOTARY] }).blockNumber;
});
afterAll(() => h?.close());

const text = (pdf: Buffer) => {
  const path = join(h.dir, `c-${Date.now()}.pdf`);
  writeFileSync(path, pdf);
  return { path, text: execFileSync('pdftotext', ['-layout', path, '-'], { encoding: 'utf8' }) };
};

describe('GET /v1/records/:id/certificate', () => {
  let pdf: Buffer;
  it('is an A4 PDF with what, when, where anchored and notarized, in Chinese, the receipt attached', async () => {
    const r = await h.call(`/v1/records/${rec.id}/certificate`, { token: h.t.supervisor });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/pdf');
    pdf = Buffer.from(await r.arrayBuffer());
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const { path, text: t } = text(pdf);
    if (process.env.LIUHEN_SCREENSHOTS) writeFileSync(join(process.env.LIUHEN_SCREENSHOTS, 'certificate.pdf'), pdf);
    expect(t).toContain(rec.sha256);
    expect(t).toContain(`block ${block}`);
    expect(t).toContain(NOTARY);
    expect(t).toContain('电子数据存证证明');
    expect(t).toContain('济城管罚〔2026〕101号');
    expect(t).toContain(rec.leaf);
    expect(t).toContain('verifyInclusion');
    const info = execFileSync('pdfinfo', [path], { encoding: 'utf8' });
    expect(info).toMatch(/Page size:\s+595\.28 x 841\.89 pts \(A4\)/);
    expect(execFileSync('pdfdetach', ['-list', path], { encoding: 'utf8' })).toContain('receipt.json');
    expect(execFileSync('pdffonts', [path], { encoding: 'utf8' })).toMatch(/NotoSansCJK|Noto/);
    // Registered: the PDF's hash is journaled by the supervision body.
    const sha = createHash('sha256').update(pdf).digest('hex');
    expect(r.headers.get('x-certificate-sha256')).toBe(sha);
    const cert = await h.liuhen.journal.getRecord(r.headers.get('x-certificate-id')!);
    expect(cert?.record).toMatchObject({ agency: 'JN-SFJ', device: 'supervision-certificates' });
    expect(cert?.record.body).toMatchObject({ event: 'certificate', record: rec.id, sha256: sha });
    expect(t).toContain(r.headers.get('x-certificate-id')!);
  });

  it('lets anyone check a certificate file by its SHA-256; a doctored one is not found', async () => {
    const sha = createHash('sha256').update(pdf).digest('hex');
    const ok = await h.call(`/v1/certificates/${sha}`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ record: rec.id, sha256: sha });
    const doctored = Buffer.from(pdf);
    doctored[doctored.length - 100] ^= 1;
    expect((await h.call(`/v1/certificates/${createHash('sha256').update(doctored).digest('hex')}`)).status).toBe(404);
    expect((await h.call('/v1/certificates/xyz')).status).toBe(400);
  });

  it('is for supervisors and the owning agency, and only for sealed records', async () => {
    expect((await h.call(`/v1/records/${rec.id}/certificate`, { token: h.t.agency })).status).toBe(200);
    expect((await h.call(`/v1/records/${rec.id}/certificate`, { token: h.t.otherAgency })).status).toBe(403);
    expect((await h.call(`/v1/records/${rec.id}/certificate`)).status).toBe(401);
    const fresh = await upload(h, new Uint8Array([7, 7, 7]));
    const r = await h.call(`/v1/records/${fresh.id}/certificate`, { token: h.t.supervisor });
    expect(r.status).toBe(409);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('RECORD_NOT_SEALED');
  });
});
