import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { jsonLines, liuhen } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Issue 14: `liuhen verify --trust FILE` names the receipt's agency (and its
 * co-signers) from the trust file, next to the code — in the JSON verdict
 * (`names`, as the gateway's verdict carries them) and in the text output.
 * Offline: no chain here, so the verdict is incomplete (exit 3) and only the
 * names are under test.
 */
const t = tempDir();
afterAll(() => t.cleanup());

it('verify --trust: the agency name from the trust file, in JSON and in words', () => {
  const data = join(t.dir, 'data');
  const d = ['--data', data];
  expect(liuhen([...d, 'init', '--agency', 'JN-CGJ', '--device', 'cam-01', '--officer', '37010001']).status).toBe(0);
  const file = join(t.dir, 'photo.jpg');
  writeFileSync(file, Buffer.alloc(2000, 5));
  const dir = join(t.dir, 'r');
  mkdirSync(dir);
  const rec = liuhen([...d, '--json', 'record', file, '--receipts', dir]);
  expect(rec.status, rec.stderr).toBe(0);
  const receipt = jsonLines(rec.stdout)[0].receipt as string;
  const trust = join(t.dir, 'trust.json');
  writeFileSync(
    trust,
    JSON.stringify({
      format: 'liuhen-trust/1',
      chainId: 27752,
      registries: ['0x5FbDB2315678afecb367f032d93F642f64180aa3'],
      agencies: [{ code: 'JN-CGJ', name: '济南市城市管理局' }],
    }),
  );
  const json = liuhen([...d, '--json', 'verify', file, '--receipt', receipt, '--trust', trust]);
  expect(json.status, json.stderr).toBe(3);
  expect(JSON.parse(json.stdout).names).toEqual({ agencies: { 'JN-CGJ': '济南市城市管理局' }, notaries: {} });
  const text = liuhen([...d, 'verify', file, '--receipt', receipt, '--trust', trust]);
  expect(text.stdout).toMatch(/agency +济南市城市管理局 \(JN-CGJ\)/);
  // receipt info --trust: the same name in the summary.
  const info = liuhen([...d, 'receipt', 'info', receipt, '--trust', trust]);
  expect(info.stdout).toMatch(/who +agency 济南市城市管理局 \(JN-CGJ\), device cam-01/);
  expect(JSON.parse(liuhen([...d, '--json', 'receipt', 'info', receipt, '--trust', trust]).stdout)).toMatchObject({
    agency: 'JN-CGJ',
    agencyName: '济南市城市管理局',
  });
  // Without a trust file: no names, the verdict as before.
  expect(JSON.parse(liuhen([...d, '--json', 'verify', file, '--receipt', receipt]).stdout).names).toBeUndefined();
}, 120_000);
