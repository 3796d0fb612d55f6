import { Contract, JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { agencyToBytes32, devAccount, notaryKey, openKey, registryInterface, type EmbeddedChain } from '../../src/index.js';
import { cosign } from '../chain/helpers.js';
import { startChainGateway, type ChainGateway } from './chain-gateway.js';
import { AGENCY, json, upload, type Harness } from './harness.js';

/**
 * Red-team cases for the memo of public verdicts (gateway/routes/verify/memo.ts)
 * over a real chain: what a memoised answer may never carry after the chain
 * changed, and what a stranger may never do to the memo.
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

type Verdict = {
  status: string;
  agencyName?: string | null;
  names: { agencies: Record<string, string> };
  checks: { name: string; status: string; code: string }[];
};

async function memoCounts(): Promise<Record<'hit' | 'miss' | 'stale', number>> {
  const text = await (await h.call('/metrics')).text();
  const n = (result: string) => Number(new RegExp(`^liuhen_verdict_memo_total\\{result="${result}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { hit: n('hit'), miss: n('miss'), stale: n('stale') };
}

describe('memoised public verdicts: red-team cases', () => {
  let leaf: string;
  let receipt: { anchor: { registry: string } } & Record<string, unknown>;
  let sha256: string;
  let governance: Contract | undefined;
  const admin = () =>
    (governance ??= new Contract(h.liuhen.config.chain!.registry!, registryInterface, new NonceManager(devAccount(anvil.chainId, 0, provider))));
  const leafVerdict = async () => (await (await h.call(`/v1/verify/${leaf}`)).json()) as Verdict;
  const postVerdict = async (r: unknown = receipt) => (await (await h.call('/v1/verify', json({ receipt: r, sha256 }))).json()) as Verdict;

  beforeAll(async () => {
    const rec = await upload(h, new TextEncoder().encode('red-team memo evidence'), { case: 'C-RT', stage: 'filing' });
    leaf = rec.leaf;
    sha256 = rec.sha256;
    const [batch] = (await h.liuhen.seal()).filter((b) => b.agency === h.liuhen.config.agency);
    await g!.anchorSealed();
    const notary = (await openKey(notaryKey(h.dir), anvil.chainId)).connect(provider);
    await cosign(notary, anvil.chainId, h.liuhen.config.chain!.registry!, batch!);
    receipt = await (await h.call(`/v1/records/${rec.id}/receipt`, { token: h.t.supervisor })).json();
  }, 90_000);

  test("an agency renamed on the registry: the memo never keeps serving the old name (it was re-memoised from the names' 60 s cache)", async () => {
    await (await admin().getFunction('setAgencyName').send(agencyToBytes32(AGENCY), '红队旧名')).wait();
    const first = await leafVerdict();
    expect(first).toMatchObject({ status: 'verified', agencyName: '红队旧名' });
    expect((await postVerdict()).names.agencies[AGENCY]).toBe('红队旧名');
    // Memoised, with the names cached by the gateway.
    expect(await leafVerdict()).toEqual(first);

    await (await admin().getFunction('setAgencyName').send(agencyToBytes32(AGENCY), '红队新名')).wait();
    // The AgencyNamed event makes the memo stale; the recomputed verdict must not take the old name
    // from the name cache and be memoised with it (it would then be served until the next registry event).
    const leafV = await leafVerdict();
    expect(leafV).toMatchObject({ status: 'verified', agencyName: '红队新名' });
    expect(leafV.names.agencies[AGENCY]).toBe('红队新名');
    expect((await postVerdict()).names.agencies[AGENCY]).toBe('红队新名');
    expect((await leafVerdict()).agencyName).toBe('红队新名');
  }, 60_000);

  test('forged receipts naming 100 untrusted registries do not push the trusted registry out of the verifier (the memo keeps answering)', async () => {
    expect((await postVerdict()).status).toBe('verified');
    expect((await leafVerdict()).status).toBe('verified');
    for (let i = 0; i < 100; i++) {
      const forged = { ...receipt, anchor: { ...receipt.anchor, registry: Wallet.createRandom().address } };
      const v = await postVerdict(forged);
      expect(v.status).toBe('failed');
      expect(v.checks.find((c) => c.name === 'anchor')).toMatchObject({ status: 'fail', code: 'ANCHOR_REGISTRY_UNTRUSTED' });
    }
    const before = await memoCounts();
    expect((await postVerdict()).status).toBe('verified');
    expect((await leafVerdict()).status).toBe('verified');
    const after = await memoCounts();
    expect(after.hit - before.hit).toBe(2);
    expect(after.stale).toBe(before.stale);
  }, 120_000);
});
