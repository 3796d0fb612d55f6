/**
 * The notary against a real EvidenceRegistry on Hardhat's in-process network:
 * co-signing a backlog, k-of-n with independent notaries, equivocation after a
 * chain reset, policy refusals, crash recovery, confirmations, relayer mode,
 * paged log scans and following the chain.
 */
import hre from 'hardhat';
import { Contract, Signature, type Wallet } from 'ethers';
import { afterEach, describe, expect, it } from 'vitest';
import { recoverAttestationSigner } from '../../src/chain/attestation.js';
import { isLiuhenError } from '../../src/errors.js';
import { NotaryLog, type BatchOutcome, type Notary, type NotaryEvent } from '../../src/notary/index.js';
import {
  AGENCY_A,
  AGENCY_B,
  agencyOfRoot,
  anchor,
  chainNow,
  cosignedEvents,
  makeNotary,
  mine,
  NOTARY_ROLE,
  setupChain,
  tempDirs,
  withFaults,
  type Chain,
} from './helpers.js';

const dirs = tempDirs();
const open: Notary[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((n) => n.close().catch(() => undefined)));
  dirs.cleanup();
});

async function notaryFor(chain: Chain, wallet: Wallet, logDir = dirs.make(), extra: Parameters<typeof makeNotary>[3] = {}): Promise<Notary> {
  const n = await makeNotary(chain, wallet, logDir, extra);
  open.push(n);
  return n;
}

async function closeNotary(n: Notary): Promise<void> {
  open.splice(open.indexOf(n), 1);
  await n.close();
}

const statuses = (outcomes: BatchOutcome[]): string[] => outcomes.map((o) => `${o.status} ${o.batch.agency} #${o.batch.seq}`);

