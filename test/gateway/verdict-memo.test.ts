import { Contract, JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { agencyToBytes32, devAccount, notaryKey, NOTARY_ROLE, openKey, registryInterface, type EmbeddedChain } from '../../src/index.js';
import { cosign } from '../chain/helpers.js';
import { startChainGateway, type ChainGateway } from './chain-gateway.js';
import { json, upload, type Harness } from './harness.js';

/**
 * The memo of public verdicts (gateway/routes/verify/memo.ts, issue 11
 * goal 1) against a real chain: the same question is answered from the memo
 * — and never after a chain fact the verdict relied on changed: the notary
 * threshold raised (a registry event), a reorganisation below finality. The
 * gateway syncs its chain view before every verdict here (cacheMs 0), so each
 * change must show in the very next answer.
 */
let anvil: EmbeddedChain;
let h: Harness;
let provider: JsonRpcProvider;

let g: ChainGateway | undefined;
beforeAll(async () => {
  g = await startChainGateway();
  ({ anvil, h, provider } = g);
}, 60_000);

afterAll(() => g?.close());

type Verdict = { status: string; checks: { name: string; status: string; code: string }[] };

/** The memo's counters from /metrics (the gateway serves them to loopback clients). */
async function memoCounts(): Promise<Record<'hit' | 'miss' | 'stale', number>> {
  const text = await (await h.call('/metrics')).text();
  const n = (result: string) => Number(new RegExp(`^liuhen_verdict_memo_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { hit: n('hit'), miss: n('miss'), stale: n('stale') };
}

describe('memoised public verdicts over a real chain', () => {
  let leaf: string;
  let body: RequestInit;
  let before: string;
  let notary: Awaited<ReturnType<typeof openKey>>;
  let registry: string;

  const anchorSealed = () => g!.anchorSealed();
  const leafVerdict = async () => (await (await h.call(`/v1/verify/${leaf}`)).json()) as Verdict & { notarized: boolean };
  const postVerdict = async () => (await (await h.call('/v1/verify', body)).json()) as Verdict;
  // One signer with its own nonce count for every governance transaction of these tests.
  let governance: Contract | undefined;
  const admin = () =>
    (governance ??= new Contract(h.liuhen.config.chain!.registry!, registryInterface, new NonceManager(devAccount(anvil.chainId, 0, provider))));

  test('the same question is answered from the memo, with the same verdict', async () => {
    const rec = await upload(h, new TextEncoder().encode('memoised evidence'), { case: 'C-MEMO', stage: 'filing' });
    leaf = rec.leaf;
    const [batch] = (await h.liuhen.seal()).filter((b) => b.agency === h.liuhen.config.agency);
    before = await provider.send('evm_snapshot', []);
    await anchorSealed();
    // Not notarized yet: answered, never memoised.
    const pending = await memoCounts();
    expect((await leafVerdict()).status).toBe('incomplete');
    expect((await leafVerdict()).status).toBe('incomplete');
    expect((await memoCounts()).hit).toBe(pending.hit);

    notary = (await openKey(notaryKey(h.dir), anvil.chainId)).connect(provider);
    registry = h.liuhen.config.chain!.registry!;
    await cosign(notary, anvil.chainId, registry, batch!);
    const receipt = await (await h.call(`/v1/records/${rec.id}/receipt`, { token: h.t.supervisor })).json();
    body = json({ receipt, sha256: rec.sha256 });

    const first = await leafVerdict();
    expect(first).toMatchObject({ status: 'verified', notarized: true });
    const firstPost = await postVerdict();
    expect(firstPost.status).toBe('verified');
    const warm = await memoCounts();
    for (let i = 0; i < 5; i++) {
      expect(await leafVerdict()).toEqual(first);
      expect(await postVerdict()).toEqual(firstPost);
    }
    const after = await memoCounts();
    expect(after.hit - warm.hit).toBe(10);
    expect(after.miss).toBe(warm.miss);

    // Another batch anchored, co-signed and notarized (BatchAnchored, BatchCosigned, BatchNotarized of
    // another root): this batch's memoised verdicts stay fresh.
    await upload(h, new TextEncoder().encode('another batch'), { case: 'C-MEMO-2', stage: 'filing' });
    const [next] = (await h.liuhen.seal()).filter((b) => b.agency === h.liuhen.config.agency);
    await anchorSealed();
    await cosign(notary, anvil.chainId, registry, next!);
    const notarizedLogs = await provider.getLogs({
      address: registry,
      topics: [registryInterface.getEvent('BatchNotarized')!.topicHash, agencyToBytes32(next!.agency), next!.root],
    });
    expect(notarizedLogs.length).toBe(1);
    const quiet = await memoCounts();
    expect(await leafVerdict()).toEqual(first);
    expect(await postVerdict()).toEqual(firstPost);
    const later = await memoCounts();
    expect(later.hit - quiet.hit).toBe(2);
    expect(later.stale).toBe(quiet.stale);
  }, 90_000);

  test('a registry event (the notary threshold raised above the co-signatures): the next answers are recomputed and not verified', async () => {
    const second = Wallet.createRandom();
    await (await admin().getFunction('grantRole').send(NOTARY_ROLE, second.address)).wait();
    await (await admin().getFunction('setNotaryThreshold').send(2)).wait();
    try {
      const leafV = await leafVerdict();
      expect(leafV.status).toBe('incomplete');
      expect(leafV.checks.find((c) => c.name === 'notary')).toMatchObject({ status: 'pending', code: 'NOTARY_BELOW_THRESHOLD' });
      const postV = await postVerdict();
      expect(postV.status).toBe('incomplete');
      expect((await memoCounts()).stale).toBeGreaterThanOrEqual(2);
    } finally {
      await (await admin().getFunction('setNotaryThreshold').send(1)).wait();
    }
    // Back to one: verified again (and memoised again).
    expect((await leafVerdict()).status).toBe('verified');
    expect((await postVerdict()).status).toBe('verified');
  }, 60_000);

  test('a reorganisation below finality (rolled back past the anchor): never answered from the memo', async () => {
    expect((await leafVerdict()).status).toBe('verified');
    expect((await postVerdict()).status).toBe('verified');
    expect(await provider.send('evm_revert', [before])).toBe(true);
    for (let i = 0; i < 3; i++) await provider.send('evm_mine', []);
    const postV = await postVerdict();
    expect(postV.status).toBe('failed');
    expect(postV.checks.find((c) => c.name === 'anchor')).toMatchObject({ status: 'fail', code: 'ANCHOR_ROOT_UNKNOWN' });
    expect((await leafVerdict()).status).not.toBe('verified');
  }, 60_000);
});
