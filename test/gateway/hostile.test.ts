import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { auditEntries, json, meta, startGateway, upload, uploadForm, type Harness } from './harness.js';

/**
 * Hostile input: every bad request gets a 4xx with a code, the process
 * stays up, and nothing is half-written (the journal's record count — the
 * audit trail aside — is unchanged by a refused request).
 */
let h: Harness;
let recordId: string;
let receipt: Record<string, unknown>;

beforeAll(async () => {
  h = await startGateway({ config: { limits: { uploadBytes: 64 * 1024, jsonBytes: 32 * 1024, fieldBytes: 32 * 1024 } } });
  const rec = await upload(h, new TextEncoder().encode('hostile-suite evidence'));
  recordId = rec.id;
  await h.liuhen.seal();
  receipt = (await (await h.call(`/v1/records/${recordId}/receipt`, { token: h.t.supervisor })).json()) as Record<string, unknown>;
});
afterAll(() => h?.close());

async function expectError(r: Response, status: number, code: string): Promise<void> {
  const text = await r.text();
  expect(r.status, text).toBe(status);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(text).not.toMatch(/\bat .+\.(ts|js):\d+/); // no stack
  expect(text).not.toContain(h.dir); // no server path
}

/** Runs `fn` and checks that no record was journaled and the gateway still answers. */
async function unchanged(fn: () => Promise<void>): Promise<void> {
  const before = await h.recordCount();
  await fn();
  expect(await h.recordCount()).toBe(before);
  expect((await h.call('/healthz')).status).toBe(200);
}

