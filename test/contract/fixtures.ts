/**
 * Shared fixtures and assertion helpers for the EvidenceRegistry tests, on
 * Hardhat's in-process network. The registry is deployed from the committed
 * `src/chain/registry-artifact.ts` (what the SDK ships); `artifact.test.ts`
 * keeps that file equal to a fresh compile.
 *
 * hardhat-chai-matchers are not used: custom errors are decoded with
 * `interface.parseError` and events with `interface.parseLog`.
 */
import hre from 'hardhat';
import type {} from '@nomicfoundation/hardhat-ethers';
import type { HardhatEthersSigner } from '@nomicfoundation/hardhat-ethers/signers.js';
import {
  Contract,
  ContractFactory,
  Result,
  Signature,
  TypedDataEncoder,
  Wallet,
  encodeBytes32String,
  id,
  keccak256,
  toUtf8Bytes,
  type ContractRunner,
  type ContractTransactionResponse,
  type Provider,
  type TransactionReceipt,
  type TypedDataDomain,
} from 'ethers';
import { expect } from 'vitest';
import { evidenceRegistryArtifact } from '../../src/chain/registry-artifact.js';

export const AGENCY_ROLE = id('AGENCY_ROLE');
export const NOTARY_ROLE = id('NOTARY_ROLE');
export const DEFAULT_ADMIN_ROLE = `0x${'00'.repeat(32)}`;
export const ZERO32 = `0x${'00'.repeat(32)}`;
export const ZERO_ADDRESS = `0x${'00'.repeat(20)}`;
export const CLOCK_SKEW = 300n;
/** secp256k1 group order. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

export const AGENCY_A = encodeBytes32String('310115-ZFJ');
export const AGENCY_B = encodeBytes32String('310104-SCJG');

// Restated here on purpose, not imported from src/chain/attestation.ts: the contract
// tests are the spec of the Solidity side; the notary and chain tests check that the
// SDK's definition agrees with the deployed contract.
export const BATCH_ATTESTATION_TYPES = {
  BatchAttestation: [
    { name: 'root', type: 'bytes32' },
    { name: 'agency', type: 'bytes32' },
    { name: 'seq', type: 'uint64' },
    { name: 'size', type: 'uint64' },
    { name: 'prevRoot', type: 'bytes32' },
    { name: 'attestedAt', type: 'uint64' },
  ],
};

export interface BatchAttestationMessage {
  root: string;
  agency: string;
  seq: bigint;
  size: bigint;
  prevRoot: string;
  attestedAt: bigint;
}

/**
 * hardhat-ethers is typed against ethers' CommonJS build while this ESM project
 * imports the ESM build: the runtime objects are the same, the declared types are
 * nominally distinct (`#private` members). These adapters are the one place that bridges them.
 */
export function runner(signer: HardhatEthersSigner | Wallet): ContractRunner {
  return signer as unknown as ContractRunner;
}

/** `contract` with `signer` as its runner. */
export function connect(contract: Contract, signer: HardhatEthersSigner | Wallet): Contract {
  return contract.connect(runner(signer)) as Contract;
}

/** Hardhat's in-process provider, typed as an ESM ethers provider. */
export function provider(): Provider {
  return hre.ethers.provider as unknown as Provider;
}

/** A deterministic private key per label, so runs are reproducible. */
export function wallet(label: string): Wallet {
  return new Wallet(keccak256(toUtf8Bytes(`liuhen-test:${label}`)));
}

/** A deterministic distinct 32-byte root per label. */
export function root(label: string): string {
  return keccak256(toUtf8Bytes(`root:${label}`));
}

/** Deploys the registry from the committed artifact. */
export async function deployRegistry(admin: HardhatEthersSigner): Promise<Contract> {
  const factory = new ContractFactory(evidenceRegistryArtifact.abi, evidenceRegistryArtifact.bytecode, runner(admin));
  const registry = await factory.deploy(admin.address);
  await registry.waitForDeployment();
  return registry as Contract;
}

export interface Fixture {
  registry: Contract;
  admin: HardhatEthersSigner;
  agencyA: HardhatEthersSigner;
  agencyB: HardhatEthersSigner;
  outsider: HardhatEthersSigner;
  others: HardhatEthersSigner[];
  /** Five notaries (granted NOTARY_ROLE), sorted by ascending address. */
  notaries: Wallet[];
  /** Keys that are not notaries. */
  strangers: Wallet[];
  domain: TypedDataDomain;
}

