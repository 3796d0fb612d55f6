import { z } from 'zod';
import { agencySchema } from '../../../src/index.js';
import { errorResponses } from '../../http/docs.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { namesOf } from '../../names.js';

/** A comma-separated list of at most `max` items, each checked by `item`. */
const list = <T extends z.ZodType<string, string>>(item: T, max: number) =>
  z
    .string()
    .max(max * 80)
    .transform((s) => s.split(',').filter((x) => x !== ''))
    .pipe(z.array(item).max(max));

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte address in 0x hex');

export const namesQuery = z.strictObject({
  agencies: list(agencySchema, 64).optional().describe('agency codes, comma-separated (default: the agencies this gateway knows)'),
  notaries: list(address, 64).optional().describe('notary addresses, comma-separated (default: the notaries named in its config or trust file)'),
});

export const nameBookSchema = z
  .object({
    agencies: z.record(z.string(), z.string()).describe('agency code → display name, for the codes that have one'),
    notaries: z.record(z.string(), z.string()).describe('notary address (as asked) → display name, for the addresses that have one'),
  })
  .meta({ id: 'NameBook' });

/**
 * `GET /v1/names` (issue 14): display names of agencies and notary offices,
 * so that the pages show 济南市城市管理局 next to JN-CGJ and 济南市泉城公证处
 * next to 0x…. Public: the names are public facts of the registry (or of the
 * operator's config), no personal data; not audited, rate-limited like all requests.
 */
export const nameRoutes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/names',
    tag: 'verify',
    summary: 'Display names of agencies and notaries (registry version 2, else the gateway config or trust file)',
    access: 'public',
    audit: false,
    query: namesQuery,
    responses: { 200: { description: 'the names known', schema: nameBookSchema }, ...errorResponses(400, 429) },
    handler: async (ctx, _req, res) => {
      const dir = namesOf(ctx.app);
      const known = ctx.query.agencies === undefined && ctx.query.notaries === undefined ? dir.known() : undefined;
      const book = await dir.resolve({
        agencies: ctx.query.agencies ?? known?.agencies ?? [],
        notaries: ctx.query.notaries ?? known?.notaries ?? [],
      });
      res.set('Cache-Control', 'public, max-age=60');
      res.json(book);
    },
  }),
];
