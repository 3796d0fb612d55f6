import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Journal } from '../../src/journal/journal.js';
import { jsonLines, liuhen } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const t = tempDir();
afterAll(() => t.cleanup());
const data = join(t.dir, 'data');
const d = ['--data', data];

describe('liuhen CLI without a chain', () => {
  it('--help lists every command', () => {
    const r = liuhen(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['init', 'record', 'seal', 'receipt', 'verify', 'audit', 'chain', 'deploy', 'anchor', 'notary', 'start', 'gateway', 'demo']) {
      expect(r.stdout, `command ${c} missing from --help`).toMatch(new RegExp(`\\n  ${c}\\b`));
    }
  });

  it('init → record → seal → receipt → verify', () => {
    expect(liuhen([...d, 'init', '--agency', 'JN-CG', '--device', 'cam-01', '--officer', '37010001']).status).toBe(0);
    expect(liuhen([...d, 'init', '--agency', 'JN-CG', '--device', 'cam-01', '--officer', '37010001'])).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/already holds a Liuhen data folder/),
    });

    const files = ['a.jpg', 'b.mp4', 'c.pdf'].map((n, i) => {
      const p = join(t.dir, n);
      writeFileSync(p, Buffer.alloc(1000 * (i + 1), i + 1));
      return p;
    });
    const rec = liuhen([...d, '--json', 'record', ...files, '--case', 'JN-2026-7', '--stage', 'investigation']);
    expect(rec.status, rec.stderr).toBe(0);
    const lines = jsonLines(rec.stdout);
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3]);
    expect(Object.keys(lines[0]).sort()).toEqual(['id', 'leaf', 'seq', 'sha256', 'size']);
    expect(lines[1].size).toBe(2000);

    const seal = liuhen([...d, '--json', 'seal']);
    expect(jsonLines(seal.stdout)).toEqual([{ agency: 'JN-CG', seq: 1, root: expect.stringMatching(/^0x[0-9a-f]{64}$/), size: 3 }]);

    const out = join(t.dir, 'r.json');
    expect(liuhen([...d, 'receipt', lines[1].id, '-o', out]).status).toBe(0);
    const receipt = JSON.parse(readFileSync(out, 'utf8'));
    expect(receipt.leaf).toBe(lines[1].leaf);

    // Offline: everything checks, the anchor is missing → 3 (incomplete).
    const ok = liuhen([...d, '--json', 'verify', files[1]!, '--receipt', out]);
    expect(ok.status).toBe(3);
    expect(JSON.parse(ok.stdout).checks.find((c: any) => c.name === 'content').status).toBe('pass');

    // One byte changed → 1.
    const bytes = readFileSync(files[1]!);
    bytes[0] ^= 0xff;
    writeFileSync(files[1]!, bytes);
    const bad = liuhen([...d, 'verify', files[1]!, '--receipt', out]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/✗ content +CONTENT_MISMATCH/);

    // Bad usage and unreadable input → 2.
    expect(liuhen([...d, 'verify', files[1]!, '--receipt', join(t.dir, 'nope.json')]).status).toBe(2);
    expect(liuhen([...d, 'verify', join(t.dir, 'nope.bin'), '--receipt', out]).status).toBe(2);
    // Not JSON at all: unreadable input (2). JSON that is no valid receipt: a failed format check (1).
    writeFileSync(join(t.dir, 'garbage.json'), '{"format":"liuhen-receipt/1"}trailing');
    expect(liuhen([...d, 'verify', files[0]!, '--receipt', join(t.dir, 'garbage.json')]).status).toBe(2);
    writeFileSync(join(t.dir, 'invalid.json'), JSON.stringify({ ...receipt, inclusion: { ...receipt.inclusion, index: 99 } }));
    const invalid = liuhen([...d, 'verify', files[0]!, '--receipt', join(t.dir, 'invalid.json')]);
    expect(invalid.status).toBe(1);
    expect(invalid.stdout).toMatch(/✗ format/);
    expect(liuhen([...d, 'verify', files[0]!]).status).toBe(2);
    expect(liuhen([...d, 'record', files[0]!, '--stage', 'trial']).status).toBe(2);
    expect(liuhen([...d, 'receipt', '01JDQ7Z8X9Y0ABCDEFGHJKMNPQ'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/RECORD_NOT_FOUND/) });
  });

  it('audit reports findings; a data folder in use is named', () => {
    const r = liuhen([...d, '--json', 'audit', '--case', 'JN-2026-7']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ case: 'JN-2026-7', records: 3, findings: [] });
    expect(liuhen([...d, 'audit']).status).toBe(2);
    expect(liuhen(['--data', join(t.dir, 'empty'), 'seal'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/liuhen init/) });
  });

  it('a malformed LIUHEN_SIGNING_WORKERS is named before anything is recorded', () => {
    const f = join(t.dir, 'later.jpg');
    writeFileSync(f, 'x');
    const r = liuhen([...d, 'record', f], { env: { LIUHEN_SIGNING_WORKERS: 'lots' } });
    expect(r).toMatchObject({ status: 2, stderr: expect.stringMatching(/LIUHEN_SIGNING_WORKERS must be a whole number/) });
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(JSON.parse(liuhen([...d, '--json', 'audit', '--case', 'JN-2026-7']).stdout).records).toBe(3);
  });
});

describe('liuhen receipt while the chain is down', () => {
  it('writes the journal receipt (no anchor claimed) and says why on stderr', async () => {
    const t2 = tempDir();
    try {
      const data2 = join(t2.dir, 'data');
      expect(liuhen(['--data', data2, 'init', '--agency', 'JN-CG', '--device', 'cam-02', '--officer', '37010002']).status).toBe(0);
      const cfg = JSON.parse(readFileSync(join(data2, 'config.json'), 'utf8'));
      writeFileSync(
        join(data2, 'config.json'),
        JSON.stringify({ ...cfg, chain: { rpc: 'http://127.0.0.1:9', chainId: 27752, registry: `0x${'11'.repeat(20)}`, confirmations: 0 } }),
      );
      const f = join(t2.dir, 'x.txt');
      writeFileSync(f, 'x');
      const id = jsonLines(liuhen(['--data', data2, '--json', 'record', f]).stdout)[0].id;
      const sealed = jsonLines(liuhen(['--data', data2, '--json', 'seal']).stdout)[0];
      // The journal remembers the batch as anchored on that (now unreachable) chain.
      const j = await Journal.open(join(data2, 'journal'));
      await j.putAnchorState(sealed.root, {
        v: 1,
        status: 'anchored',
        agency: 'JN-CG',
        seq: 1,
        root: sealed.root,
        chainId: 27752,
        registry: `0x${'11'.repeat(20)}`,
        anchor: { txHash: `0x${'22'.repeat(32)}`, blockNumber: 5, blockHash: `0x${'33'.repeat(32)}`, timestamp: 1 },
        updatedAt: new Date().toISOString(),
      });
      await j.close();
      const r = liuhen(['--data', data2, 'receipt', id]);
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ anchor: null, attestations: [] });
      expect(r.stderr).toMatch(/without chain data/);
    } finally {
      t2.cleanup();
    }
  });
});
