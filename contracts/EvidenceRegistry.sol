// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IEvidenceRegistry} from "./IEvidenceRegistry.sol";

/**
 * @title EvidenceRegistry
 * @notice Liuhen's on-chain registry, version 2: per-agency chains of RFC 6962
 * batch roots keyed by `(agency, root)`, co-signed by a k-of-n set of notaries
 * (EIP-712 domain "Liuhen EvidenceRegistry", version "2"; EIP-5267
 * `eip712Domain()`), enrolled device keys per agency, and display names.
 *
 * Invariant: an address holds `AGENCY_ROLE` exactly when it is bound to an
 * agency. {bindAgency} is the only way in (a direct `grantRole(AGENCY_ROLE, x)`
 * reverts unless `x` is already bound); every way out (`unbindAgency`,
 * `revokeRole`, `renounceRole`) removes the binding.
 */
contract EvidenceRegistry is IEvidenceRegistry, AccessControl, EIP712 {
    /// @inheritdoc IEvidenceRegistry
    bytes32 public constant AGENCY_ROLE = keccak256("AGENCY_ROLE");

    /// @inheritdoc IEvidenceRegistry
    bytes32 public constant NOTARY_ROLE = keccak256("NOTARY_ROLE");

    /// @inheritdoc IEvidenceRegistry
    uint64 public constant ATTESTATION_CLOCK_SKEW = 300;

    /// @inheritdoc IEvidenceRegistry
    uint256 public constant MAX_NAME_LENGTH = 256;

    /// @inheritdoc IEvidenceRegistry
    uint256 public constant MAX_DEVICE_ID_LENGTH = 128;

    bytes32 private constant BATCH_ATTESTATION_TYPEHASH =
        keccak256(
            "BatchAttestation(bytes32 root,bytes32 agency,uint64 seq,uint64 size,bytes32 prevRoot,uint64 attestedAt)"
        );

    /// @dev Where an agency's chain continues from an earlier registry (see {setAgencyCheckpoint}).
    struct Checkpoint {
        bytes32 root;
        uint64 seq;
    }

    mapping(address account => bytes32) private _agencyOf;
    mapping(bytes32 agency => bytes32) private _latestRoot;
    mapping(bytes32 agency => Checkpoint) private _checkpoints;
    mapping(bytes32 agency => mapping(bytes32 root => Batch)) private _batches;
    mapping(bytes32 agency => mapping(bytes32 root => mapping(address notary => uint64))) private _attestedAt;
    mapping(bytes32 agency => mapping(bytes32 root => mapping(uint256 position => address))) private _cosignerAt;
    mapping(bytes32 agency => string) private _agencyNames;
    mapping(address notary => string) private _notaryNames;
    mapping(bytes32 agency => mapping(bytes32 deviceHash => Device)) private _devices;
    mapping(bytes32 agency => mapping(bytes32 deviceHash => mapping(uint256 index => DeviceKey))) private _deviceKeys;
    uint256 private _notaryCount;
    uint256 private _notaryThreshold;

    /**
     * @dev Grants `DEFAULT_ADMIN_ROLE` (governance) to `admin`; the notary threshold starts at 1.
     *
     * Requirements:
     *
     * - `admin` must not be the zero address.
     */
    constructor(address admin) EIP712("Liuhen EvidenceRegistry", "2") {
        if (admin == address(0)) revert EvidenceRegistryInvalidAccount(address(0));
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _notaryThreshold = 1;
        emit NotaryThresholdChanged(0, 1);
    }

    // ─── Agencies ────────────────────────────────────────────────────────────

    /// @inheritdoc IEvidenceRegistry
    function bindAgency(address account, bytes32 agency) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (agency == bytes32(0)) revert EvidenceRegistryZeroAgency();
        if (account == address(0)) revert EvidenceRegistryInvalidAccount(account);
        bytes32 current = _agencyOf[account];
        if (current != bytes32(0)) revert EvidenceRegistryAgencyAlreadyBound(account, current);
        _agencyOf[account] = agency;
        _grantRole(AGENCY_ROLE, account);
        emit AgencyBound(account, agency);
    }

    /// @inheritdoc IEvidenceRegistry
    function unbindAgency(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_agencyOf[account] == bytes32(0)) revert EvidenceRegistryAgencyNotBound(account);
        _revokeRole(AGENCY_ROLE, account);
    }

    /// @inheritdoc IEvidenceRegistry
    function agencyOf(address account) external view returns (bytes32) {
        return _agencyOf[account];
    }

    /// @inheritdoc IEvidenceRegistry
    function setAgencyCheckpoint(bytes32 agency, uint64 seq, bytes32 root) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (agency == bytes32(0)) revert EvidenceRegistryZeroAgency();
        if (seq == 0 || root == bytes32(0)) revert EvidenceRegistryInvalidCheckpoint(seq, root);
        bytes32 head = _latestRoot[agency];
        if (head != bytes32(0)) revert EvidenceRegistryAgencyChainStarted(agency, head);
        _checkpoints[agency] = Checkpoint({root: root, seq: seq});
        _latestRoot[agency] = root;
        emit AgencyCheckpointSet(agency, seq, root);
    }

    /// @inheritdoc IEvidenceRegistry
    function setAgencyName(bytes32 agency, string calldata name) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (agency == bytes32(0)) revert EvidenceRegistryZeroAgency();
        _checkName(name);
        _agencyNames[agency] = name;
        emit AgencyNamed(agency, name);
    }

    /// @inheritdoc IEvidenceRegistry
    function agencyName(bytes32 agency) external view returns (string memory) {
        return _agencyNames[agency];
    }

    // ─── Notaries ────────────────────────────────────────────────────────────

    /// @inheritdoc IEvidenceRegistry
    function setNotaryThreshold(uint256 threshold) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (threshold == 0) revert EvidenceRegistryZeroNotaryThreshold();
        if (threshold > _notaryCount) revert EvidenceRegistryUnreachableNotaryThreshold(_notaryCount, threshold);
        uint256 old = _notaryThreshold;
        _notaryThreshold = threshold;
        emit NotaryThresholdChanged(old, threshold);
    }

    /// @inheritdoc IEvidenceRegistry
    function notaryThreshold() external view returns (uint256) {
        return _notaryThreshold;
    }

    /// @inheritdoc IEvidenceRegistry
    function notaryCount() external view returns (uint256) {
        return _notaryCount;
    }

    /// @inheritdoc IEvidenceRegistry
    function setNotaryName(address notary, string calldata name) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (notary == address(0)) revert EvidenceRegistryInvalidAccount(notary);
        _checkName(name);
        _notaryNames[notary] = name;
        emit NotaryNamed(notary, name);
    }

    /// @inheritdoc IEvidenceRegistry
    function notaryName(address notary) external view returns (string memory) {
        return _notaryNames[notary];
    }

    /// @inheritdoc IEvidenceRegistry
    function registryVersion() external pure returns (uint256) {
        return 2;
    }

    // ─── Batches ─────────────────────────────────────────────────────────────

    /// @inheritdoc IEvidenceRegistry
    function anchor(
        bytes32 root,
        uint64 size,
        bytes32 prevRoot,
        uint64 firstCapturedAt,
        uint64 lastCapturedAt
    ) external returns (uint64 seq) {
        // Holding AGENCY_ROLE is equivalent to being bound (see the contract's invariant),
        // so one storage read checks the role and yields the agency.
        bytes32 agency = _agencyOf[msg.sender];
        if (agency == bytes32(0)) revert IAccessControl.AccessControlUnauthorizedAccount(msg.sender, AGENCY_ROLE);
        if (root == bytes32(0)) revert EvidenceRegistryZeroRoot();
        if (size == 0) revert EvidenceRegistryEmptyBatch();
        if (firstCapturedAt > lastCapturedAt) {
            revert EvidenceRegistryInvalidCaptureSpan(firstCapturedAt, lastCapturedAt);
        }
        // Keyed by (agency, root): a root another agency anchored (even a copy of
        // this one, front-run from the mempool) is a different batch.
        mapping(bytes32 => Batch) storage batches = _batches[agency];
        uint64 existing = batches[root].seq;
        if (existing != 0) revert EvidenceRegistryRootAlreadyAnchored(agency, root, existing);
        bytes32 last = _latestRoot[agency];
        if (prevRoot != last) revert EvidenceRegistryUnexpectedPrevRoot(agency, last, prevRoot);

        if (last == bytes32(0)) {
            seq = 1;
        } else {
            uint64 lastSeq = batches[last].seq;
            // Zero only for a checkpoint root (an earlier registry's batch): continue its numbering.
            seq = (lastSeq != 0 ? lastSeq : _checkpoints[agency].seq) + 1;
        }
        batches[root] = Batch({
            prevRoot: prevRoot,
            seq: seq,
            size: size,
            firstCapturedAt: firstCapturedAt,
            lastCapturedAt: lastCapturedAt,
            anchoredAt: uint64(block.timestamp),
            blockNumber: uint64(block.number),
            cosignerCount: 0,
            notarizedAt: 0
        });
        _latestRoot[agency] = root;
        emit BatchAnchored(agency, seq, root, size, prevRoot, firstCapturedAt, lastCapturedAt);
    }

    /// @inheritdoc IEvidenceRegistry
    function cosign(bytes32 agency, bytes32 root, Attestation[] calldata attestations) external {
        Batch storage slot = _batches[agency][root];
        Batch memory stored = slot;
        if (stored.anchoredAt == 0) revert EvidenceRegistryBatchNotAnchored(agency, root);
        if (attestations.length == 0) revert EvidenceRegistryNoAttestations();

        uint256 threshold = _notaryThreshold;
        uint64 count = stored.cosignerCount;
        bool notarized = stored.notarizedAt != 0;
        address previous = address(0);

        for (uint256 i = 0; i < attestations.length; ++i) {
            Attestation calldata attestation = attestations[i];
            address signer = _checkAttestation(agency, root, stored, i, attestation, previous);
            previous = signer;

            // Idempotent resubmission: a notary counts once per batch; its first attestation stays.
            if (_attestedAt[agency][root][signer] != 0) continue;

            _attestedAt[agency][root][signer] = attestation.attestedAt;
            _cosignerAt[agency][root][count] = signer;
            slot.cosignerCount = ++count;
            emit BatchCosigned(agency, root, signer, attestation.attestedAt, attestation.signature);

            if (!notarized && count >= threshold) {
                notarized = true;
                slot.notarizedAt = uint64(block.timestamp);
                emit BatchNotarized(agency, root, count);
            }
        }
    }

    /// @inheritdoc IEvidenceRegistry
    function batch(bytes32 agency, bytes32 root) external view returns (Batch memory) {
        return _batches[agency][root];
    }

    /// @inheritdoc IEvidenceRegistry
    function latest(bytes32 agency) external view returns (uint64 seq, bytes32 root) {
        root = _latestRoot[agency];
        seq = _batches[agency][root].seq;
        if (seq == 0 && root != bytes32(0)) seq = _checkpoints[agency].seq;
    }

    /// @inheritdoc IEvidenceRegistry
    function isNotarized(bytes32 agency, bytes32 root) external view returns (bool) {
        // Unknown batches have no co-signers and the threshold is at least 1.
        return _batches[agency][root].cosignerCount >= _notaryThreshold;
    }

    /// @inheritdoc IEvidenceRegistry
    function cosigners(bytes32 agency, bytes32 root) external view returns (address[] memory notaries) {
        uint256 count = _batches[agency][root].cosignerCount;
        notaries = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            notaries[i] = _cosignerAt[agency][root][i];
        }
    }

    /// @inheritdoc IEvidenceRegistry
    function attestedAt(bytes32 agency, bytes32 root, address notary) external view returns (uint64) {
        return _attestedAt[agency][root][notary];
    }

    /// @inheritdoc IEvidenceRegistry
    function attestationDigest(bytes32 agency, bytes32 root, uint64 attestedAt_) external view returns (bytes32) {
        Batch memory stored = _batches[agency][root];
        if (stored.anchoredAt == 0) revert EvidenceRegistryBatchNotAnchored(agency, root);
        return _digest(agency, root, stored, attestedAt_);
    }

    // ─── Devices ─────────────────────────────────────────────────────────────

    /// @inheritdoc IEvidenceRegistry
    function enrollDevice(
        bytes32 agency,
        string calldata deviceId,
        DeviceKind kind,
        bytes32 publicKey,
        uint64 validFrom
    ) external {
        _checkDeviceController(agency);
        bytes32 deviceHash = _deviceHash(deviceId);
        if (kind == DeviceKind.None) revert EvidenceRegistryInvalidDeviceKind(kind);
        if (publicKey == bytes32(0)) revert EvidenceRegistryZeroDeviceKey();
        Device storage d = _devices[agency][deviceHash];
        if (d.kind != DeviceKind.None) revert EvidenceRegistryDeviceAlreadyEnrolled(agency, deviceHash);
        d.kind = kind;
        d.keyCount = 1;
        d.enrolledAt = uint64(block.timestamp);
        _deviceKeys[agency][deviceHash][0] = DeviceKey({
            publicKey: publicKey,
            validFrom: validFrom,
            validUntil: 0,
            compromisedAt: 0,
            revokedAt: 0
        });
        emit DeviceEnrolled(agency, deviceHash, deviceId, kind, publicKey, validFrom);
    }

    /// @inheritdoc IEvidenceRegistry
    function rotateDeviceKey(
        bytes32 agency,
        string calldata deviceId,
        bytes32 publicKey,
        uint64 validFrom
    ) external returns (uint32 keyIndex) {
        _checkDeviceController(agency);
        bytes32 deviceHash = _deviceHash(deviceId);
        Device storage d = _devices[agency][deviceHash];
        if (d.kind == DeviceKind.None) revert EvidenceRegistryDeviceNotEnrolled(agency, deviceHash);
        if (publicKey == bytes32(0)) revert EvidenceRegistryZeroDeviceKey();
        keyIndex = d.keyCount;
        DeviceKey storage current = _deviceKeys[agency][deviceHash][keyIndex - 1];
        if (validFrom <= current.validFrom) revert EvidenceRegistryInvalidValidFrom(validFrom, current.validFrom);
        // A revoked key keeps its revocation; otherwise it signs until the new key takes over.
        if (current.revokedAt == 0) current.validUntil = validFrom;
        _deviceKeys[agency][deviceHash][keyIndex] = DeviceKey({
            publicKey: publicKey,
            validFrom: validFrom,
            validUntil: 0,
            compromisedAt: 0,
            revokedAt: 0
        });
        d.keyCount = keyIndex + 1;
        emit DeviceKeyRotated(agency, deviceHash, deviceId, keyIndex, publicKey, validFrom);
    }

    /// @inheritdoc IEvidenceRegistry
    function revokeDeviceKey(
        bytes32 agency,
        string calldata deviceId,
        uint32 keyIndex,
        uint64 compromisedAt,
        string calldata reason
    ) external {
        _checkDeviceController(agency);
        bytes32 deviceHash = _deviceHash(deviceId);
        Device storage d = _devices[agency][deviceHash];
        if (d.kind == DeviceKind.None) revert EvidenceRegistryDeviceNotEnrolled(agency, deviceHash);
        if (keyIndex >= d.keyCount) revert EvidenceRegistryUnknownDeviceKey(agency, deviceHash, keyIndex, d.keyCount);
        DeviceKey storage key = _deviceKeys[agency][deviceHash][keyIndex];
        if (key.revokedAt != 0) revert EvidenceRegistryDeviceKeyAlreadyRevoked(agency, deviceHash, keyIndex, key.revokedAt);
        if (compromisedAt > block.timestamp) revert EvidenceRegistryCompromiseInFuture(compromisedAt, uint64(block.timestamp));
        _checkName(reason);
        key.compromisedAt = compromisedAt;
        key.revokedAt = uint64(block.timestamp);
        emit DeviceKeyRevoked(agency, deviceHash, deviceId, keyIndex, key.publicKey, compromisedAt, reason);
    }

    /// @inheritdoc IEvidenceRegistry
    function device(bytes32 agency, bytes32 deviceHash) external view returns (Device memory) {
        return _devices[agency][deviceHash];
    }

    /// @inheritdoc IEvidenceRegistry
    function deviceKeys(bytes32 agency, bytes32 deviceHash) external view returns (DeviceKey[] memory keys) {
        uint256 count = _devices[agency][deviceHash].keyCount;
        keys = new DeviceKey[](count);
        for (uint256 i = 0; i < count; ++i) {
            keys[i] = _deviceKeys[agency][deviceHash][i];
        }
    }

    /// @inheritdoc IEvidenceRegistry
    function verifyInclusion(
        bytes32 root,
        bytes32 leaf,
        uint256 index,
        uint256 size,
        bytes32[] calldata proof
    ) external pure returns (bool) {
        // RFC 9162 §2.1.3.2, step by step.
        if (index >= size) return false;
        uint256 fn = index;
        uint256 sn = size - 1;
        bytes32 r = leaf;
        for (uint256 i = 0; i < proof.length; ++i) {
            if (sn == 0) return false;
            if (fn & 1 == 1 || fn == sn) {
                r = sha256(abi.encodePacked(bytes1(0x01), proof[i], r));
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                r = sha256(abi.encodePacked(bytes1(0x01), r, proof[i]));
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r == root;
    }

    // ─── ERC-165 ─────────────────────────────────────────────────────────────

    /// @dev Also advertises {IEvidenceRegistry}.
    function supportsInterface(bytes4 interfaceId) public view virtual override returns (bool) {
        return interfaceId == type(IEvidenceRegistry).interfaceId || super.supportsInterface(interfaceId);
    }

    // ─── Role bookkeeping ────────────────────────────────────────────────────

    /**
     * @dev Counts notaries, and lets `AGENCY_ROLE` be granted only to bound addresses.
     *
     * Requirements:
     *
     * - if `role` is `AGENCY_ROLE`, `account` must be bound to an agency.
     */
    function _grantRole(bytes32 role, address account) internal virtual override returns (bool) {
        if (role == AGENCY_ROLE && _agencyOf[account] == bytes32(0)) {
            revert EvidenceRegistryAgencyNotBound(account);
        }
        bool granted = super._grantRole(role, account);
        if (granted && role == NOTARY_ROLE) {
            ++_notaryCount;
        }
        return granted;
    }

    /**
     * @dev Counts notaries, and removes an agency binding together with `AGENCY_ROLE`.
     *
     * Requirements:
     *
     * - if `role` is `NOTARY_ROLE`, the remaining notaries must still reach the threshold.
     *
     * Emits {AgencyUnbound} when an agency binding is removed.
     */
    function _revokeRole(bytes32 role, address account) internal virtual override returns (bool) {
        if (role == NOTARY_ROLE && hasRole(role, account) && _notaryCount - 1 < _notaryThreshold) {
            revert EvidenceRegistryUnreachableNotaryThreshold(_notaryCount - 1, _notaryThreshold);
        }
        bool revoked = super._revokeRole(role, account);
        if (revoked) {
            if (role == NOTARY_ROLE) {
                --_notaryCount;
            } else if (role == AGENCY_ROLE) {
                bytes32 agency = _agencyOf[account];
                delete _agencyOf[account];
                emit AgencyUnbound(account, agency);
            }
        }
        return revoked;
    }

    // ─── Checks ──────────────────────────────────────────────────────────────

    /// @dev Reverts unless the caller is bound to `agency` or holds `DEFAULT_ADMIN_ROLE` (governance).
    function _checkDeviceController(bytes32 agency) private view {
        if (agency == bytes32(0)) revert EvidenceRegistryZeroAgency();
        if (_agencyOf[msg.sender] != agency && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert EvidenceRegistryNotDeviceController(msg.sender, agency);
        }
    }

    /// @dev `keccak256(bytes(deviceId))`, after checking the id's length.
    function _deviceHash(string calldata deviceId) private pure returns (bytes32) {
        uint256 length = bytes(deviceId).length;
        if (length == 0 || length > MAX_DEVICE_ID_LENGTH) revert EvidenceRegistryInvalidDeviceId(length);
        return keccak256(bytes(deviceId));
    }

    /// @dev Reverts when `name` (a display name or revocation reason) is longer than {MAX_NAME_LENGTH} bytes.
    function _checkName(string calldata name) private pure {
        uint256 length = bytes(name).length;
        if (length > MAX_NAME_LENGTH) revert EvidenceRegistryNameTooLong(length, MAX_NAME_LENGTH);
    }

    // ─── Signatures ──────────────────────────────────────────────────────────

    /**
     * @dev Checks attestation `index` of a {cosign} call on the stored batch `root` of `agency`
     * and returns its signer; `previous` is the signer of the attestation before it (zero for the first).
     */
    function _checkAttestation(
        bytes32 agency,
        bytes32 root,
        Batch memory stored,
        uint256 index,
        Attestation calldata attestation,
        address previous
    ) private view returns (address signer) {
        uint64 at = attestation.attestedAt;
        signer = _recover(index, _digest(agency, root, stored, at), attestation.signature);
        if (signer <= previous) {
            if (signer == previous) revert EvidenceRegistryDuplicateSigner(index, signer);
            revert EvidenceRegistryUnsortedSigners(index, previous, signer);
        }
        if (!hasRole(NOTARY_ROLE, signer)) revert EvidenceRegistryNotNotary(index, signer);
        uint64 latestAllowed = uint64(block.timestamp) + ATTESTATION_CLOCK_SKEW;
        if (at > latestAllowed) revert EvidenceRegistryAttestationInFuture(index, at, latestAllowed);
        // At least 1, so that a recorded attestedAt is never 0 (0 means "did not co-sign").
        uint64 earliestAllowed = stored.anchoredAt > ATTESTATION_CLOCK_SKEW
            ? stored.anchoredAt - ATTESTATION_CLOCK_SKEW
            : 1;
        if (at < earliestAllowed) revert EvidenceRegistryAttestationBeforeAnchor(index, at, earliestAllowed);
    }

    /// @dev EIP-712 digest of `BatchAttestation` for `root` of `agency`, with every other field from the stored batch.
    function _digest(bytes32 agency, bytes32 root, Batch memory stored, uint64 attestedAt_) private view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        BATCH_ATTESTATION_TYPEHASH,
                        root,
                        agency,
                        stored.seq,
                        stored.size,
                        stored.prevRoot,
                        attestedAt_
                    )
                )
            );
    }

    /// @dev Recovers the signer of `digest` with OpenZeppelin's ECDSA (65 bytes, low s, v in {27, 28}),
    /// reverting with this contract's errors, which name the attestation `index`.
    function _recover(uint256 index, bytes32 digest, bytes calldata signature) private pure returns (address) {
        (address signer, ECDSA.RecoverError err, bytes32 arg) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.InvalidSignatureLength) {
            revert EvidenceRegistryInvalidSignatureLength(index, uint256(arg));
        }
        if (err == ECDSA.RecoverError.InvalidSignatureS) revert EvidenceRegistryInvalidSignatureS(index, arg);
        if (err != ECDSA.RecoverError.NoError) revert EvidenceRegistryInvalidSignature(index);
        return signer;
    }
}
