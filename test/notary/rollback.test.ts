/**
 * Issue 10.2: a chain rollback (a real Anvil, `evm_snapshot`/`evm_revert`,
 * as when the embedded chain restarts from an older state file) loses the
 * notary's co-signature while its log says `cosigned`. The notary must see it
 * and co-sign again — with its logged attestation (same attestedAt and
 * signature) when the registry still accepts it, otherwise with a fresh
 * attestation over the same batch facts — and never sign another root for
 * the slot. On the old code the batch stayed unnotarized forever
 * (`ALREADY_COSIGNED`).
 */
import { Contract, ContractFactory, encodeBytes32String, HDNodeWallet, id, JsonRpcProvider, keccak256, NonceManager, toUtf8Bytes, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidenceRegistryArtifact } from '../../src/chain/registry-artifact.js';
import { createNotary, type Notary } from '../../src/notary/index.js';
import type { NotaryEvent } from '../../src/notary/types.js';
import { ANVIL_KEYS, startAnvil, type Anvil } from './anvil.js';
import { tempDirs } from './temp.js';

const AGENCY = '310115-ZFJ';
const A = encodeBytes32String(AGENCY);
const dirs = tempDirs();
let anvil: Anvil;
let provider: JsonRpcProvider;

beforeAll(async () => {
  anvil = await startAnvil();
  provider = new JsonRpcProvider(anvil.url, undefined, { pollingInterval: 50, cacheTimeout: -1 });
}, 60_000);

afterAll(() => {
  anvil?.stop();
  provider?.destroy();
  dirs.cleanup();
});

/** A fresh registry, agency A bound, one notary (the Anvil key `notaryIndex`) granted and funded. */
async function setup(notaryIndex: number) {
  const admin = new NonceManager(new Wallet(ANVIL_KEYS[0]!, provider));
  const agency = new NonceManager(new Wallet(ANVIL_KEYS[1]!, provider));
  // Anvil's dev accounts beyond 0 (admin) and 1 (agency): funded at genesis.
  const notaryWallet = HDNodeWallet.fromPhrase(
    'test test test test test test test test test test test junk',
    undefined,
    `m/44'/60'/0'/0/${notaryIndex}`,
  ).connect(provider);
  const deployed = await new ContractFactory(evidenceRegistryArtifact.abi, evidenceRegistryArtifact.bytecode, admin).deploy(await admin.getAddress());
  const receipt = await deployed.deploymentTransaction()!.wait();
  const registry = deployed as Contract;
  await (await registry.bindAgency(await agency.getAddress(), encodeBytes32String(AGENCY))).wait();
  await (await registry.grantRole(id('NOTARY_ROLE'), notaryWallet.address)).wait();
  const { chainId } = await provider.getNetwork();
  const events: NotaryEvent[] = [];
  const open = (logDir: string): Promise<Notary> =>
    createNotary({
      wallet: notaryWallet,
      provider,
      registry: String(registry.target),
      logDir,
      chainId: Number(chainId),
      deployBlock: receipt!.blockNumber,
      policy: { confirmations: 0 },
      pollIntervalMs: 50,
      receiptTimeoutMs: 20_000,
      onEvent: (e) => events.push(e),
    });
  const anchor = async (root: string, first: number, last: number): Promise<void> => {
    agency.reset();
    const [, prev] = await registry.latest(encodeBytes32String(AGENCY));
    await (await (registry.connect(agency) as Contract).anchor(root, 3, prev, first, last)).wait();
  };
  const cosignLogs = async (root: string) => {
    const logs = await registry.queryFilter(registry.filters.BatchCosigned(A, root), receipt!.blockNumber);
    return logs
      .map((l) => (l as unknown as { args: { notary: string; attestedAt: bigint; signature: string } }).args)
      .map((a) => ({ notary: a.notary, attestedAt: Number(a.attestedAt), signature: a.signature }));
  };
  return { registry, notaryWallet, open, anchor, cosignLogs, events };
}

const snapshot = (): Promise<string> => provider.send('evm_snapshot', []);
const revert = async (snap: string): Promise<void> => expect(await provider.send('evm_revert', [snap])).toBe(true);

