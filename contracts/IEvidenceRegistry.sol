// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IEvidenceRegistry
 * @notice Anchors RFC 6962 Merkle batch roots of law-enforcement records per
 * agency, in an unbroken per-agency chain (`seq`, `prevRoot`), and collects
 * EIP-712 co-signatures of notaries over each batch (k-of-n, "notarized" when
 * the distinct co-signers reach the current threshold).
 *
 * Agency codes are `bytes32`: the code's UTF-8 bytes right-padded with zeros
 * (ethers `encodeBytes32String`).
 */
interface IEvidenceRegistry {
    /**
     * @dev A batch as stored on chain. Packed into four storage slots.
     *
     * For a root that was never anchored every field is zero; `anchoredAt == 0`
     * (equivalently `seq == 0`) is the test for "unknown root".
     */
    struct Batch {
        /// Agency code of the anchoring address at anchoring time.
        bytes32 agency;
        /// Root of the agency's previous batch; zero for its first batch.
        bytes32 prevRoot;
        /// Per-agency sequence number: 1, 2, 3 ...
        uint64 seq;
        /// Number of records (leaves) in the batch.
        uint64 size;
        /// Earliest and latest `capturedAt` of the batch's records (unix seconds, device clocks).
        uint64 firstCapturedAt;
        uint64 lastCapturedAt;
        /// `block.timestamp` and `block.number` of the anchoring transaction.
        uint64 anchoredAt;
        uint64 blockNumber;
        /// Number of distinct notaries that co-signed the batch.
        uint64 cosignerCount;
        /// `block.timestamp` of the co-signing that first brought `cosignerCount` to the
        /// threshold in force at that time (the block of {BatchNotarized}); zero until then.
        uint64 notarizedAt;
    }

    /**
     * @dev One notary's co-signature, carried to {cosign} by anyone: an EIP-712
     * signature of `BatchAttestation(bytes32 root,bytes32 agency,uint64 seq,
     * uint64 size,bytes32 prevRoot,uint64 attestedAt)` over the stored batch.
     */
    struct Attestation {
        /// When the notary attested (unix seconds, notary's clock).
        uint64 attestedAt;
        /// 65-byte `r ‖ s ‖ v` secp256k1 signature with low `s` and `v` in {27, 28}.
        bytes signature;
    }

    // ─── Events ──────────────────────────────────────────────────────────────

    /// @dev `account` was bound to `agency` and granted `AGENCY_ROLE`.
    event AgencyBound(address indexed account, bytes32 indexed agency);

    /// @dev `account` lost `AGENCY_ROLE` (unbound, revoked or renounced) and its binding to `agency`.
    event AgencyUnbound(address indexed account, bytes32 indexed agency);

    /// @dev The number of notaries required for a batch to be notarized changed.
    event NotaryThresholdChanged(uint256 oldThreshold, uint256 newThreshold);

    /// @dev A batch of `size` records with Merkle root `root` was anchored as the `seq`-th batch of `agency`.
    event BatchAnchored(
        bytes32 indexed agency,
        uint64 indexed seq,
        bytes32 indexed root,
        uint64 size,
        bytes32 prevRoot,
        uint64 firstCapturedAt,
        uint64 lastCapturedAt
    );

    /// @dev `notary` co-signed the batch `root`; `signature` is its EIP-712 signature, so that receipts can be rebuilt from logs.
    event BatchCosigned(bytes32 indexed root, address indexed notary, uint64 attestedAt, bytes signature);

    /// @dev The batch `root` reached the notary threshold for the first time, with `cosigners` distinct co-signers.
    event BatchNotarized(bytes32 indexed root, uint256 cosigners);

    // ─── Errors ──────────────────────────────────────────────────────────────

    /// @dev The zero agency code cannot be bound.
    error EvidenceRegistryZeroAgency();

    /// @dev The zero address cannot be bound to an agency.
    error EvidenceRegistryInvalidAccount(address account);

    /// @dev `account` is already bound to `agency`; unbind it first.
    error EvidenceRegistryAgencyAlreadyBound(address account, bytes32 agency);

    /// @dev `account` is not bound to any agency (`AGENCY_ROLE` is only granted through {bindAgency}).
    error EvidenceRegistryAgencyNotBound(address account);

    /// @dev A notary threshold of zero was requested.
    error EvidenceRegistryZeroNotaryThreshold();

