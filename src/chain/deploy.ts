import { ContractFactory, HDNodeWallet, Mnemonic, parseEther, type JsonRpcProvider, type Signer } from 'ethers';
import { anchoringAgencies, readConfig, writeConfig, type ChainConfig } from '../config.js';
import type { Journal } from '../journal/journal.js';
import { fail } from '../errors.js';
import { agencyToBytes32 } from './attestation.js';
import { isDevChain } from './anvil.js';
import { agencyKey, DEPLOYER_KEYSTORE_ENV, DEPLOYER_PASSPHRASE_ENV, ensureKeystore, notaryKey } from './keys.js';
import { openKeystore } from './keystore.js';
import { decodeRegistryError, NOTARY_ROLE, RegistryClient } from './registry.js';
import { evidenceRegistryArtifact } from './registry-artifact.js';
import { connect, onChain } from './rpc.js';

/** Anvil's (and Hardhat's) well-known dev mnemonic. Its keys are public: dev chains only. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
export const DEFAULT_RPC = 'http://127.0.0.1:8545';

/** Dev account `index` of the well-known mnemonic. Refuses any chain that is not a dev chain. */
export function devAccount(chainId: number, index = 0, provider?: JsonRpcProvider): HDNodeWallet {
  if (!isDevChain(chainId)) fail('KEY_MISSING', `chain ${chainId} is not a dev chain (27752, 31337): the public dev mnemonic is refused; set ${DEPLOYER_KEYSTORE_ENV} and ${DEPLOYER_PASSPHRASE_ENV}`);
  return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), `m/44'/60'/0'/0/${index}`).connect(provider ?? null);
}

export interface DeployRegistryParameters {
  /** Becomes the registry's admin (DEFAULT_ADMIN_ROLE) unless `admin` is given. */
  deployer: Signer;
  admin?: string;
}

/** Deploys `EvidenceRegistry` from the committed artifact; resolves once mined. */
export async function deployRegistry(p: DeployRegistryParameters): Promise<{ address: string; deployBlock: number; txHash: string }> {
  const factory = new ContractFactory(evidenceRegistryArtifact.abi as never, evidenceRegistryArtifact.bytecode, p.deployer);
  const admin = p.admin ?? (await p.deployer.getAddress());
  try {
    const contract = await factory.deploy(admin);
    const tx = contract.deploymentTransaction()!;
    const receipt = await tx.wait();
    if (!receipt || receipt.status !== 1) fail('CHAIN_REVERTED', 'the registry deployment failed');
    return { address: await contract.getAddress(), deployBlock: receipt.blockNumber, txHash: receipt.hash };
  } catch (e) {
    throw decodeRegistryError(e, 'the deployment');
  }
}

export type DeployStep =
  | { step: 'registry-reused'; registry: string }
  | { step: 'registry-deployed'; registry: string; block: number }
  | { step: 'key-created'; role: 'agency' | 'notary'; address: string; path: string }
  | { step: 'funded'; address: string; ether: string }
  | { step: 'needs-funds'; address: string; role: 'agency' | 'notary' }
  | { step: 'agency-bound'; address: string; agency: string }
  | { step: 'notary-granted'; address: string };

export interface DeployParameters {
  dataDir: string;
  /** JSON-RPC endpoint. @default config.chain.rpc, else http://127.0.0.1:8545 */
  rpc?: string;
  /**
   * Blocks on top of the anchor block before an anchor is final (written to the config).
   * @default the config's value on the same chain; else 0 on a dev chain (automine makes no block without a transaction), 1 elsewhere
   */
  confirmations?: number;
  /** Whether to grant NOTARY_ROLE to this folder's notary key (creating it if absent). @default true */
  notary?: boolean;
  /**
   * The folder's journal when the caller holds it open (`liuhen start`): its
   * anchor states tell whether batches were anchored on the configured
   * registry (`assessRegistry`). Without it, the journal is opened for the check.
   */
  journal?: Journal;
  onStep?: (s: DeployStep) => void;
}

export interface DeployResult {
  chain: ChainConfig;
  agency: string;
  agencyAddress: string;
  notaryAddress?: string;
  deployed: boolean;
}

/**
 * `liuhen deploy`: makes the data folder's agency ready to anchor on the chain
 * at `rpc`. Idempotent — each step checks the chain first:
 * 1. reuse the config's registry if it has registry code on that chain, else deploy one;
 * 2. create the agency's anchoring keystore if absent (and the notary's);
 * 3. on a dev chain, fund both from dev account 0 (elsewhere: report what needs funds);
 * 4. bind the anchoring key to the config's agency, grant NOTARY_ROLE to the notary key;
 * 5. write `chain` into the config.
 * The deployer (admin) is dev account 0 on a dev chain, else the keystore in
 * LIUHEN_DEPLOYER_KEYSTORE unlocked with LIUHEN_DEPLOYER_PASSPHRASE.
 */
