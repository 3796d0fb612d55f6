/**
 * Token changes that did not go through the API are visible (issue 16,
 * "Also"): the gateway journals the token file's SHA-256 on its audit chain
 * at each start and after each change through the token API; a hand-edited
 * tokens.json is reported at the next start (a note for the operator, and
 * the finding TOKENS_CHANGED_OUTSIDE_API in the journaled start entry).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TOKENS_CHANGED_OUTSIDE_API } from '../../gateway/auth/tokens.js';
import { gatewayDir, openGateway } from '../../gateway/open.js';
import { Liuhen } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';

interface DigestEntry {
  reason: 'start' | 'api';
  digest: string | null;
  finding?: { code: string; expected: string | null; found: string | null };
}

describe('the token file digest on the audit trail', () => {
  let tmp: ReturnType<typeof tempDir>;
  let dataDir: string;
  beforeEach(() => {
    tmp = tempDir('liuhen-tokens-file-');
    dataDir = join(tmp.dir, 'station');
    Liuhen.init(dataDir, { agency: 'JN-SCJG', device: 'BWC-0001', officer: '37010012345' });
  });
  afterEach(() => tmp.cleanup());

  const tokensPath = () => join(gatewayDir(dataDir), 'tokens.json');
  const fileDigest = () => createHash('sha256').update(readFileSync(tokensPath())).digest('hex');

  /** Opens the gateway as `liuhen gateway` does, runs `body`, returns the notes and the digest entries journaled so far. */
  async function start(body?: (g: Awaited<ReturnType<typeof openGateway>>) => Promise<void>) {
    const g = await openGateway({ dataDir, chain: false });
    try {
      await body?.(g);
      const entries: DigestEntry[] = [];
      for await (const s of g.liuhen.journal.deviceRecords('gateway-audit')) {
        const b = s.record.body as unknown as { event: string; tokens: DigestEntry };
        if (b?.event === 'gateway-tokens') entries.push(b.tokens);
      }
      return { notes: g.notes, entries, g };
    } finally {
      await g.close();
    }
  }

  it('records the digest at each start and after API changes; a hand-edited tokens.json is reported once, at the next start', async () => {
    // First start: no file yet; the bootstrap admin is created through the store (an API change).
    const first = await start();
    expect(first.notes.join('\n')).not.toContain('changed outside');
    expect(first.entries.map((e) => [e.reason, e.digest])).toEqual([
      ['start', null],
      ['api', fileDigest()],
    ]);

    // Second start: unchanged.
    const second = await start(async (g) => {
      await g.tokens.create({ role: 'supervisor', label: 'through the API', createdBy: 'test' });
    });
    expect(second.notes.join('\n')).not.toContain('changed outside');
    expect(second.entries.at(-1)).toMatchObject({ reason: 'api', digest: fileDigest() });
    expect(second.entries.filter((e) => e.finding)).toEqual([]);

    // Someone with write access to the data folder adds an admin token by hand.
    const before = fileDigest();
    const token = `lh_${'ab'.repeat(8)}_${'A'.repeat(43)}`;
    const file = JSON.parse(readFileSync(tokensPath(), 'utf8')) as { tokens: unknown[] };
    file.tokens.push({
      id: 'ab'.repeat(8),
      role: 'admin',
      label: 'intruder',
      hash: createHash('sha256').update(token).digest('hex'),
      createdAt: new Date().toISOString(),
      createdBy: 'bootstrap',
    });
    writeFileSync(tokensPath(), `${JSON.stringify(file, null, 2)}\n`);
    const after = fileDigest();

    const third = await start(async (g) => {
      // The file is beyond Liuhen's protection: the added token works …
      expect(g.tokens.authenticate(token)).toMatchObject({ ok: true, principal: { role: 'admin' } });
    });
    // … but it does not go unseen.
    expect(third.notes.join('\n')).toContain('changed outside the token API');
    const startEntry = third.entries.at(-1)!;
    expect(startEntry).toMatchObject({ reason: 'start', digest: after, finding: { code: TOKENS_CHANGED_OUTSIDE_API, expected: before, found: after } });

    // Reported once: the next start finds the digest it journaled.
    const fourth = await start();
    expect(fourth.notes.join('\n')).not.toContain('changed outside');
    expect(fourth.entries.at(-1)).toMatchObject({ reason: 'start', digest: after });
    expect(fourth.entries.at(-1)!.finding).toBeUndefined();

    // The entries are audit entries like the others: the audit API lists them, the finding as the outcome's code.
    const g = await openGateway({ dataDir, chain: false });
    try {
      const { createApp, silentLogger } = await import('../../gateway/index.js');
      const app = createApp({ liuhen: g.liuhen, tokens: g.tokens, logger: silentLogger });
      const { token } = await g.tokens.create({ role: 'admin', label: 'reader', createdBy: 'test' });
      const server = app.listen(0, '127.0.0.1');
      await new Promise<void>((r) => server.once('listening', () => r()));
      try {
        const port = (server.address() as { port: number }).port;
        const res = await fetch(`http://127.0.0.1:${port}/v1/audit?limit=500`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        const page = (await res.json()) as { entries: { what: { method: string; route: string }; outcome: { code?: string } }[] };
        const mine = page.entries.filter((e) => e.what.route === 'gateway/tokens.json');
        expect(mine.length).toBeGreaterThanOrEqual(6);
        expect(mine.some((e) => e.what.method === 'START' && e.outcome.code === TOKENS_CHANGED_OUTSIDE_API)).toBe(true);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }
    } finally {
      await g.close();
    }
  });

  it('a token file emptied outside the API is reported too', async () => {
    await start();
    writeFileSync(tokensPath(), `${JSON.stringify({ format: 'liuhen-gateway-tokens/1', tokens: [] }, null, 2)}\n`);
    const next = await start();
    expect(next.notes.join('\n')).toContain('changed outside the token API');
  });
});
