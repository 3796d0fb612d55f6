import { z } from 'zod';
import {
  caseSchema,
  deviceSchema,
  locationSchema,
  mediaSchema,
  officerSchema,
  receiptSchema,
  recordSchema,
  rfc3339Schema,
  STAGES,
} from '../../../src/index.js';
import { ingestCheckSchema } from './device-check.js';

/** Kinds sent as a file (multipart) and as structured content (JSON). */
export const FILE_KINDS = ['video', 'photo', 'audio', 'document'] as const;
export const BODY_KINDS = ['form', 'event'] as const;

const metaBase = {
  device: deviceSchema,
  officer: officerSchema,
  case: caseSchema.optional(),
  stage: z.enum(STAGES).optional(),
  capturedAt: rfc3339Schema,
  location: locationSchema.optional(),
};

/** The `meta` field of an upload (JSON text), sent BEFORE the `file` part. */
export const uploadMetaSchema = z.strictObject({
  ...metaBase,
  kind: z.enum(FILE_KINDS),
  /** MIME type; default: the part's Content-Type, else guessed from the file name. */
  type: mediaSchema.shape.type.optional(),
});
export type UploadMeta = z.infer<typeof uploadMetaSchema>;

export const uploadFormSchema = z
  .strictObject({
    meta: z.string().describe('JSON text of UploadMeta; must come before `file`'),
    file: z.string().meta({ format: 'binary' }).describe('the evidence file, streamed'),
  })
  .meta({ id: 'UploadForm' });

/** Structured content (a form, a device event) as `application/json`. */
export const bodyRecordSchema = z
  .strictObject({
    meta: z.strictObject({ ...metaBase, kind: z.enum(BODY_KINDS) }),
    body: recordSchema.shape.body.unwrap(),
  })
  .meta({ id: 'BodyRecord' });

/** A record completed and signed on its device (a camera running the SDK), uploaded as is. */
export const signedRecordSchema = z.strictObject({ record: recordSchema }).meta({ id: 'SignedRecord' });

export const createdSchema = z
  .object({
    id: z.string(),
    leaf: z.string(),
    seq: z.number().int(),
    sha256: z.string().optional(),
    cid: z.string().optional(),
    size: z.number().int().optional(),
    duplicate: z.boolean().optional(),
    deviceCheck: ingestCheckSchema
      .optional()
      .describe(
        'POST /v1/records/signed: the ingest-time device check (issue 13) — the record is kept either way, flagged when its key was not enrolled or revoked',
      ),
  })
  .meta({ id: 'RecordCreated' });

export const anchorPhaseSchema = z.enum(['unknown', 'sealed', 'signed', 'submitted', 'anchored', 'final']);

export const chainStatusSchema = z
  .object({
    phase: anchorPhaseSchema,
    anchor: receiptSchema.shape.anchor,
    attestations: receiptSchema.shape.attestations,
    notarized: z.boolean(),
    chainError: z.string().optional(),
  })
  .meta({ id: 'ChainStatus' });

export const recordViewSchema = z
  .object({
    record: recordSchema,
    leaf: z.string(),
    journaledAt: z.string(),
    batch: z.object({ agency: z.string(), seq: z.number(), root: z.string(), size: z.number(), index: z.number(), sealedAt: z.string() }).nullable(),
    chain: chainStatusSchema.nullable(),
    deviceCheck: ingestCheckSchema
      .nullable()
      .describe('the device check made when the record was received over POST /v1/records/signed; null for other records'),
  })
  .meta({ id: 'RecordView' });
