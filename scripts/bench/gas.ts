/**
 * Gas of EvidenceRegistry on Hardhat's in-process network (hardfork cancun),
 * deployed from the committed `src/chain/registry-artifact.ts`. One JSON object
 * per figure; `gas` is the transaction's `gasUsed` (21,000 intrinsic included).
 *
 * - `gas.anchor`: a batch of N records is one `anchor` whatever N (only the
 *   `size` argument changes), for chained batches of 1, 100, 10,000 and
 *   1,000,000 records; `gas.anchor.first`: an agency's first batch (no
 *   previous root to store, but a new chain head).
 * - `gas.anchor.oneByOne`: the same records anchored each in its own
 *   transaction (100 measured, 10,000 extrapolated), for comparison.
 * - `gas.cosign`: one `cosign` carrying k notaries' attestations (threshold k).
 * - `gas.verifyInclusion`: an `eth_estimateGas` of the view for a proof in a
 *   tree of 1,000,000 records (20 siblings).
 * - `gas.device.enroll` / `gas.device.rotate` / `gas.device.revoke`: enrolling
 *   a device with its first Ed25519 key, rotating it, revoking a key (with a
 *   32-byte reason), as the agency's station.
 * - `gas.names`: the admin naming an agency and a notary (Chinese names, UTF-8).
 *
 *   npx tsx scripts/bench/gas.ts
 */
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import hre from 'hardhat';
import type {} from '@nomicfoundation/hardhat-ethers';
import {
  Contract,
  ContractFactory,
  TypedDataEncoder,
  Wallet,
  encodeBytes32String,
  id,
  keccak256,
  toUtf8Bytes,
  type ContractRunner,
  type ContractTransactionResponse,
} from 'ethers';
import { ATTESTATION_TYPES } from '../../src/chain/attestation.js';
import { evidenceRegistryArtifact } from '../../src/chain/registry-artifact.js';

export type Emit = (line: Record<string, unknown>) => void;

const ZERO32 = `0x${'00'.repeat(32)}`;
const NOTARY_ROLE = id('NOTARY_ROLE');
const TYPES = ATTESTATION_TYPES as unknown as Record<string, Array<{ name: string; type: string }>>;

/** hardhat-ethers signers are typed against ethers' CommonJS build; this script imports the ESM build (same objects). */
const runner = (signer: unknown): ContractRunner => signer as ContractRunner;
const connect = (contract: Contract, signer: unknown): Contract => contract.connect(runner(signer)) as Contract;

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<number> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error('no receipt');
  return Number(receipt.gasUsed);
}