/** Deploys, binds two agencies and grants five notaries; the threshold stays 1. */
export async function buildFixture(): Promise<Fixture> {
  const [admin, agencyA, agencyB, outsider, ...others] = await hre.ethers.getSigners();
  const registry = await deployRegistry(admin);
  await (await registry.bindAgency(agencyA.address, AGENCY_A)).wait();
  await (await registry.bindAgency(agencyB.address, AGENCY_B)).wait();
  const notaries = [0, 1, 2, 3, 4].map((i) => wallet(`notary-${i}`)).sort(byAddress);
  for (const notary of notaries) {
    await (await registry.grantRole(NOTARY_ROLE, notary.address)).wait();
  }
  const strangers = [0, 1, 2].map((i) => wallet(`stranger-${i}`)).sort(byAddress);
  const { chainId } = await hre.ethers.provider.getNetwork();
  const domain: TypedDataDomain = {
    name: 'Liuhen EvidenceRegistry',
    version: '2',
    chainId,
    verifyingContract: await registry.getAddress(),
  };
  return { registry, admin, agencyA, agencyB, outsider, others, notaries, strangers, domain };
}

/**
 * `loadFixture` without hardhat-network-helpers: builds once, snapshots the
 * chain, and on later calls reverts to the snapshot (and takes a new one,
 * since `evm_revert` consumes it).
 */
export function createFixture<F>(build: () => Promise<F>): () => Promise<F> {
  let built: { value: F; snapshot: string } | undefined;
  return async () => {
    if (built === undefined) {
      const value = await build();
      built = { value, snapshot: await hre.network.provider.send('evm_snapshot', []) };
      return value;
    }
    const reverted: boolean = await hre.network.provider.send('evm_revert', [built.snapshot]);
    if (!reverted) throw new Error('evm_revert failed');
    built.snapshot = await hre.network.provider.send('evm_snapshot', []);
    return built.value;
  };
}

