import { z } from 'zod';
import { queryInt } from '../../http/ids.js';
import { chainStatusSchema } from '../records/schema.js';

export const batchSchema = z.object({
  agency: z.string(),
  seq: z.number(),
  root: z.string(),
  size: z.number(),
  prevRoot: z.string(),
  firstAck: z.number(),
  firstCapturedAt: z.string(),
  lastCapturedAt: z.string(),
  sealedAt: z.string(),
});

export const batchViewSchema = z.object({ batch: batchSchema, chain: chainStatusSchema }).meta({ id: 'BatchView' });

/** Paging by batch seq: `after` (ascending) or `before` (descending; the default is the newest page). */
export const pageQuery = z
  .strictObject({
    after: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
    before: queryInt(1, Number.MAX_SAFE_INTEGER).optional(),
    limit: queryInt(1, 500).default(100),
  })
  .refine((q) => q.after === undefined || q.before === undefined, 'give after or before, not both');

export const batchListSchema = z
  .object({
    agency: z.string(),
    batches: z.array(batchSchema.extend({ chain: chainStatusSchema })),
    next: z.union([z.object({ after: z.number() }), z.object({ before: z.number() })]).nullable(),
  })
  .meta({ id: 'BatchList' });
