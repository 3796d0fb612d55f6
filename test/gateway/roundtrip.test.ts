import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FakeChain } from './fake-chain.js';
import { json, meta, startGateway, upload, uploadForm, type Harness } from './harness.js';

/**
 * Upload → seal → receipt → verify, content download, and what each looks
 * like when something was altered. The chain is the FakeChain test double
 * (see fake-chain.ts) where anchor and notary states matter.
 */
let h: Harness;
const chain = new FakeChain();

beforeAll(async () => {
  h = await startGateway({ chain });
});
afterAll(() => h?.close());

type Verdict = { status: string; ok: boolean; checks: { name: string; status: string; code: string }[] };
const check = (v: Verdict, name: string) => v.checks.find((c) => c.name === name)!;

describe('upload → receipt → verify', () => {
  const bytes = randomBytes(300 * 1024); // several encryption segments
  let created: Awaited<ReturnType<typeof upload>>;
  let receipt: Record<string, unknown>;

  test('the upload is streamed into the store and journaled (201)', async () => {
    created = await upload(h, bytes, { case: 'C-7', stage: 'onsite', type: 'video/mp4' });
    expect(created).toMatchObject({ seq: 1, size: bytes.length, sha256: (await import('node:crypto')).createHash('sha256').update(bytes).digest('hex') });
    expect(created.cid).toMatch(/^b[a-z2-7]+$/);
    expect(created.leaf).toMatch(/^0x[0-9a-f]{64}$/);
    // The plaintext is nowhere in the data folder (only ciphertext blocks).
    const needle = bytes.subarray(1000, 1064);
    for (const f of allFiles(h.dir)) expect(readFileSync(f).includes(needle)).toBe(false);
  });

  test('before sealing the receipt is 409 RECORD_NOT_SEALED; the record view says unsealed', async () => {
    const r = await h.call(`/v1/records/${created.id}/receipt`, { token: h.t.supervisor });
    expect(r.status).toBe(409);
    expect((await r.json()).error.code).toBe('RECORD_NOT_SEALED');
    const v = await (await h.call(`/v1/records/${created.id}`, { token: h.t.agency })).json();
    expect(v.batch).toBeNull();
    expect(v.record.media).toMatchObject({ sha256: created.sha256, cid: created.cid, type: 'video/mp4' });
  });

  test('after sealing, the receipt verifies with the file: JSON with the browser’s sha256', async () => {
    await h.liuhen.seal();
    const r = await h.call(`/v1/records/${created.id}/receipt`, { token: h.t.agency });
    expect(r.status).toBe(200);
    receipt = (await r.json()) as Record<string, unknown>;
    expect(receipt.format).toBe('liuhen-receipt/1');
    const v = (await (await h.call('/v1/verify', json({ receipt, sha256: created.sha256 }))).json()) as Verdict;
    expect(check(v, 'content')).toMatchObject({ status: 'pass', code: 'CONTENT_MATCH' });
    for (const name of ['format', 'signature', 'leaf', 'inclusion']) expect(check(v, name).status).toBe('pass');
    expect(v.status).toBe('incomplete'); // not anchored yet
  });

  test('multipart with the file itself: same verdict; a tampered file fails naming the content check', async () => {
    const form = new FormData();
    form.append('receipt', new Blob([JSON.stringify(receipt)], { type: 'application/json' }), 'receipt.json');
    form.append('file', new Blob([bytes]), 'clip.mp4');
    const good = (await (await h.call('/v1/verify', { method: 'POST', body: form })).json()) as Verdict;
    expect(check(good, 'content')).toMatchObject({ status: 'pass', code: 'CONTENT_MATCH' });

    const tampered = Buffer.from(bytes);
    tampered[12345] ^= 0x01;
    const bad = new FormData();
    bad.append('receipt', JSON.stringify(receipt));
    bad.append('file', new Blob([tampered]), 'clip.mp4');
    const v = (await (await h.call('/v1/verify', { method: 'POST', body: bad })).json()) as Verdict;
    expect(v.status).toBe('failed');
    expect(check(v, 'content')).toMatchObject({ status: 'fail', code: 'CONTENT_MISMATCH' });

    const wrongHash = (await (await h.call('/v1/verify', json({ receipt, sha256: 'ab'.repeat(32) }))).json()) as Verdict;
    expect(check(wrongHash, 'content').code).toBe('CONTENT_MISMATCH');
  });

  test('an altered receipt fails the check that catches it', async () => {
    const rec = receipt.record as Record<string, unknown>;
    const v = (await (await h.call('/v1/verify', json({ receipt: { ...receipt, record: { ...rec, officer: 'OF-9999' } } }))).json()) as Verdict;
    expect(v.status).toBe('failed');
    expect(check(v, 'signature').status).toBe('fail');
    expect(check(v, 'leaf').code).toBe('LEAF_MISMATCH');
  });

  test('content download equals the uploaded bytes, with the recorded hash', async () => {
    const r = await h.call(`/v1/records/${created.id}/content`, { token: h.t.supervisor });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-liuhen-sha256')).toBe(created.sha256);
    expect(r.headers.get('content-disposition')).toMatch(/^attachment/);
    expect(r.headers.get('content-security-policy')).toContain('sandbox');
    expect(Buffer.from(await r.arrayBuffer()).equals(bytes)).toBe(true);
  });

  test('public verdict by leaf: agency, kind, times and integrity — no officer, case, device, location', async () => {
    const anchor = chain.anchor((await h.liuhen.journal.getBatchByRoot((receipt.batch as { root: string }).root))!, {
      notaries: ['0x1111111111111111111111111111111111111111'],
    });
    const r = await h.call(`/v1/verify/${created.leaf}`);
    expect(r.status).toBe(200);
    const p = await r.json();
    expect(p).toMatchObject({ leaf: created.leaf, agency: 'AG-A', kind: 'video', sealed: true, unaltered: true, notarized: true, status: 'verified' });
    expect(p.anchor.blockNumber).toBe(anchor.blockNumber);
    // Issue 14: each notary carries its display name (null: this one has none registered).
    expect(p.notaries).toEqual([{ notary: '0x1111111111111111111111111111111111111111', name: null, attestedAt: anchor.timestamp + 1 }]);
    const text = JSON.stringify(p);
    for (const secret of ['OF-1001', 'C-7', 'cam-1', 'onsite', created.sha256, created.cid, created.id]) expect(text).not.toContain(secret);
    expect((await h.call(`/v1/verify/0x${'00'.repeat(32)}`)).status).toBe(404);
  });

  test('with the chain: the receipt carries anchor and attestations and verifies completely', async () => {
    const full = await (await h.call(`/v1/records/${created.id}/receipt`, { token: h.t.supervisor })).json();
    expect(full.anchor).not.toBeNull();
    expect(full.attestations).toHaveLength(1);
    const v = (await (await h.call('/v1/verify', json({ receipt: full, sha256: created.sha256 }))).json()) as Verdict;
    expect(v.status).toBe('verified');
    const view = await (await h.call(`/v1/records/${created.id}`, { token: h.t.supervisor })).json();
    expect(view.chain).toMatchObject({ phase: 'final', notarized: true });
  });

  test('a tampered stored object → an error, never the bytes', async () => {
    const victim = await upload(h, randomBytes(2000), { device: 'cam-2' });
    flipByte(objectFile(victim.cid), (n) => n - 40);
    const r = await h.call(`/v1/records/${victim.id}/content`, { token: h.t.supervisor });
    expect(r.status).toBeGreaterThanOrEqual(500);
    const body = await r.json();
    expect(['STORE_INTEGRITY', 'STORE_DECRYPT_FAILED']).toContain(body.error.code);
    expect(JSON.stringify(body)).not.toMatch(/[0-9a-f]{64}/);
  });

  test('a tampered segment late in a large object cuts the download: never a complete-looking file', async () => {
    const big = randomBytes(8 * 1024 * 1024); // beyond the store's read-ahead: the first segments are released before the altered one is read
    const rec = await upload(h, big, { device: 'cam-3' });
    flipByte(objectFile(rec.cid), (n) => Math.floor(n * 0.75)); // a raw leaf late in the file (the dag-pb root sits at the end of the CAR)
    const r = await h.call(`/v1/records/${rec.id}/content`, { token: h.t.supervisor });
    expect(r.status).toBe(200);
    // Earlier segments were released (their tags checked); the altered one never is, and the connection is cut.
    await expect(r.arrayBuffer()).rejects.toThrow();
  });
});

