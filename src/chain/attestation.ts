import { encodeBytes32String, recoverAddress, Signature, TypedDataEncoder, type TypedDataDomain } from 'ethers';

/**
 * The notary's EIP-712 attestation of a batch — the one definition shared by
 * the notary (signs), the chain verifier and the receipt (recover). It must
 * match `BatchAttestation` in contracts/IEvidenceRegistry.sol exactly.
 */
export const ATTESTATION_DOMAIN_NAME = 'Liuhen EvidenceRegistry';
export const ATTESTATION_DOMAIN_VERSION = '1';

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

export function attestationDomain(chainId: number | bigint, registry: string): TypedDataDomain {
  return { name: ATTESTATION_DOMAIN_NAME, version: ATTESTATION_DOMAIN_VERSION, chainId, verifyingContract: registry };
}

export function attestationMessage(v: BatchAttestationValue): Record<string, unknown> {
  return { root: v.root, agency: agencyToBytes32(v.agency), seq: BigInt(v.seq), size: BigInt(v.size), prevRoot: v.prevRoot, attestedAt: BigInt(v.attestedAt) };
}

/** The digest the contract computes with `_hashTypedDataV4`. */
export function attestationDigest(chainId: number | bigint, registry: string, v: BatchAttestationValue): string {
  return TypedDataEncoder.hash(attestationDomain(chainId, registry), ATTESTATION_TYPES as never, attestationMessage(v));
}

/** Recovers the signer; throws on a malformed signature. High-s signatures are refused, as the contract does. */
export function recoverAttestationSigner(chainId: number | bigint, registry: string, v: BatchAttestationValue, signature: string): string {
  const sig = Signature.from(signature);
  // EIP-2: s must be in the lower half of the curve order (OpenZeppelin ECDSA rejects the rest).
  if (BigInt(sig.s) > 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n) throw new Error('malleable signature (high s)');
  const digest = attestationDigest(chainId, registry, v);
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
