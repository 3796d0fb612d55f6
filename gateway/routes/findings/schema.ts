import { z } from 'zod';
import { agencySchema, FINDING_ACTIONS } from '../../../src/index.js';
import { queryInt } from '../../http/ids.js';

const CODES = [
  'DEVICE_SEQ_HOLE',
  'DEVICE_CHAIN_BREAK',
  'DEVICE_CHAIN_FORK',
  'DEVICE_SESSION_UNCLOSED',
  'DEVICE_KEY_CHANGED',
  'CASE_STAGE_OUT_OF_ORDER',
  'CASE_DECISION_WITHOUT_REVIEW',
  'CASE_DECISION_NOT_SERVED',
  'RECORD_CAPTURED_IN_FUTURE',
  'RECORD_SEALED_LATE',
  'RECORD_ANCHORED_LATE',
] as const;
const when = z
  .string()
  .max(40)
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2}))?$/, 'must be YYYY-MM-DD or an RFC 3339 date-time')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'is not a valid date');

export const findingsQuery = z.strictObject({
  agency: agencySchema.optional(),
  kind: z.enum(CODES).optional().describe('finding code'),
  severity: z.enum(['high', 'medium', 'low']).optional(),
  status: z.enum(['open', 'verified', 'rectified', 'false-positive']).optional(),
  from: when.optional().describe('happened at or after (a date is a day in the statistics time zone)'),
  to: when.optional().describe('happened before'),
  limit: queryInt(1, 200).default(50),
  cursor: z.string().max(260).optional().describe('`next` of the previous page'),
});

/** A finding id: its kind and where, e.g. `hole:BWC-0202:3`, `review:济市监罚〔2026〕42号`. */
export const findingParams = z.strictObject({
  id: z
    .string()
    .min(3)
    .max(200)
    .regex(/^[a-z-]+:[^\u0000-\u001f\u007f]+$/, 'must be a finding id such as hole:BWC-0202:3'),
});

export const findingActionBody = z.strictObject({
  status: z.enum(FINDING_ACTIONS).describe('verified 已核实, rectified 已整改, false-positive 误报'),
  comment: z
    .string()
    .trim()
    .min(1)
    .max(1000)
    .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/, 'must not contain control characters'),
});

export const findingSchema = z
  .object({
    id: z.string(),
    code: z.enum(CODES),
    severity: z.enum(['high', 'medium', 'low']),
    agency: z.string(),
    at: z.string(),
    message: z.string(),
    device: z.string().optional(),
    case: z.string().optional(),
    recordIds: z.array(z.string()),
    status: z.enum(['open', 'verified', 'rectified', 'false-positive']),
    links: z.array(z.object({ rel: z.enum(['case', 'device', 'record']), href: z.string() })),
  })
  .meta({ id: 'SupervisionFinding' });

export const findingActionSchema = z
  .object({ finding: z.string(), status: z.enum(FINDING_ACTIONS), comment: z.string(), by: z.string(), at: z.string(), recordId: z.string(), leaf: z.string() })
  .meta({ id: 'FindingAction' });

export const findingListSchema = z.object({ findings: z.array(findingSchema), next: z.string().nullable() }).meta({ id: 'FindingList' });
export const findingViewSchema = z.object({ finding: findingSchema, history: z.array(findingActionSchema) }).meta({ id: 'FindingView' });
