/**
 * The chain verifier over an anchored and notarized receipt: the untouched
 * receipt verifies; each mutation of a batch, anchor or attestation field is
 * caught by the check that owns it, as `fail` (it contradicts the chain) or
 * `pending` (not decidable yet), with its specific code.
 */
import { Contract, encodeBytes32String, Signature, Wallet, type HDNodeWallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devAccount } from '../../src/chain/deploy.js';
import { NOTARY_ROLE, registryInterface } from '../../src/chain/registry.js';
import { createChainVerifier, type ClosableChainVerifier } from '../../src/chain/verifier.js';
import { isLiuhenError } from '../../src/errors.js';
import { Liuhen } from '../../src/liuhen.js';
import type { Receipt } from '../../src/receipt/format.js';
import { redactReceipt } from '../../src/receipt/build.js';
import { verifyReceipt } from '../../src/verify/verify.js';
import { attest, chainFor, cosign, deployedFolder, notaryWallet, providerFor, registryOf, stopAll, type Folder } from './helpers.js';
import type { EmbeddedChain } from '../../src/chain/anvil.js';
import type { JsonRpcProvider } from 'ethers';

let chain: EmbeddedChain;
let folder: Folder;
let provider: JsonRpcProvider;
let verifier: ClosableChainVerifier;
let receipt: Receipt;
let registry: string;
let otherNotary: Wallet | HDNodeWallet;

const hex32 = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;
const clone = (): Receipt => structuredClone(receipt);

beforeAll(async () => {
  chain = await chainFor();
  folder = await deployedFolder(chain.rpc);
  provider = providerFor(chain);
  registry = folder.deployed.chain.registry!;
  const lh = await Liuhen.open(folder.dataDir);
  try {
    await lh.recordBody({ event: 'recording-start' });
    const { record } = await lh.recordBody({ form: 'decision', fine: 200 }, { case: 'C-9', stage: 'decision' });
    await lh.recordBody({ event: 'recording-stop' });
    await lh.seal();
    await lh.anchor();
    const notary = await notaryWallet(folder.dataDir, chain.chainId, provider);
    const r0 = await lh.receipt(record.id);
    await cosign(notary, chain.chainId, registry, r0.batch);
    receipt = await lh.receipt(record.id);
  } finally {
    await lh.close();
  }
  // A second notary, granted the role but never co-signing on chain.
  otherNotary = Wallet.createRandom().connect(provider);
  const admin = new Contract(registry, registryInterface, devAccount(chain.chainId, 0, provider));
  await (await admin.getFunction('grantRole').send(NOTARY_ROLE, otherNotary.address)).wait();
  verifier = createChainVerifier({ provider, trustedRegistries: [registry] });
});

afterAll(async () => {
  verifier?.close();
  provider?.destroy();
  await stopAll();
});

