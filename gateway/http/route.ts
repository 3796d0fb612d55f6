import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { describeIssues, isLiuhenError, LiuhenError, type ErrorCode } from '../../src/index.js';
import type { AuditEntry } from '../audit/trail.js';
import type { AuthResult, Principal, Role } from '../auth/tokens.js';
import type { Context } from '../context.js';
import { readJson } from './body.js';
import { setMinDataRate } from './rate.js';
import { releaseRateLimit } from './rate-limit.js';
import { requestIdOf } from '../logging.js';
import { clientAddress } from './client-address.js';

/**
 * A route is declared once, as data: its path, who may call it, the zod
 * schemas of its params, query and body, and its handler. `mount` turns the
 * declaration into Express middleware (auth → validation → handler, with
 * audit on the way out); `openapi.ts` turns the same declarations into the
 * OpenAPI document.
 */
export type Access = 'public' | readonly Role[];

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** Media type when not JSON (content download). */
  contentType?: string;
}

export interface RouteSpec<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'delete';
  /** Express path, e.g. `/v1/records/:id`. */
  path: string;
  summary: string;
  description?: string;
  /** OpenAPI operationId (default: method + path, e.g. getRecordsByIdReceipt). */
  operationId?: string;
  tag: string;
  access: Access;
  /** Write an audit entry for every call (refused authorisations are audited on every route that checks a token). */
  audit?: boolean;
  /** Minimum body data rate of this route (bytes/s), instead of the gateway's `http.minBytesPerSecond`. */
  minBytesPerSecond?: number;
  /** Extra per-route middleware before auth (e.g. the public verification rate limit). */
  before?: RequestHandler[];
  params?: P;
  query?: Q;
  /** JSON body, read and validated before the handler (unless `multipart` is set: then the handler reads the body). */
  body?: B;
  /** Documented multipart form (the handler streams it). */
  multipart?: z.ZodType;
  /** Maps a body validation issue path to a code other than INVALID_INPUT (e.g. receipts → INVALID_RECEIPT). */
  bodyIssueCode?: (path: readonly PropertyKey[]) => ErrorCode | undefined;
  responses: Record<number, ResponseSpec>;
  handler: (ctx: HandlerContext<z.output<P>, z.output<Q>, z.output<B>>, req: Request, res: Response) => Promise<void>;
}

export interface HandlerContext<P, Q, B> {
  app: Context;
  params: P;
  query: Q;
  body: B;
  /** Set for non-public routes. */
  principal: Principal;
  /** Ids to name in the audit entry (params are added automatically). */
  auditIds: Record<string, string>;
}

/** Keeps the spec's generic types tied to the handler. */
export function defineRoute<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType>(
  spec: RouteSpec<P, Q, B>,
): RouteSpec {
  return spec as unknown as RouteSpec;
}

interface Locals {
  principal?: Principal;
  authFailure?: AuditEntry['who']['presented'];
  failedTokenId?: string;
  auditIds: Record<string, string>;
  errorCode?: string;
}

const locals = (res: Response): Locals => res.locals as Locals;

/** Records the error code of a failed response for the audit entry. */
export function noteError(res: Response, err: unknown): void {
  if (isLiuhenError(err)) locals(res).errorCode = err.code;
}

export function mount(router: Router, spec: RouteSpec, app: Context): void {
  const chain: RequestHandler[] = [
    (req, res, next) => {
      locals(res).auditIds = {};
      if (spec.minBytesPerSecond !== undefined) setMinDataRate(res, spec.minBytesPerSecond);
      // A public route checks no token, so it has no refused authorisation to audit either
      // (none of them answers 401/403; one that would must set `audit`).
      if (spec.audit || spec.access !== 'public') watchForAudit(req, res, spec, app);
      next();
    },
    ...(spec.before ?? []),
  ];
  if (spec.access !== 'public') chain.push(app.authFailureLimiter, authorize(spec.access, app));
  chain.push(
    asyncHandler(async (req, res) => {
      const ctx: HandlerContext<unknown, unknown, unknown> = {
        app,
        params: parse(spec.params, req.params ?? {}, 'INVALID_INPUT', 'path'),
        query: parse(spec.query, { ...(req.query as object) }, 'INVALID_INPUT', 'query'),
        body: undefined,
        principal: locals(res).principal!,
        auditIds: locals(res).auditIds,
      };
      for (const [k, v] of Object.entries(ctx.params as Record<string, unknown>)) if (typeof v === 'string') ctx.auditIds[k] = v;
      if (spec.body && !spec.multipart) {
        const raw = await readJson(req, app.config.limits.jsonBytes);
        ctx.body = parseBody(spec, raw);
      }
      // Downstream code sees only parsed values.
      req.params = ctx.params as Request['params'];
      Object.defineProperty(req, 'query', { value: ctx.query, writable: true, configurable: true, enumerable: true });
      req.body = ctx.body;
      if (spec.audit && spec.method === 'get') {
        // A read of evidence is on record before a byte of it leaves: if the
        // audit trail cannot be written, the read is refused (503), never served unrecorded.
        const p = ctx.principal as Principal | undefined;
        try {
          await app.audit.writeDurable({
            who: p ? { token: p.tokenId, role: p.role, ...(p.agency ? { agency: p.agency } : {}) } : { token: null, role: null },
            what: { method: req.method, route: spec.path, ids: { ...ctx.auditIds } },
            when: app.clock().toISOString(),
            from: clientAddress(req),
            outcome: { status: 0, complete: false },
            phase: 'access',
            ...(requestIdOf(req) ? { request: requestIdOf(req) } : {}),
          });
        } catch (cause) {
          throw new LiuhenError('AUDIT_UNAVAILABLE', 'the audit trail cannot be written, so this read is refused; try again later', { cause });
        }
      }
      await spec.handler(ctx, req, res);
    }),
  );
  router[spec.method](spec.path, ...chain);
}

