import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { hashFile, hashStream } from '../../src/hash/stream.js';
import { tempDir } from '../helpers/tmp.js';

const t = tempDir();
afterAll(() => t.cleanup());

describe('streaming SHA-256', () => {
  it('equals sha256sum and reports progress up to the total', async () => {
    const file = join(t.dir, 'clip.bin');
    writeFileSync(file, Buffer.alloc(40 * 1024 * 1024 + 3, 0x5a));
    const seen: number[] = [];
    const r = await hashFile(file, { onProgress: (p) => seen.push(p.bytesDone) });
    expect(r.sha256).toBe(execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]);
    expect(r.size).toBe(40 * 1024 * 1024 + 3);
    expect(seen.at(-1)).toBe(r.size);
    expect(seen.length).toBeGreaterThan(1);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });

  it('hashes any async iterable (the known empty-string digest too)', async () => {
    expect((await hashStream(Readable.from([]))).sha256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const parts = [Buffer.from('hello '), Buffer.from('world\n')];
    expect((await hashStream(Readable.from(parts))).sha256).toBe(createHash('sha256').update('hello world\n').digest('hex'));
  });

  it('names an unreadable path', async () => {
    await expect(hashFile(join(t.dir, 'missing.mp4'))).rejects.toThrow(/cannot read .*missing\.mp4: ENOENT/);
    await expect(hashFile(t.dir)).rejects.toMatchObject({ code: 'FILE_UNREADABLE' });
  });

  it('can be cancelled', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(hashStream(Readable.from([Buffer.alloc(10)]), { signal: ac.signal })).rejects.toMatchObject({ code: 'HASH_ABORTED' });
  });

  it('hashes a file larger than the process heap limit in flat memory', () => {
    // A 256 MiB file through a child whose V8 heap is capped at 32 MiB: reading it whole would crash.
    const file = join(t.dir, 'big.bin');
    execFileSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=256', 'status=none']);
    const script = `
      import { hashFile } from ${JSON.stringify(new URL('../../src/hash/stream.ts', import.meta.url).pathname)};
      let peak = 0;
      const r = await hashFile(${JSON.stringify(file)}, { onProgress: () => { peak = Math.max(peak, process.memoryUsage().heapUsed); } });
      console.log(JSON.stringify({ ...r, peakHeap: peak, heapLimit: (await import('node:v8')).getHeapStatistics().heap_size_limit }));`;
    const res = spawnSync(process.execPath, ['--max-old-space-size=32', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout.trim());
    expect(out.size).toBe(256 * 1024 * 1024);
    expect(out.size).toBeGreaterThan(out.heapLimit);
    expect(out.sha256).toBe(execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]);
    expect(out.peakHeap).toBeLessThan(out.heapLimit);
  });
});
