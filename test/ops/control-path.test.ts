import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { controlSocketPath, requestBackup, serveControl } from '../../src/backup/index.js';
import { isLiuhenError } from '../../src/errors.js';
import { Liuhen } from '../../src/liuhen.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * A Unix socket's path holds at most 107 bytes (unix(7)). A data folder deep
 * enough that `<data>/control.sock` is longer used to leave `liuhen start`
 * without a control socket and `liuhen backup` saying the folder's process
 * "does not serve backups" — untrue and no help. Both now say the path is too
 * long and what to do; through a short symbolic link it works.
 */
const t = tempDir('liuhen-ctl-path-');
afterAll(() => t.cleanup());

it('a data folder whose control socket path is too long: a clear BACKUP_UNAVAILABLE on both sides; a short link to it works', async () => {
  const deep = join(t.dir, 'a'.repeat(60), 'b'.repeat(60));
  mkdirSync(deep, { recursive: true });
  Liuhen.init(deep, { agency: 'AG-A', device: 'station', officer: 'O-1' });
  expect(Buffer.byteLength(controlSocketPath(deep))).toBeGreaterThan(107);
  const liuhen = await Liuhen.open(deep);
  try {
    for (const attempt of [() => serveControl(deep, { journal: liuhen.journal }), () => requestBackup(deep, join(t.dir, 'out.tar'), false)]) {
      const e = await attempt().then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(isLiuhenError(e, 'BACKUP_UNAVAILABLE'), String(e)).toBe(true);
      expect((e as Error).message).toMatch(/too long for its control socket .*a symbolic link works/);
    }
    const link = join(t.dir, 'd');
    symlinkSync(deep, link);
    const control = await serveControl(link, { journal: liuhen.journal });
    await control.close();
  } finally {
    await liuhen.close();
  }
});