describe('chain verifier', () => {
  it('verifies the untouched receipt (and its redacted form)', async () => {
    expect(receipt.anchor).not.toBeNull();
    expect(receipt.attestations).toHaveLength(1);
    const v = await verifyReceipt({ receipt, chain: verifier });
    expect(v.checks.filter((c) => !c.ok)).toEqual([]);
    expect(v.status).toBe('verified');
    expect(v.checks.find((c) => c.name === 'anchor')?.code).toBe('ANCHOR_VALID');
    expect(v.checks.find((c) => c.name === 'notary')?.code).toBe('NOTARY_VALID');
    expect((await verifyReceipt({ receipt: redactReceipt(receipt), chain: verifier })).status).toBe('verified');
  });

  // Issue 10.1 (route b): transaction, block number, block hash and time are information about
  // where the anchor was when the receipt was issued; a rollback re-anchors the same facts
  // elsewhere. Such a shift is a warn (ANCHOR_REANCHORED, the chain's time judged), no longer a
  // fail — the batch facts (agency, seq, root, size, prevRoot) still are pass/fail.
  const anchorCases: [string, (r: Receipt) => unknown, 'fail' | 'pending' | 'warn', string][] = [
    ['batch.seq', (r) => (r.batch.seq += 1), 'fail', 'ANCHOR_SEQ_MISMATCH'],
    ['batch.prevRoot', (r) => (r.batch.prevRoot = hex32(7)), 'fail', 'ANCHOR_PREV_ROOT_MISMATCH'],
    ['anchor.chainId', (r) => (r.anchor!.chainId = 31337), 'fail', 'CHAIN_MISMATCH'],
    ['anchor.registry (untrusted)', (r) => (r.anchor!.registry = folder.deployed.agencyAddress), 'fail', 'ANCHOR_REGISTRY_UNTRUSTED'],
    ['batch.size (record withheld)', (r) => ((r.record = null), (r.batch.size += 1), (r.inclusion.size += 1)), 'fail', 'ANCHOR_SIZE_MISMATCH'],
    ['anchor.txHash (unknown)', (r) => (r.anchor!.txHash = hex32(1)), 'warn', 'ANCHOR_REANCHORED'],
    ['anchor.blockNumber', (r) => (r.anchor!.blockNumber -= 1), 'warn', 'ANCHOR_REANCHORED'],
    ['anchor.blockHash', (r) => (r.anchor!.blockHash = hex32(2)), 'warn', 'ANCHOR_REANCHORED'],
    ['anchor.timestamp', (r) => (r.anchor!.timestamp += 1), 'warn', 'ANCHOR_REANCHORED'],
    ['anchor removed', (r) => (r.anchor = null), 'pending', 'ANCHOR_ABSENT'],
  ];
  for (const [field, mutate, status, code] of anchorCases) {
    it(`anchor check: ${field} → ${status} ${code}`, async () => {
      const r = clone();
      mutate(r);
      const v = await verifyReceipt({ receipt: r, chain: verifier });
      expect(v.checks.find((c) => c.name === 'anchor')).toMatchObject({ status, code });
      expect(v.status).toBe(status === 'fail' ? 'failed' : status === 'warn' ? 'verified' : 'incomplete');
    });
  }

  it('anchor check: a txHash of another registry transaction (the co-signature) → fail ANCHOR_TX_NO_EVENT', async () => {
    const logs = await registryOf(folder, provider).cosignLogs(receipt.batch.agency, receipt.batch.root);
    const r = clone();
    r.anchor!.txHash = logs[0]!.txHash;
    expect(await verifier.checkAnchor(r)).toMatchObject({ status: 'fail', code: 'ANCHOR_TX_NO_EVENT' });
  });

  it('anchor check: a txHash of a transaction to another address → fail ANCHOR_TX_WRONG_CONTRACT', async () => {
    const dev = devAccount(chain.chainId, 1, provider);
    const tx = await (await dev.sendTransaction({ to: dev.address, value: 1n })).wait();
    const r = clone();
    r.anchor!.txHash = tx!.hash;
    expect(await verifier.checkAnchor(r)).toMatchObject({ status: 'fail', code: 'ANCHOR_TX_WRONG_CONTRACT' });
  });

  it('batch.agency changed: with the record, the receipt is malformed; with the record withheld, the chain contradicts it', async () => {
    const r = clone();
    r.batch.agency = '310104-SCJG';
    const v = await verifyReceipt({ receipt: r, chain: verifier });
    expect(v.status).toBe('failed');
    expect(v.checks[0]).toMatchObject({ name: 'format', status: 'fail' });
    const withheld = { ...redactReceipt(receipt), batch: { ...receipt.batch, agency: '310104-SCJG' } };
    const w = await verifyReceipt({ receipt: withheld, chain: verifier });
    expect(w.checks.find((c) => c.name === 'anchor')).toMatchObject({ status: 'fail', code: 'ANCHOR_AGENCY_MISMATCH' });
    // The notary check compares the batch facts with the registry's first (issue 10.1).
    expect(w.checks.find((c) => c.name === 'notary')).toMatchObject({ status: 'fail', code: 'NOTARY_ROOT_UNKNOWN' }); // registry v2: no batch of that agency with the root
  });

  it('an unpinned registry can never verify (anyone can deploy one); a registry address without code fails', async () => {
    const open = createChainVerifier({ provider });
    try {
      expect(await open.checkAnchor(receipt)).toMatchObject({ status: 'pending', code: 'ANCHOR_REGISTRY_NOT_PINNED' });
      expect(await open.checkNotary(receipt)).toMatchObject({ status: 'pending', code: 'NOTARY_REGISTRY_NOT_PINNED' });
      expect((await verifyReceipt({ receipt, chain: open })).status).toBe('incomplete');
      const r = clone();
      r.anchor!.registry = folder.deployed.agencyAddress;
      expect(await open.checkAnchor(r)).toMatchObject({ status: 'fail', code: 'ANCHOR_REGISTRY_MISSING' });
    } finally {
      open.close();
    }
  });

  it('too few confirmations → pending; an unreachable node → pending', async () => {
    const strict = createChainVerifier({ provider, trustedRegistries: [registry], minConfirmations: 1000 });
    expect(await strict.checkAnchor(receipt)).toMatchObject({ status: 'pending', code: 'ANCHOR_UNCONFIRMED' });
    const down = createChainVerifier({ rpc: 'http://127.0.0.1:1', trustedRegistries: [registry] });
    const v = await verifyReceipt({ receipt, chain: down });
    expect(v.checks.find((c) => c.name === 'anchor')).toMatchObject({ status: 'pending', code: 'CHAIN_UNREACHABLE' });
    expect(v.checks.find((c) => c.name === 'notary')).toMatchObject({ status: 'pending', code: 'CHAIN_UNREACHABLE' });
    down.close();
  });

  const notaryCases: [string, (r: Receipt) => unknown, 'fail' | 'pending' | 'pass', unknown][] = [
    ['notary address', (r) => (r.attestations[0]!.notary = folder.deployed.agencyAddress), 'fail', 'NOTARY_SIGNER_MISMATCH'],
    ['attestedAt', (r) => (r.attestations[0]!.attestedAt += 1), 'fail', 'NOTARY_SIGNER_MISMATCH'],
    [
      'signature (a flipped bit)',
      (r) => {
        const s = r.attestations[0]!.signature;
        r.attestations[0]!.signature = `${s.slice(0, 10)}${(parseInt(s[10]!, 16) ^ 1).toString(16)}${s.slice(11)}`;
      },
      'fail',
      // r off the curve: no signer at all; otherwise another signer
      expect.stringMatching(/^NOTARY_(SIGNER_MISMATCH|SIGNATURE_INVALID)$/),
    ],
    [
      'signature (malleated to high s)',
      (r) => {
        const sig = Signature.from(r.attestations[0]!.signature);
        const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
        const high = `0x${sig.r.slice(2)}${(n - BigInt(sig.s)).toString(16).padStart(64, '0')}${(sig.v === 27 ? 28 : 27).toString(16)}`;
        r.attestations[0]!.signature = high;
      },
      'fail',
      'NOTARY_SIGNATURE_INVALID',
    ],
    ['duplicated attestation', (r) => r.attestations.push({ ...r.attestations[0]! }), 'fail', 'NOTARY_DUPLICATE'],
    ['attestations removed', (r) => (r.attestations = []), 'pending', 'NOTARY_ABSENT'],
    [
      'a valid signature of an address without NOTARY_ROLE',
      async (r) => {
        const stranger = Wallet.createRandom();
        const at = r.attestations[0]!.attestedAt;
        r.attestations = [{ notary: stranger.address, attestedAt: at, signature: await attest(stranger, chain.chainId, registry, r.batch, at) }];
      },
      'fail',
      'NOTARY_NOT_NOTARY',
    ],
    [
      "a notary's valid attestation that was never co-signed on chain",
      async (r) => {
        const at = r.attestations[0]!.attestedAt;
        r.attestations = [{ notary: otherNotary.address, attestedAt: at, signature: await attest(otherNotary, chain.chainId, registry, r.batch, at) }];
      },
      'pending',
      'NOTARY_NOT_ON_CHAIN',
    ],
    // Issue 10.1: a current notary's valid signature over the on-chain facts, where the chain
    // shows that notary co-signed (at another time, e.g. again after a rollback), is accepted.
    // A revoked notary's must match the chain exactly (test/chain/verify-rollback.test.ts).
    [
      'an attestedAt other than the one recorded on chain (validly signed by a current notary)',
      async (r) => {
        const notary = await notaryWallet(folder.dataDir, chain.chainId, provider);
        const at = r.attestations[0]!.attestedAt + 5;
        r.attestations = [{ notary: notary.address, attestedAt: at, signature: await attest(notary, chain.chainId, registry, r.batch, at) }];
      },
      'pass',
      'NOTARY_VALID',
    ],
  ];
  for (const [field, mutate, status, code] of notaryCases) {
    it(`notary check: ${field} → ${status} ${typeof code === 'string' ? code : 'NOTARY_SIGNER_MISMATCH or NOTARY_SIGNATURE_INVALID'}`, async () => {
      const r = clone();
      await mutate(r);
      const v = await verifyReceipt({ receipt: r, chain: verifier });
      expect(v.checks.find((c) => c.name === 'notary')).toMatchObject({ status, code });
      expect(v.checks.find((c) => c.name === 'anchor')?.status).toBe('pass');
    });
  }

  it('the extra attestation of a second notary does not hurt once the threshold is met on chain', async () => {
    const r = clone();
    const at = r.attestations[0]!.attestedAt;
    r.attestations.push({ notary: otherNotary.address, attestedAt: at, signature: await attest(otherNotary, chain.chainId, registry, r.batch, at) });
    expect(await verifier.checkNotary(r)).toMatchObject({ status: 'pass', code: 'NOTARY_VALID' });
  });

  it('registry reverts come back as CHAIN_REVERTED naming the Solidity error and its arguments', async () => {
    const reg = registryOf(folder, provider);
    const stranger = Wallet.createRandom().address;
    try {
      await reg.contract.getFunction('anchor').staticCall(hex32(9), 1, hex32(0), 0, 0, { from: stranger });
      expect.unreachable();
    } catch (e) {
      const { decodeRegistryError } = await import('../../src/chain/registry.js');
      const d = decodeRegistryError(e, 'anchor');
      expect(isLiuhenError(d, 'CHAIN_REVERTED')).toBe(true);
      expect((d as Error).message).toContain(`AccessControlUnauthorizedAccount(account=${stranger}`);
    }
    try {
      await reg.contract.getFunction('cosign').staticCall(encodeBytes32String('310115-ZFJ'), hex32(9), [{ attestedAt: 1, signature: '0x' }]);
      expect.unreachable();
    } catch (e) {
      const { decodeRegistryError } = await import('../../src/chain/registry.js');
      expect((decodeRegistryError(e, 'cosign') as Error).message).toMatch(
        /EvidenceRegistryBatchNotAnchored\(agency=0x[0-9a-f]{8}…\("310115-ZFJ"\), root=0x0+9\)/,
      );
    }
  });
});
