/**
 * Front-running on a real chain (Anvil, automine off): another agency copies a
 * pending transaction of the victim from the mempool (`txpool_content`) and
 * gets its copy mined first with a higher tip (`evm_mine`). On registry
 * version 2 the victim's anchor and co-signature still succeed (batches are
 * keyed by agency and root, issue 9.2). The same attack on a version 1
 * registry (the frozen v1 artifact) makes the victim's anchor revert — the
 * bug this version fixes, kept here as proof that the test bites.
 */
import {
  ContractFactory,
  encodeBytes32String,
  Interface,
  JsonRpcProvider,
  keccak256,
  NonceManager,
  parseUnits,
  toUtf8Bytes,
  type Contract,
  type HDNodeWallet,
  type TransactionReceipt,
} from 'ethers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { attestationDomain, attestationMessage, ATTESTATION_TYPES, type RegistryVersion } from '../../src/chain/attestation.js';
import { evidenceRegistryArtifact } from '../../src/chain/registry-artifact.js';
import { evidenceRegistryV1Artifact } from '../../src/chain/registry-v1-artifact.js';
import { NOTARY_ROLE, RegistryClient } from '../../src/chain/registry.js';
import { devAccount } from '../../src/chain/deploy.js';
import { startAnvil, type Anvil } from '../notary/anvil.js';

const A = '310115-ZFJ';
const B = '310104-SCJG';
const ZERO32 = `0x${'00'.repeat(32)}`;
// Anvil orders its pool by the offered gas price (maxFeePerGas for EIP-1559 transactions): the attacker outbids on both.
const LOW_TIP = { maxPriorityFeePerGas: parseUnits('1', 'gwei'), maxFeePerGas: parseUnits('100', 'gwei') };
const HIGH_TIP = { maxPriorityFeePerGas: parseUnits('50', 'gwei'), maxFeePerGas: parseUnits('400', 'gwei') };

let anvil: Anvil;
let provider: JsonRpcProvider;

beforeAll(async () => {
  anvil = await startAnvil(['--order', 'fees']);
  provider = new JsonRpcProvider(anvil.url, undefined, { cacheTimeout: -1, pollingInterval: 50 });
}, 30_000);

afterAll(() => {
  provider?.destroy();
  anvil?.stop();
});

interface Setup {
  client: RegistryClient;
  iface: Interface;
  victim: HDNodeWallet;
  attacker: HDNodeWallet;
  notary: HDNodeWallet;
}

/** Deploys a registry of `version` with automine on, binds A (victim) and B (attacker), grants a notary. */
async function setup(version: RegistryVersion): Promise<Setup> {
  await provider.send('evm_setAutomine', [true]);
  // Anvil's public dev accounts (chain 31337): 0 admin, 1 victim agency, 2 attacker agency, 3 notary.
  const admin = new NonceManager(devAccount(31337, 0, provider));
  const victim = devAccount(31337, 1, provider);
  const attacker = devAccount(31337, 2, provider);
  const notary = devAccount(31337, 3, provider);
  const artifact = version === 1 ? evidenceRegistryV1Artifact : evidenceRegistryArtifact;
  const registry = (await new ContractFactory(artifact.abi, artifact.bytecode, admin).deploy(await admin.getAddress())) as Contract;
  await registry.waitForDeployment();
  await (await registry.getFunction('bindAgency')(victim.address, encodeBytes32String(A))).wait();
  await (await registry.getFunction('bindAgency')(attacker.address, encodeBytes32String(B))).wait();
  await (await registry.getFunction('grantRole')(NOTARY_ROLE, notary.address)).wait();
  return { client: new RegistryClient(await registry.getAddress(), provider), iface: new Interface(artifact.abi as never), victim, attacker, notary };
}

/** The pending transactions of `from` in Anvil's pool (`txpool_content`). */
async function pendingOf(from: string): Promise<Array<{ hash: string; to: string; input: string }>> {
  const pool = (await provider.send('txpool_content', [])) as { pending: Record<string, Record<string, { hash: string; to: string; input: string }>> };
  const entry = Object.entries(pool.pending).find(([addr]) => addr.toLowerCase() === from.toLowerCase());
  return entry ? Object.values(entry[1]) : [];
}

async function send(wallet: HDNodeWallet, to: string, data: string, fees: typeof LOW_TIP): Promise<string> {
  const tx = await wallet.sendTransaction({ to, data, ...fees, gasLimit: 500_000 });
  return tx.hash;
}

async function mineAndGet(...hashes: string[]): Promise<TransactionReceipt[]> {
  await provider.send('evm_mine', []);
  return Promise.all(hashes.map(async (h) => (await provider.getTransactionReceipt(h))!));
}

