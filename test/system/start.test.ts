import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, jsonLines, liuhen } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/** `npm start` as a user runs it: a child process over a clean data folder, stopped with Ctrl-C (SIGINT). */
interface Started {
  proc: ChildProcess;
  info: { url: string; rpc: string; registry: string; tokens: Record<'admin' | 'supervisor' | 'agency' | 'notary', string> };
  exited: Promise<number | null>;
}

function start(dataDir: string): Promise<Started> {
  const proc = spawn(process.execPath, [BIN, '--data', dataDir, '--json', 'start', '--port', '0', '--chain-port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.once('line', (line) => resolve({ proc, info: JSON.parse(line), exited }));
    void exited.then((code) => reject(new Error(`liuhen start exited (${code}) before it was ready: ${stderr.slice(-2000)}`)));
  });
}

async function stop(s: Started): Promise<number | null> {
  s.proc.kill('SIGINT');
  return s.exited;
}

const api =
  (url: string, token?: string) =>
  (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, {
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string> | undefined) },
    });

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('npm start (liuhen start) from a clean folder', () => {
  const t = tempDir('liuhen-start-');
  const running: Started[] = [];
  afterAll(async () => {
    for (const s of running) if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
    t.cleanup();
  });

  // Two starts of the whole system on a shared machine: a generous limit, not a speed requirement.
  it('comes up, anchors and notarizes a record within seconds, stops on Ctrl-C, and restarts where it stopped', { timeout: 240_000 }, async () => {
    const data = `${t.dir}/.liuhen`;
    const first = await start(data);
    running.push(first);
    const { url, tokens } = first.info;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.info.rpc).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.info.registry).toMatch(/^0x[0-9a-fA-F]{40}$/);

    const health = await (await api(url)('/healthz')).json();
    expect(health.status).toBe('ok');

    // An enforcement app posts a photo.
    const bytes = Buffer.from(`photo taken at ${new Date().toISOString()}`);
    const form = new FormData();
    form.append(
      'meta',
      JSON.stringify({ device: 'BWC-9001', officer: '37019001', case: 'JN-2026-9', stage: 'onsite', kind: 'photo', capturedAt: new Date().toISOString() }),
    );
    form.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), 'p.jpg');
    const created = await api(url, tokens.agency)('/v1/records', { method: 'POST', body: form });
    expect(created.status).toBe(201);
    const { id, sha256 } = await created.json();
    expect(sha256).toBe(createHash('sha256').update(bytes).digest('hex'));

    // Sealed, anchored and co-signed by the background notary within seconds.
    const sup = api(url, tokens.supervisor);
    // `until` gives up after 30 s: "within seconds" is a deadline here, not a measured speed (see npm run bench).
    await until('notarization', async () => ((await (await sup(`/v1/records/${id}`)).json()).chain?.notarized ? true : undefined));
    const receipt = await (await sup(`/v1/records/${id}/receipt`)).json();
    expect(receipt.anchor).toMatchObject({ chainId: 27752 });
    expect(receipt.attestations).toHaveLength(1);
    const verify = async (base: string, r: unknown) =>
      (
        await (
          await api(base)('/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ receipt: r, sha256 }) })
        ).json()
      ).status;
    expect(await verify(url, receipt)).toBe('verified');

    // Names instead of hex (issue 14): the dev agencies and notary are named on the registry, and the public page's verdict carries them.
    const names = await (await api(url)('/v1/names')).json();
    expect(names.agencies).toMatchObject({ 'JN-CGJ': '济南市城市管理局', 'JN-SCJGJ': '济南市市场监督管理局', 'JN-SFJ': '济南市司法局' });
    const pub = await (await api(url)(`/v1/verify/${receipt.leaf}`)).json();
    expect(pub).toMatchObject({ agency: 'JN-CGJ', agencyName: '济南市城市管理局' });
    expect(pub.notaries).toEqual([expect.objectContaining({ notary: receipt.attestations[0].notary, name: '济南市泉城公证处' })]);

    // Ctrl-C: a clean stop.
    expect(await stop(first)).toBe(0);

    // Started again: the chain state, the registry and the record are all still there.
    const second = await start(data);
    running.push(second);
    expect(second.info.registry).toBe(first.info.registry);
    expect(second.info.tokens.supervisor).not.toBe(tokens.supervisor);
    expect((await api(second.info.url, tokens.supervisor)(`/v1/records/${id}`)).status).toBe(401);
    const again = await (await api(second.info.url, second.info.tokens.supervisor)(`/v1/records/${id}/receipt`)).json();
    expect(again.anchor.blockHash).toBe(receipt.anchor.blockHash);
    expect(await verify(second.info.url, receipt)).toBe('verified');
    expect(await stop(second)).toBe(0);
  });

  it('npm run demo fills it with two agencies, a missing review, a deleted clip and a late record', { timeout: 240_000 }, async () => {
    const data = `${t.dir}/demo`;
    const sys = await start(data);
    running.push(sys);
    const demo = liuhen(['--data', data, '--json', 'demo']);
    expect(demo.status, demo.stderr).toBe(0);
    const summary = jsonLines(demo.stdout)[0];
    expect(summary).toMatchObject({ records: expect.any(Number), notarized: true });
    const sup = api(sys.info.url, sys.info.tokens.supervisor);
    const get = async (path: string) => (await sup(path)).json();
    const [complete, missingReview] = summary.cases.map((c: string) => `/v1/cases/${encodeURIComponent(c)}`);
    expect((await get(complete)).findings).toEqual([]);
    const flawed = (await get(missingReview)).findings.map((f: { code: string }) => f.code);
    expect(flawed).toContain('CASE_DECISION_WITHOUT_REVIEW');
    expect(flawed).toContain('RECORD_SEALED_LATE');
    const device = await get('/v1/devices/BWC-0202/continuity');
    expect(device.findings).toEqual([expect.objectContaining({ code: 'DEVICE_SEQ_HOLE', missing: { from: 3, to: 3 } })]);
    const agencies = new Set<string>();
    for (const r of (await get(complete)).records.concat((await get(missingReview)).records)) agencies.add(r.agency ?? r.record?.agency);
    expect(summary.pages.length).toBeGreaterThan(3);
    expect(await stop(sys)).toBe(0);
  });
});
