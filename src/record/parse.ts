import type { z } from 'zod';
import { LiuhenError, type ErrorCode } from '../errors.js';
import type { UnchainedRecord } from './chain.js';
import { fastRecord, fastUnchainedRecord } from './fast-parse.js';
import { recordSchema, unchainedRecordSchema, type LiuhenRecord } from './schema.js';

/** Turns zod issues into one readable line per field: "media.sha256: must be 64 lowercase hex digits". */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .slice(0, 8)
    .map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

export function parseWith<T>(schema: z.ZodType<T>, value: unknown, code: ErrorCode, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    throw new LiuhenError(code, `invalid ${what}: ${describeIssues(r.error)}`, {
      details: { issues: r.error.issues.slice(0, 8).map((i) => ({ path: i.path.map(String), message: i.message })) },
    });
  }
  return r.data;
}

/** A record, checked by the fast path (fast-parse.ts) when it can, else by the schema (which explains what is wrong). */
export function parseRecord(value: unknown): LiuhenRecord {
  return fastRecord(value) ?? parseWith(recordSchema, value, 'INVALID_RECORD', 'record');
}

/** Validates everything of a record but its chain slot and signature (the journal fills those in). */
export function parseUnchainedRecord(value: unknown): UnchainedRecord {
  return fastUnchainedRecord(value) ?? parseWith(unchainedRecordSchema, value, 'INVALID_RECORD', 'record');
}