describe('notary', () => {
  it('co-signs a valid backlog in chain order; each batch becomes notarized', async () => {
    const chain = await setupChain();
    const [me] = chain.notaries;
    const roots = [
      await anchor(chain, chain.agencyA),
      await anchor(chain, chain.agencyB),
      await anchor(chain, chain.agencyA),
      await anchor(chain, chain.agencyA),
    ];
    const notary = await notaryFor(chain, me!);

    const outcomes = await notary.runOnce();
    expect(statuses(outcomes)).toEqual([`signed ${AGENCY_A} #1`, `signed ${AGENCY_B} #1`, `signed ${AGENCY_A} #2`, `signed ${AGENCY_A} #3`]);
    for (const [i, o] of outcomes.entries()) {
      if (o.status !== 'signed') throw new Error('expected signed');
      expect(o.batch.root).toBe(roots[i]);
      expect(o.submitted).toBe(true);
      expect(o.resumed).toBe(false);
      expect(await chain.registry.isNotarized(agencyOfRoot(o.batch.root), o.batch.root)).toBe(true);
      expect(Number(await chain.registry.attestedAt(agencyOfRoot(o.batch.root), o.batch.root, me!.address))).toBe(o.attestedAt);
      // The signature on chain is the one reported, and recovers to the notary under the shared EIP-712 definition.
      const events = await cosignedEvents(chain, o.batch.root);
      expect(events).toEqual([{ notary: me!.address, attestedAt: BigInt(o.attestedAt), signature: o.signature }]);
      expect(
        recoverAttestationSigner(
          chain.chainId,
          chain.registryAddress,
          { root: o.batch.root, agency: o.batch.agency, seq: o.batch.seq, size: o.batch.size, prevRoot: o.batch.prevRoot, attestedAt: o.attestedAt },
          o.signature,
        ),
      ).toBe(me!.address);
      expect(BigInt(Signature.from(o.signature).s)).toBeLessThan(1n << 255n);
    }
    // attestedAt = now, never before the anchoring block.
    const b = await chain.registry.batch(agencyOfRoot(roots[3]), roots[3]);
    expect(outcomes[3]!.status === 'signed' && outcomes[3]!.attestedAt >= Number(b.anchoredAt)).toBe(true);

    // The cursor remembers: a second pass has nothing to do, and sends nothing.
    const nonce = await chain.provider.getTransactionCount(me!.address);
    expect(await notary.runOnce()).toEqual([]);
    expect(await chain.provider.getTransactionCount(me!.address)).toBe(nonce);
    expect((await notary.decisions()).map((d) => d.status)).toEqual(['cosigned', 'cosigned', 'cosigned', 'cosigned']);
    expect(await notary.pending()).toEqual([]);

    // A forced rescan with a fresh instance of the same log: skipped, idempotent.
    const logDir = dirs.make();
    const fresh = await notaryFor(chain, me!, logDir);
    expect(statuses(await fresh.runOnce())).toEqual(roots.map((_, i) => `skipped ${[AGENCY_A, AGENCY_B, AGENCY_A, AGENCY_A][i]} #${[1, 1, 2, 3][i]}`));
    expect(await chain.provider.getTransactionCount(me!.address)).toBe(nonce);
  });

  it('2-of-3: three notaries, each with its own log and instance, co-sign independently', async () => {
    const chain = await setupChain({ notaries: 3, threshold: 2 });
    const r1 = await anchor(chain, chain.agencyA);
    const r2 = await anchor(chain, chain.agencyA);
    const [n1, n2, n3] = await Promise.all(chain.notaries.map((w) => notaryFor(chain, w)));

    expect(statuses(await n1!.runOnce())).toEqual([`signed ${AGENCY_A} #1`, `signed ${AGENCY_A} #2`]);
    expect(await chain.registry.isNotarized(agencyOfRoot(r1), r1)).toBe(false);
    expect(await n1!.runOnce()).toEqual([]);

    // The other two run at the same time, as separate offices would.
    const [o2, o3] = await Promise.all([n2!.runOnce(), n3!.runOnce()]);
    expect(statuses(o2)).toEqual([`signed ${AGENCY_A} #1`, `signed ${AGENCY_A} #2`]);
    expect(statuses(o3)).toEqual([`signed ${AGENCY_A} #1`, `signed ${AGENCY_A} #2`]);
    for (const r of [r1, r2]) {
      expect(await chain.registry.isNotarized(agencyOfRoot(r), r)).toBe(true);
      const cosigners: string[] = await chain.registry.cosigners(agencyOfRoot(r), r);
      expect([...cosigners].sort()).toEqual(chain.notaries.map((w) => w.address).sort());
    }
  });

  it('refuses a different root for an attested (agency, seq) after a chain reset: NOTARY_EQUIVOCATION, nothing signed', async () => {
    const chain = await setupChain();
    const [me] = chain.notaries;
    const logDir = dirs.make();
    const snapshot: string = await hre.network.provider.send('evm_snapshot', []);
    const first = await anchor(chain, chain.agencyA);
    const signer = await notaryFor(chain, me!, logDir);
    expect(statuses(await signer.runOnce())).toEqual([`signed ${AGENCY_A} #1`]);
    await closeNotary(signer);

    // The dev chain is reset to before the anchor; the agency anchors another root as its batch 1 (same registry address, same domain).
    expect(await hre.network.provider.send('evm_revert', [snapshot])).toBe(true);
    const second = await anchor(chain, chain.agencyA);
    const third = await anchor(chain, chain.agencyA);
    expect(second).not.toBe(first);
    const nonce = await chain.provider.getTransactionCount(me!.address);

    const events: NotaryEvent[] = [];
    const notary = await notaryFor(chain, me!, logDir, { onEvent: (e) => events.push(e) });
    const outcomes = await notary.runOnce();
    expect(statuses(outcomes)).toEqual([`refused ${AGENCY_A} #1`, `refused ${AGENCY_A} #2`]);
    const [eq, next] = outcomes;
    if (eq?.status !== 'refused' || next?.status !== 'refused') throw new Error('expected refusals');
    expect(eq.reason).toBe('EQUIVOCATION');
    expect(eq.error.code).toBe('NOTARY_EQUIVOCATION');
    for (const part of [AGENCY_A, 'batch 1', first, second]) expect(eq.error.message).toContain(part);
    expect(eq.error.details).toMatchObject({ agency: AGENCY_A, seq: 1, signedRoot: first, root: second });
    // Batch 2 continues the new root, not the one this notary attested as batch 1.
    expect(next.reason).toBe('PREV_ROOT_MISMATCH');
    expect(next.error.code).toBe('NOTARY_POLICY');
    expect(next.error.message).toContain(first);
    expect(events.some((e) => e.status === 'rewound')).toBe(true);

    // Nothing signed, nothing sent.
    expect(Number(await chain.registry.attestedAt(agencyOfRoot(second), second, me!.address))).toBe(0);
    expect(Number(await chain.registry.attestedAt(agencyOfRoot(third), third, me!.address))).toBe(0);
    expect(await chain.provider.getTransactionCount(me!.address)).toBe(nonce);
    const decisions = await notary.decisions();
    expect(decisions.find((d) => d.batch.root === second)).toMatchObject({ status: 'refused', refusal: { reason: 'EQUIVOCATION' } });
    expect(decisions.find((d) => d.batch.root === second)?.attestation).toBeUndefined();

    // Durable: reported on every run, and an operator's recheck never overrides an equivocation.
    await closeNotary(notary);
    const again = await notaryFor(chain, me!, logDir, { recheckRefused: true, policy: { confirmations: 0, maxAge: 10 ** 9 } });
    const repeated = await again.runOnce();
    expect(repeated.find((o) => o.batch.root === second)).toMatchObject({ status: 'refused', reason: 'EQUIVOCATION', recorded: 'earlier' });
    expect(Number(await chain.registry.attestedAt(agencyOfRoot(second), second, me!.address))).toBe(0);

    // The log itself refuses to hold two roots for one slot, whatever the caller.
    await closeNotary(again);
    const log = await NotaryLog.open(logDir, me!.address);
    try {
      const dec = decisions.find((d) => d.batch.root === second)!;
      const attempt = log.recordSigned(`${chain.chainId}:${chain.registryAddress.toLowerCase()}`, {
        ...dec,
        status: 'signed',
        attestation: { attestedAt: 1, signature: '0x', digest: '0x' },
      });
      await expect(attempt).rejects.toSatisfy((e) => isLiuhenError(e, 'NOTARY_EQUIVOCATION'));
    } finally {
      await log.close();
    }
  });

  // Issue 9.3 changed this test's assertions: capture times are a client's choice, so a capture in the future or too old is a flag in
  // the notary's log and outcome, never a refusal (it used to refuse both batches durably, leaving every other record of them unnotarized).
  it('flags captures in the future and too old (never refuses them); the flags are kept in the log', async () => {
    const chain = await setupChain();
    const [me] = chain.notaries;
    const logDir = dirs.make();
    const now = await chainNow();
    const future = await anchor(chain, chain.agencyA, { first: now - 10, last: now + 3600 });
    const old = await anchor(chain, chain.agencyA, { first: now - 2 * 86_400, last: now - 60 });
    const fine = await anchor(chain, chain.agencyA);
    const notary = await notaryFor(chain, me!, logDir);

    const outcomes = await notary.runOnce();
    expect(statuses(outcomes)).toEqual([`signed ${AGENCY_A} #1`, `signed ${AGENCY_A} #2`, `signed ${AGENCY_A} #3`]);
    expect(outcomes[0]).toMatchObject({ submitted: true, flags: [{ reason: 'CAPTURE_IN_FUTURE', details: { futureSkew: 300 } }] });
    expect(outcomes[1]).toMatchObject({ submitted: true, flags: [{ reason: 'CAPTURE_TOO_OLD', details: { maxAge: 86_400 } }] });
    expect((outcomes[1] as { flags: Array<{ message: string }> }).flags[0]!.message).toMatch(/anchored \d+ s later/);
    expect(outcomes[2]).not.toHaveProperty('flags');
    for (const r of [future, old, fine]) expect(await chain.registry.isNotarized(agencyOfRoot(r), r)).toBe(true);
    const decisions = await notary.decisions();
    expect(decisions.map((d) => [d.status, d.flags?.map((f) => f.reason)])).toEqual([
      ['cosigned', ['CAPTURE_IN_FUTURE']],
      ['cosigned', ['CAPTURE_TOO_OLD']],
      ['cosigned', undefined],
    ]);
    await closeNotary(notary);

    // A later run has nothing to do and sends nothing.
    const nonce = await chain.provider.getTransactionCount(me!.address);
    const later = await notaryFor(chain, me!, logDir);
    expect((await later.runOnce()).filter((o) => o.status !== 'skipped')).toEqual([]);
    expect(await chain.provider.getTransactionCount(me!.address)).toBe(nonce);
    expect(await later.pending()).toEqual([]);
    await closeNotary(later);
  });

  it('a crash after logging the attestation, before broadcasting: the restart submits once, with the same signature', async () => {
    const chain = await setupChain();
    const [me] = chain.notaries;
    const logDir = dirs.make();
    const r = await anchor(chain, chain.agencyA);
    const crashing = withFaults(chain.provider, {
      broadcastTransaction: async () => {
        throw new Error('simulated crash before broadcast');
      },
    });
    const first = await notaryFor(chain, me!, logDir, { provider: crashing });
    const [failed] = await first.runOnce();
    expect(failed).toMatchObject({ status: 'failed', batch: { root: r } });
    const [logged] = await first.decisions();
    expect(logged).toMatchObject({ status: 'submitted', attestation: { signature: expect.stringMatching(/^0x[0-9a-f]{130}$/) }, tx: { nonce: 0 } });
    expect(Number(await chain.registry.attestedAt(agencyOfRoot(r), r, me!.address))).toBe(0);
    await closeNotary(first);

    const restarted = await notaryFor(chain, me!, logDir);
    const [done] = await restarted.runOnce();
    expect(done).toMatchObject({
      status: 'signed',
      submitted: true,
      resumed: true,
      signature: logged!.attestation!.signature,
      attestedAt: logged!.attestation!.attestedAt,
    });
    expect(await cosignedEvents(chain, r)).toEqual([
      { notary: me!.address, attestedAt: BigInt(logged!.attestation!.attestedAt), signature: logged!.attestation!.signature },
    ]);
    expect(await chain.provider.getTransactionCount(me!.address)).toBe(1);
    expect(await restarted.runOnce()).toEqual([]);
  });

  it('a crash after broadcasting, before the receipt: the restart finds the co-signature and sends nothing more', async () => {
    const chain = await setupChain();
    const [me] = chain.notaries;
    const logDir = dirs.make();
    const r = await anchor(chain, chain.agencyA);
    const lostReply = withFaults(chain.provider, {
      broadcastTransaction: (async (raw: string) => {
        await chain.provider.broadcastTransaction(raw);
        throw new Error('simulated crash after broadcast');
      }) as never,
    });
    const first = await notaryFor(chain, me!, logDir, { provider: lostReply });
    expect((await first.runOnce())[0]).toMatchObject({ status: 'failed' });
    const [logged] = await first.decisions();
    await closeNotary(first);

    const restarted = await notaryFor(chain, me!, logDir);
    expect(await restarted.runOnce()).toEqual([
      expect.objectContaining({ status: 'signed', resumed: true, signature: logged!.attestation!.signature, cosignTx: logged!.tx!.hash }),
    ]);
    expect(await cosignedEvents(chain, r)).toHaveLength(1);
    expect(await chain.provider.getTransactionCount(me!.address)).toBe(1);
    expect((await restarted.decisions())[0]?.status).toBe('cosigned');
  });

  it('a notary not yet granted NOTARY_ROLE keeps its attestation and sends it once the role is granted', async () => {
    const chain = await setupChain({ grant: false });
    const [me] = chain.notaries;
    const r = await anchor(chain, chain.agencyA);
    const notary = await notaryFor(chain, me!);
    const [failed] = await notary.runOnce();
    if (failed?.status !== 'failed') throw new Error('expected failed');
    expect(failed.error.code).toBe('CHAIN_REVERTED');
    expect(failed.error.message).toContain('NOTARY_ROLE');
    const [logged] = await notary.decisions();
    expect(logged?.status).toBe('signed');

    await (await chain.registry.grantRole(NOTARY_ROLE, me!.address)).wait();
    const [done] = await notary.runOnce();
    expect(done).toMatchObject({ status: 'signed', submitted: true, resumed: true, signature: logged!.attestation!.signature });
    expect(await chain.registry.isNotarized(agencyOfRoot(r), r)).toBe(true);
  });

  it('an unfunded notary gets NOTARY_UNFUNDED and keeps its attestation', async () => {
    const chain = await setupChain({ fund: false });
    const [me] = chain.notaries;
    await anchor(chain, chain.agencyA);
    const notary = await notaryFor(chain, me!);
    const [failed] = await notary.runOnce();
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'NOTARY_UNFUNDED' } });
    expect((await notary.decisions())[0]?.attestation?.signature).toMatch(/^0x/);
  });

  it('waits for the configured confirmations before signing', async () => {
    const chain = await setupChain();
    const [me] = chain.notaries;
    const r = await anchor(chain, chain.agencyA);
    const notary = await notaryFor(chain, me!, dirs.make(), { policy: { confirmations: 3 } });
    expect(await notary.runOnce()).toEqual([
      expect.objectContaining({ status: 'waiting', reason: 'CONFIRMATIONS', detail: expect.stringContaining('3 more confirmation(s)') }),
    ]);
    await mine(2);
    expect((await notary.runOnce())[0]).toMatchObject({ status: 'waiting', detail: expect.stringContaining('1 more') });
    await mine(1);
    expect((await notary.runOnce())[0]).toMatchObject({ status: 'signed', batch: { root: r } });
  });

  it('runOnce({ waitMs }) keeps going while its own cosign transactions bring the missing confirmations', async () => {
    const chain = await setupChain();
    const [me] = chain.notaries;
    const roots = [await anchor(chain, chain.agencyA), await anchor(chain, chain.agencyA)];
    const notary = await notaryFor(chain, me!, dirs.make(), { policy: { confirmations: 1 } });
    const outcomes = await notary.runOnce({ waitMs: 10_000 });
    expect(outcomes.map((o) => [o.status, o.batch.root])).toEqual(roots.map((r) => ['signed', r]));
  });

  it('relayer mode (submit: false) only signs and logs; a relayer carries 2 signatures in one cosign', async () => {
    const chain = await setupChain({ notaries: 2, threshold: 2 });
    const r = await anchor(chain, chain.agencyA);
    const notaries = await Promise.all(chain.notaries.map((w) => notaryFor(chain, w, dirs.make(), { submit: false })));
    const attestations: Array<{ address: string; attestedAt: number; signature: string }> = [];
    for (const [i, n] of notaries.entries()) {
      const [o] = await n.runOnce();
      if (o?.status !== 'signed') throw new Error('expected signed');
      expect(o.submitted).toBe(false);
      attestations.push({ address: chain.notaries[i]!.address, attestedAt: o.attestedAt, signature: o.signature });
      expect(await chain.provider.getTransactionCount(chain.notaries[i]!.address)).toBe(0);
    }
    attestations.sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
    await (
      await (chain.registry.connect(chain.admin) as Contract).cosign(
        agencyOfRoot(r),
        r,
        attestations.map((a) => [a.attestedAt, a.signature]),
      )
    ).wait();
    expect(await chain.registry.isNotarized(agencyOfRoot(r), r)).toBe(true);
    // The notary sees its signature on chain and closes the entry.
    expect((await notaries[0]!.runOnce())[0]).toMatchObject({ status: 'signed', submitted: true, resumed: true });
    expect((await notaries[0]!.decisions())[0]?.status).toBe('cosigned');
  });

  it('pages eth_getLogs when the endpoint caps the block range', async () => {
    const chain = await setupChain();
    const [me] = chain.notaries;
    const roots: string[] = [];
    for (let i = 0; i < 4; i++) {
      roots.push(await anchor(chain, chain.agencyA));
      await mine(7);
    }
    let refused = 0;
    const capped = withFaults(chain.provider, {
      getLogs: (async (filter: { fromBlock: number; toBlock: number }) => {
        if (filter.toBlock - filter.fromBlock >= 5) {
          refused++;
          throw Object.assign(new Error('query exceeds max block range 5'), { code: 'UNKNOWN_ERROR' });
        }
        return chain.provider.getLogs(filter);
      }) as never,
    });
    const notary = await notaryFor(chain, me!, dirs.make(), { provider: capped, logPageSize: 1000 });
    const outcomes = await notary.runOnce();
    expect(outcomes.map((o) => o.batch.root)).toEqual(roots);
    expect(outcomes.every((o) => o.status === 'signed')).toBe(true);
    expect(refused).toBeGreaterThan(0);
  });

  it('follows the chain: a new anchor is co-signed within seconds; stops when aborted', async () => {
    const chain = await setupChain();
    const [me] = chain.notaries;
    const events: NotaryEvent[] = [];
    const notary = await notaryFor(chain, me!, dirs.make(), { onEvent: (e) => events.push(e), pollIntervalMs: 100 });
    const stop = new AbortController();
    const following = notary.follow(stop.signal);
    try {
      const r = await anchor(chain, chain.agencyA);
      // A deadline, not a speed assertion (follow latency is measured by the benches).
      const deadline = Date.now() + 30_000;
      const signed = () => events.some((e) => e.status === 'signed' && e.batch.root === r);
      while (!(await chain.registry.isNotarized(agencyOfRoot(r), r)) || !signed()) {
        if (Date.now() > deadline) throw new Error('not co-signed while following');
        await new Promise((res) => setTimeout(res, 50));
      }
      expect(events).toContainEqual(expect.objectContaining({ status: 'signed', batch: expect.objectContaining({ root: r }) }));
    } finally {
      stop.abort();
    }
    await expect(following).resolves.toBeUndefined();
  });

  it('a log belongs to one notary key and one process', async () => {
    const chain = await setupChain({ notaries: 2 });
    const logDir = dirs.make();
    const first = await notaryFor(chain, chain.notaries[0]!, logDir);
    await expect(makeNotary(chain, chain.notaries[0]!, logDir)).rejects.toSatisfy((e) => isLiuhenError(e, 'JOURNAL_LOCKED'));
    await closeNotary(first);
    await expect(makeNotary(chain, chain.notaries[1]!, logDir)).rejects.toSatisfy((e) => isLiuhenError(e, 'NOTARY_LOG_MISMATCH'));
  });

  it('refuses to start against the wrong chain id or an address without a registry', async () => {
    const chain = await setupChain();
    await expect(makeNotary(chain, chain.notaries[0]!, dirs.make(), { chainId: chain.chainId + 1 })).rejects.toSatisfy((e) =>
      isLiuhenError(e, 'CHAIN_MISMATCH'),
    );
    await expect(makeNotary(chain, chain.notaries[0]!, dirs.make(), { registry: chain.notaries[0]!.address })).rejects.toSatisfy((e) =>
      isLiuhenError(e, 'REGISTRY_MISSING'),
    );
  });
});
