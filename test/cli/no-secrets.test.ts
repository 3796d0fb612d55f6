import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Issue 14: no secret is ever logged. A whole `liuhen start` run (embedded
 * chain, registry, dev notary, anchoring, gateway) at log level debug, used
 * with every token it printed and some it never issued, then stopped; its
 * whole output is searched for each token and passphrase (the dev keyring's,
 * and a notary passphrase given in the environment). The tokens may
 * appear exactly once: in the line that hands them to the operator.
 */
const t = tempDir();
afterAll(() => t.cleanup());

describe('a full liuhen start run logs no secret', () => {
  it('tokens and passphrases appear nowhere in stderr, and on stdout only where they are handed out', async () => {
    const notaryPassphrase = `np-${randomBytes(12).toString('hex')}`;
    const data = join(t.dir, 'data');
    const child = spawn(process.execPath, [BIN, '--data', data, '--json', 'start', '--port', '0', '--chain-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LIUHEN_LOG_LEVEL: 'debug', LIUHEN_NOTARY_PASSPHRASE: notaryPassphrase },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    try {
      const started = Date.now();
      while (!stdout.includes('\n') && Date.now() - started < 240_000) {
        if (child.exitCode !== null) throw new Error(`liuhen start exited: ${stderr.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const info = JSON.parse(stdout.split('\n')[0]!) as { url: string; tokens: Record<string, string> };
      const tokens = Object.values(info.tokens);
      expect(tokens.length).toBeGreaterThanOrEqual(4);
      const forged = `lh_${randomBytes(20).toString('hex')}`;
      const call = (path: string, token?: string, init: RequestInit = {}) =>
        fetch(`${info.url}${path}`, {
          ...init,
          headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) },
        });
      // Every token, used on routes it may and may not call; a forged one; one in a query string.
      for (const token of [...tokens, forged]) {
        await call('/v1/audit?limit=1', token);
        await call('/v1/notary/pending', token);
        await call(`/v1/records?token=${token}`, token);
      }
      const form = new FormData();
      form.append('meta', JSON.stringify({ device: 'cam-secret-test', officer: 'OF-1', kind: 'photo', capturedAt: new Date().toISOString() }));
      form.append('file', new Blob([randomBytes(500)]), 'a.jpg');
      expect((await call('/v1/records', info.tokens.agency, { method: 'POST', body: form })).status).toBe(201);
      expect((await call('/metrics')).status).toBe(200);
    } finally {
      child.kill('SIGINT');
      await exited;
    }
    // The dev keyring passphrase `liuhen start` made and used (a 0600 file in the store folder).
    const keyringPassphrase = readFileSync(join(data, 'store', 'keyring.dev-passphrase'), 'utf8').trim();
    expect(keyringPassphrase.length).toBeGreaterThan(8);
    const first = stdout.split('\n')[0]!;
    const rest = stdout.split('\n').slice(1).join('\n');
    const info = JSON.parse(first) as { tokens: Record<string, string> };
    const secrets = [...Object.values(info.tokens), keyringPassphrase, notaryPassphrase];
    // The run logged something at debug/info (the access log at least): the search is over real output.
    expect(stderr).toMatch(/"req":\{"id":/);
    for (const s of secrets) {
      expect(stderr.includes(s), `a secret in stderr: ${s.slice(0, 6)}…`).toBe(false);
      expect(rest.includes(s), `a secret in stdout after the hand-out line: ${s.slice(0, 6)}…`).toBe(false);
    }
    // The query string is never logged either (a token pasted into a URL).
    expect(stderr).not.toMatch(/token=/);
  }, 300_000);
});
