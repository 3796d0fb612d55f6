/**
 * The adversarial table (cases.ts) through every verifier: the SDK, the
 * gateway (POST /v1/verify as JSON with the SHA-256 and as multipart with the
 * file) and the CLI (`liuhen verify`, judged by its exit code). Each must give
 * the case's verdict and the case's check codes — so they can never disagree.
 * The Verify page runs the same table in test/browser (pages room).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adversarialCases, type CaseFixture } from './cases.js';
import { EXIT, startWorld, type Outcome, type World } from './world.js';

let w: World;
let fixture: CaseFixture;
beforeAll(async () => {
  w = await startWorld();
  fixture = { chainId: w.chainId, registry: w.registry, a: w.a, b: w.b };
}, 180_000);
afterAll(async () => {
  await w?.close();
});

const expectOutcome = (o: Outcome, c: (typeof adversarialCases)[number], who: string) => {
  expect(o.status, `${who}: ${JSON.stringify(o.codes)}`).toBe(c.status);
  for (const [check, want] of Object.entries(c.checks)) {
    if (typeof want === 'string') expect(o.codes[check], `${who}: ${check}`).toBe(want);
    else expect(o.codes[check], `${who}: ${check}`).toMatch(want);
  }
};

describe.concurrent('every forged or mutated receipt: one verdict from every verifier', () => {
  for (const c of adversarialCases) {
    test(`[${c.actor}] ${c.name} → ${c.status}`, async () => {
      const input = await c.build(fixture);
      const [sdk, json, multipart] = await Promise.all([w.sdk(input), w.gatewayJson(input), w.gatewayMultipart(input)]);
      expectOutcome(sdk, c, 'SDK');
      expectOutcome(json, c, 'gateway JSON');
      expectOutcome(multipart, c, 'gateway multipart');
      // The CLI verifies a file; a case that gives only a SHA-256 is not one it can be asked.
      if (input.file) {
        const cli = await w.cli(input);
        expectOutcome(cli, c, 'CLI');
        expect(cli.exit, 'CLI exit code').toBe(EXIT[c.status]);
      }
    }, 120_000);
  }
});
