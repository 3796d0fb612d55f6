import type { Request, Response } from 'express';
import { z } from 'zod';
import { isLiuhenError } from '../../../src/index.js';
import type { Context } from '../../context.js';
import type { ComponentHealth } from '../../deps.js';
import { defineRoute, type HandlerContext, type RouteSpec } from '../../http/route.js';

/** CIDv1 (raw) of the empty file: a cheap, always-valid probe of the store. */
const PROBE_CID = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku';

export const healthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    reasons: z.array(z.string()),
    checks: z.object({
      journal: z.enum(['ok', 'down']),
      store: z.enum(['ok', 'down', 'not configured']),
      chain: z.enum(['ok', 'unreachable', 'not configured']),
      backlog: z.object({ pendingRecords: z.number(), oldestPendingSeconds: z.number().nullable() }),
      /** `liuhen start`: the chain process, its saved state, anchoring lag, notary backlog, the journal's write state. */
      components: z
        .array(
          z.object({ name: z.string(), status: z.enum(['ok', 'degraded', 'down']), detail: z.string(), data: z.record(z.string(), z.unknown()).optional() }),
        )
        .optional(),
    }),
  })
  .meta({ id: 'Health' });

async function within<T>(ms: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([run(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** `GET /healthz`: always 200 while the process serves; `status` says whether something needs attention. */
async function health(ctx: HandlerContext<unknown, unknown, unknown>, _req: Request, res: Response): Promise<void> {
  const app: Context = ctx.app;
  const t = app.config.health.probeTimeoutMs;
  const reasons: string[] = [];
  let journal: 'ok' | 'down' = 'ok';
  let pendingRecords = 0;
  let oldest: number | null = null;
  try {
    await within(t, async () => {
      const now = app.clock().getTime();
      for (const agency of await app.journal.pendingAgencies()) {
        pendingRecords += await app.journal.pendingCount(agency);
        // The first pending record in journal order has waited longest since it was journaled (capture times can be old for good reasons).
        const first = await app.journal.oldestPending(agency);
        const stored = first ? await app.journal.getRecord(first.id) : undefined;
        if (stored) {
          const age = Math.max(0, Math.floor((now - stored.journaledAt) / 1000));
          oldest = Math.max(oldest ?? 0, age);
        }
      }
    });
  } catch (e) {
    journal = 'down';
    reasons.push(`journal: ${isLiuhenError(e) ? e.code : 'unavailable'}`);
  }
  if (oldest !== null && oldest > app.config.health.maxPendingSeconds)
    reasons.push(`backlog: a record journaled ${oldest} s ago is not sealed yet (threshold ${app.config.health.maxPendingSeconds} s)`);

  let store: 'ok' | 'down' | 'not configured' = 'not configured';
  if (app.store) {
    try {
      await within(t, () => app.store!.has(PROBE_CID));
      store = 'ok';
    } catch (e) {
      store = 'down';
      reasons.push(`store: ${isLiuhenError(e) ? e.code : 'unavailable'}`);
    }
  }
  let chain: 'ok' | 'unreachable' | 'not configured' = 'not configured';
  if (app.chain) {
    try {
      await within(t, () => app.chain!.ping());
      chain = 'ok';
    } catch (e) {
      chain = 'unreachable';
      reasons.push(`chain: ${isLiuhenError(e) ? e.code : 'CHAIN_UNREACHABLE'}`);
    }
  }
  let components: ComponentHealth[] | undefined;
  if (app.components) {
    try {
      components = await within(t, () => app.components!());
    } catch {
      components = [{ name: 'system', status: 'degraded', detail: `component states did not answer within ${t} ms` }];
    }
    for (const c of components) if (c.status !== 'ok') reasons.push(`${c.name}: ${c.detail}`);
    // A journal that refuses writes is not ok, even when its reads still answer.
    if (components.some((c) => c.name === 'journal' && c.status === 'down')) journal = 'down';
  }
  res.set('Cache-Control', 'no-store');
  res.json({
    status: reasons.length === 0 ? 'ok' : 'degraded',
    reasons,
    checks: { journal, store, chain, backlog: { pendingRecords, oldestPendingSeconds: oldest }, ...(components && { components }) },
  });
}

export const healthRoutes: RouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/healthz',
    tag: 'health',
    summary: 'ok, or degraded with the reasons (chain unreachable, sealing backlog too old, store down)',
    access: 'public',
    responses: { 200: { description: 'health', schema: healthSchema } },
    handler: health,
  }),
];
