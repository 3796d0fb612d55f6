import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, jsonLines, liuhen } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Issue 9.7: `liuhen verify … | head -1` died with an unhandled EPIPE. Here
 * the reader of a real pipe goes away before the command writes (we close
 * our end of the child's stdout at once): the command must end cleanly — no
 * stack trace, no "Unhandled 'error' event", a deliberate exit status.
 */
function withClosedStdout(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stderr });
    });
  });
}

const t = tempDir();
const data = join(t.dir, 'data');
let file: string;
let receipt: string;

beforeAll(() => {
  expect(liuhen(['--data', data, 'init', '--agency', 'JN-CG', '--device', 'cam-01', '--officer', '37010001']).status).toBe(0);
  file = join(t.dir, 'clip.mp4');
  writeFileSync(file, Buffer.alloc(5000, 7));
  const rec = jsonLines(liuhen(['--data', data, '--json', 'record', file]).stdout)[0];
  expect(liuhen(['--data', data, 'seal']).status).toBe(0);
  receipt = join(t.dir, 'r.json');
  expect(liuhen(['--data', data, 'receipt', rec.id, '-o', receipt]).status).toBe(0);
}, 120_000);
afterAll(() => t.cleanup());

describe('a reader that goes away (issue 9.7)', () => {
  it.each([
    ['verify', () => ['--data', data, 'verify', file, '--receipt', receipt]],
    ['verify --json', () => ['--data', data, '--json', 'verify', file, '--receipt', receipt]],
    ['--help', () => ['--help']],
    ['audit', () => ['--data', data, 'audit', '--device', 'cam-01']],
  ])(
    'liuhen %s | (closed): ends with 141, nothing on stderr',
    async (_name, args) => {
      const r = await withClosedStdout(args());
      expect(r.stderr).not.toMatch(/EPIPE|Unhandled|Error/);
      expect(r.signal).toBeNull();
      expect(r.status).toBe(141);
    },
    90_000,
  );

  it('liuhen gateway with its reader gone stops as on Ctrl-C (exit 0)', async () => {
    const r = await withClosedStdout(['--data', data, 'gateway', '--port', '0']);
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|Error/);
    expect(r.status).toBe(0);
  }, 90_000);
});
