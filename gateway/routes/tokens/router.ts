import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Role } from '../../auth/tokens.js';
import { errorResponses } from '../../http/docs.js';
import { httpError } from '../../http/errors.js';
import { defineRoute, type HandlerContext, type RouteSpec } from '../../http/route.js';
import { createdTokenSchema, createTokenSchema, tokenIdParams, tokenInfoSchema } from './schema.js';

async function create(
  ctx: HandlerContext<unknown, unknown, { role: Role; agency?: string | undefined; label: string }>,
  _req: Request,
  res: Response,
): Promise<void> {
  const b = ctx.body;
  const { token, info } = await ctx.app.tokens.create({
    role: b.role,
    label: b.label,
    createdBy: ctx.principal.tokenId,
    ...(b.agency !== undefined ? { agency: b.agency } : {}),
  });
  ctx.auditIds.created = info.id;
  res.set('Cache-Control', 'no-store');
  res.status(201).json({ ...info, token });
}

async function list(ctx: HandlerContext<unknown, unknown, unknown>, _req: Request, res: Response): Promise<void> {
  res.set('Cache-Control', 'no-store');
  res.json({ tokens: ctx.app.tokens.list() });
}

async function revoke(ctx: HandlerContext<{ id: string }, unknown, unknown>, _req: Request, res: Response): Promise<void> {
  const tokens = ctx.app.tokens;
  const target = tokens.get(ctx.params.id);
  if (!target) throw httpError('NOT_FOUND', `no token with id ${ctx.params.id}`);
  const activeAdmins = tokens.list().filter((t) => t.role === 'admin' && !t.revokedAt);
  if (target.role === 'admin' && !target.revokedAt && activeAdmins.length === 1) {
    throw httpError('INVALID_INPUT', 'this is the last active admin token; create another admin token before revoking it');
  }
  res.json(await tokens.revoke(ctx.params.id));
}

export const tokenRoutes: RouteSpec[] = [
  defineRoute({
    method: 'post',
    path: '/v1/tokens',
    tag: 'tokens',
    summary: 'Create a token (shown once; only its hash is kept)',
    access: ['admin'],
    audit: true,
    body: createTokenSchema,
    responses: { 201: { description: 'the token', schema: createdTokenSchema }, ...errorResponses(400, 401, 403, 413, 415) },
    handler: create,
  }),
  defineRoute({
    method: 'get',
    path: '/v1/tokens',
    tag: 'tokens',
    summary: 'List tokens (ids, roles, labels; never the tokens)',
    access: ['admin'],
    audit: true,
    responses: { 200: { description: 'the tokens', schema: z.object({ tokens: z.array(tokenInfoSchema) }) }, ...errorResponses(401, 403) },
    handler: list,
  }),
  defineRoute({
    method: 'delete',
    path: '/v1/tokens/:id',
    tag: 'tokens',
    summary: 'Revoke a token (effective immediately)',
    access: ['admin'],
    audit: true,
    params: tokenIdParams,
    responses: { 200: { description: 'the revoked token', schema: tokenInfoSchema }, ...errorResponses(400, 401, 403, 404) },
    handler: revoke,
  }),
];