export async function run(emit: Emit): Promise<void> {
  const [admin, station, carrier] = await hre.ethers.getSigners();
  const factory = new ContractFactory(evidenceRegistryArtifact.abi, evidenceRegistryArtifact.bytecode, runner(admin));
  const registry = (await factory.deploy(admin.address)) as Contract;
  await registry.waitForDeployment();
  const agency = encodeBytes32String('BENCH-AGENCY');
  await (await registry.bindAgency(station.address, agency)).wait();
  const asStation = connect(registry, station);

  let counter = 0;
  let prevRoot = ZERO32;
  const nextRoot = (): string => keccak256(toUtf8Bytes(`bench-root-${counter++}`));
  const t0 = 1_700_000_000n;
  const anchorOne = async (records: number): Promise<{ root: string; gas: number }> => {
    const root = nextRoot();
    const gas = await gasOf(asStation.anchor(root, records, prevRoot, t0, t0 + 60n));
    prevRoot = root;
    return { root, gas };
  };

  // The agency's first batch also creates its chain head.
  emit({ bench: 'gas.anchor.first', records: 1, gas: (await anchorOne(1)).gas });
  const batchGas = new Map<number, number>();
  for (const records of [1, 100, 10_000, 1_000_000]) {
    const { gas } = await anchorOne(records);
    batchGas.set(records, gas);
    emit({ bench: 'gas.anchor', records, gas });
  }

  // For comparison: each record anchored in its own transaction.
  const ONE_BY_ONE = 100;
  let total = 0;
  for (let i = 0; i < ONE_BY_ONE; i++) total += (await anchorOne(1)).gas;
  const perRecord = total / ONE_BY_ONE;
  emit({ bench: 'gas.anchor.oneByOne', records: ONE_BY_ONE, gas: total, gasPerRecord: Math.round(perRecord) });
  const extrapolated = Math.round(perRecord * 10_000);
  emit({
    bench: 'gas.anchor.oneByOne',
    records: 10_000,
    gas: extrapolated,
    gasPerRecord: Math.round(perRecord),
    extrapolated: true,
    batchGas: batchGas.get(10_000),
    ratio: Math.round(extrapolated / (batchGas.get(10_000) ?? 1)),
  });

  // Co-signing with k notaries, threshold k.
  const notaries = [0, 1, 2, 3, 4]
    .map((i) => new Wallet(keccak256(toUtf8Bytes(`bench-notary-${i}`))))
    .sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
  for (const n of notaries) await (await registry.grantRole(NOTARY_ROLE, n.address)).wait();
  const { chainId } = await hre.ethers.provider.getNetwork();
  const domain = { name: 'Liuhen EvidenceRegistry', version: '2', chainId, verifyingContract: await registry.getAddress() };
  const asCarrier = connect(registry, carrier);
  for (const k of [1, 3, 5]) {
    await (await registry.setNotaryThreshold(k)).wait();
    const { root } = await anchorOne(50);
    const b = await registry.batch(agency, root);
    const attestedAt = b.anchoredAt as bigint;
    const message = { root, agency, seq: b.seq, size: b.size, prevRoot: b.prevRoot, attestedAt };
    const digest = TypedDataEncoder.hash(domain, TYPES, message);
    const attestations = notaries.slice(0, k).map((n) => ({ attestedAt, signature: n.signingKey.sign(digest).serialized }));
    const gas = await gasOf(asCarrier.cosign(agency, root, attestations));
    if (!(await registry.isNotarized(agency, root))) throw new Error(`batch not notarized with ${k} of ${k}`);
    emit({ bench: 'gas.cosign', notaries: k, threshold: k, gas, gasPerNotary: Math.round(gas / k) });
  }

  // verifyInclusion for a leaf of a 1,000,000-record tree (depth 20), as an estimate of the view.
  const sha = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();
  const leaf = sha(Buffer.from([0]), Buffer.from('bench-leaf'));
  const siblings = Array.from({ length: 20 }, (_, i) => sha(Buffer.from([0]), Buffer.from(`s${i}`)));
  let r = leaf;
  for (const s of siblings) r = sha(Buffer.from([1]), r, s);
  const hex = (b: Buffer): string => `0x${b.toString('hex')}`;
  const proof = siblings.map(hex);
  if (!(await registry.verifyInclusion(hex(r), hex(leaf), 0, 1_000_000, proof))) throw new Error('bench proof does not verify');
  const gas = await registry.verifyInclusion.estimateGas(hex(r), hex(leaf), 0, 1_000_000, proof);
  emit({ bench: 'gas.verifyInclusion', records: 1_000_000, proofLength: proof.length, gas: Number(gas) });

  // Devices: enrollment, rotation and revocation by the agency's own station.
  const key = (label: string): string => keccak256(toUtf8Bytes(`bench-device-key-${label}`));
  const BODY_CAMERA = 1;
  for (const [i, deviceId] of ['BC-0001', 'JN-CG-BODYCAM-2026-000123'].entries()) {
    emit({
      bench: 'gas.device.enroll',
      deviceIdBytes: deviceId.length,
      gas: await gasOf(asStation.enrollDevice(agency, deviceId, BODY_CAMERA, key(`${i}-0`), t0)),
    });
  }
  emit({ bench: 'gas.device.rotate', gas: await gasOf(asStation.rotateDeviceKey(agency, 'BC-0001', key('0-1'), t0 + 86_400n)) });
  emit({
    bench: 'gas.device.revoke',
    reasonBytes: 32,
    gas: await gasOf(asStation.revokeDeviceKey(agency, 'BC-0001', 0, t0 + 3_600n, 'lost on patrol, reported stolen.')),
  });

  // Display names (UTF-8: 3 bytes per Chinese character).
  emit({ bench: 'gas.names', what: 'agency', gas: await gasOf(registry.setAgencyName(agency, '济南市城市管理局')) });
  emit({ bench: 'gas.names', what: 'notary', gas: await gasOf(registry.setNotaryName(notaries[0]!.address, '济南市泉城公证处')) });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run((line) => process.stdout.write(`${JSON.stringify(line)}\n`));
}
