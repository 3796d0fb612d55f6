/**
 * The committed `src/chain/registry-artifact.ts` (how the SDK deploys and calls
 * the registry without Hardhat) must equal a fresh compile of contracts/.
 * On failure: `npx tsx scripts/export-artifact.ts`.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { evidenceRegistryArtifact } from '../../src/chain/registry-artifact.js';
import { ARTIFACT_MODULE, compileRegistry, renderArtifactModule } from '../../scripts/export-artifact.js';

test('src/chain/registry-artifact.ts equals a fresh compile (abi, bytecode, compiler, file text)', async () => {
  const fresh = await compileRegistry();
  expect(evidenceRegistryArtifact.contractName).toBe('EvidenceRegistry');
  expect(evidenceRegistryArtifact.abi).toEqual(fresh.abi);
  expect(evidenceRegistryArtifact.bytecode).toBe(fresh.bytecode);
  expect(evidenceRegistryArtifact.solcVersion).toBe(fresh.solcVersion);
  expect(readFileSync(ARTIFACT_MODULE, 'utf8')).toBe(renderArtifactModule(fresh));
});

test('the artifact is complete enough to deploy and identify the contract', () => {
  expect(evidenceRegistryArtifact.bytecode).toMatch(/^0x(?:[0-9a-f]{2})+$/);
  expect(evidenceRegistryArtifact.solcVersion).toMatch(/^0\.8\.\d+\+commit\.[0-9a-f]{8}/);
  const names = evidenceRegistryArtifact.abi.map((entry) => ('name' in entry ? entry.name : entry.type));
  for (const name of ['anchor', 'cosign', 'batch', 'latest', 'isNotarized', 'verifyInclusion', 'eip712Domain', 'BatchAnchored']) {
    expect(names).toContain(name);
  }
});
