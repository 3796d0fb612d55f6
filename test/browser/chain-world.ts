/**
 * A gateway over a real chain (an Anvil of the test's own) with display
 * names registered on the registry (issue 14): the folder's agency AG-A is
 * 济南市城市管理局 and its notary 济南市泉城公证处 (`deploy({names})`); a second
 * notary gets NOTARY_ROLE but no name. One uploaded clip is sealed, anchored
 * by the SDK's anchorer and co-signed by both notaries — so a page or verdict
 * must show one named and one unnamed notary.
 */
import { Contract, JsonRpcProvider, Network, parseEther, Wallet } from 'ethers';
import { createGatewayChain, type ClosableGatewayChain } from '../../gateway/index.js';
import {
  agencyToBytes32,
  attestationDomain,
  attestationMessage,
  ATTESTATION_TYPES,
  deploy,
  devAccount,
  notaryKey,
  NOTARY_ROLE,
  openKey,
  registryInterface,
  startAnvil,
  type EmbeddedChain,
} from '../../src/index.js';
import { anchorSealed, startGateway, upload, type Harness } from '../gateway/harness.js';

export const AGENCY_NAME = '济南市城市管理局';
export const NOTARY_NAME = '济南市泉城公证处';

export interface ChainWorld {
  anvil: EmbeddedChain;
  h: Harness;
  /** The uploaded clip: its bytes and the 201 answer. */
  clip: Uint8Array;
  rec: Awaited<ReturnType<typeof upload>>;
  namedNotary: string;
  unnamedNotary: string;
  close(): Promise<void>;
}

export async function startChainWorld(): Promise<ChainWorld> {
  const anvil = await startAnvil({ port: 0 });
  let adapter: ClosableGatewayChain | undefined;
  let h: Harness | undefined;
  try {
    h = await startGateway({
      prepare: async (dir) => void (await deploy({ dataDir: dir, rpc: anvil.rpc, names: { agencies: { 'AG-A': AGENCY_NAME }, notary: NOTARY_NAME } })),
      chain: (liuhen) => (adapter = createGatewayChain({ journal: liuhen.journal, chain: liuhen.config.chain!, cacheMs: 0 })),
    });
    const clip = new TextEncoder().encode(`evidence clip with names ${Date.now()}\n`.repeat(64));
    const rec = await upload(h, clip, { case: 'C-NAMES', stage: 'filing' });
    const [batch] = (await h.liuhen.seal()).filter((b) => b.agency === h!.liuhen.config.agency);
    const provider = new JsonRpcProvider(anvil.rpc, Network.from(anvil.chainId), { staticNetwork: true, cacheTimeout: -1 });
    try {
      await anchorSealed(h, anvil.chainId, provider);
      const registry = h.liuhen.config.chain!.registry!;
      // A second notary with the role and no registered name.
      const admin = devAccount(anvil.chainId, 0, provider);
      const other = Wallet.createRandom().connect(provider);
      await (await admin.sendTransaction({ to: other.address, value: parseEther('1') })).wait();
      await (await new Contract(registry, registryInterface, admin).getFunction('grantRole').send(NOTARY_ROLE, other.address)).wait();
      const named = (await openKey(notaryKey(h.dir), anvil.chainId)).connect(provider);
      for (const notary of [named, other]) {
        const attestedAt = (await provider.getBlock('latest'))!.timestamp;
        const signature = await notary.signTypedData(
          attestationDomain(anvil.chainId, registry),
          ATTESTATION_TYPES as never,
          attestationMessage({ ...batch!, attestedAt }),
        );
        await (
          await new Contract(registry, registryInterface, notary)
            .getFunction('cosign')
            .send(agencyToBytes32(batch!.agency), batch!.root, [{ attestedAt, signature }])
        ).wait();
      }
      const world: ChainWorld = {
        anvil,
        h,
        clip,
        rec,
        namedNotary: named.address,
        unnamedNotary: other.address,
        close: async () => {
          adapter?.close();
          await h?.close();
          await anvil.stop();
        },
      };
      return world;
    } finally {
      provider.destroy();
    }
  } catch (e) {
    adapter?.close();
    await h?.close();
    await anvil.stop();
    throw e;
  }
}