/** The stored object of a CID (whatever the local backend's layout: the file named after the CID). */
function objectFile(cid: string): string {
  const hit = allFiles(join(h.dir, 'store')).find((f) => f.includes(cid));
  if (!hit) throw new Error(`no stored file for ${cid}`);
  return hit;
}

function flipByte(file: string, at: (length: number) => number): void {
  const b = readFileSync(file);
  b[at(b.length)] ^= 0x01;
  writeFileSync(file, b);
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('structured records, cases, devices, batches', () => {
  test('a JSON form record is journaled with its body', async () => {
    const r = await h.call('/v1/records', {
      ...json({
        meta: { device: 'term-1', officer: 'OF-2', case: 'C-7', stage: 'decision', kind: 'form', capturedAt: new Date(Date.now() + 1000).toISOString() },
        body: { decision: '罚款 200 元', articles: ['第二十三条'] },
      }),
      token: h.t.agency,
    });
    expect(r.status).toBe(201);
    const created = await r.json();
    const view = await (await h.call(`/v1/records/${created.id}`, { token: h.t.supervisor })).json();
    expect(view.record.body).toEqual({ decision: '罚款 200 元', articles: ['第二十三条'] });
    expect(view.record.agency).toBe('AG-A');
  });

  test('the case timeline is in stage order with findings (decision without review, not served)', async () => {
    const c = await (await h.call('/v1/cases/C-7', { token: h.t.supervisor })).json();
    expect(c.records.map((r: { stage: string }) => r.stage)).toEqual(['onsite', 'decision']);
    expect(c.stages.find((s: { stage: string }) => s.stage === 'review').records).toBe(0);
    const codes = c.findings.map((f: { code: string }) => f.code);
    expect(codes).toContain('CASE_DECISION_WITHOUT_REVIEW');
    expect(codes).toContain('CASE_DECISION_NOT_SERVED');
    expect(c.records[0].chain).toMatchObject({ phase: 'final', notarized: true });
    expect((await h.call('/v1/cases/NO-SUCH-CASE', { token: h.t.supervisor })).status).toBe(404);
  });

  test('device continuity shows a hole and an unclosed recording', async () => {
    const ev = (event: string, device = 'bodycam-9') =>
      h.call('/v1/records', {
        ...json({ meta: { device, officer: 'OF-3', kind: 'event', capturedAt: new Date().toISOString() }, body: { event } }),
        token: h.t.agency,
      });
    for (const e of ['recording-start', 'recording-stop', 'recording-start']) expect((await ev(e)).status).toBe(201);
    const c = await (await h.call('/v1/devices/bodycam-9/continuity', { token: h.t.supervisor })).json();
    expect(c).toMatchObject({ device: 'bodycam-9', agency: 'AG-A', records: 3, lastSeq: 3, holes: [], breaks: [] });
    expect(c.sessions.map((f: { code: string }) => f.code)).toEqual(['DEVICE_SESSION_UNCLOSED']);
    expect(c.timeline.map((r: { event: string }) => r.event)).toEqual(['recording-start', 'recording-stop', 'recording-start']);
    const page = await (await h.call('/v1/devices/bodycam-9/continuity?after=1&limit=1', { token: h.t.supervisor })).json();
    expect(page.timeline.map((r: { seq: number }) => r.seq)).toEqual([2]);
    expect(page.next).toEqual({ after: 2 });
  });

  test('batches: by root, per agency (newest first), and the notary’s pending list', async () => {
    const batches = await h.liuhen.seal();
    const pendingBatch = batches.filter((b) => b.agency === 'AG-A').at(-1)!;
    chain.anchor(pendingBatch); // anchored, no notary yet
    const one = await (await h.call(`/v1/batches/${pendingBatch.root}`, { token: h.t.agency })).json();
    expect(one.batch).toMatchObject({ agency: 'AG-A', seq: pendingBatch.seq, root: pendingBatch.root });
    expect(one.chain).toMatchObject({ phase: 'final', notarized: false });
    const list = await (await h.call('/v1/agencies/AG-A/batches?limit=2', { token: h.t.supervisor })).json();
    expect(list.batches[0].seq).toBe(pendingBatch.seq);
    expect(list.batches.length).toBeLessThanOrEqual(2);
    const pending = await (await h.call('/v1/notary/pending', { token: h.t.notary })).json();
    expect(pending.batches.map((b: { root: string }) => b.root)).toContain(pendingBatch.root);
    expect(pending.batches.map((b: { root: string }) => b.root)).not.toContain((await h.liuhen.journal.getBatch('AG-A', 1))!.root);
  });
});

describe('health', () => {
  test('ok, then degraded when the chain is down', async () => {
    const ok = await (await h.call('/healthz')).json();
    expect(ok).toMatchObject({ status: 'ok', reasons: [], checks: { store: 'ok', chain: 'ok', journal: 'ok' } });
    chain.down = true;
    try {
      const bad = await (await h.call('/healthz')).json();
      expect(bad.status).toBe('degraded');
      expect(bad.reasons.join(' ')).toMatch(/chain/);
      // Reads keep working; the chain status reads unknown with the reason.
      const recs = await h.call('/v1/agencies/AG-A/batches', { token: h.t.supervisor });
      expect(recs.status).toBe(200);
      expect((await recs.json()).batches[0].chain).toMatchObject({ phase: 'unknown', chainError: 'CHAIN_UNREACHABLE' });
    } finally {
      chain.down = false;
    }
  });

  test('degraded when a record has waited too long to be sealed', async () => {
    const later = await startGateway({ clock: () => new Date(Date.now() + 3600_000) });
    try {
      expect((await (await later.call('/healthz')).json()).status).toBe('ok');
      expect(
        (
          await later.call('/v1/records', {
            ...json({ meta: { device: 'term-2', officer: 'OF-4', kind: 'event', capturedAt: new Date().toISOString() }, body: { event: 'power-on' } }),
            token: later.t.agency,
          })
        ).status,
      ).toBe(201);
      const bad = await (await later.call('/healthz')).json();
      expect(bad.status).toBe('degraded');
      expect(bad.reasons.join(' ')).toMatch(/backlog/);
      expect(bad.checks.backlog.pendingRecords).toBeGreaterThan(0);
      await later.drain(); // the audit entry of the POST is journaled too, then everything is sealed
      await later.liuhen.seal();
      expect((await (await later.call('/healthz')).json()).status).toBe('ok');
    } finally {
      await later.close();
    }
  });

  test('uploads without a store → 503 STORE_UNAVAILABLE', async () => {
    const bare = await startGateway({ noStore: true });
    try {
      const r = await bare.call('/v1/records', { method: 'POST', token: bare.t.agency, body: uploadForm(meta(), new Uint8Array(8)) });
      expect(r.status).toBe(503);
      expect((await r.json()).error.code).toBe('STORE_UNAVAILABLE');
      expect((await (await bare.call('/healthz')).json()).checks.store).toBe('not configured');
    } finally {
      await bare.close();
    }
  });
});
