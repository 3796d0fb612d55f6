/**
 * The SDK's RegistryClient against both registry versions on Hardhat's
 * in-process network: version 2 (the committed artifact) and version 1 (the
 * frozen v1 artifact), so that receipts anchored on a version 1 registry stay
 * readable and verifiable (docs/chain.md). The same calls, the same answers.
 */
import hre from 'hardhat';
import { BrowserProvider, ContractFactory, encodeBytes32String, keccak256, toUtf8Bytes, type Contract, type JsonRpcSigner } from 'ethers';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  attestationDigest,
  attestationDomain,
  attestationMessage,
  ATTESTATION_TYPES,
  recoverAttestationSigner,
  type RegistryVersion,
} from '../../src/chain/attestation.js';
import { evidenceRegistryArtifact } from '../../src/chain/registry-artifact.js';
import { evidenceRegistryV1Artifact } from '../../src/chain/registry-v1-artifact.js';
import { NOTARY_ROLE, RegistryClient, deviceHash } from '../../src/chain/registry.js';
import { isLiuhenError } from '../../src/errors.js';

const provider = new BrowserProvider(hre.network.provider as never, undefined, { cacheTimeout: -1 });
const A = '310115-ZFJ';
const B = '310104-SCJG';
const ZERO32 = `0x${'00'.repeat(32)}`;
const rootOf = (label: string): string => keccak256(toUtf8Bytes(`client:${label}`));

interface Deployed {
  version: RegistryVersion;
  client: RegistryClient;
  contract: Contract;
  agencyA: JsonRpcSigner;
  agencyB: JsonRpcSigner;
  notary: JsonRpcSigner;
}

async function deploy(version: RegistryVersion): Promise<Deployed> {
  const [admin, agencyA, agencyB, notary] = await Promise.all([0, 1, 2, 3].map((i) => provider.getSigner(i)));
  const artifact = version === 1 ? evidenceRegistryV1Artifact : evidenceRegistryArtifact;
  const contract = (await new ContractFactory(artifact.abi, artifact.bytecode, admin).deploy(admin.address)) as Contract;
  await contract.waitForDeployment();
  await (await contract.getFunction('bindAgency')(agencyA.address, encodeBytes32String(A))).wait();
  await (await contract.getFunction('bindAgency')(agencyB.address, encodeBytes32String(B))).wait();
  await (await contract.getFunction('grantRole')(NOTARY_ROLE, notary.address)).wait();
  return { version, client: new RegistryClient(await contract.getAddress(), provider), contract, agencyA, agencyB, notary };
}

async function anchor(d: Deployed, as: JsonRpcSigner, root: string): Promise<void> {
  const agency = as === d.agencyA ? A : B;
  const { root: prev } = await d.client.latest(agency);
  await (
    await as.sendTransaction({ to: d.client.address, data: d.client.encodeAnchor({ root, size: 3, prevRoot: prev, firstCapturedAt: 1, lastCapturedAt: 2 }) })
  ).wait();
}

