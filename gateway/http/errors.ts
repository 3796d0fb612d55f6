import type { ErrorRequestHandler, RequestHandler } from 'express';
import { isLiuhenError, LiuhenError, type ErrorCode } from '../../src/index.js';
import type { Logger } from '../deps.js';
import { requestIdOf } from '../logging.js';

/**
 * Coded errors → HTTP. One table, one middleware: every failure leaves as
 * `{"error":{"code","message"}}` with the status below; nothing else (no
 * stack, no internal path) reaches the client.
 */
const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_INPUT: 400,
  INVALID_JSON: 400,
  INVALID_RECORD: 400,
  SIGNATURE_INVALID: 400,
  INVALID_RECEIPT: 400,
  RECEIPT_FORMAT_UNKNOWN: 400,
  INVALID_HEX: 400,
  JCS_UNSUPPORTED_VALUE: 400,
  MERKLE_INDEX_OUT_OF_RANGE: 400,
  MERKLE_WRONG_PROOF_SIZE: 400,
  MERKLE_TREE_TOO_LARGE: 400,
  MERKLE_EMPTY_TREE: 400,
  UPLOAD_INCOMPLETE: 400,
  REQUEST_TOO_SLOW: 408,
  CAPTURE_IN_FUTURE: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  DEVICE_OTHER_AGENCY: 403,
  NOT_FOUND: 404,
  RECORD_NOT_FOUND: 404,
  BATCH_NOT_FOUND: 404,
  ANCHOR_NOT_FOUND: 404,
  STORE_NOT_FOUND: 404,
  RECORD_NOT_SEALED: 409,
  DEVICE_SEQ_EXHAUSTED: 409,
  PAYLOAD_TOO_LARGE: 413,
  STORE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  CHAIN_UNREACHABLE: 503,
  // The node answered with an error that is neither a revert nor a network failure: a bad gateway upstream.
  CHAIN_RPC_ERROR: 502,
  REGISTRY_MISSING: 503,
  STORE_UNAVAILABLE: 503,
  AUDIT_UNAVAILABLE: 503,
  STORE_CLOSED: 503,
  JOURNAL_CLOSED: 503,
  JOURNAL_IO: 503,
  SIGNING_FAILED: 503,
};

/** Codes whose SDK message is safe and useful to a client even though the status is 5xx. */
const TELL_5XX = new Set<ErrorCode>([
  'AUDIT_UNAVAILABLE',
  'STORE_INTEGRITY',
  'STORE_DECRYPT_FAILED',
  'STORE_KEY',
  'REGISTRY_MISSING',
  'CHAIN_UNREACHABLE',
  'CHAIN_RPC_ERROR',
  'STORE_UNAVAILABLE',
]);

const GENERIC_5XX: Partial<Record<ErrorCode, string>> = {
  STORE_INTEGRITY: 'the stored evidence does not match its record: it was altered or damaged; it is not served',
  STORE_DECRYPT_FAILED: 'the stored evidence does not decrypt: it was altered or damaged; it is not served',
  JOURNAL_IO: 'the journal cannot write; try again later',
  JOURNAL_CLOSED: 'the gateway is shutting down; try again later',
  SIGNING_FAILED: 'the record could not be signed; nothing was recorded; try again later',
  STORE_CLOSED: 'the gateway is shutting down; try again later',
};

export function httpStatusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

/** Shorthand for a gateway error. */
export function httpError(code: ErrorCode, message: string, details?: Record<string, unknown>): LiuhenError {
  return new LiuhenError(code, message, details ? { details } : {});
}

/** Body of an error response; `message` never carries a stack or a server path. */
export function errorBody(
  e: LiuhenError,
  dataDir: string,
  requestId?: string,
): { error: { code: string; message: string; details?: unknown; requestId?: string } } {
  const status = httpStatusOf(e.code);
  let message = e.message;
  if (status >= 500 && !TELL_5XX.has(e.code)) message = GENERIC_5XX[e.code] ?? 'internal error; the gateway logged it';
  else if (status >= 500) message = GENERIC_5XX[e.code] ?? message;
  message = scrub(message, dataDir);
  const issues = status < 500 && e.details && Array.isArray(e.details.issues) ? e.details.issues : undefined;
  // The request id ties what the client saw to the access log and the audit trail.
  return { error: { code: e.code, message, ...(issues ? { details: { issues } } : {}), ...(requestId ? { requestId } : {}) } };
}

function scrub(message: string, dataDir: string): string {
  let m = dataDir.length > 1 ? message.split(dataDir).join('<data>') : message;
  m = m.replace(/(?:\/[\w.-]+){2,}/g, '<path>');
  return m.length > 600 ? `${m.slice(0, 600)}…` : m;
}

/** Errors thrown by Express itself or by body readers (they carry `status`/`type`). */
function fromForeign(err: unknown): LiuhenError {
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; name?: unknown };
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (e?.type === 'entity.too.large' || status === 413) return new LiuhenError('PAYLOAD_TOO_LARGE', 'the request body is too large');
  if (e?.type === 'entity.parse.failed') return new LiuhenError('INVALID_JSON', 'the request body is not valid JSON');
  if (err instanceof URIError || (status === 400 && e?.name === 'URIError'))
    return new LiuhenError('INVALID_INPUT', 'the request path is not valid percent-encoding');
  if (status >= 400 && status < 500) return new LiuhenError('INVALID_INPUT', 'the request was not understood');
  return new LiuhenError('INTERNAL', 'internal error', { cause: err });
}

export function errorMiddleware(logger: Logger, dataDir: string, onCode?: (code: string) => void): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = isLiuhenError(err) ? err : fromForeign(err);
    const status = httpStatusOf(e.code);
    res.locals.errorCode = e.code;
    onCode?.(e.code);
    if (status >= 500) {
      const cause = isLiuhenError(err) ? (err.cause as Error | undefined) : (err as Error);
      logger.error('request failed', {
        requestId: requestIdOf(req),
        method: req.method,
        path: req.path,
        code: e.code,
        message: isLiuhenError(err) ? err.message : String((err as Error)?.message ?? err),
        cause: cause?.message,
        stack: cause?.stack ?? (err as Error)?.stack,
      });
    }
    if (res.headersSent) {
      // Part of a body already left (a content download): cut the connection so the client sees an incomplete response, never a complete-looking one.
      res.destroy();
      return;
    }
    // A refused request whose body is still arriving: close the connection after the answer, never keep reading (and waiting for) a body nobody wants (issue 9.6).
    if (status === 413 || status === 408 || e.code === 'UPLOAD_INCOMPLETE' || !req.complete) res.set('Connection', 'close');
    res.status(status).json(errorBody(e, dataDir, requestIdOf(req)));
  };
}

export const notFound: RequestHandler = (_req, _res, next) => next(httpError('NOT_FOUND', 'no such route'));
