import { encodeBytes32String, recoverAddress, Signature, TypedDataEncoder, type TypedDataDomain } from 'ethers';

/**
 * The notary's EIP-712 attestation of a batch — the one definition shared by
 * the notary (signs), the chain verifier and the receipt (recover). It must
 * match `BatchAttestation` in contracts/IEvidenceRegistry.sol exactly.
 */
export const ATTESTATION_DOMAIN_NAME = 'Liuhen EvidenceRegistry';
/** The EIP-712 domain version of the current registry (version 2). */
export const ATTESTATION_DOMAIN_VERSION = '2';

/** A registry's interface version: 1 keyed batches by root, 2 by (agency, root) (docs/chain.md). */
export type RegistryVersion = 1 | 2;

/** The registry version this SDK deploys. */
export const CURRENT_REGISTRY_VERSION: RegistryVersion = 2;

/**
 * The EIP-712 domain version string of a registry version: each version's
 * contract passes its own to OpenZeppelin's EIP712 constructor, so a
 * signature for a version 1 registry can never be replayed on a version 2 one
 * (the verifying contract differs too).
 */
export function domainVersionOf(version: RegistryVersion): string {
  switch (version) {
    case 1:
      return '1';
    case 2:
      return '2';
  }
}

export const ATTESTATION_TYPES = {
  BatchAttestation: [
    { name: 'root', type: 'bytes32' },
    { name: 'agency', type: 'bytes32' },
    { name: 'seq', type: 'uint64' },
    { name: 'size', type: 'uint64' },
    { name: 'prevRoot', type: 'bytes32' },
    { name: 'attestedAt', type: 'uint64' },
  ],
} as const;

export interface BatchAttestationValue {
  root: string;
  /** Agency code as text; encoded as bytes32 (encodeBytes32String). */
  agency: string;
  seq: number | bigint;
  size: number | bigint;
  prevRoot: string;
  /** Seconds since the epoch. */
  attestedAt: number | bigint;
}

/** The EIP-712 domain of `registry`; `version` is the registry's version (`RegistryClient.version()`), by default the current one. */
export function attestationDomain(chainId: number | bigint, registry: string, version: RegistryVersion = CURRENT_REGISTRY_VERSION): TypedDataDomain {
  return { name: ATTESTATION_DOMAIN_NAME, version: domainVersionOf(version), chainId, verifyingContract: registry };
}

export function attestationMessage(v: BatchAttestationValue): Record<string, unknown> {
  return { root: v.root, agency: agencyToBytes32(v.agency), seq: BigInt(v.seq), size: BigInt(v.size), prevRoot: v.prevRoot, attestedAt: BigInt(v.attestedAt) };
}

/** The digest the contract computes with `_hashTypedDataV4`. */
export function attestationDigest(
  chainId: number | bigint,
  registry: string,
  v: BatchAttestationValue,
  version: RegistryVersion = CURRENT_REGISTRY_VERSION,
): string {
  return TypedDataEncoder.hash(attestationDomain(chainId, registry, version), ATTESTATION_TYPES as never, attestationMessage(v));
}

/** Recovers the signer; throws on a malformed signature. High-s signatures are refused, as the contract does. */
export function recoverAttestationSigner(
  chainId: number | bigint,
  registry: string,
  v: BatchAttestationValue,
  signature: string,
  version: RegistryVersion = CURRENT_REGISTRY_VERSION,
): string {
  const sig = Signature.from(signature);
  // EIP-2: s must be in the lower half of the curve order (OpenZeppelin ECDSA rejects the rest).
  if (BigInt(sig.s) > 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n) throw new Error('malleable signature (high s)');
  const digest = attestationDigest(chainId, registry, v, version);
  // Recovery is pure and costs ~1 ms of JS elliptic-curve math: a verifier that
  // sees the same attestation again (a gateway, the QR page) reuses the result.
  const key = `${digest}:${signature}`;
  const cached = recovered.get(key);
  if (cached) return cached;
  const signer = recoverAddress(digest, sig);
  if (recovered.size >= RECOVERED_MAX) recovered.delete(recovered.keys().next().value!);
  recovered.set(key, signer);
  return signer;
}

const RECOVERED_MAX = 4096;
const recovered = new Map<string, string>();

export function agencyToBytes32(agency: string): string {
  return encodeBytes32String(agency);
}
