import { z } from 'zod';
import type { EnrollmentLookup, StoredRecord } from '../src/index.js';
import { chainStatus, type ChainStatusView, type Context } from './context.js';
import { chainStatusSchema } from './routes/records/schema.js';

/** A record as timelines show it: what it is, where it is sealed, and what the chain says of its batch. */
export const recordSummarySchema = z
  .object({
    id: z.string(),
    leaf: z.string(),
    agency: z.string(),
    device: z.string(),
    officer: z.string(),
    seq: z.number(),
    stage: z.string().nullable(),
    kind: z.string(),
    event: z.string().nullable().describe('body.event of device events (recording-start, recording-stop, …)'),
    capturedAt: z.string(),
    journaledAt: z.string(),
    media: z.object({ type: z.string(), size: z.number(), sha256: z.string() }).nullable(),
    batch: z.object({ seq: z.number(), root: z.string(), index: z.number(), sealedAt: z.string() }).nullable(),
    chain: chainStatusSchema.nullable(),
  })
  .meta({ id: 'RecordSummary' });
export type RecordSummary = z.infer<typeof recordSummarySchema>;

export async function summarize(app: Context, stored: StoredRecord, memo: Map<string, Promise<ChainStatusView>>): Promise<RecordSummary> {
  const r = stored.record;
  const loc = await app.journal.locate(stored);
  const event = r.kind === 'event' && r.body && typeof r.body.event === 'string' ? r.body.event : null;
  return {
    id: r.id,
    leaf: stored.leaf,
    agency: r.agency,
    device: r.device,
    officer: r.officer,
    seq: r.seq,
    stage: r.stage ?? null,
    kind: r.kind,
    event,
    capturedAt: r.capturedAt,
    journaledAt: new Date(stored.journaledAt).toISOString(),
    media: r.media ? { type: r.media.type, size: r.media.size, sha256: r.media.sha256 } : null,
    batch: loc ? { seq: loc.batch.seq, root: loc.batch.root, index: loc.index, sealedAt: loc.batch.sealedAt } : null,
    chain: loc ? await chainStatus(app, loc.batch, memo) : null,
  };
}

/** Anchor time lookup for the completeness audits (seconds), through the same memo. */
export function anchorTimeLookup(app: Context, memo: Map<string, Promise<ChainStatusView>>): (root: string) => Promise<number | undefined> {
  return async (root) => {
    if (!app.chain) return undefined;
    const batch = await app.journal.getBatchByRoot(root);
    if (!batch) return undefined;
    return (await chainStatus(app, batch, memo)).anchor?.timestamp;
  };
}

/**
 * The registry's device histories for the continuity and case views (issue
 * 13): a key change that the enrollment history explains (a rotation) is
 * shown as such, not reported as a finding. Undefined without a chain that
 * reads enrollments (every change then stays a finding).
 */
export function enrollmentLookup(app: Context): EnrollmentLookup | undefined {
  const chain = app.chain;
  if (!chain?.deviceHistory) return undefined;
  return (agency, device) => chain.deviceHistory!(agency, device);
}

export const keyChangeSchema = z
  .object({
    device: z.string(),
    agency: z.string(),
    fromSeq: z.number(),
    toSeq: z.number(),
    recordIds: z.array(z.string()),
    fromKey: z.string(),
    toKey: z.string(),
    explained: z.boolean().describe('true when the registry enrolled the new key as a later key of the device (a rotation): then it is no finding'),
    enrollment: z
      .object({ fromIndex: z.number(), toIndex: z.number(), validFrom: z.number(), fromRevokedAt: z.number(), fromCompromisedAt: z.number() })
      .optional(),
    zh: z.string(),
    en: z.string(),
  })
  .meta({ id: 'KeyChange' });
