import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { pino, type DestinationStream, type Level, type Logger as Pino } from 'pino';
import type { Logger } from './deps.js';
import { clientAddress } from './http/client-address.js';

/**
 * Structured logs (issue 14): pino, JSON lines on stderr, with levels that
 * work (`LIUHEN_LOG_LEVEL`: fatal, error, warn, info — the default —, debug,
 * trace, silent), and an access log (`accessLog`) whose request id is also the
 * `X-Request-Id` response header, the `requestId` of error bodies and the
 * `request` of audit entries — one id to follow a request everywhere.
 *
 * Secrets are never logged: request headers are not logged at all (only
 * method, path without the query, status, time, client address), and every
 * field whose name says secret (token, passphrase, password, key, secret,
 * authorization, cookie, mnemonic) is censored wherever it appears in a
 * log call's fields, at any depth. test/system/no-secrets.test.ts greps a
 * whole `liuhen start` run for the tokens and passphrases it used.
 */
export const LOG_LEVEL_ENV = 'LIUHEN_LOG_LEVEL';

const LEVELS: readonly (Level | 'silent')[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Field names whose values are never written (matched case-insensitively, at any depth). */
const SECRET_KEY = /token|passphrase|password|secret|authorization|cookie|mnemonic|privatekey|^key$|apikey/i;

/** A copy with secret-named fields censored (depth-bounded; cycles cut). */
export function redactSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { type: value.name, message: value.message, ...(value.stack ? { stack: value.stack } : {}) };
  if (depth > 6 || seen.has(value)) return '[…]';
  seen.add(value);
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redactSecrets(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && k !== 'tokenId' ? '[redacted]' : redactSecrets(v, depth + 1, seen);
  return out;
}

export interface LiuhenLogger extends Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  /** The pino instance under it (for the access log). */
  readonly pino: Pino;
}

export interface CreateLoggerOptions {
  /** @default LIUHEN_LOG_LEVEL, else 'info' */
  level?: string;
  /** @default stderr (fd 2), written synchronously so nothing is lost on exit */
  destination?: DestinationStream;
  /** Fields on every line (e.g. `{ component: 'gateway' }`). */
  base?: Record<string, unknown>;
}

/** The level to use: `level`, else LIUHEN_LOG_LEVEL, else info; an unknown name is refused. */
export function logLevel(level = process.env[LOG_LEVEL_ENV]): Level | 'silent' {
  const l = (level ?? 'info').trim().toLowerCase();
  if (!(LEVELS as readonly string[]).includes(l)) throw new Error(`${LOG_LEVEL_ENV} must be one of ${LEVELS.join(', ')} (got ${l.slice(0, 20)})`);
  return l as Level | 'silent';
}

export function createLogger(o: CreateLoggerOptions = {}): LiuhenLogger {
  const p = pino(
    {
      level: logLevel(o.level),
      base: { pid: process.pid, ...o.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'message',
      formatters: { level: (label) => ({ level: label }) },
      // Belt and braces: the paths the access log could ever carry.
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
    },
    o.destination ?? pino.destination({ fd: 2, sync: true }),
  );
  return wrap(p);
}

function wrap(p: Pino): LiuhenLogger {
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) => {
    if (!p.isLevelEnabled(level)) return;
    if (fields) p[level](redactSecrets(fields) as object, message);
    else p[level](message);
  };
  return { pino: p, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The default logger of the gateway and `liuhen start`: pino on stderr at LIUHEN_LOG_LEVEL (info). */
let shared: LiuhenLogger | undefined;
export function defaultLogger(): LiuhenLogger {
  return (shared ??= createLogger());
}

const REQUEST_ID = /^[\w.:-]{8,128}$/;
/** Path segments that are secrets themselves: a feedback tracking code works like a password (only its hash is stored). */
const SECRET_IN_PATH = /^(\/v1\/feedback\/status\/)[^/]+/;

/**
 * The access log and request ids. A well-formed incoming `X-Request-Id` (from
 * a reverse proxy) is kept, so proxy and gateway logs share it; otherwise a
 * fresh UUID. One line per request once it is over:
 * `{req: {id, method, path, from}, res: {status}, ms}` — never a header, never
 * the query, never a feedback tracking code. A client that went away before its answer was sent is logged
 * with status 499 (nginx's "client closed request"), as the audit trail does.
 * Without a pino logger (tests with `silentLogger`) or below level info, the
 * ids are still made and nothing else is done: this runs on every request,
 * a thousand public verdicts a second (issue 11), so it is kept to a header
 * and one listener (pino-http, used before, made a child logger per request).
 */
export function accessLog(logger: Logger): RequestHandler {
  const p = (logger as Partial<LiuhenLogger>).pino;
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    (req as IncomingMessage & { id?: string }).id = id;
    res.setHeader('X-Request-Id', id);
    if (p?.isLevelEnabled('info')) {
      const started = performance.now();
      const method = req.method;
      const path = req.originalUrl.split('?')[0]!.replace(SECRET_IN_PATH, '$1[redacted]');
      res.once('close', () => {
        const status = res.writableFinished || res.headersSent ? res.statusCode : 499;
        const line = {
          req: { id, method, path, from: clientAddress(req) },
          // An answer cut off after its headers (a download the client abandoned) says so.
          res: res.writableFinished ? { status } : { status, incomplete: true },
          ms: Math.round(performance.now() - started),
        };
        const message = `${method} ${path} ${status}`;
        if (status >= 500) p.error(line, message);
        else p.info(line, message);
      });
    }
    next();
  };
}

/** The request id the access log gave this request (undefined outside the gateway). */
export function requestIdOf(req: IncomingMessage): string | undefined {
  const id = (req as IncomingMessage & { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}
