import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackup, restoreBackup } from '../../src/backup/index.js';
import { isLiuhenError } from '../../src/errors.js';
import { Liuhen } from '../../src/liuhen.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Red team (issue 14): a restore onto a disk that fills (a 48 MB tmpfs, root only).
 * Nothing half-restored may be left, and the error must say what happened: the
 * archive is fine — before the fix it was BACKUP_INVALID ("altered or damaged",
 * exit 2), which tells an operator to throw a good backup away.
 */
const t = tempDir('liuhen-diskfull-');
const disk = join(t.dir, 'disk');
let mounted = false;
try {
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', disk], { stdio: 'ignore' });
  mounted = true;
} catch {
  // not root, or no tmpfs: skipped
}

describe.skipIf(!mounted)('restore onto a disk that fills', () => {
  afterAll(() => {
    if (mounted) execFileSync('umount', [disk]);
    t.cleanup();
  });

  it('fails with an I/O error, not BACKUP_INVALID, and leaves nothing on the disk', { timeout: 120_000 }, async () => {
    const data = join(t.dir, 'station');
    Liuhen.init(data, { agency: 'JN-CGJ', device: 'station-01', officer: 'system' });
    const l = await Liuhen.open(data);
    await l.recordBody({ n: 1 });
    await l.close();
    mkdirSync(join(data, 'store', 'objects'), { recursive: true });
    writeFileSync(join(data, 'store', 'objects', 'big'), randomBytes(64 * 1024 * 1024), { mode: 0o600 });
    const archive = join(t.dir, 'station.tar');
    await createBackup({ dataDir: data, out: archive });

    const target = join(disk, 'restored');
    const e = await restoreBackup({ archive, dataDir: target }).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isLiuhenError(e), String(e)).toBe(true);
    expect((e as { code: string }).code, String(e)).toBe('JOURNAL_IO');
    expect((e as Error).message).toMatch(/ENOSPC|no space/i);
    expect(readdirSync(disk)).toEqual([]);
  });
});
