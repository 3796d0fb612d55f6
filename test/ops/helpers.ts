import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BIN } from '../helpers/cli.js';

/** `liuhen start` as an operator runs it: a child process, stopped with Ctrl-C (SIGINT). */
export interface Started {
  proc: ChildProcess;
  info: { url: string; rpc: string; registry: string; tokens: Record<'admin' | 'supervisor' | 'agency' | 'notary', string> };
  exited: Promise<number | null>;
  stderr: () => string;
}

export function start(dataDir: string, env: Record<string, string> = {}): Promise<Started> {
  const proc = spawn(process.execPath, [BIN, '--data', dataDir, '--json', 'start', '--port', '0', '--chain-port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.once('line', (line) => resolve({ proc, info: JSON.parse(line), exited, stderr: () => stderr }));
    void exited.then((code) => reject(new Error(`liuhen start exited (${code}) before it was ready: ${stderr.slice(-2000)}`)));
  });
}

export async function stop(s: Started): Promise<number | null> {
  s.proc.kill('SIGINT');
  return s.exited;
}

/**
 * Cleanup after a failed test: Ctrl-C first, so the system stops its own Anvil (a SIGKILL
 * would leave that child running), SIGKILL only if it has not exited within 30 s.
 */
export async function stopOrKill(s: Started): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  s.proc.kill('SIGINT');
  const timer = setTimeout(() => s.proc.kill('SIGKILL'), 30_000);
  await s.exited;
  clearTimeout(timer);
}

/** The CLI as a child process without blocking this test's event loop (uploads go on meanwhile). */
export function liuhenAsync(args: string[], env: Record<string, string> = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => proc.on('exit', (code) => resolve({ status: code ?? -1, stdout, stderr })));
}

export const api =
  (url: string, token?: string) =>
  (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, {
      ...init,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string> | undefined) },
    });

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Posts one photo for `device`; returns the record id and the bytes. */
export async function upload(url: string, token: string, device: string, n: number): Promise<{ id: string; bytes: Buffer }> {
  const bytes = Buffer.from(`photo ${n} of ${device} at ${new Date().toISOString()} ${Math.random()}`);
  const form = new FormData();
  form.append(
    'meta',
    JSON.stringify({ device, officer: '37019001', case: 'JN-2026-77', stage: 'onsite', kind: 'photo', capturedAt: new Date().toISOString() }),
  );
  form.append('file', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), `p${n}.jpg`);
  const res = await api(url, token)('/v1/records', { method: 'POST', body: form });
  if (res.status !== 201) throw new Error(`upload ${n}: ${res.status} ${await res.text()}`);
  return { id: ((await res.json()) as { id: string }).id, bytes };
}
