// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IEvidenceRegistry
 * @notice Version 2 of Liuhen's registry. Anchors RFC 6962 Merkle batch roots
 * of law-enforcement records per agency, in an unbroken per-agency chain
 * (`seq`, `prevRoot`), and collects EIP-712 co-signatures of notaries over
 * each batch (k-of-n, "notarized" when the distinct co-signers reach the
 * current threshold). Agencies enroll their capture devices' Ed25519 keys,
 * and the admin gives agencies and notaries display names.
 *
 * Batches are keyed by `(agency, root)`: an agency's transactions can never
 * make another agency's anchor or co-signing fail (version 1 keyed batches by
 * root alone, so copying a pending root from the mempool blocked its owner).
 *
 * Agency codes are `bytes32`: the code's UTF-8 bytes right-padded with zeros
 * (ethers `encodeBytes32String`). Device ids are strings chosen by their
 * agency, stored as `keccak256(bytes(deviceId))`; two agencies may use the
 * same device id for different devices.
 */
interface IEvidenceRegistry {
    /**
     * @dev A batch of an agency as stored on chain, in three storage slots (the
     * agency is part of the key, so it is not stored).
     *
     * For a root the agency never anchored every field is zero; `anchoredAt == 0`
     * (equivalently `seq == 0`) is the test for "unknown batch".
     */
    struct Batch {
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

    /// @dev What kind of capture device a key belongs to. `None` marks a device that was never enrolled.
    enum DeviceKind {
        None,
        BodyCamera,
        Terminal,
        Station
    }

    /// @dev An enrolled device of an agency (one storage slot).
    struct Device {
        DeviceKind kind;
        /// Number of keys in the device's history (1 after enrollment, +1 per rotation).
        uint32 keyCount;
        /// `block.timestamp` of the enrollment.
        uint64 enrolledAt;
    }

    /**
     * @dev One key of a device's history (two storage slots). The key signs
     * records for captures from `validFrom` until `validUntil` (exclusive; zero
     * while it is the current key). A revoked key additionally carries the
     * time the agency states it was compromised: records journaled or anchored
     * after `compromisedAt` cannot count as signed by the device.
     */
    struct DeviceKey {
        /// Ed25519 public key (32 bytes, RFC 8032).
        bytes32 publicKey;
        /// Unix seconds from which the key signs for the device.
        uint64 validFrom;
        /// Unix seconds at which the next key took over; zero while current.
        uint64 validUntil;
        /// Unix seconds from which the key must be considered compromised; zero if not revoked.
        uint64 compromisedAt;
        /// `block.timestamp` of the revocation; zero if not revoked.
        uint64 revokedAt;
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

    /// @dev `notary` co-signed the batch `root` of `agency`; `signature` is its EIP-712 signature, so that receipts can be rebuilt from logs.
    event BatchCosigned(
        bytes32 indexed agency,
        bytes32 indexed root,
        address indexed notary,
        uint64 attestedAt,
        bytes signature
    );

    /// @dev The batch `root` of `agency` reached the notary threshold for the first time, with `cosigners` distinct co-signers.
    event BatchNotarized(bytes32 indexed agency, bytes32 indexed root, uint256 cosigners);

    /// @dev The batch chain of `agency` continues from batch `seq` with root `root` of an earlier registry.
    event AgencyCheckpointSet(bytes32 indexed agency, uint64 seq, bytes32 root);

    /// @dev `agency` is displayed as `name` (an empty name removes it).
    event AgencyNamed(bytes32 indexed agency, string name);

    /// @dev `notary` is displayed as `name` (an empty name removes it).
    event NotaryNamed(address indexed notary, string name);

    /// @dev `agency` enrolled device `deviceId` (stored as `deviceHash`) with its first key.
    event DeviceEnrolled(
        bytes32 indexed agency,
        bytes32 indexed deviceHash,
        string deviceId,
        DeviceKind kind,
        bytes32 publicKey,
        uint64 validFrom
    );

