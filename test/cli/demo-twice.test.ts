import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, jsonLines, liuhen } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Issue 14, the first five minutes: `npm run demo` on a running system, run
 * twice — the second run neither fails nor duplicates, and both leave a sample
 * evidence file and its receipt on disk (printed), which verify.
 */
const t = tempDir();
let proc: ChildProcess | undefined;
afterAll(async () => {
  if (proc && proc.exitCode === null) {
    const done = new Promise((r) => proc!.once('close', r));
    proc.kill('SIGINT');
    await done;
  }
  t.cleanup();
});

describe('npm run demo, twice', () => {
  it('adds its data once, and each run leaves a sample file and its receipt', async () => {
    const data = `${t.dir}/data`;
    proc = spawn(process.execPath, [BIN, '--data', data, '--json', 'start', '--port', '0', '--chain-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    const info = await new Promise<{ url: string; tokens: { supervisor: string } }>((resolve, reject) => {
      createInterface({ input: proc!.stdout! }).once('line', (line) => resolve(JSON.parse(line)));
      proc!.once('exit', (code) => reject(new Error(`liuhen start exited (${code}): ${stderr.slice(-2000)}`)));
    });
    const get = (c: string) => fetch(`${info.url}/v1/cases/${encodeURIComponent(c)}`, { headers: { authorization: `Bearer ${info.tokens.supervisor}` } });
    // spawnSync (liuhen) blocks this process's event loop, so a kept-alive socket the server closed meanwhile may be reused once: retry.
    const caseRecords = async (c: string) => ((await (await get(c).catch(() => get(c))).json()) as { records: unknown[] }).records.length;

    const first = liuhen(['--data', data, '--json', 'demo']);
    expect(first.status, first.stderr).toBe(0);
    const s1 = jsonLines(first.stdout)[0];
    expect(s1.records).toBeGreaterThan(10);
    expect(s1.sample).toMatchObject({ file: expect.stringMatching(/sample-evidence\.png$/), receipt: expect.stringMatching(/\.receipt\.json$/) });
    const counts = await Promise.all(s1.cases.map(caseRecords));

    // Issue 13: the demo enrolls its devices and revokes the stolen camera's key; what reached the station after
    // the compromise time is kept and flagged (at ingest and in the verdict), what came before is not.
    expect(s1.revoked).toMatchObject({
      device: 'BWC-0204',
      flagged: [expect.any(String), expect.any(String)],
      before: [expect.any(String), expect.any(String)],
    });
    const sv = { headers: { authorization: `Bearer ${info.tokens.supervisor}` } };
    const cont = await (await fetch(`${info.url}/v1/devices/BWC-0204/continuity`, sv)).json();
    expect(cont.flagged.map((f: { id: string; code: string }) => [f.id, f.code])).toEqual(s1.revoked.flagged.map((id: string) => [id, 'DEVICE_KEY_REVOKED']));
    const leafOf = async (id: string) => (await (await fetch(`${info.url}/v1/records/${id}`, sv)).json()).leaf as string;
    const publicVerdict = async (id: string) => (await fetch(`${info.url}/v1/verify/${await leafOf(id)}`)).json();
    const flagged = await publicVerdict(s1.revoked.flagged[0]);
    expect(flagged.deviceCheck).toMatchObject({ code: 'DEVICE_KEY_REVOKED', flagged: true });
    expect(flagged.authenticity).toMatchObject({ level: 'revoked-key' });
    const before = await publicVerdict(s1.revoked.before[0]);
    expect(before.deviceCheck).toMatchObject({ code: 'DEVICE_SIGNED', flagged: false });
    expect(before.authenticity).toMatchObject({ level: 'device-signed' });

    const second = liuhen(['--data', data, 'demo']);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/already in this system/);
    expect(second.stdout).toContain(s1.sample.file);
    expect(second.stdout).toContain(s1.sample.receipt);
    expect(await Promise.all(s1.cases.map(caseRecords))).toEqual(counts);

    // The sample verifies against its receipt (the content check at least: the chain parts may still be pending).
    expect(existsSync(s1.sample.file) && existsSync(s1.sample.receipt)).toBe(true);
    const v = JSON.parse(liuhen(['--data', data, '--json', 'verify', s1.sample.file, '--receipt', s1.sample.receipt]).stdout);
    expect(v.checks.find((c: { name: string }) => c.name === 'content').status).toBe('pass');
    expect(JSON.parse(readFileSync(s1.sample.receipt, 'utf8')).format).toBe('liuhen-receipt/1');
  }, 400_000);
});