    /// @dev `threshold` notaries would be required while only `notaryCount` hold `NOTARY_ROLE`.
    error EvidenceRegistryUnreachableNotaryThreshold(uint256 notaryCount, uint256 threshold);

    /// @dev The zero root cannot be anchored.
    error EvidenceRegistryZeroRoot();

    /// @dev A batch must hold at least one record.
    error EvidenceRegistryEmptyBatch();

    /// @dev The capture time span is reversed.
    error EvidenceRegistryInvalidCaptureSpan(uint64 firstCapturedAt, uint64 lastCapturedAt);

    /// @dev `root` was already anchored, as batch `seq` of `agency`.
    error EvidenceRegistryRootAlreadyAnchored(bytes32 root, bytes32 agency, uint64 seq);

    /// @dev `given` is not the last root of `agency`, which is `expected` (zero before its first batch).
    error EvidenceRegistryUnexpectedPrevRoot(bytes32 agency, bytes32 expected, bytes32 given);

    /// @dev `root` has not been anchored.
    error EvidenceRegistryBatchNotAnchored(bytes32 root);

    /// @dev {cosign} was called without attestations.
    error EvidenceRegistryNoAttestations();

    /// @dev Attestation `index` has a signature that recovers to no address (e.g. `v` not 27 or 28).
    error EvidenceRegistryInvalidSignature(uint256 index);

    /// @dev Attestation `index` has a signature of `length` bytes instead of 65.
    error EvidenceRegistryInvalidSignatureLength(uint256 index, uint256 length);

    /// @dev Attestation `index` has a malleable signature: `s` is in the upper half of the curve order.
    error EvidenceRegistryInvalidSignatureS(uint256 index, bytes32 s);

    /// @dev Attestation `index` recovers to `signer`, which equals the previous attestation's signer.
    error EvidenceRegistryDuplicateSigner(uint256 index, address signer);

    /// @dev Attestation `index` recovers to `signer`, which is below `previous`: signers must be in strictly ascending order.
    error EvidenceRegistryUnsortedSigners(uint256 index, address previous, address signer);

    /// @dev Attestation `index` recovers to `signer`, which does not hold `NOTARY_ROLE`.
    error EvidenceRegistryNotNotary(uint256 index, address signer);

    /// @dev Attestation `index` is dated `attestedAt`, later than `latestAllowed` (block time plus clock skew).
    error EvidenceRegistryAttestationInFuture(uint256 index, uint64 attestedAt, uint64 latestAllowed);

    /// @dev Attestation `index` is dated `attestedAt`, earlier than `earliestAllowed` (anchoring time minus clock skew).
    error EvidenceRegistryAttestationBeforeAnchor(uint256 index, uint64 attestedAt, uint64 earliestAllowed);

    // ─── Constants ───────────────────────────────────────────────────────────

    /// @notice Role of addresses that anchor batches for the agency they are bound to.
    function AGENCY_ROLE() external view returns (bytes32);

    /// @notice Role of notaries whose co-signatures count towards the threshold.
    function NOTARY_ROLE() external view returns (bytes32);

    /// @notice Seconds an attestation may be dated after the current block or before the batch's anchoring.
    function ATTESTATION_CLOCK_SKEW() external view returns (uint64);

    // ─── Agencies ────────────────────────────────────────────────────────────

    /**
     * @notice Binds `account` to `agency` and grants it `AGENCY_ROLE`.
     *
     * Several addresses may be bound to the same agency (stations, key
     * rotation); they share one batch chain.
     *
     * Requirements:
     *
     * - the caller must hold `DEFAULT_ADMIN_ROLE`.
     * - `agency` must not be zero.
     * - `account` must not be the zero address.
     * - `account` must not be bound to an agency already.
     *
     * Emits {AgencyBound} and {IAccessControl-RoleGranted}.
     */
    function bindAgency(address account, bytes32 agency) external;

    /**
     * @notice Revokes `AGENCY_ROLE` from `account` and removes its binding.
     * The agency's batch chain stays; a newly bound address continues it.
     *
     * Requirements:
     *
     * - the caller must hold `DEFAULT_ADMIN_ROLE`.
     * - `account` must be bound to an agency.
     *
     * Emits {AgencyUnbound} and {IAccessControl-RoleRevoked}.
     */
    function unbindAgency(address account) external;

    /// @notice The agency `account` is bound to, zero if none.
    function agencyOf(address account) external view returns (bytes32);

    // ─── Notaries ────────────────────────────────────────────────────────────

