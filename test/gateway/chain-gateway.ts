import { JsonRpcProvider, Network } from 'ethers';
import { createGatewayChain, type ClosableGatewayChain } from '../../gateway/index.js';
import { deploy, startAnvil, type EmbeddedChain } from '../../src/index.js';
import { anchorSealed, startGateway, type Harness } from './harness.js';

/** A gateway over a registry deployed on a fresh Anvil, and a provider to change that chain from the test. */
export interface ChainGateway {
  anvil: EmbeddedChain;
  h: Harness;
  adapter: ClosableGatewayChain;
  provider: JsonRpcProvider;
  /** Anchors what is sealed, with the folder's agency key, as the anchoring loop would. */
  anchorSealed(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The chain view is synced before every verdict (cacheMs 0), so a change made
 * on the chain shows in the very next answer; display names keep their default cache.
 */
export async function startChainGateway(): Promise<ChainGateway> {
  const anvil = await startAnvil({ port: 0 });
  let adapter: ClosableGatewayChain | undefined;
  const h = await startGateway({
    prepare: async (dir) => void (await deploy({ dataDir: dir, rpc: anvil.rpc })),
    chain: (liuhen) => (adapter = createGatewayChain({ journal: liuhen.journal, chain: liuhen.config.chain!, cacheMs: 0 })),
  });
  const provider = new JsonRpcProvider(anvil.rpc, Network.from(anvil.chainId), { staticNetwork: true });
  return {
    anvil,
    h,
    adapter: adapter!,
    provider,
    anchorSealed: () => anchorSealed(h, anvil.chainId, provider),
    async close() {
      adapter?.close();
      provider.destroy();
      await h.close();
      await anvil.stop();
    },
  };
}
