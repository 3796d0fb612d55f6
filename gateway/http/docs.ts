import { z } from 'zod';
import type { ResponseSpec } from './route.js';

/** The one error shape of the API. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().describe('stable code, e.g. INVALID_INPUT, UNAUTHORIZED, PAYLOAD_TOO_LARGE'),
      message: z.string().describe('what happened and what to do'),
      details: z.object({ issues: z.array(z.object({ path: z.array(z.string()), message: z.string() })) }).optional(),
      requestId: z.string().optional().describe('the request id: also the X-Request-Id header, the access log line and the audit entry'),
    }),
  })
  .meta({ id: 'Error' });

const WHAT: Record<number, string> = {
  400: 'invalid input (code names it: INVALID_INPUT, INVALID_JSON, INVALID_RECEIPT, …)',
  401: 'no valid token (UNAUTHORIZED)',
  403: 'the token may not do this (FORBIDDEN)',
  404: 'not found (NOT_FOUND)',
  408: 'the body arrived too slowly (REQUEST_TOO_SLOW)',
  409: 'not sealed yet (RECORD_NOT_SEALED)',
  413: 'too large (PAYLOAD_TOO_LARGE)',
  415: 'wrong content type (UNSUPPORTED_MEDIA_TYPE)',
  429: 'rate limited (RATE_LIMITED)',
  500: 'internal or integrity error (e.g. STORE_INTEGRITY)',
  503: 'a dependency is unavailable (STORE_UNAVAILABLE, REGISTRY_MISSING, …)',
};

export function errorResponses(...statuses: number[]): Record<number, ResponseSpec> {
  return Object.fromEntries(statuses.map((s) => [s, { description: WHAT[s] ?? 'error', schema: errorSchema }]));
}
