import { z } from 'zod';
import { agencySchema } from '../../../src/index.js';

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)), 'is not a valid date');

/** A period of capture days: `from` inclusive, `to` exclusive (default: the 28 days up to today, in the statistics' time zone). */
export const periodQuery = z
  .strictObject({ from: day.optional(), to: day.optional(), agency: agencySchema.optional() })
  .refine((q) => !q.from || !q.to || q.from < q.to, 'from must be before to')
  .refine((q) => !q.from || !q.to || Date.parse(q.to) - Date.parse(q.from) <= 366 * 86_400_000, 'a period is at most 366 days');

const n = z.number();
export const overviewSchema = z
  .object({
    period: z.object({ from: z.string(), to: z.string() }),
    agencies: z.array(z.string()),
    totals: z.object({
      records: n,
      newCases: n,
      devices: n,
      sealed: n,
      sealedLate: n,
      anchored: n,
      anchoredLate: n,
      late: n,
      compliance: n.nullable().describe('share of anchored records sealed and anchored on time'),
      devicesWithHoles: n,
      devicesWithBreaks: n,
      casesWithFindings: n,
      findings: z.record(z.string(), n).describe('findings in the list by code, that happened in the period'),
    }),
    batches: z.object({ waiting: n.describe('sealed batches not yet anchored and notarized'), anchoredNotNotarized: n, oldestWaitSeconds: n.nullable() }),
    feedback: z.object({ submitted: n, accepted: n, investigating: n, handled: n, answered: n }).describe('码上监督 feedback by state (all time)'),
    perAgency: z.array(z.object({ agency: z.string(), records: n, anchored: n, late: n, compliance: n.nullable(), holes: n })),
    daily: z.object({ days: z.array(z.string()), series: z.array(z.object({ agency: z.string(), compliance: z.array(n.nullable()), records: z.array(n) })) }),
    delay: z.object({ labels: z.array(z.string()), counts: z.array(n) }).describe('capture → anchored delay distribution'),
    holes: z.object({
      days: z.array(z.string()),
      devices: z.array(z.string()),
      cells: z.array(z.tuple([n, n, n])).describe('[day index, device index, missing records]'),
    }),
    asOf: z.object({ acks: z.record(z.string(), n).describe('journal position (ack per agency) the figures cover'), computedAt: z.string() }),
  })
  .meta({ id: 'SupervisionStats' });
