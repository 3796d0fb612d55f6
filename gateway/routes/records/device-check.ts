import { z } from 'zod';
import { AUTHENTICITY_CODES, AUTHENTICITY_WORDS, isLiuhenError, type Authenticity, type AuthenticityLevel, type LiuhenRecord } from '../../../src/index.js';
import type { Context } from '../../context.js';

/**
 * The ingest-time device check of `POST /v1/records/signed` (issue 13,
 * docs/devices.md "Ingest"): is the key that signed the record enrolled on
 * the registry for (agency, device) when it was captured, and not revoked
 * before the record reached this station?
 *
 * Decided: **accept and flag**, never refuse. A station must keep whatever
 * evidence an officer hands in — refusing it would lose it, and the device
 * may simply not be enrolled yet. So the record is journaled verbatim (its
 * leaf is the device's own), and the answer is kept next to it in the
 * journal (meta `device-check:<id>`), returned in the response, and shown in
 * the record, verdict and continuity views, with the same codes as the
 * verifier's `device` check. A revocation is judged by the journal's time —
 * when the record reached the station — never by `capturedAt`, which whoever
 * holds a stolen key sets.
 *
 * The check never holds an upload up: the registry gets `READ_TIMEOUT_MS`,
 * and after a failure it is not asked again for `BACKOFF_MS` (the record is
 * then stored with `DEVICE_ENROLLMENT_UNKNOWN`; the verifier still states
 * the level later, from the chain).
 */
const READ_TIMEOUT_MS = 2_000;
const BACKOFF_MS = 10_000;

export const ingestCheckSchema = z
  .object({
    level: z.enum(['device-signed', 'station-signed', 'revoked-key', 'unenrolled-key', 'enrollment-unknown']),
    code: z.string().describe('DEVICE_SIGNED, STATION_SIGNED, DEVICE_KEY_REVOKED, DEVICE_KEY_UNENROLLED or DEVICE_ENROLLMENT_UNKNOWN'),
    status: z.enum(['pass', 'warn', 'skipped']),
    flagged: z.boolean().describe('true when the key was not enrolled for the device or revoked: the record is kept, and flagged'),
    zh: z.string(),
    en: z.string(),
    detail: z.string(),
    checkedAt: z.string().describe('when the station checked (RFC 3339)'),
  })
  .meta({ id: 'IngestDeviceCheck' });
export type IngestCheck = z.infer<typeof ingestCheckSchema>;

const metaKey = (id: string) => `device-check:${id}`;

const backoff = new WeakMap<object, number>();

/** What the registry says of `record` now, within the time limit; never throws. */
export async function checkAtIngest(app: Context, record: LiuhenRecord, journaledAt?: number): Promise<IngestCheck> {
  const now = app.clock();
  // A revocation is judged by when the record reached the station (journaledAt of a record journaled
  // before, e.g. by an upload whose check was lost in a crash), not by when a retry arrives.
  const reachedAt = journaledAt ?? now.getTime();
  const check = (a: Authenticity): IngestCheck => {
    const { status, code } = AUTHENTICITY_CODES[a.level];
    return { level: a.level, code, status, flagged: status === 'warn', ...AUTHENTICITY_WORDS[a.level], detail: a.detail, checkedAt: now.toISOString() };
  };
  const unknown = (detail: string) => check({ level: 'enrollment-unknown' satisfies AuthenticityLevel, detail });
  const lookup = app.chain?.recordAuthenticity?.bind(app.chain);
  if (!lookup) return unknown('this gateway reads no registry: device enrollment was not checked at ingest');
  if ((backoff.get(app) ?? 0) > now.getTime()) return unknown('the registry did not answer shortly before: device enrollment was not checked at ingest');
  let timer: NodeJS.Timeout | undefined;
  try {
    const a = await Promise.race([
      lookup({
        agency: record.agency,
        device: record.device,
        capturedAt: Math.floor(Date.parse(record.capturedAt) / 1000),
        signingKey: record.sig?.key,
        existedBy: { time: Math.floor(reachedAt / 1000), source: 'journal' },
      }),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), READ_TIMEOUT_MS))),
    ]);
    if (a === 'timeout') throw new Error('timeout');
    return a ? check(a) : unknown('the registry keeps no device enrollments (version 1)');
  } catch (e) {
    backoff.set(app, now.getTime() + BACKOFF_MS);
    app.logger.warn('device enrollment not checked at ingest: registry unavailable', { code: isLiuhenError(e) ? e.code : 'CHAIN_UNREACHABLE' });
    return unknown('the registry could not be read: device enrollment was not checked at ingest');
  } finally {
    clearTimeout(timer);
  }
}

/** The check kept for record `id` at ingest, or null (recorded through `POST /v1/records`, or before this check existed). */
export async function storedIngestCheck(app: Context, id: string): Promise<IngestCheck | null> {
  const text = await app.journal.getMeta(metaKey(id));
  if (text === undefined) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = ingestCheckSchema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

const pending = new WeakMap<object, Map<string, Promise<{ check: IngestCheck; fresh: boolean }>>>();

/**
 * The one check of record `id`: the stored one, or one asked of the registry and kept. A
 * re-upload racing the first upload (journaled, its check still under way) waits for that
 * check instead of asking again and overwriting it: the check kept in the journal and
 * shown in every view is the one acknowledged to the first upload (red-team finding).
 * `fresh`: asked now (not found stored).
 */
export function ingestCheckOnce(app: Context, record: LiuhenRecord, duplicate: boolean): Promise<{ check: IngestCheck; fresh: boolean }> {
  let inflight = pending.get(app);
  if (!inflight) pending.set(app, (inflight = new Map()));
  const running = inflight.get(record.id);
  if (running) return running;
  // Registered before any await; the stored check is read inside it, so a check kept (and
  // unregistered) just before is found rather than asked again.
  const p = (async () => {
    const stored = duplicate ? await storedIngestCheck(app, record.id) : null;
    if (stored) return { check: stored, fresh: false };
    const journaledAt = duplicate ? (await app.journal.getRecord(record.id))?.journaledAt : undefined;
    const check = await checkAtIngest(app, record, journaledAt);
    await keepIngestCheck(app, record.id, check);
    return { check, fresh: true };
  })().finally(() => inflight.delete(record.id));
  inflight.set(record.id, p);
  return p;
}

/** Keeps the check next to the journaled record (synced like every journal write). */
export async function keepIngestCheck(app: Context, id: string, check: IngestCheck): Promise<void> {
  await app.journal.putMeta(metaKey(id), JSON.stringify(check));
}
