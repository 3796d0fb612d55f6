import { z } from 'zod';
import { agencySchema, caseSchema, deviceSchema, recordIdSchema } from '../../src/index.js';

/**
 * Ids as they appear in paths and queries. Each is a pattern, so a path
 * traversal (`..%2F..`), a NUL or any junk dies here, before a handler runs.
 */
export const hash32Param = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x followed by 64 hex digits')
  .transform((s) => s.toLowerCase());

export const recordIdParams = z.strictObject({ id: recordIdSchema });
export const leafParams = z.strictObject({ leaf: hash32Param });
export const rootParams = z.strictObject({ root: hash32Param });
export const agencyParams = z.strictObject({ agency: agencySchema });
export const deviceParams = z.strictObject({ device: deviceSchema });
export const caseParams = z.strictObject({ case: caseSchema });

/** A decimal query number in [min, max] (query values arrive as text). */
export const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,15}$/, 'must be a decimal number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
