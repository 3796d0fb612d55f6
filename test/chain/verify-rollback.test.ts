/**
 * Issue 10.1, route (b): a receipt served before a chain rollback still
 * verifies once the same batch facts are anchored and co-signed again — the
 * embedded chain (Anvil) can lose its last seconds on a crash, and the
 * reconcilers (anchorer, notary) then re-anchor and re-cosign the same facts
 * in new blocks at new times. Served here as the gateway serves it (the SDK's
 * receipt with chain data), rolled back with evm_snapshot / evm_revert, and
 * verified through the SDK and the CLI. A receipt whose facts the chain does
 * not hold still fails; a revoked notary's attestation must be exactly the
 * one the chain recorded.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Contract, Wallet, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedChain } from '../../src/chain/anvil.js';
import { devAccount } from '../../src/chain/deploy.js';
import { NOTARY_ROLE, registryInterface } from '../../src/chain/registry.js';
import { createChainVerifier, type ClosableChainVerifier } from '../../src/chain/verifier.js';
import type { BatchInfo } from '../../src/journal/types.js';
import { Liuhen } from '../../src/liuhen.js';
import { serializeReceipt, type Receipt } from '../../src/receipt/format.js';
import { verifyReceipt } from '../../src/verify/verify.js';
import { agencyWallet, chainFor, cli, cosign, deployedFolder, notaryWallet, providerFor, stopAll, tempDir, type Folder } from './helpers.js';

let chain: EmbeddedChain;
let folder: Folder;
let provider: JsonRpcProvider;
let verifier: ClosableChainVerifier;
let registry: string;
let notary: Wallet;
let agency: Wallet;
/** The receipt as served before the rollback (saved by its holder). */
let served: Receipt;
let batch: BatchInfo;
let file: string;
let receiptFile: string;
/** Snapshot taken after sealing, before anchoring. */
let snapshot: string;

const unix = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const hex32 = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;
const anchorAgain = async (root: string, b: BatchInfo) => {
  const c = new Contract(registry, registryInterface, agency);
  await (await c.getFunction('anchor').send(root, b.size, b.prevRoot, unix(b.firstCapturedAt), unix(b.lastCapturedAt))).wait();
};
const rollBack = async () => {
  expect(await provider.send('evm_revert', [snapshot])).toBe(true);
  snapshot = await provider.send('evm_snapshot', []);
  // Time passes and blocks are mined before the reconcilers act: new block numbers, hashes and times.
  await provider.send('evm_increaseTime', [90]);
  await provider.send('evm_mine', []);
  await provider.send('evm_mine', []);
};
const check = (v: Awaited<ReturnType<typeof verifyReceipt>>, name: string) => v.checks.find((c) => c.name === name);

beforeAll(async () => {
  chain = await chainFor();
  folder = await deployedFolder(chain.rpc);
  provider = providerFor(chain);
  registry = folder.deployed.chain.registry!;
  notary = await notaryWallet(folder.dataDir, chain.chainId, provider);
  agency = await agencyWallet(folder.dataDir, chain.chainId, provider);
  file = join(tempDir(), 'clip.bin');
  writeFileSync(file, 'body-camera clip, recorded before the crash');
  const lh = await Liuhen.open(folder.dataDir);
  try {
    const { record } = await lh.recordFile(file, { case: 'C-RB', stage: 'onsite' });
    await lh.seal();
    const r0 = await lh.receipt(record.id);
    batch = (await lh.journal.getBatchByRoot(r0.batch.root))!;
    snapshot = await provider.send('evm_snapshot', []);
    await lh.anchor();
    await cosign(notary, chain.chainId, registry, r0.batch);
    served = await lh.receipt(record.id);
  } finally {
    await lh.close();
  }
  receiptFile = join(tempDir(), 'receipt.json');
  writeFileSync(receiptFile, serializeReceipt(served));
  verifier = createChainVerifier({ provider, trustedRegistries: [registry] });
});

afterAll(async () => {
  verifier?.close();
  provider?.destroy();
  await stopAll();
});

