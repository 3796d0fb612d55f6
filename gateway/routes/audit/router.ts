import type { Request, Response } from 'express';
import { z } from 'zod';
import { errorResponses } from '../../http/docs.js';
import { queryInt } from '../../http/ids.js';
import { defineRoute, type HandlerContext, type RouteSpec } from '../../http/route.js';

export const auditQuery = z
  .strictObject({
    after: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
    before: queryInt(1, Number.MAX_SAFE_INTEGER).optional(),
    limit: queryInt(1, 500).default(100),
  })
  .refine((q) => q.after === undefined || q.before === undefined, 'give after or before, not both');

export const auditPageSchema = z
  .object({
    entries: z.array(
      z.object({
        seq: z.number(),
        id: z.string().describe('the audit record (a journaled record of device gateway-audit)'),
        leaf: z.string(),
        who: z.object({ token: z.string().nullable(), role: z.string().nullable(), agency: z.string().optional(), presented: z.string().optional() }),
        what: z.object({ method: z.string(), route: z.string(), ids: z.record(z.string(), z.string()) }),
        when: z.string(),
        from: z.string(),
        outcome: z.object({ status: z.number(), code: z.string().optional(), complete: z.boolean() }),
        request: z.string().optional().describe('the request id (X-Request-Id)'),
      }),
    ),
    next: z.union([z.object({ after: z.number() }), z.object({ before: z.number() })]).nullable(),
  })
  .meta({ id: 'AuditPage' });

async function page(
  ctx: HandlerContext<unknown, { after?: number | undefined; before?: number | undefined; limit: number }, unknown>,
  _req: Request,
  res: Response,
): Promise<void> {
  res.set('Cache-Control', 'no-store');
  res.json(await ctx.app.audit.page(ctx.query));
}

export const auditRoutes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/audit',
    tag: 'audit',
    summary: 'The audit trail (journaled and anchored like evidence), newest first, or ascending with ?after=seq',
    access: ['admin'],
    audit: true,
    query: auditQuery,
    responses: { 200: { description: 'a page of audit entries', schema: auditPageSchema }, ...errorResponses(400, 401, 403) },
    handler: page,
  }),
];