describe('the notary reconciles its log with the chain after a rollback', () => {
  it('co-signature lost, anchor kept: co-signs again with the logged attestation (same attestedAt and signature)', async () => {
    const c = await setup(2);
    const now = (await provider.getBlock('latest'))!.timestamp;
    const root = keccak256(toUtf8Bytes(`rollback-keep-anchor-${Math.random()}`));
    await c.anchor(root, now - 30, now - 1);
    const snap = await snapshot(); // the chain state file was saved here, before the cosign

    const logDir = dirs.make('rollback-a');
    let notary = await c.open(logDir);
    expect(await notary.runOnce()).toEqual([expect.objectContaining({ status: 'signed', submitted: true })]);
    expect(await c.registry.isNotarized(A, root)).toBe(true);
    const [before] = await c.cosignLogs(root);
    await notary.close();

    await revert(snap); // the embedded chain restarts from the older state: the cosign is gone
    expect(await c.registry.isNotarized(A, root)).toBe(false);

    notary = await c.open(logDir);
    try {
      const outcomes = await notary.runOnce();
      expect(outcomes).toEqual([expect.objectContaining({ status: 'signed', submitted: true, batch: expect.objectContaining({ root }) })]);
      expect(await c.registry.isNotarized(A, root)).toBe(true);
      const after = await c.cosignLogs(root);
      expect(after).toEqual([{ notary: c.notaryWallet.address, attestedAt: before!.attestedAt, signature: before!.signature }]);
      expect(c.events).toContainEqual(expect.objectContaining({ status: 'recosigning', reuse: true }));
      const [dec] = await notary.decisions();
      expect(dec).toMatchObject({ status: 'cosigned', recosigned: 1, attestation: { attestedAt: before!.attestedAt, signature: before!.signature } });
      // Idempotent: nothing more to do.
      expect((await notary.runOnce()).filter((o) => o.status !== 'skipped')).toEqual([]);
    } finally {
      await notary.close();
    }
  });

  it('anchor and co-signature lost, the same batch re-anchored later: a fresh attestation over the same facts; never another root for the slot', async () => {
    const c = await setup(3);
    const now = (await provider.getBlock('latest'))!.timestamp;
    const root = keccak256(toUtf8Bytes(`rollback-reanchor-${Math.random()}`));
    const snap = await snapshot(); // saved before the anchor
    await c.anchor(root, now - 30, now - 1);

    const logDir = dirs.make('rollback-b');
    const notary = await c.open(logDir);
    try {
      expect(await notary.runOnce()).toEqual([expect.objectContaining({ status: 'signed', submitted: true })]);
      const [before] = await c.cosignLogs(root);

      await revert(snap); // anchor and cosign gone
      await provider.send('evm_increaseTime', [120]); // the anchorer re-anchors a while later: a later block time
      const snap2 = await snapshot(); // (Anvil consumes a snapshot when it reverts to it)
      await c.anchor(root, now - 30, now - 1); // the same batch facts (the anchorer re-anchors the same root)
      const reAnchored = await c.registry.batch(A, root);

      const outcomes = await notary.runOnce();
      expect(outcomes).toContainEqual(expect.objectContaining({ status: 'signed', submitted: true, batch: expect.objectContaining({ root, seq: 1 }) }));
      expect(await c.registry.isNotarized(A, root)).toBe(true);
      const [after] = await c.cosignLogs(root);
      expect(after!.attestedAt).toBeGreaterThanOrEqual(Number(reAnchored.anchoredAt));
      expect(after!.signature).not.toBe(before!.signature);
      expect(c.events).toContainEqual(expect.objectContaining({ status: 'recosigning', reuse: false }));
      const decisions = await notary.decisions();
      expect(decisions).toHaveLength(1);
      expect(decisions[0]).toMatchObject({ status: 'cosigned', recosigned: 1, batch: { root, seq: 1, size: 3 } });

      // Never equivocates: the chain rolled back once more and batch 1 is now a different root — refused.
      await revert(snap2);
      const other = keccak256(toUtf8Bytes(`rollback-other-${Math.random()}`));
      await c.anchor(other, now - 30, now - 1);
      const again = await notary.runOnce();
      expect(again).toContainEqual(expect.objectContaining({ status: 'refused', reason: 'EQUIVOCATION', batch: expect.objectContaining({ root: other }) }));
      expect(await c.registry.isNotarized(A, other)).toBe(false);
    } finally {
      await notary.close();
    }
  });
});