export function parseBody(spec: RouteSpec, raw: unknown): unknown {
  if (!spec.body) return undefined;
  const r = spec.body.safeParse(raw);
  if (r.success) return r.data;
  const code = r.error.issues.map((i) => spec.bodyIssueCode?.(i.path)).find((c) => c !== undefined) ?? 'INVALID_INPUT';
  throw issuesError(code, 'body', r.error);
}

function parse(schema: z.ZodType | undefined, value: unknown, code: ErrorCode, what: string): unknown {
  if (!schema) {
    // No schema: nothing may be given.
    if (value && typeof value === 'object' && Object.keys(value).length > 0)
      throw new LiuhenError(code, `this route takes no ${what} parameters (got ${Object.keys(value).slice(0, 3).join(', ')})`);
    return {};
  }
  const r = schema.safeParse(value);
  if (!r.success) throw issuesError(code, what, r.error);
  return r.data;
}

function issuesError(code: ErrorCode, what: string, error: z.ZodError): LiuhenError {
  return new LiuhenError(code, `invalid ${what}: ${describeIssues(error)}`, {
    details: { issues: error.issues.slice(0, 8).map((i) => ({ path: i.path.map(String), message: i.message })) },
  });
}

/** Bearer token → principal; then the role check. Both failures are audited (see watchForAudit). */
function authorize(access: readonly Role[], app: Context): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization;
    const bearer = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{1,200})$/.exec(header) : null;
    const r: AuthResult =
      header === undefined ? { ok: false, reason: 'missing' } : bearer ? app.tokens.authenticate(bearer[1]) : { ok: false, reason: 'malformed' };
    if (!r.ok) {
      locals(res).authFailure = r.reason;
      if (r.tokenId) locals(res).failedTokenId = r.tokenId;
      res.set('WWW-Authenticate', 'Bearer realm="liuhen"');
      const why = {
        missing: 'send Authorization: Bearer <token>',
        malformed: 'the token is malformed',
        unknown: 'the token is not valid',
        revoked: 'the token was revoked',
      }[r.reason];
      next(new LiuhenError('UNAUTHORIZED', `authentication required: ${why}`));
      return;
    }
    locals(res).principal = r.principal;
    if (!access.includes(r.principal.role)) {
      next(new LiuhenError('FORBIDDEN', `a ${r.principal.role} token may not ${req.method} this route (allowed: ${access.join(', ')})`));
      return;
    }
    // Not a failed authorisation: a long upload or download must not hold the address's failure count.
    releaseRateLimit(res);
    next();
  };
}

/** Agency tokens reach only their own agency's data. */
export function assertAgencyScope(principal: Principal, agency: string): void {
  if (principal.role === 'agency' && principal.agency !== agency) {
    throw new LiuhenError('FORBIDDEN', `this token belongs to agency ${principal.agency}; the resource belongs to another agency`);
  }
}

function watchForAudit(req: Request, res: Response, spec: RouteSpec, app: Context): void {
  let done = false;
  const write = () => {
    if (done) return;
    done = true;
    // Closed before a response started: the client went away (nginx's 499).
    const status = !res.writableFinished && !res.headersSent ? 499 : res.statusCode;
    const l = locals(res);
    if (!spec.audit && status !== 401 && status !== 403) return;
    const p = l.principal;
    app.audit.write({
      who: p
        ? { token: p.tokenId, role: p.role, ...(p.agency ? { agency: p.agency } : {}) }
        : { token: l.failedTokenId ?? null, role: null, ...(l.authFailure ? { presented: l.authFailure } : {}) },
      what: { method: req.method, route: spec.path, ids: l.auditIds },
      when: app.clock().toISOString(),
      from: clientAddress(req),
      outcome: { status, ...(l.errorCode ? { code: l.errorCode } : {}), complete: res.writableFinished },
      ...(requestIdOf(req) ? { request: requestIdOf(req) } : {}),
    });
  };
  res.once('finish', write);
  res.once('close', write);
}

export function asyncHandler(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    fn(req, res).catch(next);
  };
}
