/**
 * Issue 9.2, the notary's side: root squatting. Registry v2 keys batches by
 * (agency, root), so agency B can anchor a copy of agency A's root without
 * making A's anchor fail. The notary must key its decisions the same way: a
 * decision about B's copy must never stand for A's batch (skipped, or refused
 * as equivocation), or B could still stall A's notarization.
 */
import { encodeBytes32String } from 'ethers';
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchOutcome, Notary } from '../../src/notary/index.js';
import { AGENCY_A, AGENCY_B, anchor, makeNotary, root, setupChain, tempDirs, type Chain } from './helpers.js';

const dirs = tempDirs();
const open: Notary[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.close().catch(() => undefined)));
  dirs.cleanup();
});

async function notaryFor(chain: Chain): Promise<Notary> {
  const n = await makeNotary(chain, chain.notaries[0]!, dirs.make());
  open.push(n);
  return n;
}

const A32 = encodeBytes32String(AGENCY_A);
const B32 = encodeBytes32String(AGENCY_B);
const statuses = (outcomes: BatchOutcome[]): string[] => outcomes.map((o) => `${o.status} ${o.batch.agency} #${o.batch.seq}`);

describe('root squatting (issue 9.2): another agency anchoring a copy of our root cannot stall our notarization', () => {
  it("B anchors a copy of A's root first, the notary decides B's copy, then A's batch: A ends notarized, nothing refused", async () => {
    const chain = await setupChain();
    const r = root('squatted');
    const notary = await notaryFor(chain);

    await anchor(chain, chain.agencyB, { root: r });
    expect(statuses(await notary.runOnce())).toEqual([`signed ${AGENCY_B} #1`]);

    await anchor(chain, chain.agencyA, { root: r });
    const outcomes = await notary.runOnce();
    expect(statuses(outcomes)).toEqual([`signed ${AGENCY_A} #1`]);
    expect(outcomes.some((o) => o.status === 'refused')).toBe(false);
    expect(await chain.registry.isNotarized(A32, r)).toBe(true);
    expect(await chain.registry.isNotarized(B32, r)).toBe(true);

    const decisions = await notary.decisions();
    expect(decisions.map((d) => `${d.status} ${d.batch.agencyCode} ${d.batch.root === r}`)).toEqual([`cosigned ${AGENCY_B} true`, `cosigned ${AGENCY_A} true`]);
    expect(await notary.pending()).toEqual([]);
  });

  it("both copies in one pass (B's first in chain order): both are signed, each under its own agency", async () => {
    const chain = await setupChain();
    const r = root('squatted-same-pass');
    await anchor(chain, chain.agencyB, { root: r });
    await anchor(chain, chain.agencyA, { root: r });
    const notary = await notaryFor(chain);

    const outcomes = await notary.runOnce();
    expect(statuses(outcomes)).toEqual([`signed ${AGENCY_B} #1`, `signed ${AGENCY_A} #1`]);
    expect(await chain.registry.isNotarized(A32, r)).toBe(true);
    // A rerun finds both co-signed, each by its own decision.
    expect(statuses(await notary.runOnce())).toEqual([]);
  });
});
