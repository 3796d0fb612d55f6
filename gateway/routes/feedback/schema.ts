import { z } from 'zod';
import { FEEDBACK_CATEGORIES, FEEDBACK_STEPS } from '../../../src/index.js';
import { hash32Param, queryInt } from '../../http/ids.js';

const plainText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/, 'must not contain control characters');

/** 码上监督 from the public verdict page. Plain text only: it is never rendered as HTML anywhere. */
export const feedbackBody = z.strictObject({
  leaf: hash32Param.describe('leaf of the record the feedback is about (the QR link)'),
  category: z.enum(FEEDBACK_CATEGORIES).describe('attitude 态度 / procedure 程序 / result 结果 / other 其他'),
  text: plainText(2000).describe('at most 2,000 characters'),
  phone: z
    .string()
    .regex(/^\+?[0-9][0-9 -]{4,18}[0-9]$/, 'must be a phone number')
    .optional()
    .describe('kept off the anchored record: encrypted in the evidence store, the record holds only a commitment; erasable'),
});

/** The tracking code the citizen gets: 16 Crockford base32 characters (80 bits), shown once. */
export const trackingParams = z.strictObject({
  code: z
    .string()
    .transform((s) => s.toUpperCase().replace(/[\s-]/g, ''))
    .pipe(z.string().regex(/^[0-9A-HJKMNP-TV-Z]{16}$/, 'must be a tracking code of 16 letters and digits')),
});
export const refParams = z.strictObject({ ref: hash32Param.describe('the feedback reference (SHA-256 of its tracking code)') });

export const stepBody = z.strictObject({
  step: z.enum(FEEDBACK_STEPS).describe('accepted 受理 → investigating 核查 → handled 处理 → answered 反馈, in order'),
  comment: plainText(1000),
});
export const queueQuery = z.strictObject({ state: z.enum(['submitted', ...FEEDBACK_STEPS]).optional(), limit: queryInt(1, 500).default(100) });

const stepPublic = z.object({ step: z.enum(FEEDBACK_STEPS), at: z.string() });
export const submittedSchema = z
  .object({
    tracking: z.string().describe('the tracking code, shown once: keep it to look up the status'),
    ref: z.string(),
    receipt: z.object({
      format: z.literal('liuhen-feedback-receipt/1'),
      record: z.record(z.string(), z.unknown()).describe('the journaled record, as hashed (RFC 8785 JCS)'),
      leaf: z.string().describe('RFC 6962 leaf hash of the record: SHA-256(0x00 ‖ JCS(record))'),
      journaledBy: z.string(),
      statusUrl: z.string(),
    }),
  })
  .meta({ id: 'FeedbackSubmitted' });

export const statusSchema = z
  .object({
    category: z.enum(FEEDBACK_CATEGORIES),
    at: z.string(),
    state: z.enum(['submitted', ...FEEDBACK_STEPS]),
    steps: z.array(stepPublic).describe('times only: internal comments are never shown'),
    receipt: z.unknown().nullable().describe('the liuhen-receipt/1 of the feedback record once it is sealed (anchor and notaries when the chain has them)'),
  })
  .meta({ id: 'FeedbackStatus' });

export const queueItemSchema = z.object({
  ref: z.string(),
  leaf: z.string(),
  agency: z.string().nullable(),
  category: z.enum(FEEDBACK_CATEGORIES),
  text: z.string(),
  at: z.string(),
  recordId: z.string(),
  state: z.enum(['submitted', ...FEEDBACK_STEPS]),
  phone: z.enum(['none', 'held', 'erased']),
  steps: z.array(z.object({ step: z.enum(FEEDBACK_STEPS), at: z.string(), comment: z.string(), by: z.string(), recordId: z.string(), leaf: z.string() })),
});
export const queueSchema = z.object({ feedback: z.array(queueItemSchema) }).meta({ id: 'FeedbackQueue' });