    /// @dev Key `keyIndex` of the device took over from the previous key at `validFrom`.
    event DeviceKeyRotated(
        bytes32 indexed agency,
        bytes32 indexed deviceHash,
        string deviceId,
        uint32 keyIndex,
        bytes32 publicKey,
        uint64 validFrom
    );

    /// @dev Key `keyIndex` of the device was revoked, compromised from `compromisedAt`, for `reason`.
    event DeviceKeyRevoked(
        bytes32 indexed agency,
        bytes32 indexed deviceHash,
        string deviceId,
        uint32 keyIndex,
        bytes32 publicKey,
        uint64 compromisedAt,
        string reason
    );

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

    /// @dev `agency` already anchored `root`, as its batch `seq`.
    error EvidenceRegistryRootAlreadyAnchored(bytes32 agency, bytes32 root, uint64 seq);

    /// @dev `given` is not the last root of `agency`, which is `expected` (zero before its first batch).
    error EvidenceRegistryUnexpectedPrevRoot(bytes32 agency, bytes32 expected, bytes32 given);

    /// @dev `agency` has not anchored `root`.
    error EvidenceRegistryBatchNotAnchored(bytes32 agency, bytes32 root);

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

    /// @dev `agency` already has a batch chain on this registry (head `root`), so no checkpoint can be set.
    error EvidenceRegistryAgencyChainStarted(bytes32 agency, bytes32 root);

    /// @dev A checkpoint needs a nonzero `seq` and `root`.
    error EvidenceRegistryInvalidCheckpoint(uint64 seq, bytes32 root);

    /// @dev A display name of `length` bytes exceeds `maxLength` bytes.
    error EvidenceRegistryNameTooLong(uint256 length, uint256 maxLength);

    /// @dev `account` may not change the devices of `agency` (only an address bound to it, or the admin).
    error EvidenceRegistryNotDeviceController(address account, bytes32 agency);

    /// @dev A device id must be 1 to {MAX_DEVICE_ID_LENGTH} bytes long; it is `length`.
    error EvidenceRegistryInvalidDeviceId(uint256 length);

    /// @dev `kind` is not a device kind (`None` cannot be enrolled).
    error EvidenceRegistryInvalidDeviceKind(DeviceKind kind);

    /// @dev The zero public key cannot be enrolled.
    error EvidenceRegistryZeroDeviceKey();

    /// @dev `agency` already enrolled the device `deviceHash`; rotate its key instead.
    error EvidenceRegistryDeviceAlreadyEnrolled(bytes32 agency, bytes32 deviceHash);

    /// @dev `agency` has no device `deviceHash`.
    error EvidenceRegistryDeviceNotEnrolled(bytes32 agency, bytes32 deviceHash);

    /// @dev A rotated key must take over after the current key began: `validFrom` must exceed `currentValidFrom`.
    error EvidenceRegistryInvalidValidFrom(uint64 validFrom, uint64 currentValidFrom);

    /// @dev The device has no key `keyIndex` (it has `keyCount`).
    error EvidenceRegistryUnknownDeviceKey(bytes32 agency, bytes32 deviceHash, uint256 keyIndex, uint256 keyCount);

    /// @dev Key `keyIndex` of the device was already revoked, at `revokedAt`.
    error EvidenceRegistryDeviceKeyAlreadyRevoked(bytes32 agency, bytes32 deviceHash, uint256 keyIndex, uint64 revokedAt);

    /// @dev A compromise time `compromisedAt` later than the current block time `blockTime` (a key is revoked for the past).
    error EvidenceRegistryCompromiseInFuture(uint64 compromisedAt, uint64 blockTime);

    // ─── Constants ───────────────────────────────────────────────────────────

    /// @notice Role of addresses that anchor batches for the agency they are bound to.
    function AGENCY_ROLE() external view returns (bytes32);

    /// @notice Role of notaries whose co-signatures count towards the threshold.
    function NOTARY_ROLE() external view returns (bytes32);

