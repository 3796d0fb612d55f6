import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { paths } from '../config.js';
import { fail } from '../errors.js';

/**
 * `<data>/notary/duty.json`: written by `liuhen notary rotate`. A rotated
 * notary key's duty starts where its predecessor's log stopped — every
 * `BatchAnchored` event up to `fromBlock - 1` was decided (co-signed or
 * refused) by the previous key, whose co-signatures the registry keeps
 * counting after its role is revoked. The new key scans from `fromBlock`,
 * and does not list the older batches as waiting for it.
 */
export const notaryDutySchema = z.strictObject({
  fromBlock: z.number().int().min(0),
  previous: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  current: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  rotatedAt: z.string().max(64),
});
export type NotaryDuty = z.infer<typeof notaryDutySchema>;

export const notaryDutyPath = (dataDir: string): string => join(paths(dataDir).notary, 'duty.json');

export function readNotaryDuty(dataDir: string): NotaryDuty | undefined {
  const path = notaryDutyPath(dataDir);
  if (!existsSync(path)) return undefined;
  try {
    return notaryDutySchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (cause) {
    return fail('CONFIG_INVALID', `${path} is not a notary duty file (written by \`liuhen notary rotate\`)`, { cause });
  }
}

/** Where the notary of `dataDir` starts scanning: the later of the registry's deployment block and its key's duty start. */
export function notaryScanStart(dataDir: string, deployBlock: number | undefined): number | undefined {
  const duty = readNotaryDuty(dataDir);
  if (!duty) return deployBlock;
  return Math.max(deployBlock ?? 0, duty.fromBlock);
}
