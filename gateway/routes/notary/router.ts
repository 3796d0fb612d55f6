import type { Request, Response } from 'express';
import { z } from 'zod';
import type { BatchInfo } from '../../../src/index.js';
import { chainStatus, type ChainStatusView } from '../../context.js';
import { errorResponses } from '../../http/docs.js';
import { httpError } from '../../http/errors.js';
import { defineRoute, type HandlerContext, type RouteSpec } from '../../http/route.js';
import { batchSchema } from '../batches/schema.js';
import { chainStatusSchema } from '../records/schema.js';

export const pendingSchema = z
  .object({
    batches: z.array(batchSchema.extend({ chain: chainStatusSchema })),
    scanned: z.number().describe('batches looked at (the newest notaryScanBatches per agency)'),
  })
  .meta({ id: 'NotaryPending' });

/** `GET /v1/notary/pending`: anchored batches without enough co-signatures, newest `notaryScanBatches` per agency. */
async function pending(ctx: HandlerContext<unknown, unknown, unknown>, _req: Request, res: Response): Promise<void> {
  const app = ctx.app;
  if (!app.chain) throw httpError('REGISTRY_MISSING', 'this gateway has no chain configured, so it cannot tell anchored batches');
  const out: (BatchInfo & { chain: ChainStatusView })[] = [];
  let scanned = 0;
  for (const agency of app.journal.agencies()) {
    const head = (await app.journal.agencyHead(agency))?.seq ?? 0;
    const afterSeq = Math.max(head - app.config.notaryScanBatches, 0);
    for await (const b of app.journal.batches(agency, { afterSeq })) {
      scanned++;
      const chain = await chainStatus(app, b);
      if ((chain.phase === 'anchored' || chain.phase === 'final') && !chain.notarized) out.push({ ...b, chain });
    }
  }
  res.json({ batches: out, scanned });
}

export const notaryRoutes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/v1/notary/pending',
    tag: 'notary',
    summary: 'Batches anchored on chain and not yet notarized (co-signed by enough notaries)',
    access: ['notary'],
    responses: { 200: { description: 'pending batches', schema: pendingSchema }, ...errorResponses(401, 403, 503) },
    handler: pending,
  }),
];
