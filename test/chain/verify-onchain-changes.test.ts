/**
 * On-chain changes that alter a past verdict (docs/threat-model.md): the
 * verifier reads the notary threshold and roles as they are NOW, so
 * - a threshold raised above a batch's co-signatures turns verified into
 *   incomplete (pending, never failed: nothing was forged), and back when
 *   lowered or when more notaries co-sign;
 * - a notary revoked after co-signing keeps counting (the co-signature is on
 *   chain from when it was trusted); the verdict says so.
 */
import { Contract, Wallet, type HDNodeWallet, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedChain } from '../../src/chain/anvil.js';
import { devAccount } from '../../src/chain/deploy.js';
import { NOTARY_ROLE, registryInterface } from '../../src/chain/registry.js';
import { createChainVerifier, type ClosableChainVerifier } from '../../src/chain/verifier.js';
import { Liuhen } from '../../src/liuhen.js';
import type { Receipt } from '../../src/receipt/format.js';
import { verifyReceipt } from '../../src/verify/verify.js';
import { chainFor, cosign, deployedFolder, notaryWallet, providerFor, stopAll, type Folder } from './helpers.js';

let chain: EmbeddedChain;
let folder: Folder;
let provider: JsonRpcProvider;
let registry: string;
let receipt: Receipt;
let admin: Contract;
let verifier: ClosableChainVerifier;
let notaryAddress: string;
let other: Wallet | HDNodeWallet;

const notary = async () => (await verifyReceipt({ receipt, chain: verifier })).checks.find((c) => c.name === 'notary')!;
const send = async (fn: string, ...args: unknown[]) => (await (await admin.getFunction(fn).send(...args)).wait())!;

beforeAll(async () => {
  chain = await chainFor();
  folder = await deployedFolder(chain.rpc);
  provider = providerFor(chain);
  registry = folder.deployed.chain.registry!;
  admin = new Contract(registry, registryInterface, devAccount(chain.chainId, 0, provider));
  other = Wallet.createRandom();
  await send('grantRole', NOTARY_ROLE, other.address);
  const lh = await Liuhen.open(folder.dataDir);
  try {
    const { record } = await lh.recordBody({ event: 'patrol-start' });
    await lh.seal();
    await lh.anchor();
    const n = await notaryWallet(folder.dataDir, chain.chainId, provider);
    notaryAddress = n.address;
    await cosign(n, chain.chainId, registry, (await lh.receipt(record.id)).batch);
    receipt = await lh.receipt(record.id);
  } finally {
    await lh.close();
  }
  verifier = createChainVerifier({ provider, trustedRegistries: [registry] });
});

afterAll(async () => {
  verifier?.close();
  provider?.destroy();
  await stopAll();
});

describe('on-chain changes and past verdicts', () => {
  it('threshold raised above the co-signatures: verified → incomplete (pending), and back when lowered', async () => {
    expect(await notary()).toMatchObject({ status: 'pass', code: 'NOTARY_VALID' });
    await send('setNotaryThreshold', 2);
    const raised = await notary();
    expect(raised).toMatchObject({ status: 'pending', code: 'NOTARY_BELOW_THRESHOLD' });
    expect((await verifyReceipt({ receipt, chain: verifier })).status).toBe('incomplete');
    await send('setNotaryThreshold', 1);
    expect(await notary()).toMatchObject({ status: 'pass', code: 'NOTARY_VALID' });
  });

  it('a notary revoked after co-signing still counts (its co-signature is on chain); the verdict says it was revoked', async () => {
    await send('revokeRole', NOTARY_ROLE, notaryAddress);
    const n = await notary();
    expect(n).toMatchObject({ status: 'pass', code: 'NOTARY_VALID' });
    expect(n.detail).toMatch(/since revoked/);
    expect((await verifyReceipt({ receipt, chain: verifier })).status).toBe('verified');
  });
});
