/**
 * `npm run bench [-- name…]`: runs the benchmark modules in scripts/bench/
 * (core, store, browser, gas, chain, gateway — those present; faults, the
 * ≥ 50-kill campaign, only when named) and prints one JSON line
 * per figure. Benchmarks measure; tests never assert timings.
 */
import { existsSync } from 'node:fs';

const ORDER = ['core', 'store', 'browser', 'gas', 'chain', 'gateway', 'supervision', 'faults'];
/** Long-running sections: only when named (`npm run bench -- faults`). */
const ON_REQUEST = new Set(['faults']);
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const emit = (line: Record<string, unknown>) => console.log(JSON.stringify(line));

for (const name of ORDER) {
  if (wanted.length > 0 ? !wanted.includes(name) : ON_REQUEST.has(name)) continue;
  const url = new URL(`./bench/${name}.ts`, import.meta.url);
  if (!existsSync(url)) continue;
  const mod = (await import(url.href)) as { run: (emit: (l: Record<string, unknown>) => void) => Promise<void> };
  const t0 = performance.now();
  await mod.run(emit);
  console.error(`bench ${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
process.exit(0);