describe('JSON bodies', () => {
  const record = (extra: Record<string, unknown> = {}) => ({
    meta: { device: 'cam-1', officer: 'OF-1', kind: 'form', capturedAt: '2026-11-27T09:30:00+08:00' },
    body: { note: 'n' },
    ...extra,
  });

  test('malformed JSON → 400 INVALID_JSON', () =>
    unchanged(async () => {
      await expectError(
        await h.call('/v1/records', { method: 'POST', token: h.t.agency, headers: { 'content-type': 'application/json' }, body: '{"meta": {' }),
        400,
        'INVALID_JSON',
      );
      await expectError(
        await h.call('/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"receipt": 1} trailing' }),
        400,
        'INVALID_JSON',
      );
      await expectError(
        await h.call('/v1/tokens', {
          method: 'POST',
          token: h.t.admin,
          headers: { 'content-type': 'application/json' },
          body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
        }),
        400,
        'INVALID_JSON',
      );
    }));

  test('unknown keys → 400 INVALID_INPUT naming the key', () =>
    unchanged(async () => {
      const r = await h.call('/v1/records', { ...json(record({ admin: true })), token: h.t.agency });
      await expectError(r.clone(), 400, 'INVALID_INPUT');
      expect((await r.json()).error.message).toMatch(/admin/);
      await expectError(
        await h.call('/v1/records', { ...json({ ...record(), meta: { ...record().meta, agency: 'AG-B' } }), token: h.t.agency }),
        400,
        'INVALID_INPUT',
      );
      await expectError(await h.call('/v1/tokens', { ...json({ role: 'admin', label: 'x', scope: '*' }), token: h.t.admin }), 400, 'INVALID_INPUT');
      await expectError(await h.call('/v1/verify', json({ receipt, sha256: 'a'.repeat(64), extra: 1 })), 400, 'INVALID_INPUT');
    }));

  test('__proto__ / constructor keys anywhere → 400', () =>
    unchanged(async () => {
      const send = (text: string) => h.call('/v1/records', { method: 'POST', token: h.t.agency, headers: { 'content-type': 'application/json' }, body: text });
      const base = JSON.stringify(record());
      await expectError(await send(base.replace('"body":{', '"body":{"__proto__":{"polluted":1},')), 400, 'INVALID_INPUT');
      await expectError(await send(base.replace('"body":{', '"body":{"nested":{"constructor":{"prototype":{"x":1}}},')), 400, 'INVALID_INPUT');
      await expectError(await send(`{"__proto__":{"isAdmin":true},${base.slice(1)}`), 400, 'INVALID_INPUT');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    }));

  test('oversized JSON → 413 PAYLOAD_TOO_LARGE, declared or streamed', () =>
    unchanged(async () => {
      const big = JSON.stringify(record({ body: { note: 'x'.repeat(40 * 1024) } }));
      await expectError(
        await h.call('/v1/records', { method: 'POST', token: h.t.agency, headers: { 'content-type': 'application/json' }, body: big }),
        413,
        'PAYLOAD_TOO_LARGE',
      );
      // Chunked (no Content-Length): the limit holds while reading.
      const stream = new ReadableStream({
        start(c) {
          for (let i = 0; i < 64; i++) c.enqueue(new TextEncoder().encode(' '.repeat(1024)));
          c.close();
        },
      });
      await expectError(
        await h.call('/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit),
        413,
        'PAYLOAD_TOO_LARGE',
      );
    }));

  test('body kinds are bounded by the record schema (16 KiB body, kinds)', () =>
    unchanged(async () => {
      await expectError(await h.call('/v1/records', { ...json(record({ body: { note: 'y'.repeat(17 * 1024) } })), token: h.t.agency }), 400, 'INVALID_INPUT');
      await expectError(
        await h.call('/v1/records', { ...json({ ...record(), meta: { ...record().meta, kind: 'video' } }), token: h.t.agency }),
        400,
        'INVALID_INPUT',
      );
      await expectError(
        await h.call('/v1/records', { ...json({ ...record(), meta: { ...record().meta, capturedAt: 'yesterday' } }), token: h.t.agency }),
        400,
        'INVALID_INPUT',
      );
    }));

  test('wrong content type → 415', () =>
    unchanged(async () => {
      await expectError(
        await h.call('/v1/records', { method: 'POST', token: h.t.agency, headers: { 'content-type': 'text/plain' }, body: 'hello' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
      await expectError(
        await h.call('/v1/tokens', { method: 'POST', token: h.t.admin, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'role=admin' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
      await expectError(
        await h.call('/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json; charset=latin1' }, body: '{}' }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
    }));
});

describe('receipts', () => {
  test('absurd proofs and junk receipts → 400 with the receipt code', () =>
    unchanged(async () => {
      const inclusion = receipt.inclusion as { index: number; size: number; path: string[] };
      const huge = { ...receipt, inclusion: { ...inclusion, path: Array.from({ length: 300 }, () => `0x${'ab'.repeat(32)}`) } };
      await expectError(await h.call('/v1/verify', json({ receipt: huge })), 400, 'INVALID_RECEIPT');
      const wrongLength = { ...receipt, inclusion: { ...inclusion, path: [...inclusion.path, `0x${'cd'.repeat(32)}`] } };
      await expectError(await h.call('/v1/verify', json({ receipt: wrongLength })), 400, 'INVALID_RECEIPT');
      const giantIndex = { ...receipt, inclusion: { ...inclusion, index: 2 ** 52, size: 2 ** 53 } };
      await expectError(await h.call('/v1/verify', json({ receipt: giantIndex })), 400, 'INVALID_RECEIPT');
      await expectError(await h.call('/v1/verify', json({ receipt: { ...receipt, format: 'liuhen-receipt/99' } })), 400, 'RECEIPT_FORMAT_UNKNOWN');
      await expectError(await h.call('/v1/verify', json({ receipt: 'not a receipt' })), 400, 'INVALID_RECEIPT');
      await expectError(await h.call('/v1/verify', json({})), 400, 'INVALID_RECEIPT');
      await expectError(await h.call('/v1/verify', json({ receipt, sha256: 'xyz' })), 400, 'INVALID_INPUT');
      // A receipt over the JSON limit is refused before it is parsed.
      const padded = { ...receipt, record: { ...(receipt.record as object), officer: 'o'.repeat(40 * 1024) } };
      await expectError(await h.call('/v1/verify', json({ receipt: padded })), 413, 'PAYLOAD_TOO_LARGE');
    }));
});

describe('ids in paths and queries', () => {
  const traversal = '..%2F..%2Fetc%2Fpasswd';
  test.each([
    ['/v1/records/%s', 'supervisor'],
    ['/v1/records/%s/receipt', 'supervisor'],
    ['/v1/records/%s/content', 'supervisor'],
    ['/v1/batches/%s', 'supervisor'],
    ['/v1/agencies/%s/batches', 'supervisor'],
    ['/v1/cases/%s', 'supervisor'],
    ['/v1/devices/%s/continuity', 'supervisor'],
    ['/v1/tokens/%s', 'admin'],
    ['/v1/verify/%s', ''],
  ] as const)('%s refuses traversal, NUL and junk', async (pattern, role) => {
    for (const bad of [traversal, '..', '%00', 'a%00b', `${'A'.repeat(300)}`, '%E0%A4%A', '0x' + 'g'.repeat(64)]) {
      const method = pattern.startsWith('/v1/tokens') ? 'DELETE' : 'GET';
      const r = await h.call(pattern.replace('%s', bad), { method, ...(role ? { token: h.t[role] } : {}) });
      expect(r.status, `${pattern} with ${bad}`).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      const body = (await r.json()) as { error: { code: string } };
      expect(['INVALID_INPUT', 'NOT_FOUND']).toContain(body.error.code);
    }
  });

  test('unknown or malformed query parameters → 400', async () => {
    await expectError(await h.call('/v1/audit?limit=99999', { token: h.t.admin }), 400, 'INVALID_INPUT');
    await expectError(await h.call('/v1/audit?limit=1e3', { token: h.t.admin }), 400, 'INVALID_INPUT');
    await expectError(await h.call('/v1/audit?after=1&before=5', { token: h.t.admin }), 400, 'INVALID_INPUT');
    await expectError(await h.call('/v1/audit?limit=1&limit=2', { token: h.t.admin }), 400, 'INVALID_INPUT');
    await expectError(await h.call(`/v1/records/${recordId}?debug=1`, { token: h.t.supervisor }), 400, 'INVALID_INPUT');
  });

  test('unknown routes are JSON 404s', async () => {
    await expectError(await h.call('/v1/nothing'), 404, 'NOT_FOUND');
    await expectError(await h.call('/v1/records', { method: 'PUT' }), 404, 'NOT_FOUND');
  });
});

describe('uploads', () => {
  test('an oversized upload → 413, nothing journaled', () =>
    unchanged(async () => {
      const r = await h.call('/v1/records', { method: 'POST', token: h.t.agency, body: uploadForm(meta(), new Uint8Array(200 * 1024)) });
      await expectError(r, 413, 'PAYLOAD_TOO_LARGE');
    }));

  test('an oversized upload without Content-Length (chunked) → 413, nothing journaled', () =>
    unchanged(async () => {
      const form = uploadForm(meta(), new Uint8Array(100 * 1024).fill(7));
      const encoded = new Response(form);
      const type = encoded.headers.get('content-type')!;
      const r = await h.call('/v1/records', {
        method: 'POST',
        token: h.t.agency,
        headers: { 'content-type': type },
        body: encoded.body,
        duplex: 'half',
      } as RequestInit);
      await expectError(r, 413, 'PAYLOAD_TOO_LARGE');
    }));

  test('file before meta, missing file, extra parts, bad meta → 400', () =>
    unchanged(async () => {
      const reversed = new FormData();
      reversed.append('file', new Blob([new Uint8Array(10)]), 'a.bin');
      reversed.append('meta', JSON.stringify(meta()));
      await expectError(await h.call('/v1/records', { method: 'POST', token: h.t.agency, body: reversed }), 400, 'INVALID_INPUT');

      const noFile = new FormData();
      noFile.append('meta', JSON.stringify(meta()));
      await expectError(await h.call('/v1/records', { method: 'POST', token: h.t.agency, body: noFile }), 400, 'INVALID_INPUT');

      const two = uploadForm(meta(), new Uint8Array(10));
      two.append('file', new Blob([new Uint8Array(10)]), 'b.bin');
      const r2 = await h.call('/v1/records', { method: 'POST', token: h.t.agency, body: two });
      expect(r2.status).toBeGreaterThanOrEqual(400);
      expect(r2.status).toBeLessThan(500);
      await r2.arrayBuffer();

      const extra = uploadForm(meta(), new Uint8Array(10));
      extra.append('agency', 'AG-B');
      await expectError(await h.call('/v1/records', { method: 'POST', token: h.t.agency, body: extra }), 400, 'INVALID_INPUT');

      await expectError(
        await h.call('/v1/records', { method: 'POST', token: h.t.agency, body: uploadForm(meta({ officer: 'x\u0000y' }), new Uint8Array(10)) }),
        400,
        'INVALID_INPUT',
      );
      await expectError(
        await h.call('/v1/records', { method: 'POST', token: h.t.agency, body: uploadForm(meta({ kind: 'form' }), new Uint8Array(10)) }),
        400,
        'INVALID_INPUT',
      );
      const protoMeta = new FormData();
      protoMeta.append('meta', `{"__proto__":{"x":1},${JSON.stringify(meta()).slice(1)}`);
      protoMeta.append('file', new Blob([new Uint8Array(4)]), 'c.bin');
      await expectError(await h.call('/v1/records', { method: 'POST', token: h.t.agency, body: protoMeta }), 400, 'INVALID_INPUT');
      await expectError(
        await h.call('/v1/records', { method: 'POST', token: h.t.agency, headers: { 'content-type': 'multipart/form-data' }, body: 'x' }),
        400,
        'INVALID_INPUT',
      );
      await expectError(
        await h.call('/v1/records', {
          method: 'POST',
          token: h.t.agency,
          headers: { 'content-type': 'multipart/form-data; boundary=zz' },
          body: '--zz\r\nContent-Disposition: form-data; name="meta"\r\n\r\n{}',
        }),
        400,
        'INVALID_INPUT',
      );
    }));

  test('an interrupted upload leaves no record and the gateway up', () =>
    unchanged(async () => {
      const boundary = '----liuhen-test-boundary';
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="meta"\r\n\r\n${JSON.stringify(meta())}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.mp4"\r\nContent-Type: video/mp4\r\n\r\n`;
      const url = new URL(`${h.url}/v1/records`);
      await new Promise<void>((resolve) => {
        const req = request({
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            authorization: `Bearer ${h.t.agency}`,
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': String(head.length + 50_000),
          },
        });
        req.on('error', () => resolve());
        req.on('response', (res) => {
          res.resume();
          resolve();
        });
        req.write(head);
        req.write(Buffer.alloc(20_000, 1), () => setTimeout(() => req.destroy(), 100));
      });
      // The gateway notices the cut, fails the store put and journals nothing; the attempt is audited as incomplete.
      const incomplete = async () => (await auditEntries(h)).filter((e) => e.what.route === '/v1/records' && e.what.method === 'POST' && !e.outcome.complete);
      // The server learns of the cut asynchronously: wait for its audit entry (a deadline, not a timing assertion).
      let cut = await incomplete();
      for (const deadline = Date.now() + 15_000; cut.length === 0 && Date.now() < deadline; cut = await incomplete())
        await new Promise((r) => setTimeout(r, 100));
      expect(cut.length).toBeGreaterThan(0);
      expect(cut.at(-1)!.outcome.status).toBe(499);
    }));

  test('the gateway still takes good uploads afterwards', async () => {
    const r = await upload(h, new TextEncoder().encode('after the storm'));
    expect(r.seq).toBeGreaterThan(1);
  });
});