    /// @notice Seconds an attestation may be dated after the current block or before the batch's anchoring.
    function ATTESTATION_CLOCK_SKEW() external view returns (uint64);

    /// @notice Longest display name, in UTF-8 bytes.
    function MAX_NAME_LENGTH() external view returns (uint256);

    /// @notice Longest device id, in UTF-8 bytes.
    function MAX_DEVICE_ID_LENGTH() external view returns (uint256);

    /// @notice The registry's interface version: 2. (Version 1 has no such function: a call reverts.)
    function registryVersion() external pure returns (uint256);

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

    /**
     * @notice Continues the batch chain of `agency` from an earlier registry:
     * its first batch here must have `prevRoot == root` and gets `seq + 1`, so
     * that a deliberate move to a new registry (`liuhen registry migrate`) keeps
     * the agency's numbering and chaining unbroken.
     *
     * Requirements:
     *
     * - the caller must hold `DEFAULT_ADMIN_ROLE`.
     * - `agency` must not be zero.
     * - `seq` and `root` must not be zero.
     * - `agency` must not have anchored a batch or received a checkpoint on this registry.
     *
     * Emits {AgencyCheckpointSet}.
     */
    function setAgencyCheckpoint(bytes32 agency, uint64 seq, bytes32 root) external;

    /**
     * @notice Sets the display name of `agency` (e.g. 济南市城市管理局); an empty name removes it.
     *
     * Requirements:
     *
     * - the caller must hold `DEFAULT_ADMIN_ROLE`.
     * - `agency` must not be zero.
     * - `name` must be at most {MAX_NAME_LENGTH} bytes.
     *
     * Emits {AgencyNamed}.
     */
    function setAgencyName(bytes32 agency, string calldata name) external;

    /// @notice The display name of `agency`, empty if none.
    function agencyName(bytes32 agency) external view returns (string memory);

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

    /**
     * @notice Sets the display name of `notary` (e.g. 济南市泉城公证处); an empty name removes it.
     * The name is kept when the role is revoked, so past co-signatures stay named.
     *
     * Requirements:
     *
     * - the caller must hold `DEFAULT_ADMIN_ROLE`.
     * - `notary` must not be the zero address.
     * - `name` must be at most {MAX_NAME_LENGTH} bytes.
     *
     * Emits {NotaryNamed}.
     */
    function setNotaryName(address notary, string calldata name) external;

    /// @notice The display name of `notary`, empty if none.
    function notaryName(address notary) external view returns (string memory);

    // ─── Batches ─────────────────────────────────────────────────────────────

    /**
     * @notice Anchors the next batch of the caller's agency and returns its `seq`.
     * Gas does not depend on `size`: nothing iterates over records.
     *
     * Requirements:
     *
     * - the caller must hold `AGENCY_ROLE` (its bound agency is the batch's agency).
     * - `root` must not be zero and must not have been anchored by the same agency
     *   (another agency's batch with the same root does not matter).
     * - `size` must not be zero.
     * - `firstCapturedAt` must not be after `lastCapturedAt`.
     * - `prevRoot` must be the agency's last anchored root (or its checkpoint's
     *   root, see {setAgencyCheckpoint}), zero for its first batch.
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
     * @notice Records notaries' co-signatures of the batch `root` of `agency`. Anyone may call.
     *
     * Each attestation is an EIP-712 signature of `BatchAttestation` whose
     * seq, size and prevRoot are taken from the stored batch. A notary that
     * already co-signed the batch is skipped without an event, so that a
     * resubmission is harmless; its first `attestedAt` stays.
     *
     * Requirements:
     *
     * - `agency` must have anchored `root`.
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
    function cosign(bytes32 agency, bytes32 root, Attestation[] calldata attestations) external;

    /// @notice The batch `root` of `agency`; all fields zero (`anchoredAt == 0`) if the agency never anchored it.
    function batch(bytes32 agency, bytes32 root) external view returns (Batch memory);

    /// @notice The last batch of `agency` (or its checkpoint): `(0, 0)` before its first.
    function latest(bytes32 agency) external view returns (uint64 seq, bytes32 root);

    /**
     * @notice Whether the distinct co-signers of the batch reach the *current* threshold.
     * Co-signatures stay counted after their notary is revoked (they were valid
     * when recorded); a raised threshold applies to past batches too.
     */
    function isNotarized(bytes32 agency, bytes32 root) external view returns (bool);

