import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { describeIssues } from '../record/parse.js';
import { agencySchema } from '../record/schema.js';
import { fail, isLiuhenError } from '../errors.js';

/**
 * A trust root (issue 13, 14): one file that courts and supervisors
 * distribute, so that an offline verification never depends on addresses
 * typed by hand — `liuhen verify FILE --receipt R --trust trust.json`.
 *
 * ```json
 * { "format": "liuhen-trust/1", "chainId": 27752, "rpc": "https://…",
 *   "registries": ["0xCURRENT…", "0xPREVIOUS…"],
 *   "notaries": { "threshold": 2, "members": [{ "address": "0x…", "name": "济南市泉城公证处" }] },
 *   "agencies": [{ "code": "JN-CGJ", "name": "济南市城市管理局" }] }
 * ```
 *
 * - `registries`: every registry whose receipts are trusted (the current one
 *   and those the consortium moved away from, docs/chain.md).
 * - `notaries`: when given, only these addresses count as co-signers, and at
 *   least `threshold` of them (or the registry's threshold, whichever is
 *   higher) must have co-signed on chain.
 * - `agencies`: when given, the expected agencies; a receipt of another
 *   agency fails the anchor check. Names are for display.
 */
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte address in 0x hex');

export const trustRootSchema = z.strictObject({
  format: z.literal('liuhen-trust/1'),
  chainId: z.number().int().positive(),
  rpc: z.string().url().max(2048).optional(),
  registries: z.array(address).min(1).max(16),
  notaries: z
    .strictObject({
      threshold: z.number().int().min(1).max(64).optional(),
      members: z
        .array(z.strictObject({ address, name: z.string().max(256).optional() }))
        .min(1)
        .max(64),
    })
    .optional(),
  agencies: z
    .array(z.strictObject({ code: agencySchema, name: z.string().max(256).optional() }))
    .max(1024)
    .optional(),
});

export type TrustRoot = z.infer<typeof trustRootSchema>;

const MAX_TRUST_BYTES = 256 * 1024;

/** Parses a trust root (text or parsed JSON); a coded INVALID_INPUT naming the field otherwise. */
export function parseTrustRoot(input: unknown, source = 'the trust file'): TrustRoot {
  let raw = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch {
      fail('INVALID_INPUT', `${source} is not JSON`);
    }
  }
  const r = trustRootSchema.safeParse(raw);
  if (!r.success) fail('INVALID_INPUT', `${source}: ${describeIssues(r.error)}`);
  return r.data;
}

/** Reads and parses a trust file. */
export function readTrustRoot(path: string): TrustRoot {
  try {
    if (statSync(path).size > MAX_TRUST_BYTES) fail('INVALID_INPUT', `${path} is larger than a trust file can be (${MAX_TRUST_BYTES} bytes)`);
    return parseTrustRoot(readFileSync(path, 'utf8'), path);
  } catch (e) {
    if (isLiuhenError(e)) throw e;
    return fail('FILE_UNREADABLE', `cannot read the trust file ${path}`);
  }
}

/** The display name of an agency or notary address in a trust root, if it has one. */
export function trustName(trust: TrustRoot | undefined, who: string): string | undefined {
  if (!trust) return undefined;
  const a = trust.agencies?.find((x) => x.code === who)?.name;
  if (a) return a;
  return trust.notaries?.members.find((m) => m.address.toLowerCase() === who.toLowerCase())?.name;
}
