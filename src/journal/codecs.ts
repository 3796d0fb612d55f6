import { z } from 'zod';
import { LiuhenError } from '../errors.js';
import { describeIssues } from '../record/parse.js';
import { agencySchema, MAX_DEVICE_SEQ, recordIdSchema, recordSchema, rfc3339Schema } from '../record/schema.js';
import type { Hex } from '../util/hex.js';
import type { AgencyHead, BatchInfo, DeviceHead, QueueEntry, StoredRecord } from './types.js';

/**
 * What the journal reads back from its own disk is validated like any other
 * input (issue 15: never `JSON.parse(v) as T`): a damaged or hand-edited data
 * folder gives JOURNAL_CORRUPT naming the key, not a wrong answer later.
 */
const hash32 = z.custom<Hex>((v) => typeof v === 'string' && /^0x[0-9a-f]{64}$/.test(v), 'must be 0x followed by 64 lowercase hex digits');
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const storedRecordSchema: z.ZodType<StoredRecord> = z.strictObject({ record: recordSchema, leaf: hash32, ack: count.min(1), journaledAt: count });
export const queueEntrySchema: z.ZodType<QueueEntry> = z.strictObject({ id: recordIdSchema, leaf: hash32, capturedAt: rfc3339Schema });
export const deviceHeadSchema: z.ZodType<DeviceHead> = z.strictObject({ seq: z.number().int().min(1).max(MAX_DEVICE_SEQ), leaf: hash32, id: recordIdSchema });
export const agencyHeadSchema: z.ZodType<AgencyHead> = z.strictObject({ seq: count.min(1), root: hash32, sealedThrough: count });
export const batchInfoSchema: z.ZodType<BatchInfo> = z.strictObject({
  agency: agencySchema,
  seq: count.min(1),
  root: hash32,
  size: count.min(1),
  prevRoot: hash32,
  firstAck: count.min(1),
  firstCapturedAt: rfc3339Schema,
  lastCapturedAt: rfc3339Schema,
  sealedAt: z.string().max(40),
});
/** Numbers kept as decimal text (acks, batch seqs). */
export const decimalSchema = z
  .string()
  .regex(/^\d{1,16}$/)
  .transform(Number);

/** Parses a JSON value read from `key` and validates it; JOURNAL_CORRUPT when either fails. */
export function decodeJson<T>(schema: z.ZodType<T>, text: string, key: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new LiuhenError('JOURNAL_CORRUPT', `the journal's value at ${printable(key)} is not JSON; the data folder was damaged or edited`, {
      cause,
      details: { key: printable(key) },
    });
  }
  return decode(schema, value, key);
}

/** Validates a value read from `key` (already parsed, or plain text). */
export function decode<T>(schema: z.ZodType<T>, value: unknown, key: string): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new LiuhenError(
      'JOURNAL_CORRUPT',
      `the journal's value at ${printable(key)} is invalid (${describeIssues(r.error)}); the data folder was damaged or edited`,
      { details: { key: printable(key) } },
    );
  return r.data;
}

const printable = (key: string) => key.replace(/[\u0000-\u001f\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * What the journal itself requires of a stored anchor state: an object with a
 * status, for the batch root it is stored under (when it names one). The chain module owns the exact shape (its state
 * machine) and may read through `anchorStates.as(itsSchema)`; unknown fields
 * are kept, so the journal never drops what a newer chain module wrote.
 */
export const anchorStateEnvelopeSchema = z.looseObject({ root: hash32.optional(), status: z.string().min(1).max(32) });
export type AnchorStateEnvelope = z.infer<typeof anchorStateEnvelopeSchema>;