describe('a served receipt survives a chain rollback', () => {
  it('before the rollback: verified, anchor as stated', async () => {
    expect(served.anchor).not.toBeNull();
    expect(served.attestations).toHaveLength(1);
    const v = await verifyReceipt({ receipt: served, content: { path: file }, chain: verifier });
    expect(v.status).toBe('verified');
    expect(check(v, 'anchor')).toMatchObject({ status: 'pass', code: 'ANCHOR_VALID' });
  });

  it('rolled back, re-anchored and re-cosigned with the same facts: the saved receipt still verifies (SDK and CLI exit 0)', async () => {
    await rollBack();
    expect((await verifyReceipt({ receipt: served, chain: verifier })).status, 'rolled back, not yet re-anchored: nothing proves it now').not.toBe('verified');
    await anchorAgain(batch.root, batch);
    await cosign(notary, chain.chainId, registry, served.batch);
    const v = await verifyReceipt({ receipt: served, content: { path: file }, chain: verifier });
    expect(v.status, JSON.stringify(v.checks)).toBe('verified');
    const anchor = check(v, 'anchor')!;
    expect(anchor).toMatchObject({ status: 'warn', code: 'ANCHOR_REANCHORED' });
    expect(anchor.detail).toMatch(/block \d+ → \d+/);
    expect(anchor.detail).toMatch(/time \+\d+ s/);
    expect(check(v, 'notary')).toMatchObject({ status: 'pass', code: 'NOTARY_VALID' });
    expect(check(v, 'notary')!.detail).toMatch(/co-signed again/);
    // The policy judges the chain's time, not the receipt's claim.
    expect(check(v, 'policy')?.status).toMatch(/^(pass|warn)$/);

    const r = await cli(['--json', '--data', join(tempDir(), 'none'), 'verify', file, '--receipt', receiptFile, '--rpc', chain.rpc, '--registry', registry]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'anchor').code).toBe('ANCHOR_REANCHORED');
  });

  it('a receipt whose batch facts differ from the re-anchored ones still fails', async () => {
    for (const [mutate, code] of [
      [(r: Receipt) => (r.batch.prevRoot = hex32(5)), 'ANCHOR_PREV_ROOT_MISMATCH'],
      [(r: Receipt) => (r.batch.seq += 1), 'ANCHOR_SEQ_MISMATCH'],
    ] as const) {
      const r = structuredClone(served);
      mutate(r);
      const v = await verifyReceipt({ receipt: r, chain: verifier });
      expect(v.status).toBe('failed');
      expect(check(v, 'anchor')).toMatchObject({ status: 'fail', code });
    }
  });

  it("a revoked notary's attestation at another time than the chain's is not accepted", async () => {
    const admin = new Contract(registry, registryInterface, devAccount(chain.chainId, 0, provider));
    // The registry keeps at least `threshold` notaries: another one first, then revoke ours.
    await (await admin.getFunction('grantRole').send(NOTARY_ROLE, Wallet.createRandom().address)).wait();
    await (await admin.getFunction('revokeRole').send(NOTARY_ROLE, notary.address)).wait();
    try {
      const v = await verifyReceipt({ receipt: served, chain: verifier });
      expect(check(v, 'notary')).toMatchObject({ status: 'fail', code: 'NOTARY_ATTESTED_AT_MISMATCH' });
    } finally {
      await (await admin.getFunction('grantRole').send(NOTARY_ROLE, notary.address)).wait();
    }
  });

  it('rolled back and another root anchored in its place: the saved receipt fails (the chain holds other facts)', async () => {
    await rollBack();
    await anchorAgain(hex32(0xbad), batch);
    const v = await verifyReceipt({ receipt: served, chain: verifier });
    expect(v.status).toBe('failed');
    expect(check(v, 'anchor')).toMatchObject({ status: 'fail', code: 'ANCHOR_ROOT_UNKNOWN' });
    expect(check(v, 'notary')).toMatchObject({ status: 'fail', code: 'NOTARY_ROOT_UNKNOWN' });
  });
});
