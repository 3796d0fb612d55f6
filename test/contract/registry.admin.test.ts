/**
 * EvidenceRegistry: deployment, EIP-712 domain, agency bindings and the notary set.
 */
import { describe, expect, test } from 'vitest';
import hre from 'hardhat';
import { ContractFactory, encodeBytes32String, type Contract } from 'ethers';
import { evidenceRegistryArtifact } from '../../src/chain/registry-artifact.js';
import {
  AGENCY_A,
  AGENCY_B,
  AGENCY_ROLE,
  buildFixture,
  connect,
  createFixture,
  DEFAULT_ADMIN_ROLE,
  eventsOf,
  expectRevert,
  mined,
  NOTARY_ROLE,
  provider,
  runner,
  wallet,
  ZERO32,
  ZERO_ADDRESS,
} from './fixtures.js';

const load = createFixture(buildFixture);

describe('deployment', () => {
  test('constructor grants DEFAULT_ADMIN_ROLE to admin and sets the threshold to 1', async () => {
    const [deployer, governance] = await hre.ethers.getSigners();
    const factory = new ContractFactory(evidenceRegistryArtifact.abi, evidenceRegistryArtifact.bytecode, runner(deployer));
    const registry = (await factory.deploy(governance.address)) as Contract;
    const receipt = await registry.deploymentTransaction()!.wait();
    expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, governance.address)).toBe(true);
    expect(await registry.hasRole(DEFAULT_ADMIN_ROLE, deployer.address)).toBe(false);
    expect(await registry.notaryThreshold()).toBe(1n);
    expect(await registry.notaryCount()).toBe(0n);
    expect(eventsOf(registry, receipt!)).toEqual([
      ['RoleGranted', [DEFAULT_ADMIN_ROLE, governance.address, deployer.address]],
      ['NotaryThresholdChanged', [0n, 1n]],
    ]);
  });

  test('constructor refuses the zero admin', async () => {
    const [deployer] = await hre.ethers.getSigners();
    const factory = new ContractFactory(evidenceRegistryArtifact.abi, evidenceRegistryArtifact.bytecode, runner(deployer));
    const probe = (await load()).registry;
    await expectRevert(probe, factory.deploy(ZERO_ADDRESS), 'EvidenceRegistryInvalidAccount', [ZERO_ADDRESS]);
  });

  test('role constants, clock skew and EIP-5267 domain', async () => {
    const { registry, domain } = await load();
    expect(await registry.AGENCY_ROLE()).toBe(AGENCY_ROLE);
    expect(await registry.NOTARY_ROLE()).toBe(NOTARY_ROLE);
    expect(await registry.ATTESTATION_CLOCK_SKEW()).toBe(300n);
    expect(await registry.MAX_NAME_LENGTH()).toBe(256n);
    expect(await registry.MAX_DEVICE_ID_LENGTH()).toBe(128n);
    expect(await registry.registryVersion()).toBe(2n);
    const d = await registry.eip712Domain();
    expect([d.fields, d.name, d.version, d.chainId, d.verifyingContract, d.salt, [...d.extensions]]).toEqual([
      '0x0f',
      'Liuhen EvidenceRegistry',
      '2',
      domain.chainId,
      domain.verifyingContract,
      ZERO32,
      [],
    ]);
  });

  test('ERC-165: IEvidenceRegistry, IAccessControl, IERC165', async () => {
    const { registry } = await load();
    const iface = registry.interface;
    // interfaceId of IEvidenceRegistry = XOR of its function selectors.
    const ownFunctions = [
      'AGENCY_ROLE()',
      'NOTARY_ROLE()',
      'ATTESTATION_CLOCK_SKEW()',
      'MAX_NAME_LENGTH()',
      'MAX_DEVICE_ID_LENGTH()',
      'registryVersion()',
      'bindAgency(address,bytes32)',
      'unbindAgency(address)',
      'agencyOf(address)',
      'setAgencyCheckpoint(bytes32,uint64,bytes32)',
      'setAgencyName(bytes32,string)',
      'agencyName(bytes32)',
      'setNotaryThreshold(uint256)',
      'notaryThreshold()',
      'notaryCount()',
      'setNotaryName(address,string)',
      'notaryName(address)',
      'anchor(bytes32,uint64,bytes32,uint64,uint64)',
      'cosign(bytes32,bytes32,(uint64,bytes)[])',
      'batch(bytes32,bytes32)',
      'latest(bytes32)',
      'isNotarized(bytes32,bytes32)',
      'cosigners(bytes32,bytes32)',
      'attestedAt(bytes32,bytes32,address)',
      'attestationDigest(bytes32,bytes32,uint64)',
      'enrollDevice(bytes32,string,uint8,bytes32,uint64)',
      'rotateDeviceKey(bytes32,string,bytes32,uint64)',
      'revokeDeviceKey(bytes32,string,uint32,uint64,string)',
      'device(bytes32,bytes32)',
      'deviceKeys(bytes32,bytes32)',
      'verifyInclusion(bytes32,bytes32,uint256,uint256,bytes32[])',
    ];
    const xor = (sigs: string[]): string =>
      `0x${sigs
        .reduce((acc, s) => acc ^ BigInt(iface.getFunction(s)!.selector), 0n)
        .toString(16)
        .padStart(8, '0')}`;
    expect(await registry.supportsInterface(xor(ownFunctions))).toBe(true);
    const accessControl = [
      'hasRole(bytes32,address)',
      'getRoleAdmin(bytes32)',
      'grantRole(bytes32,address)',
      'revokeRole(bytes32,address)',
      'renounceRole(bytes32,address)',
    ];
    expect(await registry.supportsInterface(xor(accessControl))).toBe(true);
    expect(await registry.supportsInterface('0x01ffc9a7')).toBe(true);
    expect(await registry.supportsInterface('0xffffffff')).toBe(false);
  });
});