    /**
     * @notice Sets the number of distinct notaries whose co-signatures make a batch notarized.
     *
     * Requirements:
     *
     * - the caller must hold `DEFAULT_ADMIN_ROLE`.
     * - `threshold` must not be zero.
     * - `threshold` must not exceed {notaryCount}.
     *
     * Emits {NotaryThresholdChanged}.
     */
    function setNotaryThreshold(uint256 threshold) external;

    /// @notice Number of distinct co-signers a batch needs to be notarized (initially 1).
    function notaryThreshold() external view returns (uint256);

    /// @notice Number of addresses holding `NOTARY_ROLE`.
    function notaryCount() external view returns (uint256);

    // ─── Batches ─────────────────────────────────────────────────────────────

    /**
     * @notice Anchors the next batch of the caller's agency and returns its `seq`.
     * Gas does not depend on `size`: nothing iterates over records.
     *
     * Requirements:
     *
     * - the caller must hold `AGENCY_ROLE` (its bound agency is the batch's agency).
     * - `root` must not be zero and must never have been anchored (by any agency).
     * - `size` must not be zero.
     * - `firstCapturedAt` must not be after `lastCapturedAt`.
     * - `prevRoot` must be the agency's last anchored root, zero for its first batch.
     *
     * Emits {BatchAnchored}.
     */
    function anchor(
        bytes32 root,
        uint64 size,
        bytes32 prevRoot,
        uint64 firstCapturedAt,
        uint64 lastCapturedAt
    ) external returns (uint64 seq);

    /**
     * @notice Records notaries' co-signatures of the anchored batch `root`. Anyone may call.
     *
     * Each attestation is an EIP-712 signature of `BatchAttestation` whose
     * agency, seq, size and prevRoot are taken from the stored batch. A notary
     * that already co-signed `root` is skipped without an event, so that a
     * resubmission is harmless; its first `attestedAt` stays.
     *
     * Requirements:
     *
     * - `root` must be anchored.
     * - `attestations` must not be empty.
     * - every signature must be 65 bytes, with `v` in {27, 28} and low `s`.
     * - recovered signers must be in strictly ascending address order.
     * - every recovered signer must hold `NOTARY_ROLE`.
     * - every `attestedAt` must lie within [`anchoredAt` - skew, `block.timestamp` + skew],
     *   skew being {ATTESTATION_CLOCK_SKEW}.
     *
     * Emits {BatchCosigned} for each new co-signer, and {BatchNotarized} once,
     * when the co-signer count first reaches the threshold.
     */
    function cosign(bytes32 root, Attestation[] calldata attestations) external;

    /// @notice The stored batch `root`; all fields zero (`anchoredAt == 0`) if it was never anchored.
    function batch(bytes32 root) external view returns (Batch memory);

    /// @notice The last batch of `agency`: `(0, 0)` before its first.
    function latest(bytes32 agency) external view returns (uint64 seq, bytes32 root);

    /**
     * @notice Whether the distinct co-signers of `root` reach the *current* threshold.
     * Co-signatures stay counted after their notary is revoked (they were valid
     * when recorded); a raised threshold applies to past batches too.
     */
    function isNotarized(bytes32 root) external view returns (bool);

    /// @notice The notaries that co-signed `root`, in the order they were recorded.
    function cosigners(bytes32 root) external view returns (address[] memory);

    /// @notice The `attestedAt` recorded for `notary` on `root`, zero if it did not co-sign.
    function attestedAt(bytes32 root, address notary) external view returns (uint64);

    /**
     * @notice The EIP-712 digest a notary signs to attest the anchored batch `root` at `attestedAt_`.
     *
     * Requirements:
     *
     * - `root` must be anchored.
     */
    function attestationDigest(bytes32 root, uint64 attestedAt_) external view returns (bytes32);

    /**
     * @notice Verifies an RFC 6962 inclusion proof (RFC 9162 §2.1.3.2): whether `leaf`
     * (a leaf hash, `SHA-256(0x00 ‖ data)`) is at `index` of a tree of `size`
     * leaves with root `root`, interior nodes being `SHA-256(0x01 ‖ left ‖ right)`.
     * Returns false, never reverts, on any malformed input (`index >= size`,
     * wrong proof length, ...). Does not consult storage: `root` need not be anchored.
     */
    function verifyInclusion(
        bytes32 root,
        bytes32 leaf,
        uint256 index,
        uint256 size,
        bytes32[] calldata proof
    ) external pure returns (bool);
}
