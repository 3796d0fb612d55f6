/**
 * Coded errors. Every failure a user can meet carries a stable `code` (what
 * happened, for programs) and a message that says what to do (for people).
 * Messages never contain secrets: callers pass only public facts in `details`.
 */
export type ErrorCode =
  // input and formats
  | 'INVALID_INPUT'
  | 'INVALID_RECORD'
  | 'INVALID_RECEIPT'
  | 'RECEIPT_FORMAT_UNKNOWN'
  | 'INVALID_HEX'
  | 'JCS_UNSUPPORTED_VALUE'
  // merkle (RFC 9162 §2.1)
  | 'MERKLE_EMPTY_TREE'
  | 'MERKLE_INDEX_OUT_OF_RANGE'
  | 'MERKLE_WRONG_PROOF_SIZE'
  | 'MERKLE_ROOT_MISMATCH'
  | 'MERKLE_TREE_TOO_LARGE'
  // files and hashing
  | 'FILE_UNREADABLE'
  | 'HASH_ABORTED'
  // keys and signatures
  | 'KEY_INVALID'
  | 'KEY_MISSING'
  | 'KEY_PASSPHRASE_WRONG'
  | 'SIGNATURE_INVALID'
  | 'SIGNING_FAILED'
  // journal
  | 'JOURNAL_LOCKED'
  | 'JOURNAL_CLOSED'
  | 'JOURNAL_CORRUPT'
  | 'JOURNAL_IO'
  | 'RECORD_NOT_FOUND'
  | 'RECORD_NOT_SEALED'
  | 'BATCH_NOT_FOUND'
  | 'NOTHING_TO_SEAL'
  | 'DEVICE_SEQ_EXHAUSTED'
  | 'DEVICE_OTHER_AGENCY'
  | 'CAPTURE_IN_FUTURE'
  // config and CLI
  | 'CONFIG_MISSING'
  | 'CONFIG_INVALID'
  | 'DATA_DIR_EXISTS'
  // backup and restore (src/backup)
  /** An archive that is not a complete, untampered Liuhen backup: a part missing, extra, cut short or not matching its SHA-256. */
  | 'BACKUP_INVALID'
  /** The data folder is in use by a process that cannot take a consistent backup, or the running system did not answer. */
  | 'BACKUP_UNAVAILABLE'
  /** `liuhen restore` into a folder that is not empty, without --force. */
  | 'RESTORE_TARGET_NOT_EMPTY'
  // chain and notary
  | 'CHAIN_UNREACHABLE'
  | 'CHAIN_REVERTED'
  | 'CHAIN_MISMATCH'
  | 'REGISTRY_MISSING'
  | 'REGISTRY_MOVED'
  | 'ANCHOR_NOT_FOUND'
  | 'CHAIN_PORT_IN_USE'
  | 'CHAIN_START_FAILED'
  | 'CHAIN_DIVERGED'
  | 'CHAIN_TX_REJECTED'
  /** The node answered a request with an error that is not a revert (bad parameters, a method it does not serve). */
  | 'CHAIN_RPC_ERROR'
  | 'AGENCY_NOT_BOUND'
  | 'NOTARY_EQUIVOCATION'
  | 'NOTARY_POLICY'
  | 'NOTARY_LOG_MISMATCH'
  | 'NOTARY_UNFUNDED'
  // evidence store
  | 'STORE_NOT_FOUND'
  | 'STORE_UNAVAILABLE'
  | 'STORE_INTEGRITY'
  | 'STORE_DECRYPT_FAILED'
  | 'STORE_KEY'
  | 'STORE_TOO_LARGE'
  | 'STORE_CLOSED'
  | 'STORE_KEYRING_EXISTS'
  // gateway
  | 'AUDIT_UNAVAILABLE'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'INVALID_JSON'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UPLOAD_INCOMPLETE'
  | 'REQUEST_TOO_SLOW'
  | 'INTERNAL';

export interface LiuhenErrorOptions {
  /** Public, non-secret facts that help a reader (numbers, ids, paths). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class LiuhenError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name = 'LiuhenError';
  readonly code: C;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: C, message: string, options: LiuhenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  toJSON(): { code: C; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

/** Type guard: `isLiuhenError(e)` or `isLiuhenError(e, 'MERKLE_ROOT_MISMATCH')`. */
export function isLiuhenError<C extends ErrorCode>(e: unknown, code?: C): e is LiuhenError<C> {
  return e instanceof LiuhenError && (code === undefined || e.code === code);
}

/** Shorthand used across the SDK. */
export function fail<C extends ErrorCode>(code: C, message: string, options?: LiuhenErrorOptions): never {
  throw new LiuhenError(code, message, options);
}
