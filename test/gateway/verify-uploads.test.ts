import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startGateway, type Harness } from './harness.js';

/** Anonymous file verifications are hashed by the gateway: only a few may run at once. */
describe('POST /v1/verify with a file: bounded concurrency', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startGateway({ config: { limits: { verifyUploads: 1 } } });
  });
  afterAll(() => h.close());

  test('a second upload while one is running gets 429, and the slot frees afterwards', async () => {
    const boundary = 'liuhenboundary';
    const receipt = JSON.stringify({ format: 'liuhen-receipt/1' });
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="receipt"; filename="r.json"\r\nContent-Type: application/json\r\n\r\n${receipt}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
    let release!: () => void;
    const stalled = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(new TextEncoder().encode(head));
        await new Promise<void>((r) => (release = r));
        c.enqueue(new TextEncoder().encode(`data\r\n--${boundary}--\r\n`));
        c.close();
      },
    });
    const first = fetch(`${h.url}/v1/verify`, {
      method: 'POST',
      body: stalled,
      duplex: 'half',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    } as RequestInit);
    const form = new FormData();
    form.append('receipt', new Blob([receipt], { type: 'application/json' }), 'r.json');
    form.append('file', new Blob([new Uint8Array(8)]), 'f.bin');
    // The first upload holds its slot until released; until it reaches the handler a second one may still pass.
    let second: Response;
    const deadline = Date.now() + 20_000;
    do {
      second = await fetch(`${h.url}/v1/verify`, { method: 'POST', body: form });
      if (second.status !== 429) await new Promise((r) => setTimeout(r, 100));
    } while (second.status !== 429 && Date.now() < deadline);
    expect(second.status).toBe(429);
    expect((await second.json()).error.code).toBe('RATE_LIMITED');
    release();
    expect((await first).status).toBeLessThan(500);
    const third = await fetch(`${h.url}/v1/verify`, { method: 'POST', body: form });
    expect(third.status).not.toBe(429);
  });
});
