import { z } from 'zod';
import { queryInt } from '../../http/ids.js';
import { keyChangeSchema, recordSummarySchema } from '../../views.js';
import { ingestCheckSchema } from '../records/device-check.js';
import { findingSchema } from '../cases/schema.js';

export const continuityQuery = z.strictObject({ after: queryInt(0, Number.MAX_SAFE_INTEGER).optional(), limit: queryInt(1, 10_000).default(1000) });

export const continuityViewSchema = z
  .object({
    device: z.string(),
    agency: z.string().nullable(),
    records: z.number().describe('records of the device in the journal'),
    lastSeq: z.number(),
    holes: z.array(findingSchema).describe('DEVICE_SEQ_HOLE: missing sequence numbers'),
    breaks: z.array(findingSchema).describe('DEVICE_CHAIN_BREAK / DEVICE_CHAIN_FORK: a record replaced'),
    sessions: z.array(findingSchema).describe('DEVICE_SESSION_UNCLOSED: a recording cut from the middle or the end'),
    late: z.array(findingSchema).describe('RECORD_ANCHORED_LATE, RECORD_SEALED_LATE, RECORD_CAPTURED_IN_FUTURE'),
    findings: z.array(findingSchema),
    keyChanges: z
      .array(keyChangeSchema)
      .describe(
        'every change of signing key in the chain; explained ones (a rotation enrolled on the registry) are not findings, unexplained ones are also DEVICE_KEY_CHANGED findings',
      ),
    flagged: z
      .array(ingestCheckSchema.extend({ id: z.string(), seq: z.number() }))
      .describe('records flagged at ingest (POST /v1/records/signed): signing key not enrolled for the device, or revoked — kept, not refused'),
    timeline: z.array(recordSummarySchema).describe('records in seq order, from ?after= (default 0), at most ?limit='),
    next: z.object({ after: z.number() }).nullable(),
  })
  .meta({ id: 'DeviceContinuity' });