for (const version of [2, 1] as const) {
  describe(`RegistryClient on a version ${version} registry`, () => {
    let d: Deployed;
    const r1 = rootOf(`v${version}-1`);
    beforeAll(async () => {
      d = await deploy(version);
      await anchor(d, d.agencyA, r1);
    });

    test('version() detects the registry version, once', async () => {
      expect(await d.client.version()).toBe(version);
      expect(await new RegistryClient(d.client.address, provider).version()).toBe(version);
      expect(await d.client.isDeployed()).toBe(true);
    });

    test('batch(agency, root): the agency\'s batch; another agency\'s answer is "unknown"', async () => {
      const b = await d.client.batch(A, r1);
      expect(b).toMatchObject({
        exists: true,
        agency: A,
        agencyBytes32: encodeBytes32String(A),
        seq: 1,
        size: 3,
        prevRoot: ZERO32,
        firstCapturedAt: 1,
        lastCapturedAt: 2,
      });
      expect((await d.client.batch(encodeBytes32String(A), r1)).seq).toBe(1);
      expect((await d.client.batch(B, r1)).exists).toBe(false);
      expect(await d.client.latest(A)).toEqual({ seq: 1, root: r1 });
      expect((await d.client.findAnchorLog(A, r1))?.seq).toBe(1);
      expect(await d.client.findAnchorLog(B, r1)).toBeUndefined();
    });

    test("cosign through encodeCosign with the registry's EIP-712 domain; every read agrees", async () => {
      const b = await d.client.batch(A, r1);
      const attestedAt = b.anchoredAt;
      const value = { root: r1, agency: A, seq: b.seq, size: b.size, prevRoot: b.prevRoot, attestedAt };
      expect(await d.client.attestationDigest(A, r1, attestedAt)).toBe(
        attestationDigest(await hre.ethers.provider.getNetwork().then((n) => n.chainId), d.client.address, value, version),
      );
      const { chainId } = await provider.getNetwork();
      const signature = await d.notary.signTypedData(
        attestationDomain(chainId, d.client.address, version),
        ATTESTATION_TYPES as never,
        attestationMessage(value),
      );
      expect(recoverAttestationSigner(chainId, d.client.address, value, signature, version)).toBe(d.notary.address);
      // The other version's domain recovers someone else: signatures never cross versions.
      expect(recoverAttestationSigner(chainId, d.client.address, value, signature, version === 1 ? 2 : 1)).not.toBe(d.notary.address);
      await (await d.notary.sendTransaction({ to: d.client.address, data: await d.client.encodeCosign(A, r1, [{ attestedAt, signature }]) })).wait();

      expect(await d.client.isNotarized(A, r1)).toBe(true);
      expect(await d.client.isNotarized(B, r1)).toBe(false);
      expect(await d.client.attestedAt(A, r1, d.notary.address)).toBe(attestedAt);
      expect(await d.client.attestedAt(B, r1, d.notary.address)).toBe(0);
      expect(await d.client.cosigners(A, r1)).toEqual([d.notary.address]);
      expect(await d.client.cosigners(B, r1)).toEqual([]);
      const logs = await d.client.cosignLogs(A, r1);
      expect(logs.map((l) => [l.agencyBytes32, l.root, l.notary, l.attestedAt, l.signature])).toEqual([
        [encodeBytes32String(A), r1, d.notary.address, attestedAt, signature.toLowerCase()],
      ]);
      const head = await provider.getBlockNumber();
      const cosigned = await d.client.cosignedBatches(d.notary.address, 0, head);
      expect(cosigned.has(encodeBytes32String(A), r1)).toBe(true);
      expect(cosigned.size).toBe(1);
    });

    test("a digest for another agency's root is EvidenceRegistryBatchNotAnchored(agency, root)", async () => {
      try {
        await d.client.attestationDigest(B, r1, 1);
        expect.unreachable();
      } catch (e) {
        expect(isLiuhenError(e, 'CHAIN_REVERTED')).toBe(true);
        expect((e as Error).message).toMatch(/EvidenceRegistryBatchNotAnchored\(agency=.*"310104-SCJG".*, root=0x/);
      }
    });

    test('names and devices: present on version 2, absent (not an error) on version 1', async () => {
      if (version === 2) {
        await (await d.contract.getFunction('setAgencyName')(encodeBytes32String(A), '上海市浦东新区城管执法局')).wait();
        await (await d.contract.getFunction('setNotaryName')(d.notary.address, '上海市东方公证处')).wait();
        const key = keccak256(toUtf8Bytes('k'));
        await (
          await d.agencyA.sendTransaction({
            to: d.client.address,
            data: d.client.contract.interface.encodeFunctionData('enrollDevice', [encodeBytes32String(A), 'BC-1', 1, key, 5]),
          })
        ).wait();
        expect(await d.client.device(A, 'BC-1')).toMatchObject({
          agency: A,
          deviceHash: deviceHash('BC-1'),
          kind: 'body-camera',
          keys: [{ index: 0, publicKey: key, validFrom: 5, validUntil: 0, compromisedAt: 0, revokedAt: 0 }],
        });
        expect(await d.client.device(B, 'BC-1')).toBeUndefined();
      }
      expect(await d.client.agencyName(A)).toBe(version === 2 ? '上海市浦东新区城管执法局' : '');
      expect(await d.client.notaryName(d.notary.address)).toBe(version === 2 ? '上海市东方公证处' : '');
      if (version === 1) expect(await d.client.device(A, 'BC-1')).toBeUndefined();
    });
  });
}
