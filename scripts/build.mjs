#!/usr/bin/env node
// `npm run build` (and `prepare`, so `npm ci` builds): compiles src/, gateway/
// and cli/ to dist/ with tsc, then writes dist/BUILD. bin/liuhen.js runs the
// built CLI only while no source is newer than dist/BUILD (never stale), and
// test/cli/build.test.ts fails when it is.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = Date.now();
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync(join(root, 'dist'), { recursive: true, force: true });
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
if (r.status !== 0) process.exit(r.status ?? 1);
mkdirSync(join(root, 'dist'), { recursive: true });
// Sources changed while tsc ran are newer than this stamp: the next start sees dist as stale, as it should.
writeFileSync(join(root, 'dist', 'BUILD'), `${JSON.stringify({ builtFrom: ['src', 'gateway', 'cli'], startedAt: new Date(started).toISOString() })}\n`);
const { utimesSync } = await import('node:fs');
utimesSync(join(root, 'dist', 'BUILD'), started / 1000, started / 1000);
