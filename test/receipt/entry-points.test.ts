/**
 * Entry points by role (issue 15): `liuhen/verify`, `liuhen/record`,
 * `liuhen/chain`, `liuhen/store`, `liuhen/notary`, `liuhen/dev`, and the root
 * export kept for compatibility. `liuhen/verify` must load neither LevelDB
 * nor worker threads: its import graph (every static and dynamic import,
 * followed through the sources) is walked and checked. (A runtime check of
 * `process.moduleLoadList` cannot work under tsx, which itself loads
 * worker_threads for its loader hooks.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, string | { types: string; import: string }> };
const ROLES = ['verify', 'record', 'chain', 'store', 'notary', 'dev'] as const;

/** The sources reachable from `entry` and the bare specifiers (packages, node: builtins) they import. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    // `import … from 'x'`, `export … from 'x'`, `import 'x'`, `import('x')` — not `import type`/`export type` (erased).
    const re = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
    for (const m of text.matchAll(re)) {
      if (m[2]) continue;
      const spec = (m[3] ?? m[4])!;
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        const found = [target, `${target}.ts`, join(target, 'index.ts')].find(existsSync);
        if (!found) throw new Error(`${relative(ROOT, file)} imports ${spec}, which does not resolve`);
        todo.push(found);
      } else packages.add(spec);
    }
  }
  return { files, packages };
}

const src = (role: string) => join(ROOT, 'src/entry', `${role}.ts`);

describe('entry points by role', () => {
  test('package.json exports every role and the root; each points at the build of a source that exists', () => {
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', ...ROLES.map((r) => `./${r}`)]));
    for (const r of ROLES) {
      expect(pkg.exports[`./${r}`]).toEqual({ types: `./dist/src/entry/${r}.d.ts`, import: `./dist/src/entry/${r}.js` });
      expect(existsSync(src(r))).toBe(true);
    }
  });

  test('liuhen/verify loads neither LevelDB nor worker threads (nor the journal, the signing pool or the store), and has the whole verifier', () => {
    const { files, packages } = importGraph(src('verify'));
    const names = [...files].map((f) => relative(ROOT, f));
    for (const bad of ['level', 'classic-level', 'worker_threads', 'node:worker_threads', 'kubo-rpc-client', 'express'])
      expect(packages, bad).not.toContain(bad);
    for (const bad of ['src/journal/journal.ts', 'src/record/signing-pool.ts', 'src/record/signing-worker.ts', 'src/store/index.ts', 'src/notary/log.ts'])
      expect(names, bad).not.toContain(bad);
    for (const needed of ['src/verify/verify.ts', 'src/chain/verifier.ts', 'src/chain/verifier-cache.ts', 'src/receipt/format.ts'])
      expect(names).toContain(needed);
  });

  test('the root export (compatibility) still reaches LevelDB — the reason liuhen/verify exists', () => {
    const { packages } = importGraph(join(ROOT, 'src/index.ts'));
    expect(packages).toContain('level');
  });

  // The failpoint hooks are new with liuhen/dev and test-only: they stay out of the SDK's root on purpose.
  const DEV_ONLY = new Set(['enableFailpoint', 'disableFailpoint', 'clearFailpoints', 'FAILPOINTS', 'FAILPOINTS_ENV', 'FailpointError']);

  test('every name of every role is also exported by the root, with the same value (the root stays compatible)', async () => {
    const root = (await import('../../src/index.js')) as Record<string, unknown>;
    for (const r of ROLES) {
      const mod = (await import(`../../src/entry/${r}.ts`)) as Record<string, unknown>;
      expect(Object.keys(mod).length, r).toBeGreaterThan(3);
      for (const [name, value] of Object.entries(mod)) {
        if (r === 'dev' && DEV_ONLY.has(name)) expect(root[name], `${r}: ${name} is dev-only`).toBeUndefined();
        else expect(root[name], `${r}: ${name}`).toBe(value);
      }
    }
  });

  test('liuhen/verify verifies a receipt on its own (the pipeline and the chain verifier are there)', async () => {
    const v = (await import('../../src/entry/verify.js')) as typeof import('../../src/entry/verify.js');
    expect(typeof v.createChainVerifier).toBe('function');
    const verdict = await v.verifyReceipt({ receipt: '{"format":"liuhen-receipt/1"}' });
    expect(verdict).toMatchObject({ status: 'failed', checks: [{ name: 'format', code: 'INVALID_RECEIPT' }] });
    expect(v.exitCodeOf(verdict)).toBe(1);
  });

  test('liuhen/dev holds the dev chain and its public keys; liuhen/chain and liuhen/notary do not', async () => {
    const dev = (await import('../../src/entry/dev.js')) as Record<string, unknown>;
    const chain = (await import('../../src/entry/chain.js')) as Record<string, unknown>;
    const notary = (await import('../../src/entry/notary.js')) as Record<string, unknown>;
    for (const n of ['DEV_MNEMONIC', 'startAnvil', 'freePort', 'devAccount', 'promptHidden']) {
      expect(dev[n], n).toBeDefined();
      expect(chain[n], n).toBeUndefined();
      expect(notary[n], n).toBeUndefined();
    }
  });
});
