import { JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { notaryKey, openKey, RegistryClient, type EmbeddedChain } from '../../src/index.js';
import { cosign } from '../chain/helpers.js';
import { startChainGateway, type ChainGateway } from './chain-gateway.js';
import { upload, type Harness } from './harness.js';

/**
 * A co-signature that lands between the gateway's two chain reads of a batch
 * (its attestations, then whether it is notarized) must not leave a notarized
 * batch without its attestations: a final, notarized status is kept for good,
 * so every receipt served from then on would have lacked them. Seen once in
 * CI under load (test/system/start.test.ts); here the co-signature is made to
 * land exactly there.
 */
let g: ChainGateway | undefined;
let anvil: EmbeddedChain;
let h: Harness;
let provider: JsonRpcProvider;
beforeAll(async () => {
  g = await startChainGateway();
  ({ anvil, h, provider } = g);
}, 60_000);
afterAll(() => g?.close());

test('a batch notarized between the reads is served with its attestations', async () => {
  const rec = await upload(h, new TextEncoder().encode('race evidence'), { case: 'C-RACE', stage: 'filing' });
  const [batch] = (await h.liuhen.seal()).filter((b) => b.agency === h.liuhen.config.agency);
  await g!.anchorSealed();
  const notary = (await openKey(notaryKey(h.dir), anvil.chainId)).connect(provider);
  const registry = h.liuhen.config.chain!.registry!;

  // The notary's co-signature lands just before the gateway asks whether the batch is notarized.
  const original = RegistryClient.prototype.isNotarized;
  let cosigned = false;
  RegistryClient.prototype.isNotarized = async function (this: RegistryClient, agency: string, root: string) {
    if (!cosigned) {
      cosigned = true;
      await cosign(notary, anvil.chainId, registry, batch!);
    }
    return original.call(this, agency, root);
  };
  try {
    const receipt = await (await h.call(`/v1/records/${rec.id}/receipt`, { token: h.t.supervisor })).json();
    expect(cosigned).toBe(true);
    expect(receipt.attestations).toHaveLength(1);
    // And so it stays (the settled status is reused).
    const again = await (await h.call(`/v1/records/${rec.id}/receipt`, { token: h.t.supervisor })).json();
    expect(again.attestations).toHaveLength(1);
  } finally {
    RegistryClient.prototype.isNotarized = original;
  }
}, 120_000);
