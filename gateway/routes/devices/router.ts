import { errorResponses } from '../../http/docs.js';
import { deviceParams } from '../../http/ids.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { getContinuity } from './handler.js';
import { continuityQuery, continuityViewSchema } from './schema.js';

export const deviceRoutes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/devices/:device/continuity',
    tag: 'devices',
    summary: "A device's continuity: holes and breaks in its hash chain, unclosed recordings, late-anchored records, and its timeline",
    access: ['supervisor'],
    audit: true,
    params: deviceParams,
    query: continuityQuery,
    responses: { 200: { description: 'the continuity report', schema: continuityViewSchema }, ...errorResponses(400, 401, 403, 404) },
    handler: getContinuity,
  }),
];
