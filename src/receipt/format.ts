import { z } from 'zod';
import { LiuhenError, fail } from '../errors.js';
import { decompInclProof } from '../merkle/verify.js';
import { MAX_PROOF_LENGTH, MAX_TREE_SIZE } from '../merkle/tree.js';
import { describeIssues } from '../record/parse.js';
import { agencySchema, recordSchema } from '../record/schema.js';

/**
 * The receipt: one self-contained JSON document per record, verifiable by
 * anyone with the document, the file and read access to the chain. The format
 * is consensus-critical: a version tag, strict parsing (unknown keys, wrong
 * lengths, an index outside the tree, a path of the wrong length and trailing
 * garbage are all refused), and new fields only ever under new names.
 */
export const RECEIPT_FORMAT = 'liuhen-receipt/1';
/** Receipts are small (a record and ≤ 20 hashes); anything bigger is hostile. */
export const MAX_RECEIPT_BYTES = 256 * 1024;

const hash32 = z.string().regex(/^0x[0-9a-f]{64}$/, 'must be 0x followed by 64 lowercase hex digits');
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte address in 0x hex');
const uint = (max = Number.MAX_SAFE_INTEGER) => z.number().int().min(0).max(max);

export const inclusionSchema = z.strictObject({
  index: uint(MAX_TREE_SIZE - 1),
  size: z.number().int().min(1).max(MAX_TREE_SIZE),
  path: z.array(hash32).max(MAX_PROOF_LENGTH),
});

export const batchRefSchema = z.strictObject({
  agency: agencySchema,
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  root: hash32,
  size: z.number().int().min(1).max(MAX_TREE_SIZE),
  prevRoot: hash32,
});

export const anchorSchema = z.strictObject({
  chainId: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  registry: address,
  txHash: hash32,
  blockNumber: uint(),
  blockHash: hash32,
  /** Block timestamp, seconds since the epoch. */
  timestamp: uint(),
});

export const attestationSchema = z.strictObject({
  notary: address,
  /** Seconds since the epoch, as signed. */
  attestedAt: uint(2 ** 53 - 1),
  /** 65-byte r ‖ s ‖ v ECDSA signature over the EIP-712 BatchAttestation. */
  signature: z.string().regex(/^0x[0-9a-f]{130}$/, 'must be a 65-byte signature in 0x hex'),
});

export const receiptSchema = z
  .strictObject({
    format: z.literal(RECEIPT_FORMAT),
    /** The full record, or null when only the leaf is disclosed (public verification). */
    record: recordSchema.nullable(),
    leaf: hash32,
    inclusion: inclusionSchema,
    batch: batchRefSchema,
    anchor: anchorSchema.nullable(),
    attestations: z.array(attestationSchema).max(32),
  })
  .superRefine((r, ctx) => {
    if (r.inclusion.index >= r.inclusion.size) {
      ctx.addIssue({ code: 'custom', path: ['inclusion', 'index'], message: `index ${r.inclusion.index} must be below size ${r.inclusion.size}` });
      return;
    }
    const { inner, border } = decompInclProof(BigInt(r.inclusion.index), BigInt(r.inclusion.size));
    if (r.inclusion.path.length !== inner + border) {
      ctx.addIssue({ code: 'custom', path: ['inclusion', 'path'], message: `wrong proof size ${r.inclusion.path.length}, want ${inner + border}` });
    }
    if (r.inclusion.size !== r.batch.size) {
      ctx.addIssue({ code: 'custom', path: ['inclusion', 'size'], message: `inclusion size ${r.inclusion.size} differs from batch size ${r.batch.size}` });
    }
    if (r.record && r.record.agency !== r.batch.agency) {
      ctx.addIssue({ code: 'custom', path: ['batch', 'agency'], message: `batch agency ${r.batch.agency} differs from record agency ${r.record.agency}` });
    }
  });

export type Receipt = z.infer<typeof receiptSchema>;
export type ReceiptAnchor = z.infer<typeof anchorSchema>;
export type ReceiptAttestation = z.infer<typeof attestationSchema>;
export type ReceiptInclusion = z.infer<typeof inclusionSchema>;
export type ReceiptBatch = z.infer<typeof batchRefSchema>;

/**
 * Parses a receipt from its JSON text (or bytes, or an already-parsed value).
 * Errors: RECEIPT_FORMAT_UNKNOWN for another format tag, INVALID_RECEIPT for
 * anything else, each naming the field.
 */
export function parseReceipt(input: string | Uint8Array | unknown): Receipt {
  let value: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
    if (text.length > MAX_RECEIPT_BYTES) fail('INVALID_RECEIPT', `receipt is ${text.length} bytes, more than the ${MAX_RECEIPT_BYTES} a receipt can be`);
    try {
      // JSON.parse refuses trailing garbage and truncation.
      value = JSON.parse(text);
    } catch (cause) {
      return fail('INVALID_RECEIPT', `receipt is not valid JSON: ${(cause as Error).message}`, { cause, details: { json: false } });
    }
  }
  // Depth is bounded before any recursive validation: a receipt nested 60,000
  // levels deep must be a coded refusal, not a stack overflow.
  if (tooDeep(value, 64)) fail('INVALID_RECEIPT', 'receipt is nested deeper than any receipt can be');
  if (value && typeof value === 'object' && 'format' in value && (value as { format: unknown }).format !== RECEIPT_FORMAT) {
    const f = String((value as { format: unknown }).format).slice(0, 40);
    fail('RECEIPT_FORMAT_UNKNOWN', `unknown receipt format "${f}"; this version reads ${RECEIPT_FORMAT}`);
  }
  const r = receiptSchema.safeParse(value);
  if (!r.success) {
    throw new LiuhenError('INVALID_RECEIPT', `invalid receipt: ${describeIssues(r.error)}`, {
      details: { issues: r.error.issues.slice(0, 8).map((i) => ({ path: i.path.map(String), message: i.message })) },
    });
  }
  return r.data;
}

function tooDeep(value: unknown, limit: number): boolean {
  // Iterative: the check itself must not recurse on hostile input.
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d >= limit) return true;
    for (const child of Object.values(v as object)) stack.push([child, d + 1]);
  }
  return false;
}

/** Canonical text of a receipt: 2-space JSON with a trailing newline, keys in the documented order. */
export function serializeReceipt(receipt: Receipt): string {
  const { format, record, leaf, inclusion, batch, anchor, attestations } = receipt;
  return `${JSON.stringify({ format, record, leaf, inclusion, batch, anchor, attestations }, null, 2)}\n`;
}
