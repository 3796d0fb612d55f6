/** Atomic file replacement: temp file, fsync, rename (or link when exclusive), fsync of the folder. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fsyncDir, writeFileAtomic, writeFileAtomicSync } from '../../src/util/atomic-write.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'liuhen-atomic-'));
  dirs.push(d);
  return d;
}

describe('writeFileAtomic', () => {
  it('replaces a file whole, mode 0600 by default, leaving no temporary file', async () => {
    const d = temp();
    const f = join(d, 'state.json');
    writeFileSync(f, 'old');
    await writeFileAtomic(f, '{"new":true}');
    expect(readFileSync(f, 'utf8')).toBe('{"new":true}');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readdirSync(d)).toEqual(['state.json']);
    writeFileAtomicSync(f, new TextEncoder().encode('sync'), { mode: 0o644 });
    expect(readFileSync(f, 'utf8')).toBe('sync');
    expect(statSync(f).mode & 0o777).toBe(0o644);
    expect(readdirSync(d)).toEqual(['state.json']);
  });

  it('exclusive: of concurrent creators exactly one wins; the file is never replaced', async () => {
    const d = temp();
    const f = join(d, 'keyring.json');
    const results = await Promise.allSettled(['a', 'b', 'c'].map((x) => writeFileAtomic(f, x, { exclusive: true })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as NodeJS.ErrnoException).code).toBe('EEXIST');
    expect(['a', 'b', 'c']).toContain(readFileSync(f, 'utf8'));
    expect(readdirSync(d)).toEqual(['keyring.json']);
  });

  it('a failed write leaves the old file and no temporary file', async () => {
    const d = temp();
    const f = join(d, 'missing-folder', 'x.json');
    await expect(writeFileAtomic(f, 'x')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => writeFileAtomicSync(f, 'x')).toThrow();
    await expect(fsyncDir(d)).resolves.toBeUndefined();
    expect(readdirSync(d)).toEqual([]);
  });
});
