import { errorResponses } from '../../http/docs.js';
import { leafParams } from '../../http/ids.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import type { Context } from '../../context.js';
import { getPublicVerdict, postVerify } from './handler.js';
import { publicVerdictSchema, verdictSchema, verifyFormSchema, verifyJsonSchema } from './schema.js';

export function verifyRoutes(app: Context): RouteSpec[] {
  const post: RouteSpec = defineRoute({
    method: 'post',
    path: '/v1/verify',
    tag: 'verify',
    summary: 'Verify a receipt (and a file, or its SHA-256): the verdict of `liuhen verify`',
    description:
      'Anyone. JSON {receipt, sha256?} or multipart (receipt, then file or sha256). A malformed receipt is a 400 (INVALID_RECEIPT, RECEIPT_FORMAT_UNKNOWN); a receipt that does not hold is a 200 verdict with status "failed" naming the check (e.g. CONTENT_MISMATCH).',
    access: 'public',
    before: [app.verifyLimiter],
    minBytesPerSecond: app.config.http.verifyMinBytesPerSecond,
    body: verifyJsonSchema,
    multipart: verifyFormSchema,
    bodyIssueCode: (path) => (path[0] === 'receipt' ? 'INVALID_RECEIPT' : undefined),
    responses: { 200: { description: 'the verdict', schema: verdictSchema }, ...errorResponses(400, 413, 415, 429) },
    handler: (ctx, req, res) => postVerify(ctx, post, req, res),
  });
  return [
    post,
    defineRoute({
      method: 'get',
      path: '/v1/verify/:leaf',
      tag: 'verify',
      summary: 'Public verdict for a record by its leaf (the QR link): agency, times, anchor, notaries, unaltered — no personal data',
      access: 'public',
      // It discloses no personal data: its reads are audited aggregated per leaf and
      // minute (handler.ts, audit.ts), not one record per request (issue 11, goal 1).
      audit: false,
      before: [app.verifyLimiter],
      params: leafParams,
      responses: { 200: { description: 'the public verdict', schema: publicVerdictSchema }, ...errorResponses(400, 404, 429) },
      handler: getPublicVerdict,
    }),
  ];
}
