import { z } from 'zod';

/**
 * The record: one leaf of a batch. Field names are short and stable because
 * they are hashed (JCS, RFC 8785). Every object is strict (unknown keys are
 * refused) and every string and number is bounded: records come from devices
 * and, in receipts, from anyone.
 */
export const RECORD_VERSION = 1;

export const STAGES = ['onsite', 'filing', 'investigation', 'review', 'decision', 'service', 'execution', 'closing'] as const;
export const KINDS = ['video', 'photo', 'audio', 'document', 'form', 'event'] as const;
export type Stage = (typeof STAGES)[number];
export type Kind = (typeof KINDS)[number];

/**
 * The patterns of the record's strings, named once: the zod schemas below and
 * the journal's fast path (fast-parse.ts) must test exactly the same thing.
 */
export const PATTERNS = {
  hash32: /^0x[0-9a-f]{64}$/,
  /** ULID: 26 Crockford base32 characters, time-sortable. */
  recordId: /^[0-9A-HJKMNP-TV-Z]{26}$/,
  /** On chain an agency is bytes32 (encodeBytes32String): at most 31 bytes; we keep it ASCII. */
  agency: /^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/,
  device: /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/,
  officer: /^[^\u0000-\u001f\u007f]+$/,
  case: /^[A-Za-z0-9\u4e00-\u9fff][A-Za-z0-9\u4e00-\u9fff()（）〔〕[\]._:/-]{0,63}$/,
  /** RFC 3339 date-time with an explicit offset. */
  rfc3339: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/,
  mime: /^[a-z0-9!#$&^_.+-]{1,63}\/[a-z0-9!#$&^_.+-]{1,63}$/,
  sha256: /^[0-9a-f]{64}$/,
  cid: /^b[a-z2-7]{20,120}$/,
  salt: /^0x([0-9a-f]{2}){16,32}$/,
  publicKey: /^0x[0-9a-f]{64}$/,
  signature: /^0x[0-9a-f]{128}$/,
} as const;

/** Bounds shared the same way. */
export const LIMITS = { officerLength: 64, rfc3339Length: 40 } as const;

const hash32 = z.string().regex(PATTERNS.hash32, 'must be 0x followed by 64 lowercase hex digits');
export const recordIdSchema = z.string().regex(PATTERNS.recordId, 'must be a ULID (26 Crockford base32 characters)');
export const agencySchema = z.string().regex(PATTERNS.agency, 'must be 1-31 ASCII letters, digits, ".", "_" or "-"');
export const deviceSchema = z.string().regex(PATTERNS.device, 'must be 1-64 ASCII letters, digits, ".", "_", ":" or "-"');
export const officerSchema = z.string().min(1).max(LIMITS.officerLength).regex(PATTERNS.officer, 'must not contain control characters');
export const caseSchema = z.string().regex(PATTERNS.case, 'must be 1-64 letters, digits or case-number punctuation');
export const rfc3339Schema = z
  .string()
  .max(LIMITS.rfc3339Length)
  .regex(PATTERNS.rfc3339, 'must be an RFC 3339 date-time such as 2026-11-27T09:30:00+08:00')
  .refine((s) => !Number.isNaN(Date.parse(s)), 'is not a valid date');

export const mediaSchema = z.strictObject({
  type: z.string().regex(PATTERNS.mime, 'must be a lowercase MIME type such as video/mp4'),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  sha256: z.string().regex(PATTERNS.sha256, 'must be 64 lowercase hex digits, as sha256sum prints'),
  cid: z.string().regex(PATTERNS.cid, 'must be a CIDv1 in base32').optional(),
});

export const locationSchema = z.strictObject({
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
  acc: z.number().min(0).max(1e6).optional(),
});

export const signatureSchema = z.strictObject({
  alg: z.literal('Ed25519'),
  key: z.string().regex(PATTERNS.publicKey, 'must be a 32-byte Ed25519 public key in 0x hex'),
  value: z.string().regex(PATTERNS.signature, 'must be a 64-byte Ed25519 signature in 0x hex'),
});

/**
 * The highest `seq` a device chain may reach: 2^48 - 1 (a thousand records a
 * second for 8,900 years). Far below 2^53, so every seq and the next one are
 * exact JSON numbers in any language and a chain can never wrap onto a number
 * it already used (issue 9.4: past 2^53 - 1 every next seq rounds onto a taken
 * slot: 2^53 + 1 rounds to 2^53). The journal refuses the record that would go past it
 * (DEVICE_SEQ_EXHAUSTED); a record claiming more is invalid.
 */
export const MAX_DEVICE_SEQ = 2 ** 48 - 1;

/** Nesting deeper than this is refused: it serves no form and is a stack-exhaustion weapon. */
export const MAX_BODY_DEPTH = 16;

function depthOf(value: unknown, limit: number): number {
  if (value === null || typeof value !== 'object') return 0;
  if (limit <= 0) return 1;
  let max = 0;
  for (const v of Object.values(value as object)) max = Math.max(max, depthOf(v, limit - 1));
  return max + 1;
}

/** Structured content (forms, device events): any JSON, at most 16 levels deep and 16 KiB. */
const bodySchema = z
  .record(z.string().max(64), z.json())
  .refine((b) => depthOf(b, MAX_BODY_DEPTH + 1) <= MAX_BODY_DEPTH, `must be at most ${MAX_BODY_DEPTH} levels deep`)
  .refine((b) => JSON.stringify(b).length <= 16_384, 'must be at most 16 KiB of JSON');

const recordShape = z.strictObject({
  v: z.literal(RECORD_VERSION),
  id: recordIdSchema,
  agency: agencySchema,
  device: deviceSchema,
  officer: officerSchema,
  case: caseSchema.optional(),
  stage: z.enum(STAGES).optional(),
  kind: z.enum(KINDS),
  media: mediaSchema.optional(),
  body: bodySchema.optional(),
  capturedAt: rfc3339Schema,
  location: locationSchema.optional(),
  seq: z.number().int().min(1).max(MAX_DEVICE_SEQ, `must be at most ${MAX_DEVICE_SEQ} (2^48 - 1)`),
  prev: hash32,
  salt: z.string().regex(PATTERNS.salt, 'must be 16 to 32 random bytes in 0x hex'),
  sig: signatureSchema.optional(),
});

const hasContent = (r: { media?: unknown; body?: unknown }) => r.media !== undefined || r.body !== undefined;
const NEEDS_CONTENT = { message: 'a record needs media (a file) or body (structured content)', path: ['media'] };

export const recordSchema = recordShape
  .refine(hasContent, NEEDS_CONTENT)
  .refine((r) => r.seq !== 1 || r.prev === `0x${'00'.repeat(32)}`, { message: 'the first record of a device has prev = 32 zero bytes', path: ['prev'] });

/** A record before its device chain slot (`seq`, `prev`) and signature: what the journal validates on append. */
export const unchainedRecordSchema = recordShape.omit({ seq: true, prev: true, sig: true }).refine(hasContent, NEEDS_CONTENT);

export type LiuhenRecord = z.infer<typeof recordSchema>;
export type RecordSignature = z.infer<typeof signatureSchema>;
export type Media = z.infer<typeof mediaSchema>;
export type Location = z.infer<typeof locationSchema>;

/** What a caller provides; the journal adds id, v, seq, prev, salt and sig. */
export type RecordDraft = Omit<LiuhenRecord, 'v' | 'id' | 'seq' | 'prev' | 'salt' | 'sig'> & { id?: string };
