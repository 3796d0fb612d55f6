import { z } from 'zod';
import { CHECK_NAMES, receiptSchema } from '../../../src/index.js';
import { CHECK_CODES } from '../../http/codes.js';
import { ingestCheckSchema } from '../records/device-check.js';

/** The record's authenticity level (issue 13): how strong its "before the chain" evidence is, in words a judge reads. */
export const authenticitySchema = z
  .object({
    level: z.enum(['device-signed', 'station-signed', 'revoked-key', 'unenrolled-key', 'enrollment-unknown']),
    zh: z.string(),
    en: z.string(),
  })
  .meta({ id: 'Authenticity' });

export const sha256Schema = z
  .string()
  .regex(/^(0x)?[0-9a-fA-F]{64}$/, "must be the file's SHA-256: 64 hex digits")
  .transform((s) => s.replace(/^0x/, '').toLowerCase());

/** JSON form: the receipt and, optionally, the SHA-256 the browser computed (the file itself never leaves the browser). */
export const verifyJsonSchema = z.strictObject({ receipt: receiptSchema, sha256: sha256Schema.optional() }).meta({ id: 'VerifyRequest' });

export const verifyFormSchema = z
  .strictObject({
    receipt: z.string().describe('receipt JSON text (a field or a file part); must come before `file`'),
    sha256: z.string().optional().describe('SHA-256 of the file, instead of the file'),
    file: z.string().meta({ format: 'binary' }).optional().describe('the file: hashed on the way through, never stored'),
  })
  .meta({ id: 'VerifyForm' });

export const checkSchema = z.object({
  name: z.enum(CHECK_NAMES),
  status: z.enum(['pass', 'fail', 'pending', 'warn', 'skipped']),
  ok: z.boolean(),
  code: z.enum(CHECK_CODES).describe('stable check code'),
  detail: z.string(),
});

export const verdictSchema = z
  .object({
    format: z.literal('liuhen-verdict/1'),
    status: z.enum(['verified', 'failed', 'incomplete']),
    ok: z.boolean(),
    leaf: z.string().nullable(),
    root: z.string().nullable(),
    checks: z.array(checkSchema),
    authenticity: authenticitySchema.optional().describe("from the device check: the registry's enrollments as they stand now"),
    deviceCheck: ingestCheckSchema
      .nullable()
      .optional()
      .describe('the check this station made when it received the record (POST /v1/records/signed), when the record is in its journal'),
  })
  .meta({ id: 'Verdict' });

/** What anyone may see of a record from its leaf (the QR link): no officer, case, device, location or content. */
export const publicVerdictSchema = z
  .object({
    leaf: z.string(),
    agency: z.string(),
    kind: z.string(),
    capturedAt: z.string(),
    recordedAt: z.string().describe('when the journal made the record durable'),
    sealed: z.boolean(),
    batch: z.object({ agency: z.string(), seq: z.number(), root: z.string(), size: z.number() }).nullable(),
    anchor: receiptSchema.shape.anchor,
    notaries: z.array(z.object({ notary: z.string(), attestedAt: z.number() })),
    notarized: z.boolean(),
    unaltered: z.boolean().nullable().describe('true when signature, leaf and inclusion hold; null while not sealed'),
    status: z.enum(['verified', 'failed', 'incomplete']),
    checks: z.array(checkSchema),
    authenticity: authenticitySchema.optional().describe('the authenticity level, when the registry keeps device enrollments'),
    deviceCheck: ingestCheckSchema
      .omit({ detail: true })
      .nullable()
      .optional()
      .describe('the check made when the record was received (its detail, which names keys and devices, left out)'),
  })
  .meta({ id: 'PublicVerdict' });
