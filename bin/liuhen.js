#!/usr/bin/env node
// Runs the built CLI (dist/, compiled by `npm run build`, which `npm ci` runs
// through `prepare`): Node starts it in a fraction of the time tsx needs to
// compile the sources. In a checkout, dist/ is used only while no source is
// newer than dist/BUILD — a stale build is never run: then the TypeScript
// sources run through tsx, as before (slow, but always the code you see).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const built = new URL('../dist/cli/main.js', import.meta.url);

/** Newest modification time (ms) of the .ts sources under the given folders. */
function newestSource(dirs) {
  let newest = 0;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${dir}/${e.name}`);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(`${dir}/${e.name}`).mtimeMs);
    }
  };
  for (const d of dirs) if (existsSync(d)) walk(d);
  return newest;
}

function freshBuild() {
  if (!existsSync(fileURLToPath(built))) return false;
  // An installed package ships no sources: its dist/ is the code.
  if (!existsSync(`${root}cli/main.ts`)) return true;
  const stamp = `${root}dist/BUILD`;
  return existsSync(stamp) && newestSource([`${root}src`, `${root}gateway`, `${root}cli`]) <= statSync(stamp).mtimeMs;
}

let main;
if (process.env.LIUHEN_FROM_SOURCE !== '1' && freshBuild()) {
  ({ main } = await import(built.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(new URL('../cli/main.ts', import.meta.url).href));
}
process.exitCode = await main(process.argv.slice(2));
