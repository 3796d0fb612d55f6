import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as constants from '../../cli/constants.js';
import { DEFAULT_DATA_DIR, EMBEDDED_CHAIN_ID, KINDS, MAX_RECEIPT_BYTES, NOTARY_PASSPHRASE_ENV, STAGES } from '../../src/index.js';
import { BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Issue 11 goal 4: the CLI runs built JavaScript (dist/, built by `npm ci`
 * through `prepare`), never a stale build, and loads heavy modules only when
 * a command needs them.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));

function newestSource(): { file: string; mtimeMs: number } {
  let newest = { file: '', mtimeMs: 0 };
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && statSync(p).mtimeMs > newest.mtimeMs) newest = { file: p, mtimeMs: statSync(p).mtimeMs };
    }
  };
  for (const d of ['src', 'gateway', 'cli']) walk(join(root, d));
  return newest;
}

const t = tempDir();
afterAll(() => t.cleanup());

describe('the built CLI', () => {
  it('dist/ exists and is not older than any source it was built from (npm run build; npm ci runs it)', () => {
    const stamp = join(root, 'dist', 'BUILD');
    expect(existsSync(stamp), 'dist/BUILD is missing: run `npm run build` (npm ci does it through `prepare`)').toBe(true);
    const newest = newestSource();
    expect(newest.mtimeMs, `${newest.file} is newer than dist/: run \`npm run build\``).toBeLessThanOrEqual(statSync(stamp).mtimeMs);
    expect(existsSync(join(root, 'dist', 'cli', 'main.js'))).toBe(true);
  });

  it('restates only values equal to the SDK’s (so describing commands loads no zod, no ethers)', () => {
    expect({ ...constants }).toEqual({ DEFAULT_DATA_DIR, STAGES: [...STAGES], KINDS: [...KINDS], MAX_RECEIPT_BYTES, EMBEDDED_CHAIN_ID, NOTARY_PASSPHRASE_ENV });
  });

  /** Runs bin/liuhen.js (or `script`) with a resolve hook that lists every module loaded. */
  function loadedModules(args: string[], script = BIN): { status: number | null; modules: string[] } {
    const log = join(t.dir, `modules-${Math.random().toString(36).slice(2)}.txt`);
    const hooks = join(t.dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`,
    );
    const register = join(t.dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(new URL(`file://${hooks}`).href)});\n`);
    const r = spawnSync(process.execPath, ['--import', register, script, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, modules: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] };
  }

  it('`liuhen --help` runs from dist/ and loads neither tsx nor ethers, level, express or zod', () => {
    const r = loadedModules(['--help']);
    expect(r.status).toBe(0);
    expect(r.modules.some((m) => m.includes('/dist/cli/main.js'))).toBe(true);
    for (const heavy of ['/node_modules/tsx/', '/node_modules/ethers/', '/node_modules/level/', '/node_modules/express/', '/node_modules/zod/']) {
      expect(
        r.modules.filter((m) => m.includes(heavy)),
        heavy,
      ).toEqual([]);
    }
  });

  it('a signing thread loads neither zod nor the journal (it starts in ~0.07 s, not ~0.27 s)', () => {
    // Run outside a worker it fails at once (no parent port), but only after every module it imports was resolved.
    const r = loadedModules([], join(root, 'dist', 'src', 'record', 'signing-worker.js'));
    expect(r.modules.some((m) => m.endsWith('/dist/src/record/signing-worker.js'))).toBe(true);
    expect(r.modules.filter((m) => m.includes('/node_modules/') || /\/(schema|parse|journal\/[^/]+)\.js$/.test(m))).toEqual([]);
  });

  it('an offline `liuhen verify` loads no chain client, database or web server', () => {
    const r = loadedModules(['--data', join(t.dir, 'none'), 'verify', join(root, 'package.json'), '--receipt', join(root, 'package.json')]);
    // package.json is not a receipt: the verifier runs and says so (exit 1, the format check fails).
    expect(r.status).toBe(1);
    for (const heavy of ['/node_modules/tsx/', '/node_modules/ethers/', '/node_modules/level/', '/node_modules/classic-level/', '/node_modules/express/']) {
      expect(
        r.modules.filter((m) => m.includes(heavy)),
        heavy,
      ).toEqual([]);
    }
  });
});
