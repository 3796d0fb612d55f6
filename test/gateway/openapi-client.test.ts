import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CHECK_CODES } from '../../gateway/http/codes.js';
import { startGateway, upload, type Harness } from './harness.js';

/**
 * Issue 14: every operation of /openapi.json has an operationId and the check
 * and finding codes are enums, so a generated client has real types. The
 * client is generated here with openapi-typescript from the served document,
 * type-checked with tsc against three calls, and the same calls are made.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));

describe('a typed client from /openapi.json', () => {
  let h: Harness;
  let doc: { paths: Record<string, Record<string, { operationId?: string }>> };
  beforeAll(async () => {
    h = await startGateway();
    doc = await (await h.call('/openapi.json')).json();
  });
  afterAll(() => h.close());

  test('every operation has a unique operationId', () => {
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    expect(ids.length).toBeGreaterThan(10);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z0-9]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('check and finding codes are enums', () => {
    const text = JSON.stringify(doc);
    expect(text).toContain('"CONTENT_MISMATCH"');
    expect(text).toContain('"CASE_DECISION_WITHOUT_REVIEW"');
  });

  test('CHECK_CODES covers every check code the verifier can emit', () => {
    const sources = ['src/verify/checks.ts', 'src/verify/verify.ts', 'src/chain/verifier.ts'].map((f) => readFileSync(join(root, f), 'utf8')).join('\n');
    const emitted = new Set(
      [...sources.matchAll(/'((?:FORMAT|CONTENT|RECORD|SIGNATURE|LEAF|INCLUSION|ANCHOR|NOTARY|POLICY|CHAIN)_[A-Z_]+)'/g)].map((m) => m[1]!),
    );
    const missing = [...emitted].filter((c) => !(CHECK_CODES as readonly string[]).includes(c));
    expect(missing).toEqual([]);
  });

  test('openapi-typescript generates a client that type-checks three calls, and the calls work', async () => {
    const dir = join(h.dir, 'client');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(join(dir, 'openapi.json'), JSON.stringify(doc));
    execFileSync(process.execPath, [join(root, 'node_modules/openapi-typescript/bin/cli.js'), join(dir, 'openapi.json'), '-o', join(dir, 'api.d.ts')], {
      stdio: 'pipe',
    });
    const api = readFileSync(join(dir, 'api.d.ts'), 'utf8');
    expect(api).toContain('getHealthz');
    expect(api).toContain('"CONTENT_MISMATCH"');
    // Three calls typed by the generated client: a wrong field or code would not compile.
    writeFileSync(
      join(dir, 'calls.ts'),
      `import type { operations } from './api';
type Health = operations['getHealthz']['responses'][200]['content']['application/json'];
type Verdict = operations['postVerify']['responses'][200]['content']['application/json'];
type Receipt = operations['getRecordsByIdReceipt']['responses'][200]['content']['application/json'];
export async function calls(base: string, token: string, id: string, sha256: string): Promise<[Health['status'], Verdict['status'], Verdict['checks'][number]['code'][]]> {
  const health: Health = await (await fetch(base + '/healthz')).json();
  const receipt: Receipt = await (await fetch(base + '/v1/records/' + id + '/receipt', { headers: { authorization: 'Bearer ' + token } })).json();
  const body: operations['postVerify']['requestBody'] = { content: { 'application/json': { receipt, sha256 } } } as never;
  void body;
  const verdict: Verdict = await (await fetch(base + '/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ receipt, sha256 }) })).json();
  const mismatch: Verdict['checks'][number]['code'] = 'CONTENT_MISMATCH';
  return [health.status, verdict.status, [...verdict.checks.map((c) => c.code), mismatch]];
}
`,
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          lib: ['ES2022', 'DOM'],
          skipLibCheck: true,
        },
        files: ['calls.ts', 'api.d.ts'],
      }),
    );
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { stdio: 'pipe' });
    // And a wrongly typed call does not compile.
    writeFileSync(
      join(dir, 'calls.ts'),
      `import type { operations } from './api';\nexport const bad: operations['postVerify']['responses'][200]['content']['application/json']['checks'][number]['code'] = 'NOT_A_CODE';\n`,
    );
    expect(() =>
      execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { stdio: 'pipe' }),
    ).toThrow();

    const created = await upload(h, new TextEncoder().encode('typed client'));
    await h.liuhen.seal();
    const health = await (await h.call('/healthz')).json();
    const receipt = await (await h.call(`/v1/records/${created.id}/receipt`, { token: h.t.agency })).json();
    const verdict = await (
      await h.call('/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ receipt, sha256: created.sha256 }) })
    ).json();
    expect(['ok', 'degraded']).toContain(health.status);
    expect(['verified', 'incomplete']).toContain(verdict.status);
    for (const c of verdict.checks) expect(CHECK_CODES).toContain(c.code);
  }, 120_000);
});
