import { errorResponses } from '../../http/docs.js';
import { agencyParams, rootParams } from '../../http/ids.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { getBatch, listBatches } from './handler.js';
import { batchListSchema, batchViewSchema, pageQuery } from './schema.js';

export const batchRoutes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/batches/:root',
    tag: 'batches',
    summary: 'A sealed batch with its anchor and notary status',
    access: ['supervisor', 'agency'],
    params: rootParams,
    responses: { 200: { description: 'the batch', schema: batchViewSchema }, ...errorResponses(400, 401, 403, 404) },
    handler: getBatch,
  }),
  defineRoute({
    method: 'get',
    path: '/v1/agencies/:agency/batches',
    tag: 'batches',
    summary: "An agency's batches, newest first (or ascending with ?after=seq), with anchor and notary status",
    access: ['supervisor', 'agency'],
    params: agencyParams,
    query: pageQuery,
    responses: { 200: { description: 'a page of batches', schema: batchListSchema }, ...errorResponses(400, 401, 403) },
    handler: listBatches,
  }),
];
