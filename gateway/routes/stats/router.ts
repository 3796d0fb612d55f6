import { errorResponses } from '../../http/docs.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { overviewSchema, periodQuery } from './schema.js';
import { requestIdOf } from '../../logging.js';
import { aggregateReads, stats } from './service.js';
import { clientAddress } from '../../http/client-address.js';

/** Default period: the 28 days up to and including today. */
export function period(today: string, q: { from?: string; to?: string }): { from: string; to: string } {
  const plus = (d: string, days: number) => new Date(Date.parse(`${d}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
  const to = q.to ?? plus(today, 1);
  return { from: q.from ?? plus(to, -28), to };
}

export const statsRoutes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/stats',
    tag: 'supervision',
    summary:
      'Supervision figures across agencies for a period of capture days (records, cases, devices, late sealing and anchoring, holes, case findings, batches waiting, feedback) — for the city supervision platform',
    description:
      'Maintained incrementally as records, batches and notarizations arrive (never a scan of the journal per request). `asOf` gives the journal position covered. Aggregate figures, no personal data: audited per token and minute (the first read of a minute journaled before it is served, the minute’s total after it), not one audit record per request.',
    access: ['supervisor'],
    // Aggregate figures, no personal data: audited per token and minute (audit.ts) — the first read of
    // a minute durably before it is served, the minute's total after it — not one synced record per poll.
    audit: false,
    query: periodQuery,
    responses: { 200: { description: 'the figures', schema: overviewSchema }, ...errorResponses(400, 401, 403, 503) },
    handler: async (ctx, req, res) => {
      const p = ctx.principal;
      await aggregateReads(ctx.app).read({
        route: '/v1/stats',
        who: { token: p.tokenId, role: p.role, ...(p.agency ? { agency: p.agency } : {}) },
        from: clientAddress(req),
        query: new URLSearchParams(ctx.query as Record<string, string>).toString() || 'default',
        request: requestIdOf(req),
      });
      const s = await stats(ctx.app);
      res.json(
        s.overview({
          ...period(s.today(), ctx.query as { from?: string; to?: string }),
          ...((ctx.query as { agency?: string }).agency ? { agency: (ctx.query as { agency: string }).agency } : {}),
        }),
      );
    },
  }),
];