    /// @notice The notaries that co-signed the batch, in the order they were recorded.
    function cosigners(bytes32 agency, bytes32 root) external view returns (address[] memory);

    /// @notice The `attestedAt` recorded for `notary` on the batch, zero if it did not co-sign.
    function attestedAt(bytes32 agency, bytes32 root, address notary) external view returns (uint64);

    /**
     * @notice The EIP-712 digest a notary signs to attest the batch `root` of `agency` at `attestedAt_`.
     *
     * Requirements:
     *
     * - `agency` must have anchored `root`.
     */
    function attestationDigest(bytes32 agency, bytes32 root, uint64 attestedAt_) external view returns (bytes32);

    // ─── Devices ─────────────────────────────────────────────────────────────

    /**
     * @notice Enrolls device `deviceId` of `agency` with its first Ed25519 key, valid from `validFrom`.
     *
     * Requirements:
     *
     * - the caller must be bound to `agency` or hold `DEFAULT_ADMIN_ROLE`.
     * - `deviceId` must be 1 to {MAX_DEVICE_ID_LENGTH} bytes.
     * - `kind` must not be `None`.
     * - `publicKey` must not be zero.
     * - the agency must not have enrolled `deviceId` already.
     *
     * Emits {DeviceEnrolled}.
     */
    function enrollDevice(
        bytes32 agency,
        string calldata deviceId,
        DeviceKind kind,
        bytes32 publicKey,
        uint64 validFrom
    ) external;

    /**
     * @notice Gives device `deviceId` of `agency` a new key, valid from `validFrom`;
     * the current key stops at `validFrom` (unless it was revoked, then it stays revoked).
     * Returns the new key's index.
     *
     * Requirements:
     *
     * - the caller must be bound to `agency` or hold `DEFAULT_ADMIN_ROLE`.
     * - the device must be enrolled.
     * - `publicKey` must not be zero.
     * - `validFrom` must be later than the current key's `validFrom`.
     *
     * Emits {DeviceKeyRotated}.
     */
    function rotateDeviceKey(
        bytes32 agency,
        string calldata deviceId,
        bytes32 publicKey,
        uint64 validFrom
    ) external returns (uint32 keyIndex);

    /**
     * @notice Revokes key `keyIndex` of device `deviceId` of `agency`: the key is
     * considered compromised from `compromisedAt`, and records journaled or
     * anchored after that time no longer count as signed by the device.
     *
     * Requirements:
     *
     * - the caller must be bound to `agency` or hold `DEFAULT_ADMIN_ROLE`.
     * - the device must be enrolled and have key `keyIndex`.
     * - the key must not be revoked already.
     * - `compromisedAt` must not be later than the current block's timestamp.
     *
     * Emits {DeviceKeyRevoked}.
     */
    function revokeDeviceKey(
        bytes32 agency,
        string calldata deviceId,
        uint32 keyIndex,
        uint64 compromisedAt,
        string calldata reason
    ) external;

    /// @notice Device `deviceHash` (`keccak256(bytes(deviceId))`) of `agency`; `kind == None` if not enrolled.
    function device(bytes32 agency, bytes32 deviceHash) external view returns (Device memory);

    /// @notice The whole key history of device `deviceHash` of `agency`, oldest first (empty if not enrolled).
    function deviceKeys(bytes32 agency, bytes32 deviceHash) external view returns (DeviceKey[] memory);

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
