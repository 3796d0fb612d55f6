import type { Request, Response } from 'express';
import type { BatchInfo } from '../../../src/index.js';
import { chainStatus, type ChainStatusView } from '../../context.js';
import { httpError } from '../../http/errors.js';
import { assertAgencyScope, type HandlerContext } from '../../http/route.js';

/** `GET /v1/batches/:root` */
export async function getBatch(ctx: HandlerContext<{ root: string }, unknown, unknown>, _req: Request, res: Response): Promise<void> {
  const batch = await ctx.app.journal.getBatchByRoot(ctx.params.root);
  if (!batch) throw httpError('NOT_FOUND', `no batch with root ${ctx.params.root}`);
  assertAgencyScope(ctx.principal, batch.agency);
  res.json({ batch, chain: await chainStatus(ctx.app, batch) });
}

/** Seq window for a page: ascending after `after`, or descending before `before` (default: newest). */
export function seqWindow(
  head: number,
  q: { after?: number | undefined; before?: number | undefined; limit: number },
): { afterSeq: number; limit: number; descending: boolean } {
  if (q.after !== undefined) return { afterSeq: q.after, limit: q.limit, descending: false };
  const before = Math.min(q.before ?? head + 1, head + 1);
  const afterSeq = Math.max(before - q.limit - 1, 0);
  return { afterSeq, limit: Math.max(before - afterSeq - 1, 0), descending: true };
}

/** `GET /v1/agencies/:agency/batches` */
export async function listBatches(
  ctx: HandlerContext<{ agency: string }, { after?: number | undefined; before?: number | undefined; limit: number }, unknown>,
  _req: Request,
  res: Response,
): Promise<void> {
  const { agency } = ctx.params;
  assertAgencyScope(ctx.principal, agency);
  const head = (await ctx.app.journal.agencyHead(agency))?.seq ?? 0;
  const w = seqWindow(head, ctx.query);
  const batches: (BatchInfo & { chain: ChainStatusView })[] = [];
  if (w.limit > 0)
    for await (const b of ctx.app.journal.batches(agency, { afterSeq: w.afterSeq, limit: w.limit }))
      batches.push({ ...b, chain: await chainStatus(ctx.app, b) });
  if (w.descending) batches.reverse();
  const edge = batches.at(-1)?.seq;
  const next = edge === undefined ? null : w.descending ? (edge > 1 ? { before: edge } : null) : edge < head ? { after: edge } : null;
  res.json({ agency, batches, next });
}
