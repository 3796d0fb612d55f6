/**
 * Fixtures for the notary tests on Hardhat's in-process network: a fresh
 * registry per test (deployed from the committed artifact), two agencies,
 * notaries with NOTARY_ROLE and gas, and an ethers provider over Hardhat's
 * EIP-1193 interface (a real `BrowserProvider`, as the SDK would get).
 */
import hre from 'hardhat';
import {
  BrowserProvider,
  type JsonRpcSigner,
  Contract,
  ContractFactory,
  encodeBytes32String,
  id,
  keccak256,
  parseEther,
  toUtf8Bytes,
  Wallet,
  type Provider,
} from 'ethers';
import { evidenceRegistryArtifact } from '../../src/chain/registry-artifact.js';
export { tempDirs } from './temp.js';
import { createNotary, type CreateNotaryParameters, type Notary } from '../../src/notary/index.js';

export const NOTARY_ROLE = id('NOTARY_ROLE');
export const AGENCY_A = '310115-ZFJ';
export const AGENCY_B = '310104-SCJG';
export const ZERO32 = `0x${'00'.repeat(32)}`;

export interface Chain {
  registry: Contract;
  registryAddress: string;
  deployBlock: number;
  admin: JsonRpcSigner;
  agencyA: JsonRpcSigner;
  agencyB: JsonRpcSigner;
  notaries: Wallet[];
  provider: BrowserProvider;
  chainId: number;
}

export const provider = new BrowserProvider(hre.network.provider as never, undefined, { cacheTimeout: -1, pollingInterval: 50 });

/** A fresh registry with agencies A and B bound and `notaries` funded notaries granted (threshold as given). */
export async function setupChain(o: { notaries?: number; threshold?: number; grant?: boolean; fund?: boolean } = {}): Promise<Chain> {
  const [admin, agencyA, agencyB] = await Promise.all([0, 1, 2].map((i) => provider.getSigner(i)));
  const factory = new ContractFactory(evidenceRegistryArtifact.abi, evidenceRegistryArtifact.bytecode, admin);
  const deployed = await factory.deploy(admin.address);
  const receipt = await deployed.deploymentTransaction()!.wait();
  const registry = deployed as Contract;
  await (await registry.bindAgency(agencyA.address, encodeBytes32String(AGENCY_A))).wait();
  await (await registry.bindAgency(agencyB.address, encodeBytes32String(AGENCY_B))).wait();
  const notaries = Array.from({ length: o.notaries ?? 1 }, () => Wallet.createRandom() as unknown as Wallet);
  for (const n of notaries) {
    if (o.grant ?? true) await (await registry.grantRole(NOTARY_ROLE, n.address)).wait();
    if (o.fund ?? true) await (await admin.sendTransaction({ to: n.address, value: parseEther('1') })).wait();
  }
  if (o.threshold !== undefined) await (await registry.setNotaryThreshold(o.threshold)).wait();
  const { chainId } = await provider.getNetwork();
  return {
    registry,
    registryAddress: await registry.getAddress(),
    deployBlock: receipt!.blockNumber,
    admin,
    agencyA,
    agencyB,
    notaries,
    provider,
    chainId: Number(chainId),
  };
}

export function root(label: string): string {
  return keccak256(toUtf8Bytes(`notary-test:${label}:${Math.random()}`));
}

export async function chainNow(): Promise<number> {
  const b = await provider.getBlock('latest');
  return b!.timestamp;
}

/** The agency (bytes32) that anchored each root through `anchor` (registry v2 keys batches by agency and root). */
const agencyOfRoots = new Map<string, string>();

/** The agency (bytes32) that anchored `batchRoot` through `anchor`. */
export function agencyOfRoot(batchRoot: string): string {
  const a = agencyOfRoots.get(batchRoot.toLowerCase());
  if (a === undefined) throw new Error(`root ${batchRoot} was not anchored through anchor()`);
  return a;
}

/** Anchors the next batch of `agency`; capture times default to the last minute. Returns the root. */
export async function anchor(chain: Chain, agency: JsonRpcSigner, o: { root?: string; size?: number; first?: number; last?: number } = {}): Promise<string> {
  const r = o.root ?? root('batch');
  const now = await chainNow();
  const agency32: string = await chain.registry.agencyOf(agency.address);
  const [, prev] = await chain.registry.latest(agency32);
  agencyOfRoots.set(r.toLowerCase(), agency32);
  const tx = await (chain.registry.connect(agency) as Contract).anchor(r, o.size ?? 10, prev, o.first ?? now - 60, o.last ?? now - 5);
  await tx.wait();
  return r;
}

export async function mine(blocks: number): Promise<void> {
  await hre.network.provider.send('hardhat_mine', [`0x${blocks.toString(16)}`]);
}

export function makeNotary(chain: Chain, wallet: Wallet, logDir: string, extra: Partial<CreateNotaryParameters> = {}): Promise<Notary> {
  return createNotary({
    wallet,
    provider: chain.provider,
    registry: chain.registryAddress,
    logDir,
    chainId: chain.chainId,
    deployBlock: chain.deployBlock,
    policy: { confirmations: 0 },
    pollIntervalMs: 50,
    receiptTimeoutMs: 10_000,
    ...extra,
  });
}

/** The provider with some methods replaced (fault injection). */
export function withFaults(base: Provider, faults: Partial<Record<'broadcastTransaction' | 'getLogs', (...args: never[]) => Promise<unknown>>>): Provider {
  return new Proxy(base, {
    get(target, key, receiver) {
      const fault = (faults as Record<string | symbol, unknown>)[key];
      if (typeof fault === 'function') return fault;
      const v = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** BatchCosigned events of `registry` for `root` (decoded). */
export async function cosignedEvents(chain: Chain, batchRoot: string): Promise<Array<{ notary: string; attestedAt: bigint; signature: string }>> {
  const logs = await chain.registry.queryFilter(chain.registry.filters.BatchCosigned(agencyOfRoot(batchRoot), batchRoot), chain.deployBlock);
  return logs.map((l) => {
    const args = (l as unknown as { args: { notary: string; attestedAt: bigint; signature: string } }).args;
    return { notary: args.notary, attestedAt: args.attestedAt, signature: args.signature };
  });
}
