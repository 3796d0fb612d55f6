import type { FindingEntry } from '../../../src/index.js';
import { errorResponses } from '../../http/docs.js';
import { httpError } from '../../http/errors.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { journalSupervision, stats } from '../stats/service.js';
import { findingActionBody, findingActionSchema, findingListSchema, findingParams, findingsQuery, findingViewSchema } from './schema.js';

const withLinks = (f: FindingEntry) => ({
  ...f,
  links: [
    ...(f.case ? [{ rel: 'case' as const, href: `/cases/${encodeURIComponent(f.case)}` }] : []),
    ...(f.device ? [{ rel: 'device' as const, href: `/devices/${encodeURIComponent(f.device)}` }] : []),
    ...f.recordIds.map((id) => ({ rel: 'record' as const, href: `/records/${id}` })),
  ],
});

export const findingRoutes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/findings',
    tag: 'supervision',
    summary: 'Findings across all agencies, newest first: filter by agency, kind, severity, status and period; paged with `cursor`',
    access: ['supervisor'],
    audit: true,
    query: findingsQuery,
    responses: { 200: { description: 'a page of findings', schema: findingListSchema }, ...errorResponses(400, 401, 403, 503) },
    handler: async (ctx, _req, res) => {
      const q = ctx.query;
      const s = await stats(ctx.app);
      const page = await s.findings({
        limit: q.limit,
        ...(q.agency ? { agency: q.agency } : {}),
        ...(q.kind ? { code: q.kind } : {}),
        ...(q.severity ? { severity: q.severity } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.from ? { from: q.from } : {}),
        ...(q.to ? { to: q.to } : {}),
        ...(q.cursor ? { cursor: q.cursor } : {}),
      });
      res.json({ findings: page.findings.map(withLinks), next: page.next });
    },
  }),
  defineRoute({
    method: 'get',
    path: '/v1/findings/:id',
    tag: 'supervision',
    summary: "A finding with its history: every supervisor's action on it, each a journaled, anchored record",
    access: ['supervisor'],
    audit: true,
    params: findingParams,
    responses: { 200: { description: 'the finding', schema: findingViewSchema }, ...errorResponses(400, 401, 403, 404) },
    handler: async (ctx, _req, res) => {
      const s = await stats(ctx.app);
      const f = await s.getFinding(ctx.params.id);
      if (!f) throw httpError('NOT_FOUND', `no finding ${ctx.params.id} (it may have been resolved by later records)`);
      res.json({ finding: withLinks(f), history: await s.findingHistory(f.id) });
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/findings/:id/actions',
    tag: 'supervision',
    summary: 'Mark a finding 已核实 (verified) / 已整改 (rectified) / 误报 (false-positive) with a comment: journaled by the supervision body and anchored',
    access: ['supervisor'],
    audit: true,
    params: findingParams,
    body: findingActionBody,
    responses: { 201: { description: 'the action as journaled', schema: findingActionSchema }, ...errorResponses(400, 401, 403, 404, 503) },
    handler: async (ctx, _req, res) => {
      const s = await stats(ctx.app, true);
      const f = await s.getFinding(ctx.params.id);
      if (!f) throw httpError('NOT_FOUND', `no finding ${ctx.params.id}`);
      const by = `token:${ctx.principal.tokenId}`;
      const r = await journalSupervision(ctx.app, 'decisionsDevice', by, {
        event: 'finding-action',
        finding: f.id,
        agency: f.agency,
        code: f.code,
        status: ctx.body.status,
        comment: ctx.body.comment,
        by,
      });
      ctx.auditIds.record = r.id;
      await stats(ctx.app, true);
      res.status(201).json({ finding: f.id, status: ctx.body.status, comment: ctx.body.comment, by, at: r.capturedAt, recordId: r.id, leaf: r.leaf });
    },
  }),
];
