import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { humanBytes } from '../../cli/output.js';
import { liuhen } from '../helpers/cli.js';

/** Issue 14: `liuhen --version`; every command's help lists the global options; sizes for people are decimal. */
describe('liuhen help and version', () => {
  it('--version prints the package version', () => {
    const r = liuhen(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  });

  it('every command’s --help lists --data, --json and LIUHEN_DATA', () => {
    const top = liuhen(['--help']).stdout;
    const commands = [...top.matchAll(/^ {2}([a-z][\w-]*)\b/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(8);
    for (const c of commands) {
      const r = liuhen([c, '--help']);
      expect(r.status, c).toBe(0);
      for (const s of ['--data <dir>', '--json', 'LIUHEN_DATA']) expect(r.stdout, `${c} --help lacks ${s}`).toContain(s);
    }
  }, 300_000);

  it('sizes for people are decimal units', () => {
    expect(humanBytes(999)).toBe('999 B');
    expect(humanBytes(1_500_000)).toBe('1.50 MB');
    expect(humanBytes(4_000_000_000)).toBe('4.00 GB');
    expect(humanBytes(123_456_789)).toBe('123 MB');
  });
});