describe('front-running on Anvil (automine off)', () => {
  test("registry v2: another agency copies the victim's pending root with a higher tip; the victim's anchor still succeeds", async () => {
    const s = await setup(2);
    const r1 = keccak256(toUtf8Bytes('frontrun-v2-r1'));
    const r2 = keccak256(toUtf8Bytes('frontrun-v2-r2'));
    await (
      await s.victim.sendTransaction({
        to: s.client.address,
        data: s.client.encodeAnchor({ root: r1, size: 4, prevRoot: ZERO32, firstCapturedAt: 1, lastCapturedAt: 2 }),
      })
    ).wait();

    await provider.send('evm_setAutomine', [false]);
    const victimHash = await send(
      s.victim,
      s.client.address,
      s.client.encodeAnchor({ root: r2, size: 5, prevRoot: r1, firstCapturedAt: 3, lastCapturedAt: 4 }),
      LOW_TIP,
    );
    // The attacker reads the pool, decodes the victim's anchor and anchors the same root for its own agency first.
    const seen = await pendingOf(s.victim.address);
    expect(seen.map((t) => t.hash)).toContain(victimHash);
    const copied = s.iface.decodeFunctionData('anchor', seen.find((t) => t.hash === victimHash)!.input);
    expect(copied[0]).toBe(r2);
    const attackHash = await send(
      s.attacker,
      s.client.address,
      s.client.encodeAnchor({ root: copied[0] as string, size: Number(copied[1]), prevRoot: ZERO32, firstCapturedAt: 3, lastCapturedAt: 4 }),
      HIGH_TIP,
    );
    const [victimReceipt, attackReceipt] = await mineAndGet(victimHash, attackHash);

    expect(attackReceipt!.blockNumber).toBe(victimReceipt!.blockNumber);
    expect(attackReceipt!.index).toBeLessThan(victimReceipt!.index); // the copy really ran first
    expect(attackReceipt!.status).toBe(1);
    expect(victimReceipt!.status).toBe(1);
    expect(await s.client.batch(A, r2)).toMatchObject({ exists: true, seq: 2, size: 5, prevRoot: r1 });
    expect(await s.client.batch(B, r2)).toMatchObject({ exists: true, seq: 1 });
    expect(await s.client.latest(A)).toEqual({ seq: 2, root: r2 });

    // The notary's cosign is front-run too: replayed as is (harmless: counted once), and re-aimed at the attacker's batch (reverts).
    const b = await s.client.batch(A, r2);
    const { chainId } = await provider.getNetwork();
    const value = { root: r2, agency: A, seq: b.seq, size: b.size, prevRoot: b.prevRoot, attestedAt: b.anchoredAt };
    const signature = await s.notary.signTypedData(attestationDomain(chainId, s.client.address, 2), ATTESTATION_TYPES as never, attestationMessage(value));
    const cosignHash = await send(s.notary, s.client.address, await s.client.encodeCosign(A, r2, [{ attestedAt: b.anchoredAt, signature }]), LOW_TIP);
    const pendingCosign = (await pendingOf(s.notary.address)).find((t) => t.hash === cosignHash)!;
    const replayHash = await send(s.attacker, s.client.address, pendingCosign.input, HIGH_TIP);
    const [cosignReceipt, replayReceipt] = await mineAndGet(cosignHash, replayHash);
    expect(replayReceipt!.index).toBeLessThan(cosignReceipt!.index);
    expect([replayReceipt!.status, cosignReceipt!.status]).toEqual([1, 1]);
    expect(await s.client.isNotarized(A, r2)).toBe(true);
    expect(await s.client.cosigners(A, r2)).toEqual([s.notary.address]);
    // The signature covers agency A: aimed at B's batch of the same root it recovers to another signer.
    await expect(
      provider.call({ to: s.client.address, from: s.attacker.address, data: await s.client.encodeCosign(B, r2, [{ attestedAt: b.anchoredAt, signature }]) }),
    ).rejects.toThrow();
    expect(await s.client.isNotarized(B, r2)).toBe(false);
    await provider.send('evm_setAutomine', [true]);
  }, 60_000);

  test("registry v1 (the bug): the same copy makes the victim's anchor revert", async () => {
    const s = await setup(1);
    const r1 = keccak256(toUtf8Bytes('frontrun-v1-r1'));
    await provider.send('evm_setAutomine', [false]);
    const victimHash = await send(
      s.victim,
      s.client.address,
      s.client.encodeAnchor({ root: r1, size: 5, prevRoot: ZERO32, firstCapturedAt: 3, lastCapturedAt: 4 }),
      LOW_TIP,
    );
    const copied = s.iface.decodeFunctionData('anchor', (await pendingOf(s.victim.address)).find((t) => t.hash === victimHash)!.input);
    const attackHash = await send(
      s.attacker,
      s.client.address,
      s.client.encodeAnchor({ root: copied[0] as string, size: 1, prevRoot: ZERO32, firstCapturedAt: 3, lastCapturedAt: 4 }),
      HIGH_TIP,
    );
    const [victimReceipt, attackReceipt] = await mineAndGet(victimHash, attackHash);
    expect(attackReceipt!.status).toBe(1);
    expect(victimReceipt!.status).toBe(0);
    expect((await s.client.batch(A, r1)).exists).toBe(false);
    await provider.send('evm_setAutomine', [true]);
  }, 60_000);
});