describe('agency bindings', () => {
  test('bindAgency grants AGENCY_ROLE, records the binding and emits RoleGranted then AgencyBound', async () => {
    const { registry, admin } = await load();
    const station = wallet('station');
    const receipt = await mined(registry.bindAgency(station.address, AGENCY_A));
    expect(eventsOf(registry, receipt)).toEqual([
      ['RoleGranted', [AGENCY_ROLE, station.address, admin.address]],
      ['AgencyBound', [station.address, AGENCY_A]],
    ]);
    expect(await registry.agencyOf(station.address)).toBe(AGENCY_A);
    expect(await registry.hasRole(AGENCY_ROLE, station.address)).toBe(true);
  });

  test('agency codes are UTF-8 right-padded with zeros', async () => {
    const { registry, agencyA } = await load();
    expect(AGENCY_A).toBe(`0x${Buffer.from('310115-ZFJ').toString('hex').padEnd(64, '0')}`);
    expect(await registry.agencyOf(agencyA.address)).toBe(AGENCY_A);
    const han = encodeBytes32String('浦东城管');
    const station = wallet('han');
    await mined(registry.bindAgency(station.address, han));
    expect(await registry.agencyOf(station.address)).toBe(han);
  });

  test('the zero agency and the zero address are refused', async () => {
    const { registry } = await load();
    await expectRevert(registry, registry.bindAgency(wallet('x').address, ZERO32), 'EvidenceRegistryZeroAgency', []);
    await expectRevert(registry, registry.bindAgency(ZERO_ADDRESS, AGENCY_A), 'EvidenceRegistryInvalidAccount', [ZERO_ADDRESS]);
  });

  test('an address is bound to at most one agency', async () => {
    const { registry, agencyA } = await load();
    for (const agency of [AGENCY_A, AGENCY_B]) {
      await expectRevert(registry, registry.bindAgency(agencyA.address, agency), 'EvidenceRegistryAgencyAlreadyBound', [agencyA.address, AGENCY_A]);
    }
  });

  test('several addresses may share one agency', async () => {
    const { registry } = await load();
    const station = wallet('second-station');
    await mined(registry.bindAgency(station.address, AGENCY_A));
    expect(await registry.agencyOf(station.address)).toBe(AGENCY_A);
  });

  test('unbindAgency revokes the role and removes the binding', async () => {
    const { registry, admin, agencyA } = await load();
    const receipt = await mined(registry.unbindAgency(agencyA.address));
    expect(eventsOf(registry, receipt)).toEqual([
      ['RoleRevoked', [AGENCY_ROLE, agencyA.address, admin.address]],
      ['AgencyUnbound', [agencyA.address, AGENCY_A]],
    ]);
    expect(await registry.agencyOf(agencyA.address)).toBe(ZERO32);
    expect(await registry.hasRole(AGENCY_ROLE, agencyA.address)).toBe(false);
    await expectRevert(registry, registry.unbindAgency(agencyA.address), 'EvidenceRegistryAgencyNotBound', [agencyA.address]);
    // It can then be bound again, to another agency.
    await mined(registry.bindAgency(agencyA.address, AGENCY_B));
    expect(await registry.agencyOf(agencyA.address)).toBe(AGENCY_B);
  });

  test('AGENCY_ROLE cannot be granted without a binding; revoking or renouncing it unbinds', async () => {
    const { registry, admin, agencyA, agencyB } = await load();
    const loose = wallet('loose');
    await expectRevert(registry, registry.grantRole(AGENCY_ROLE, loose.address), 'EvidenceRegistryAgencyNotBound', [loose.address]);
    // Granting to an already bound address is a no-op.
    expect(eventsOf(registry, await mined(registry.grantRole(AGENCY_ROLE, agencyA.address)))).toEqual([]);

    expect(eventsOf(registry, await mined(registry.revokeRole(AGENCY_ROLE, agencyA.address)))).toEqual([
      ['RoleRevoked', [AGENCY_ROLE, agencyA.address, admin.address]],
      ['AgencyUnbound', [agencyA.address, AGENCY_A]],
    ]);
    expect(await registry.agencyOf(agencyA.address)).toBe(ZERO32);

    const asB = connect(registry, agencyB);
    expect(eventsOf(registry, await mined(asB.renounceRole(AGENCY_ROLE, agencyB.address)))).toEqual([
      ['RoleRevoked', [AGENCY_ROLE, agencyB.address, agencyB.address]],
      ['AgencyUnbound', [agencyB.address, AGENCY_B]],
    ]);
    expect(await registry.agencyOf(agencyB.address)).toBe(ZERO32);
  });

  test('only the admin binds and unbinds', async () => {
    const { registry, outsider, agencyA } = await load();
    const asOutsider = connect(registry, outsider);
    await expectRevert(registry, asOutsider.bindAgency(outsider.address, AGENCY_A), 'AccessControlUnauthorizedAccount', [outsider.address, DEFAULT_ADMIN_ROLE]);
    await expectRevert(registry, asOutsider.unbindAgency(agencyA.address), 'AccessControlUnauthorizedAccount', [outsider.address, DEFAULT_ADMIN_ROLE]);
  });
});

