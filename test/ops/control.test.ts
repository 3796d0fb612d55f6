import { createConnection } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { controlSocketPath } from '../../src/backup/control.js';
import { tempDir } from '../helpers/tmp.js';
import { start, stopOrKill, type Started } from './helpers.js';

/**
 * Red team (issue 14): the control socket of `liuhen start` must never keep the
 * system from stopping. A client that connects and sends nothing (a hung or
 * suspended `liuhen backup`, anything of the owner's that opens the socket) held
 * `server.close()` — which waits for every connection — so Ctrl-C never got to
 * stop the gateway, close the journal or save the chain state.
 */
describe('the control socket of a running system', () => {
  const t = tempDir('liuhen-control-');
  const running: Started[] = [];
  afterAll(async () => {
    for (const s of running) await stopOrKill(s);
    t.cleanup();
  }, 90_000);

  it('a Ctrl-C sent as soon as the ready line is read stops the system cleanly (exit 0), three times', { timeout: 240_000 }, async () => {
    // The line was written before the signal listener was installed: a stop arriving in between
    // killed the process outright (signal SIGINT), leaving its Anvil running.
    for (let i = 0; i < 3; i++) {
      const s = await start(join(t.dir, `quick-${i}`));
      running.push(s);
      s.proc.kill('SIGINT');
      const code = await s.exited;
      expect(code, `${s.proc.signalCode} ${s.stderr().slice(-2000)}`).toBe(0);
    }
  });

  it('a client that connects and never sends a request does not hold up Ctrl-C', { timeout: 240_000 }, async () => {
    const data = join(t.dir, 'station');
    const s = await start(data);
    running.push(s);
    const idle = createConnection(controlSocketPath(data));
    idle.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      idle.once('connect', () => resolve());
      idle.once('error', reject);
    });
    s.proc.kill('SIGINT');
    // Generous: a clean stop takes a few seconds; before the fix it never came.
    const code = await Promise.race([s.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 90_000))]);
    idle.destroy();
    expect(code, `${s.proc.signalCode} ${s.stderr().slice(-3000)}`).toBe(0);
  });
});
