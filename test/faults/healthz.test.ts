/**
 * `/healthz` shows the component states `liuhen start` hands the gateway
 * (issue 10.4): anything not ok makes it degraded with the detail as the
 * reason, and a journal that refuses writes reads `journal: down` even while
 * its reads still answer.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp, listen, silentLogger, TokenStore, type ComponentHealth } from '../../gateway/index.js';
import { Liuhen } from '../../src/index.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('liuhen-healthz-');
afterAll(() => tmp.cleanup());

async function gatewayWith(components?: () => Promise<ComponentHealth[]>) {
  const dir = join(tmp.dir, `d${Math.random().toString(36).slice(2)}`);
  Liuhen.init(dir, { agency: 'AG-H', device: 'station-1', officer: 'H-1' });
  const liuhen = await Liuhen.open(dir);
  const tokens = await TokenStore.open(join(dir, 'gateway'));
  const app = createApp({ liuhen, tokens, logger: silentLogger, ...(components && { components }) });
  const running = await listen(app, { port: 0 });
  return {
    health: async () => (await fetch(`${running.url}/healthz`)).json(),
    close: async () => {
      await running.close(100);
      await liuhen.close();
    },
  };
}

describe('/healthz component states', () => {
  it('lists them; any not ok degrades the status with its detail; a journal refusing writes is down', async () => {
    let state: ComponentHealth[] = [
      { name: 'chain', status: 'ok', detail: 'running (pid 1)', data: { restarts: 0 } },
      { name: 'journal', status: 'ok', detail: 'accepts writes' },
    ];
    const g = await gatewayWith(async () => state);
    try {
      const ok = await g.health();
      expect(ok.status).toBe('ok');
      expect(ok.checks.components).toEqual(state);
      state = [
        { name: 'chain', status: 'down', detail: 'the chain process keeps failing (3 failures): exited (3)' },
        { name: 'journal', status: 'down', detail: 'refuses writes: ENOSPC' },
      ];
      const bad = await g.health();
      expect(bad.status).toBe('degraded');
      expect(bad.checks.journal).toBe('down');
      expect(bad.reasons).toEqual(
        expect.arrayContaining(['chain: the chain process keeps failing (3 failures): exited (3)', 'journal: refuses writes: ENOSPC']),
      );
    } finally {
      await g.close();
    }
  });

  it('a components probe that hangs degrades the answer instead of blocking it', async () => {
    const g = await gatewayWith(() => new Promise(() => {}));
    try {
      const h = await g.health();
      expect(h.status).toBe('degraded');
      expect(h.checks.components).toEqual([expect.objectContaining({ name: 'system', status: 'degraded' })]);
    } finally {
      await g.close();
    }
  });

  it('without components (liuhen gateway alone) the answer has none', async () => {
    const g = await gatewayWith();
    try {
      const h = await g.health();
      expect(h.checks.components).toBeUndefined();
    } finally {
      await g.close();
    }
  });
});
