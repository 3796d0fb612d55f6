import { z } from 'zod';
import { STAGES } from '../../../src/index.js';
import { FINDING_CODES } from '../../http/codes.js';
import { keyChangeSchema, recordSummarySchema } from '../../views.js';
import { ingestCheckSchema } from '../records/device-check.js';

export const findingSchema = z
  .object({
    code: z.enum(FINDING_CODES),
    severity: z.enum(['high', 'medium', 'low']),
    message: z.string(),
    device: z.string().optional(),
    case: z.string().optional(),
    recordIds: z.array(z.string()),
    missing: z.object({ from: z.number(), to: z.number() }).optional(),
  })
  .meta({ id: 'Finding' });

export const caseViewSchema = z
  .object({
    case: z.string(),
    agencies: z.array(z.string()),
    stages: z.array(z.object({ stage: z.enum(STAGES), records: z.number(), first: z.string().nullable(), last: z.string().nullable() })),
    records: z.array(recordSummarySchema).describe('in stage order (onsite … closing, then records without a stage), by capture time within a stage'),
    findings: z.array(findingSchema),
    keyChanges: z
      .array(keyChangeSchema)
      .describe("changes of signing key between the case's records of one device, explained by the registry's enrollment history or not"),
    flagged: z
      .array(ingestCheckSchema.extend({ id: z.string(), seq: z.number(), device: z.string() }))
      .describe('records of the case flagged at ingest (signing key not enrolled for the device, or revoked)'),
  })
  .meta({ id: 'CaseView' });
