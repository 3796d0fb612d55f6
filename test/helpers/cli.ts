import { spawnSync } from 'node:child_process';

export const BIN = new URL('../../bin/liuhen.js', import.meta.url).pathname;

/** Runs the real `liuhen` CLI as a user would (a child process). */
export function liuhen(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: options.cwd, env: { ...process.env, ...options.env }, timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export const jsonLines = (s: string): any[] =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
