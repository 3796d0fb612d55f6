/**
 * scripts/bench/gas.ts runs and its figures hold the properties the design
 * claims: anchoring cost does not depend on the number of records, and a
 * batch is far cheaper than one transaction per record.
 */
import { expect, test } from 'vitest';
import { run } from '../../scripts/bench/gas.js';

test('gas bench: anchor is flat in the batch size; cosign grows per notary; one-by-one costs ~N times more', async () => {
  const lines: Array<Record<string, unknown>> = [];
  await run((line) => lines.push(line));
  const find = (bench: string, key: string, value: number): Record<string, unknown> => {
    const line = lines.find((l) => l.bench === bench && l[key] === value && l.extrapolated === undefined);
    if (line === undefined) throw new Error(`no ${bench} line with ${key}=${value}`);
    return line;
  };
  const anchor = [1, 100, 10_000, 1_000_000].map((records) => find('gas.anchor', 'records', records).gas as number);
  // Only calldata bytes of `size` differ (at most 16 gas per nonzero byte).
  expect(Math.max(...anchor) - Math.min(...anchor)).toBeLessThanOrEqual(64);
  expect(anchor[0]).toBeLessThan(150_000);

  const cosign = [1, 3, 5].map((k) => find('gas.cosign', 'notaries', k).gas as number);
  expect(cosign[0]).toBeLessThan(cosign[1]);
  expect(cosign[1]).toBeLessThan(cosign[2]);

  const oneByOne = find('gas.anchor.oneByOne', 'records', 100).gas as number;
  expect(oneByOne).toBeGreaterThan(90 * anchor[1]);
  const extrapolated = lines.find((l) => l.bench === 'gas.anchor.oneByOne' && l.extrapolated === true);
  expect(extrapolated?.records).toBe(10_000);

  for (const line of lines) expect(Number.isInteger(line.gas)).toBe(true);
});
