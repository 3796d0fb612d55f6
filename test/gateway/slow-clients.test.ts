import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startGateway, upload, type Harness } from './harness.js';

/**
 * Issue 9.6: four clients dripping one byte every second into
 * `POST /v1/verify` held every file-verification slot for `requestTimeout`
 * (2 h). Now a body must keep a minimum rate (small figures here, so the test
 * takes seconds, not minutes), and one address holds at most
 * `verifyUploadsPerAddress` slots. Different client addresses come through a
 * trusted proxy hop (X-Forwarded-For).
 */
const BOUNDARY = 'slowboundary';

interface Drip {
  socket: Socket;
  /** Everything the server answered. */
  answer: () => string;
  closed: Promise<void>;
  stop: () => void;
}

/** A multipart verification that sends its headers and the receipt part, then one byte per second. */
function drip(url: string, from: string, receipt: string): Drip {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => (answer += d));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  const part = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="receipt"\r\n\r\n${receipt}\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  socket.write(
    `POST /v1/verify HTTP/1.1\r\nHost: ${hostname}\r\nX-Forwarded-For: ${from}\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${part.length + 1_000_000}\r\n\r\n${part}`,
  );
  const timer = setInterval(() => {
    if (!socket.destroyed) socket.write('x');
  }, 1000);
  socket.once('close', () => clearInterval(timer));
  return { socket, answer: () => answer, closed, stop: () => (clearInterval(timer), socket.destroy()) };
}

describe('slow clients cannot starve public verification (issue 9.6)', () => {
  let h: Harness;
  let receipt: string;
  const drips: Drip[] = [];
  beforeAll(async () => {
    h = await startGateway({
      config: {
        trustProxy: 1,
        limits: { verifyUploads: 4, verifyUploadsPerAddress: 2 },
        http: { rateWindowMs: 800, minBytesPerSecond: 500, verifyMinBytesPerSecond: 500, headersTimeoutMs: 1000, slowPerAddress: 16 },
      },
    });
    const created = await upload(h, new TextEncoder().encode('evidence'));
    await h.liuhen.seal();
    receipt = await (await h.call(`/v1/records/${created.id}/receipt`, { token: h.t.agency })).text();
  });
  afterAll(async () => {
    for (const d of drips) d.stop();
    await h.close();
  });

  const verifyFile = (from: string) => {
    const form = new FormData();
    form.append('receipt', receipt);
    form.append('file', new Blob([new TextEncoder().encode('evidence')]), 'f.bin');
    return h.call('/v1/verify', { method: 'POST', body: form, headers: { 'x-forwarded-for': from } });
  };

  test('four drip-feeding clients from one address hold at most two slots; another address verifies at once', async () => {
    for (let i = 0; i < 4; i++) drips.push(drip(h.url, '203.0.113.9', receipt));
    // Two of them are refused at once (429): this address already holds two slots.
    const deadline = Date.now() + 20_000;
    while (drips.filter((d) => d.answer().startsWith('HTTP/1.1 429')).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(drips.filter((d) => d.answer().startsWith('HTTP/1.1 429'))).toHaveLength(2);
    const r = await verifyFile('198.51.100.7');
    expect(r.status).toBe(200);
    expect(((await r.json()) as { checks: { name: string; status: string }[] }).checks.find((c) => c.name === 'content')?.status).toBe('pass');
  });

  test('drip-feeding clients from four addresses are cut off (408) after a window, and the slots free up', async () => {
    // The first test's drips: two refused at once, two cut off after a window.
    await Promise.all(drips.map((d) => d.closed));
    expect(drips.filter((d) => /^HTTP\/1\.1 408/.test(d.answer()))).toHaveLength(2);
    const many = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'].map((a) => drip(h.url, a, receipt));
    drips.push(...many);
    await Promise.all(many.map((d) => d.closed));
    for (const d of many) expect(d.answer()).toMatch(/^HTTP\/1\.1 408[\s\S]*REQUEST_TOO_SLOW/);
    // Every slot is free again (the first test's drips were cut too): four addresses verify at once.
    const rs = await Promise.all(['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4'].map(verifyFile));
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  test('a steady upload slower than a whole window but above the rate gets through', async () => {
    // 12 KB at ≈ 3 KB/s: four seconds in all, far beyond a window, never below the rate.
    const { hostname, port } = new URL(h.url);
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    const closedOrAnswered = new Promise<void>((r) => {
      socket.on('data', () => answer.includes('"checks"') && r());
      socket.once('close', () => r());
    });
    const content = 'x'.repeat(12_000);
    const body = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="receipt"\r\n\r\n${receipt}\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n\r\n${content}\r\n--${BOUNDARY}--\r\n`;
    const bytes = Buffer.from(body);
    socket.write(
      `POST /v1/verify HTTP/1.1\r\nHost: ${hostname}\r\nX-Forwarded-For: 198.51.100.99\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${bytes.length}\r\n\r\n`,
    );
    const step = 300;
    for (let i = 0; i < bytes.length; i += step) {
      socket.write(bytes.subarray(i, i + step));
      await new Promise((r) => setTimeout(r, 100));
    }
    await closedOrAnswered;
    socket.destroy();
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    // The file differs from the evidence: a verdict that names the mismatch, not a cut-off.
    expect(answer).toContain('CONTENT_MISMATCH');
  }, 60_000);

  test('a client that never finishes its headers is closed', async () => {
    const { hostname, port } = new URL(h.url);
    const socket = connect(Number(port), hostname);
    socket.on('error', () => undefined);
    const started = Date.now();
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const timer = setInterval(() => !socket.destroyed && socket.write('X-Drip: 1\r\n'), 200);
    await new Promise<void>((r) => socket.once('close', () => r()));
    clearInterval(timer);
    // headersTimeoutMs is 1 s: closed long before the 2-minute idle timeout.
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
