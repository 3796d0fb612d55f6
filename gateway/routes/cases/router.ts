import { errorResponses } from '../../http/docs.js';
import { caseParams } from '../../http/ids.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { getCase } from './handler.js';
import { caseViewSchema } from './schema.js';

export const caseRoutes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/cases/:case',
    tag: 'cases',
    summary: "A case's full-process timeline in stage order, each record with anchor and notary status, and the completeness findings",
    access: ['supervisor'],
    audit: true,
    params: caseParams,
    responses: { 200: { description: 'the case', schema: caseViewSchema }, ...errorResponses(400, 401, 403, 404) },
    handler: getCase,
  }),
];