export async function deploy(p: DeployParameters): Promise<DeployResult> {
  const config = readConfig(p.dataDir);
  const rpc = p.rpc ?? config.chain?.rpc ?? DEFAULT_RPC;
  const step = p.onStep ?? (() => {});
  const { provider, chainId, label } = await connect({ rpc });
  try {
    return await onChain(rpc, async () => {
      const deployer = await deployerSigner(chainId, provider);
      const sameChain = config.chain?.chainId === chainId;
      let registry: RegistryClient | undefined;
      let deployBlock = sameChain ? config.chain?.deployBlock : undefined;
      let deployed = false;
      if (sameChain && config.chain?.registry) {
        const existing = new RegistryClient(config.chain.registry, provider);
        if (await existing.isDeployed()) {
          registry = existing;
          step({ step: 'registry-reused', registry: existing.address });
        }
      }
      if (!registry) {
        const d = await deployRegistry({ deployer });
        registry = new RegistryClient(d.address, provider);
        deployBlock = d.deployBlock;
        deployed = true;
        step({ step: 'registry-deployed', registry: d.address, block: d.deployBlock });
      }
      const admin = registry.connect(deployer);

      const agencies: Array<{ code: string; address: string }> = [];
      for (const code of anchoringAgencies(config)) {
        const key = agencyKey(p.dataDir, code);
        const k = await ensureKeystore(key, chainId);
        if (k.created) step({ step: 'key-created', role: 'agency', address: k.address, path: key.keystore });
        agencies.push({ code, address: k.address });
      }
      let notaryAddress: string | undefined;
      if (p.notary !== false) {
        const n = await ensureKeystore(notaryKey(p.dataDir), chainId);
        notaryAddress = n.address;
        if (n.created) step({ step: 'key-created', role: 'notary', address: n.address, path: notaryKey(p.dataDir).keystore });
      }

      const funded: Array<['agency' | 'notary', string | undefined]> = [...agencies.map((a) => ['agency', a.address] as ['agency', string]), ['notary', notaryAddress]];
      for (const [role, address] of funded) {
        if (!address) continue;
        const balance = await provider.getBalance(address);
        if (balance >= parseEther('1')) continue;
        if (isDevChain(chainId)) {
          const tx = await deployer.sendTransaction({ to: address, value: parseEther('100') });
          await tx.wait();
          step({ step: 'funded', address, ether: '100' });
        } else if ((await provider.getFeeData()).gasPrice !== 0n) {
          step({ step: 'needs-funds', address, role });
        }
      }

      for (const a of agencies) {
        const bound: string | undefined = await registry.agencyOf(a.address);
        if (bound === undefined) {
          await send(admin, 'bindAgency', [a.address, agencyToBytes32(a.code)]);
          step({ step: 'agency-bound', address: a.address, agency: a.code });
        } else if (bound !== a.code) {
          fail('AGENCY_NOT_BOUND', `the anchoring key ${a.address} is bound to agency "${bound}" on this registry, not "${a.code}"; unbind it (admin) or use another data folder`);
        }
      }
      const agency = agencies[0]!;
      if (notaryAddress && !(await registry.hasRole(NOTARY_ROLE, notaryAddress))) {
        await send(admin, 'grantRole', [NOTARY_ROLE, notaryAddress]);
        step({ step: 'notary-granted', address: notaryAddress });
      }

      const chain: ChainConfig = {
        rpc,
        chainId,
        registry: registry.address,
        confirmations: p.confirmations ?? (sameChain ? config.chain?.confirmations : undefined) ?? (isDevChain(chainId) ? 0 : 1),
        ...(deployBlock !== undefined && { deployBlock }),
      };
      writeConfig(p.dataDir, { ...readConfig(p.dataDir), chain });
      return { chain, agency: config.agency, agencyAddress: agency.address, ...(notaryAddress && { notaryAddress }), deployed };
    });
  } catch (e) {
    if ((e as { code?: string }).code === 'INSUFFICIENT_FUNDS') {
      fail('CHAIN_REVERTED', `the deployer has too little ether on ${label} to pay for the deployment`, { cause: e });
    }
    throw e;
  } finally {
    provider.destroy();
  }
}

async function deployerSigner(chainId: number, provider: JsonRpcProvider): Promise<Signer> {
  if (isDevChain(chainId) && !process.env[DEPLOYER_KEYSTORE_ENV]) return devAccount(chainId, 0, provider);
  const path = process.env[DEPLOYER_KEYSTORE_ENV];
  const pass = process.env[DEPLOYER_PASSPHRASE_ENV];
  if (!path || !pass) {
    fail('KEY_MISSING', `chain ${chainId} is not a dev chain (27752, 31337), so the public dev account is refused: set ${DEPLOYER_KEYSTORE_ENV} to the registry admin's keystore and ${DEPLOYER_PASSPHRASE_ENV} to its passphrase`);
  }
  return (await openKeystore(path, pass)).connect(provider);
}

async function send(registry: RegistryClient, fn: string, args: unknown[]): Promise<void> {
  try {
    const tx = await registry.contract.getFunction(fn).send(...args);
    await tx.wait();
  } catch (e) {
    throw decodeRegistryError(e, fn);
  }
}

