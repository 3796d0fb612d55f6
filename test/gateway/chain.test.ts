import { Contract, JsonRpcProvider, Network } from 'ethers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createGatewayChain, type ClosableGatewayChain } from '../../gateway/index.js';
import {
  agencyToBytes32,
  attestationDomain,
  attestationMessage,
  ATTESTATION_TYPES,
  deploy,
  notaryKey,
  openKey,
  registryInterface,
  startAnvil,
  type EmbeddedChain,
} from '../../src/index.js';
import { anchorSealed, json, startGateway, upload, type Harness } from './harness.js';

/**
 * The real chain adapter (`createGatewayChain`) against an Anvil of this
 * test's own: deploy, upload through the API, seal, anchor with the SDK's
 * anchorer, co-sign as the folder's notary — and read it all back through
 * the gateway.
 */
let anvil: EmbeddedChain;
let h: Harness;
let adapter: ClosableGatewayChain | undefined;

beforeAll(async () => {
  anvil = await startAnvil({ port: 0 });
  h = await startGateway({
    prepare: async (dir) => void (await deploy({ dataDir: dir, rpc: anvil.rpc })),
    chain: (liuhen) => (adapter = createGatewayChain({ journal: liuhen.journal, chain: liuhen.config.chain!, cacheMs: 0 })),
  });
}, 60_000);

afterAll(async () => {
  adapter?.close();
  await h?.close();
  await anvil?.stop();
});

type Verdict = { status: string; checks: { name: string; status: string; code: string }[] };

describe('gateway over a real chain', () => {
  let rec: Awaited<ReturnType<typeof upload>>;
  let root: string;

  test('a sealed, anchored record: receipt with anchor, anchor check passes, notary pending', async () => {
    rec = await upload(h, new TextEncoder().encode('anchored evidence'), { case: 'C-CHAIN', stage: 'filing' });
    const [batch] = (await h.liuhen.seal()).filter((b) => b.agency === h.liuhen.config.agency);
    root = batch!.root;
    const provider = new JsonRpcProvider(anvil.rpc, Network.from(anvil.chainId), { staticNetwork: true });
    await anchorSealed(h, anvil.chainId, provider);

    const receipt = await (await h.call(`/v1/records/${rec.id}/receipt`, { token: h.t.supervisor })).json();
    expect(receipt.anchor).toMatchObject({ chainId: anvil.chainId, registry: h.liuhen.config.chain!.registry });
    const v = (await (await h.call('/v1/verify', json({ receipt, sha256: rec.sha256 }))).json()) as Verdict;
    expect(v.checks.find((c) => c.name === 'anchor')!.status).toBe('pass');
    expect(v.checks.find((c) => c.name === 'notary')!.status).toBe('pending');

    const pending = await (await h.call('/v1/notary/pending', { token: h.t.notary })).json();
    expect(pending.batches.map((b: { root: string }) => b.root)).toContain(root);
    expect((await (await h.call('/healthz')).json()).checks.chain).toBe('ok');

    // Co-sign as the folder's notary, then the public verdict is complete.
    const notary = (await openKey(notaryKey(h.dir), anvil.chainId)).connect(provider);
    const attestedAt = (await provider.getBlock('latest'))!.timestamp;
    const registry = h.liuhen.config.chain!.registry!;
    const signature = await notary.signTypedData(
      attestationDomain(anvil.chainId, registry),
      ATTESTATION_TYPES as never,
      attestationMessage({ ...batch!, attestedAt }),
    );
    await (
      await new Contract(registry, registryInterface, notary).getFunction('cosign').send(agencyToBytes32(batch!.agency), root, [{ attestedAt, signature }])
    ).wait();
    provider.destroy();

    const pub = await (await h.call(`/v1/verify/${rec.leaf}`)).json();
    expect(pub).toMatchObject({ notarized: true, unaltered: true, status: 'verified' });
    expect(pub.notaries[0].notary.toLowerCase()).toBe(notary.address.toLowerCase());
    expect(pub.anchor.blockNumber).toBeGreaterThan(0);
    const after = await (await h.call('/v1/notary/pending', { token: h.t.notary })).json();
    expect(after.batches.map((b: { root: string }) => b.root)).not.toContain(root);
    const c = await (await h.call('/v1/cases/C-CHAIN', { token: h.t.supervisor })).json();
    expect(c.records[0].chain).toMatchObject({ notarized: true });
    expect(['anchored', 'final']).toContain(c.records[0].chain.phase);
  }, 60_000);

  test('chain down: healthz degraded, reads still served, verification pending', async () => {
    await anvil.stop();
    const health = await (await h.call('/healthz')).json();
    expect(health.status).toBe('degraded');
    expect(health.checks.chain).toBe('unreachable');
    const r = await h.call(`/v1/records/${rec.id}`, { token: h.t.supervisor });
    expect(r.status).toBe(200);
    // Final and notarized: the adapter keeps that while the anchorer's state agrees, without asking the chain.
    expect((await r.json()).chain).toMatchObject({ phase: 'final', notarized: true });
    // Verification needs the chain itself: the anchor check is pending, not failed.
    const rr = await h.call(`/v1/records/${rec.id}/receipt`, { token: h.t.supervisor });
    const receipt = await rr.json();
    const vr = await h.call('/v1/verify', json({ receipt, sha256: rec.sha256 }));
    const v = (await vr.json()) as Verdict;
    expect(v.status, JSON.stringify({ receipt: rr.status, verify: vr.status, v })).toBe('incomplete');
    expect(v.checks.find((c) => c.name === 'anchor')).toMatchObject({ status: 'pending', code: 'CHAIN_UNREACHABLE' });
    // A batch the chain must be asked about reads unknown.
    const more = await upload(h, new TextEncoder().encode('while the chain is down'));
    await h.liuhen.seal();
    const view = await (await h.call(`/v1/records/${more.id}`, { token: h.t.supervisor })).json();
    expect(view.chain.phase).toBe('sealed');
  }, 30_000);
});