describe('notary set', () => {
  test('grantRole/revokeRole(NOTARY_ROLE) are counted once per address', async () => {
    const { registry, admin, notaries } = await load();
    expect(await registry.notaryCount()).toBe(5n);
    const extra = wallet('extra-notary');
    expect(eventsOf(registry, await mined(registry.grantRole(NOTARY_ROLE, extra.address)))).toEqual([
      ['RoleGranted', [NOTARY_ROLE, extra.address, admin.address]],
    ]);
    await mined(registry.grantRole(NOTARY_ROLE, extra.address));
    expect(await registry.notaryCount()).toBe(6n);
    await mined(registry.revokeRole(NOTARY_ROLE, notaries[0].address));
    await mined(registry.revokeRole(NOTARY_ROLE, notaries[0].address));
    expect(await registry.notaryCount()).toBe(5n);
  });

  test('setNotaryThreshold emits NotaryThresholdChanged(old, new)', async () => {
    const { registry } = await load();
    expect(eventsOf(registry, await mined(registry.setNotaryThreshold(3)))).toEqual([['NotaryThresholdChanged', [1n, 3n]]]);
    expect(await registry.notaryThreshold()).toBe(3n);
    expect(eventsOf(registry, await mined(registry.setNotaryThreshold(5)))).toEqual([['NotaryThresholdChanged', [3n, 5n]]]);
  });

  test('setNotaryThreshold refuses 0 and more than the notary count', async () => {
    const { registry } = await load();
    await expectRevert(registry, registry.setNotaryThreshold(0), 'EvidenceRegistryZeroNotaryThreshold', []);
    await expectRevert(registry, registry.setNotaryThreshold(6), 'EvidenceRegistryUnreachableNotaryThreshold', [5n, 6n]);
  });

  test('setNotaryThreshold is admin-only', async () => {
    const { registry, outsider } = await load();
    await expectRevert(registry, connect(registry, outsider).setNotaryThreshold(1), 'AccessControlUnauthorizedAccount', [outsider.address, DEFAULT_ADMIN_ROLE]);
  });

  test('revoking or renouncing a notary that would make the threshold unreachable reverts', async () => {
    const { registry, notaries } = await load();
    await mined(registry.setNotaryThreshold(4));
    await mined(registry.revokeRole(NOTARY_ROLE, notaries[0].address));
    expect(await registry.notaryCount()).toBe(4n);
    await expectRevert(registry, registry.revokeRole(NOTARY_ROLE, notaries[1].address), 'EvidenceRegistryUnreachableNotaryThreshold', [3n, 4n]);
    const [admin] = await hre.ethers.getSigners();
    await admin.sendTransaction({ to: notaries[1].address, value: 10n ** 18n });
    const asNotary = connect(registry, notaries[1].connect(provider()));
    await expectRevert(registry, asNotary.renounceRole(NOTARY_ROLE, notaries[1].address), 'EvidenceRegistryUnreachableNotaryThreshold', [3n, 4n]);
    // Lower the threshold first, then the revocation goes through.
    await mined(registry.setNotaryThreshold(3));
    await mined(registry.revokeRole(NOTARY_ROLE, notaries[1].address));
    expect(await registry.notaryCount()).toBe(3n);
  });

  test('the last notary cannot be revoked while the threshold is 1 (k-of-n, k >= 1)', async () => {
    const [admin] = await hre.ethers.getSigners();
    const { registry } = await load();
    const fresh = (await new ContractFactory(evidenceRegistryArtifact.abi, evidenceRegistryArtifact.bytecode, runner(admin)).deploy(admin.address)) as Contract;
    const only = wallet('only-notary');
    await mined(fresh.grantRole(NOTARY_ROLE, only.address));
    await expectRevert(registry, fresh.revokeRole(NOTARY_ROLE, only.address), 'EvidenceRegistryUnreachableNotaryThreshold', [0n, 1n]);
    // Revoking an address that is not a notary is a no-op, not an error.
    await mined(fresh.revokeRole(NOTARY_ROLE, wallet('nobody').address));
  });
});
