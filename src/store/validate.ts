/**
 * Input checks for the evidence store. Everything that arrives from a caller
 * or from the network passes through here first and fails with a coded error
 * that names the field, never the secret.
 */
import { CID } from 'multiformats/cid';
import { fail } from '../errors.js';

/** Longest accepted record id, in bytes (a ULID is 26). */
export const MAX_RECORD_ID_BYTES = 128;
/** Agency codes fit a Solidity `bytes32` string: at most 31 ASCII bytes. */
export const MAX_AGENCY_BYTES = 31;
/** Key ids name a KEK in a keyring or a KMS (an ARN fits). */
export const MAX_KEY_ID_BYTES = 255;

const PRINTABLE = /^[\x21-\x7e]+$/;

/** Codecs an evidence object may use: dag-pb (0x70) nodes and raw (0x55) leaves. */
export const DAG_PB_CODE = 0x70;
export const RAW_CODE = 0x55;
/** sha2-256 multihash code. */
export const SHA2_256_CODE = 0x12;

/**
 * Parse a CID string (or accept a CID) of an evidence object. Requires CIDv1,
 * codec dag-pb or raw, multihash sha2-256 with a 32-byte digest — what
 * `ipfs add --cid-version=1 --raw-leaves` produces. Hostile input: from callers,
 * receipts and HTTP requests.
 */
export function parseCid(value: unknown, what = 'cid'): CID {
  let cid: CID | null = null;
  if (typeof value === 'string') {
    if (value.length === 0 || value.length > 200) fail('INVALID_INPUT', `${what} must be a CIDv1 string`);
    try {
      cid = CID.parse(value);
    } catch (cause) {
      fail('INVALID_INPUT', `${what} is not a valid CID`, { details: { [what]: value }, cause });
    }
  } else {
    cid = CID.asCID(value);
  }
  if (cid === null) fail('INVALID_INPUT', `${what} must be a CIDv1 string`);
  if (cid.version !== 1) {
    fail('INVALID_INPUT', `${what} must be CIDv1 (bafy…/bafk…), got CIDv${cid.version}`, { details: { [what]: cid.toString() } });
  }
  if (cid.code !== DAG_PB_CODE && cid.code !== RAW_CODE) {
    fail('INVALID_INPUT', `${what} must use codec dag-pb or raw, got 0x${cid.code.toString(16)}`, { details: { [what]: cid.toString() } });
  }
  if (cid.multihash.code !== SHA2_256_CODE || cid.multihash.size !== 32) {
    fail('INVALID_INPUT', `${what} must be hashed with sha2-256`, { details: { [what]: cid.toString() } });
  }
  return cid;
}

/** Requires a printable-ASCII record id of 1..128 bytes (e.g. a ULID). */
export function checkRecordId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RECORD_ID_BYTES || !PRINTABLE.test(value)) {
    fail('INVALID_INPUT', `recordId must be 1..${MAX_RECORD_ID_BYTES} printable ASCII characters without spaces`);
  }
  return value;
}

/** Requires an agency code of 1..31 printable ASCII bytes (DESIGN.md: fits bytes32). */
export function checkAgency(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_AGENCY_BYTES || !PRINTABLE.test(value)) {
    fail('INVALID_INPUT', `agency must be 1..${MAX_AGENCY_BYTES} printable ASCII characters without spaces`);
  }
  return value;
}

/** Requires a key id of 1..255 printable ASCII bytes. */
export function checkKeyId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_ID_BYTES || !PRINTABLE.test(value)) {
    fail('STORE_KEY', `key id must be 1..${MAX_KEY_ID_BYTES} printable ASCII characters`);
  }
  return value;
}

/**
 * Normalises a SHA-256 digest to lowercase hex without `0x` (as `sha256sum`
 * prints it). Accepts an optional `0x` prefix; rejects anything else.
 */
export function normaliseSha256(value: unknown, what = 'expectedSha256'): string {
  if (typeof value !== 'string') fail('INVALID_INPUT', `${what} must be 64 hex characters`);
  const hex = value.startsWith('0x') ? value.slice(2) : value;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) fail('INVALID_INPUT', `${what} must be 64 hex characters`);
  return hex.toLowerCase();
}