export function byAddress(a: { address: string }, b: { address: string }): number {
  const x = BigInt(a.address);
  const y = BigInt(b.address);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Timestamp of the latest block. */
export async function now(): Promise<bigint> {
  const block = await hre.ethers.provider.getBlock('latest');
  if (block === null) throw new Error('no latest block');
  return BigInt(block.timestamp);
}

/** Makes the next block's timestamp exactly `timestamp`. */
export async function setNextTimestamp(timestamp: bigint): Promise<void> {
  await hre.network.provider.send('evm_setNextBlockTimestamp', [Number(timestamp)]);
}

/** Recursively turns ethers `Result`s into plain arrays, for deep equality. */
export function plain(value: unknown): unknown {
  if (value instanceof Result) return value.toArray().map(plain);
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

/** Sends a transaction and returns its receipt. */
export async function mined(tx: Promise<ContractTransactionResponse>): Promise<TransactionReceipt> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error('no receipt');
  return receipt;
}

/** Every log of the receipt that `contract` emitted, decoded, in order: `[name, args]`. */
export function eventsOf(contract: Contract, receipt: TransactionReceipt): Array<[string, unknown[]]> {
  const address = String(contract.target).toLowerCase();
  return receipt.logs
    .filter((log) => log.address.toLowerCase() === address)
    .map((log) => {
      const parsed = contract.interface.parseLog(log);
      if (parsed === null) throw new Error(`undecodable log ${log.topics[0]}`);
      return [parsed.name, plain(parsed.args) as unknown[]];
    });
}

/** Only the events named `name`, as argument lists. */
export function eventArgs(contract: Contract, receipt: TransactionReceipt, name: string): unknown[][] {
  return eventsOf(contract, receipt)
    .filter(([n]) => n === name)
    .map(([, args]) => args);
}

export interface DecodedRevert {
  name: string;
  args: unknown[];
}

function revertData(error: unknown): string | undefined {
  let cursor: unknown = error;
  for (let depth = 0; depth < 5 && typeof cursor === 'object' && cursor !== null; depth++) {
    const candidate = (cursor as { data?: unknown }).data;
    if (typeof candidate === 'string' && candidate.startsWith('0x')) return candidate;
    cursor = (cursor as { error?: unknown; info?: { error?: unknown } }).error ?? (cursor as { info?: { error?: unknown } }).info?.error;
  }
  return undefined;
}

/** Awaits `action`, which must revert with a custom error of `contract`; returns it decoded. */
export async function revertOf(contract: Contract, action: Promise<unknown>): Promise<DecodedRevert> {
  try {
    await action;
  } catch (error) {
    const data = revertData(error);
    if (data === undefined) throw error;
    const parsed = contract.interface.parseError(data);
    if (parsed === null) throw new Error(`unknown revert data ${data}`, { cause: error });
    return { name: parsed.name, args: plain(parsed.args) as unknown[] };
  }
  throw new Error('expected a revert, the call succeeded');
}

/** Asserts that `action` reverts with the custom error `name(...args)`. */
export async function expectRevert(contract: Contract, action: Promise<unknown>, name: string, args: unknown[]): Promise<void> {
  expect(await revertOf(contract, action)).toEqual({ name, args });
}

/** The stored batch `batchRoot` of `agency` (default agency A) as a plain object. */
export async function batchOf(registry: Contract, batchRoot: string, agency = AGENCY_A): Promise<Record<string, bigint | string>> {
  const b = await registry.batch(agency, batchRoot);
  return {
    prevRoot: b.prevRoot,
    seq: b.seq,
    size: b.size,
    firstCapturedAt: b.firstCapturedAt,
    lastCapturedAt: b.lastCapturedAt,
    anchoredAt: b.anchoredAt,
    blockNumber: b.blockNumber,
    cosignerCount: b.cosignerCount,
    notarizedAt: b.notarizedAt,
  };
}

/** The attestation message for the stored batch `batchRoot` of `agency` (default A), optionally with fields overridden. */
export async function messageFor(
  registry: Contract,
  batchRoot: string,
  attestedAt: bigint,
  override: Partial<BatchAttestationMessage> = {},
  agency = AGENCY_A,
): Promise<BatchAttestationMessage> {
  const b = await registry.batch(agency, batchRoot);
  return {
    root: batchRoot,
    agency,
    seq: b.seq,
    size: b.size,
    prevRoot: b.prevRoot,
    attestedAt,
    ...override,
  };
}

export function digestOf(domain: TypedDataDomain, message: BatchAttestationMessage): string {
  return TypedDataEncoder.hash(domain, BATCH_ATTESTATION_TYPES, message);
}

/** Signs `message` as `signer` (65-byte `r ‖ s ‖ v`, low s). */
export function signAttestation(signer: Wallet, domain: TypedDataDomain, message: BatchAttestationMessage): string {
  return signer.signingKey.sign(digestOf(domain, message)).serialized;
}

export interface AttestationInput {
  attestedAt: bigint;
  signature: string;
}

/** Attestations by `signers` (in the given order) over the stored batch of `agency` (default A). */
export async function attest(
  fx: Pick<Fixture, 'registry' | 'domain'>,
  batchRoot: string,
  signers: Wallet[],
  attestedAt: bigint,
  agency = AGENCY_A,
): Promise<AttestationInput[]> {
  const message = await messageFor(fx.registry, batchRoot, attestedAt, {}, agency);
  return signers.map((s) => ({ attestedAt, signature: signAttestation(s, fx.domain, message) }));
}

/** The malleated twin of a valid signature: s → n − s and v flipped; ecrecover accepts it, OZ ECDSA must not. */
export function malleate(signature: string): { signature: string; s: string } {
  const sig = Signature.from(signature);
  const highS = SECP256K1_N - BigInt(sig.s);
  const s = `0x${highS.toString(16).padStart(64, '0')}`;
  const v = sig.v === 27 ? 28 : 27;
  return { signature: `${sig.r}${s.slice(2)}${v.toString(16)}`, s };
}

/** Anchors the next batch of `agency` (prevRoot taken from chain) and returns the receipt. */
export async function anchorNext(
  registry: Contract,
  agency: HardhatEthersSigner,
  batchRoot: string,
  size = 10n,
  first = 1_700_000_000n,
  last = 1_700_000_060n,
): Promise<TransactionReceipt> {
  const [, prev] = await registry.latest(await registry.agencyOf(agency.address));
  return mined(connect(registry, agency).anchor(batchRoot, size, prev, first, last));
}
