import { z } from 'zod';
import { STAGES } from '../../../src/index.js';
import { FINDING_CODES } from '../../http/codes.js';
import { recordSummarySchema } from '../../views.js';

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
  })
  .meta({ id: 'CaseView' });
