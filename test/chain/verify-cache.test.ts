/**
 * The verdict cache (src/chain/verifier-cache.ts, issue 11 goal 1): a burst
 * of verifications is served from cached chain facts, and a verdict is never
 * wrong because of it — a reorganisation below finality (Anvil
 * snapshot/revert), a notary role revoked, a registry not pinned.
 */
import { Contract, NonceManager, Wallet, type HDNodeWallet, type JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedChain } from '../../src/chain/anvil.js';
import { devAccount } from '../../src/chain/deploy.js';
import { agencyToBytes32 } from '../../src/chain/attestation.js';
import { NOTARY_ROLE, registryInterface } from '../../src/chain/registry.js';
import { createChainVerifier } from '../../src/chain/verifier.js';
import { Liuhen } from '../../src/liuhen.js';
import type { Receipt } from '../../src/receipt/format.js';
import { verifyReceipt } from '../../src/verify/verify.js';
import { attest, chainFor, cosign, deployedFolder, notaryWallet, providerFor, stopAll, type Folder } from './helpers.js';

let chain: EmbeddedChain;
let folder: Folder;
let provider: JsonRpcProvider;
let registry: string;
let receipt: Receipt;
let before: string;
let second: Wallet | HDNodeWallet;

const anchorOf = async (v: ReturnType<typeof createChainVerifier>, r: Receipt = receipt) =>
  (await verifyReceipt({ receipt: r, chain: v })).checks
    .filter((c) => c.name === 'anchor' || c.name === 'notary')
    .map((c) => `${c.name}:${c.status}:${c.code}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  chain = await chainFor();
  folder = await deployedFolder(chain.rpc);
  provider = providerFor(chain);
  registry = folder.deployed.chain.registry!;
  // A second notary: granted, never co-signing (and the registry keeps ≥ threshold notaries when one is revoked).
  second = Wallet.createRandom();
  const admin = new Contract(registry, registryInterface, devAccount(chain.chainId, 0, provider));
  await (await admin.getFunction('grantRole').send(NOTARY_ROLE, second.address)).wait();
  const lh = await Liuhen.open(folder.dataDir);
  try {
    const { record } = await lh.recordBody({ form: 'decision', fine: 50 }, { case: 'C-CACHE', stage: 'decision' });
    await lh.seal();
    before = await provider.send('evm_snapshot', []);
    await lh.anchor();
    await cosign(await notaryWallet(folder.dataDir, chain.chainId, provider), chain.chainId, registry, (await lh.receipt(record.id)).batch);
    receipt = await lh.receipt(record.id);
  } finally {
    await lh.close();
  }
});

afterAll(async () => {
  provider?.destroy();
  await stopAll();
});

describe('verdict cache', () => {
  it('a burst of verdicts is served from the cache: one sync per TTL, no chain reads per verdict', async () => {
    const v = createChainVerifier({ provider, trustedRegistries: [registry], cache: { headTtlMs: 60_000 } });
    expect(await anchorOf(v)).toEqual(['anchor:pass:ANCHOR_VALID', 'notary:pass:NOTARY_VALID']);
    const warm = v.cacheStats();
    for (let i = 0; i < 50; i++) expect(await anchorOf(v)).toEqual(['anchor:pass:ANCHOR_VALID', 'notary:pass:NOTARY_VALID']);
    const after = v.cacheStats();
    expect(after.misses).toBe(warm.misses);
    expect(after.syncs).toBe(warm.syncs);
    expect(after.hits).toBeGreaterThanOrEqual(warm.hits + 50 * 4);
  });

  it('facts not yet final are read every time, not cached', async () => {
    const v = createChainVerifier({ provider, trustedRegistries: [registry], minConfirmations: 1, cache: { finality: 1_000 } });
    await anchorOf(v);
    const first = v.cacheStats();
    await anchorOf(v);
    // batch facts (twice per verdict: anchor and notary) and the transaction are misses again.
    expect(v.cacheStats().misses - first.misses).toBeGreaterThanOrEqual(3);
  });

  it('a notary role revoked: the next verdict after the sync sees it (TTL 0 at once; TTL 1 s within a second)', async () => {
    const at = receipt.attestations[0]!.attestedAt;
    // A valid attestation by the second notary, never co-signed on chain: pending while it is a notary.
    const r: Receipt = {
      ...structuredClone(receipt),
      attestations: [{ notary: second.address, attestedAt: at, signature: await attest(second, chain.chainId, registry, receipt.batch, at) }],
    };
    const fresh = createChainVerifier({ provider, trustedRegistries: [registry] });
    const ttl = createChainVerifier({ provider, trustedRegistries: [registry], cache: { headTtlMs: 1_000 } });
    expect((await anchorOf(fresh, r))[1]).toBe('notary:pending:NOTARY_NOT_ON_CHAIN');
    expect((await anchorOf(ttl, r))[1]).toBe('notary:pending:NOTARY_NOT_ON_CHAIN');
    const admin = new Contract(registry, registryInterface, devAccount(chain.chainId, 0, provider));
    await (await admin.getFunction('revokeRole').send(NOTARY_ROLE, second.address)).wait();
    try {
      expect((await anchorOf(fresh, r))[1]).toBe('notary:fail:NOTARY_NOT_NOTARY');
      await sleep(1_100);
      expect((await anchorOf(ttl, r))[1]).toBe('notary:fail:NOTARY_NOT_NOTARY');
    } finally {
      await (await admin.getFunction('grantRole').send(NOTARY_ROLE, second.address)).wait();
    }
    expect((await anchorOf(fresh, r))[1]).toBe('notary:pending:NOTARY_NOT_ON_CHAIN');
  });

  it('a registry not pinned: a warm cache never makes it verify; another registry is not served from the pinned one', async () => {
    const open = createChainVerifier({ provider });
    for (let i = 0; i < 3; i++)
      expect(await anchorOf(open)).toEqual(['anchor:pending:ANCHOR_REGISTRY_NOT_PINNED', 'notary:pending:NOTARY_REGISTRY_NOT_PINNED']);
    const pinned = createChainVerifier({ provider, trustedRegistries: [registry], cache: { headTtlMs: 60_000 } });
    expect(await anchorOf(pinned)).toEqual(['anchor:pass:ANCHOR_VALID', 'notary:pass:NOTARY_VALID']);
    const elsewhere = structuredClone(receipt);
    elsewhere.anchor!.registry = folder.deployed.agencyAddress;
    expect((await anchorOf(pinned, elsewhere))[0]).toBe('anchor:fail:ANCHOR_REGISTRY_UNTRUSTED');
    const trustsBoth = createChainVerifier({ provider, trustedRegistries: [registry, folder.deployed.agencyAddress] });
    expect((await anchorOf(trustsBoth))[0]).toBe('anchor:pass:ANCHOR_VALID');
    expect((await anchorOf(trustsBoth, elsewhere))[0]).toBe('anchor:fail:ANCHOR_REGISTRY_MISSING');
  });

  it('after more than 2,000 blocks without a sync the view is dropped, not scanned (nodes cap log ranges); the verdict is unchanged', async () => {
    const v = createChainVerifier({ provider, trustedRegistries: [registry] });
    expect(await anchorOf(v)).toEqual(['anchor:pass:ANCHOR_VALID', 'notary:pass:NOTARY_VALID']);
    await provider.send('anvil_mine', ['0x7d1']);
    expect(await anchorOf(v)).toEqual(['anchor:pass:ANCHOR_VALID', 'notary:pass:NOTARY_VALID']);
    expect(v.cacheStats().flushes).toBe(1);
  });

  it('verdictStamp (memoised verdicts): none without a pinned registry; stable while nothing changes; changed by a role change and by a co-signature of that batch only', async () => {
    expect(await createChainVerifier({ provider }).verdictStamp!(receipt)).toBeUndefined();
    const v = createChainVerifier({ provider, trustedRegistries: [registry] });
    const other = { ...receipt.batch, root: `0x${'ab'.repeat(32)}` };
    const s0 = await v.verdictStamp!(receipt);
    const o0 = await v.verdictStamp!({ batch: other });
    expect(s0).toEqual(expect.any(String));
    await anchorOf(v);
    await provider.send('evm_mine', []);
    expect(await v.verdictStamp!(receipt)).toBe(s0);
    expect(await v.verdictStamp!({ batch: receipt.batch })).toBe(s0);
    // A role change (any registry event but an anchor or a co-signature): every stamp changes.
    const admin = new Contract(registry, registryInterface, new NonceManager(devAccount(chain.chainId, 0, provider)));
    const third = Wallet.createRandom();
    await (await admin.getFunction('grantRole').send(NOTARY_ROLE, third.address)).wait();
    const s1 = await v.verdictStamp!(receipt);
    expect(s1).not.toBe(s0);
    expect(await v.verdictStamp!({ batch: other })).not.toBe(o0);
    const o1 = await v.verdictStamp!({ batch: other });
    // A co-signature of this batch (the second notary): this batch's stamp changes, another batch's does not.
    const at = receipt.attestations[0]!.attestedAt;
    const signature = await attest(second, chain.chainId, registry, receipt.batch, at);
    // Anyone may submit a notary's attestation: the governance account sends it.
    await (await admin.getFunction('cosign').send(agencyToBytes32(receipt.batch.agency), receipt.batch.root, [{ attestedAt: at, signature }])).wait();
    expect(await v.verdictStamp!(receipt)).not.toBe(s1);
    expect(await v.verdictStamp!({ batch: other })).toBe(o1);
  });

  it('a reorganisation below finality (rolled back past the anchor): the cached facts are dropped, the verdict is not verified', async () => {
    const v = createChainVerifier({ provider, trustedRegistries: [registry] });
    expect(await anchorOf(v)).toEqual(['anchor:pass:ANCHOR_VALID', 'notary:pass:NOTARY_VALID']);
    expect(v.cacheStats().flushes).toBe(0);
    const stamped = await v.verdictStamp!(receipt);
    // Last test: the chain is rolled back to before the anchor and other blocks are mined.
    expect(await provider.send('evm_revert', [before])).toBe(true);
    await provider.send('evm_mine', []);
    await provider.send('evm_mine', []);
    await provider.send('evm_mine', []);
    expect(await anchorOf(v)).toEqual(['anchor:fail:ANCHOR_ROOT_UNKNOWN', 'notary:fail:NOTARY_ROOT_UNKNOWN']);
    expect(v.cacheStats().flushes).toBe(1);
    expect(await v.verdictStamp!(receipt)).not.toBe(stamped);
  });
});
