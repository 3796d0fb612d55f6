import { types } from 'node:util';
import type { UnchainedRecord } from './chain.js';
import {
  KINDS,
  LIMITS,
  MAX_DEVICE_SEQ,
  PATTERNS,
  RECORD_VERSION,
  STAGES,
  type LiuhenRecord,
  type Location,
  type Media,
  type RecordSignature,
} from './schema.js';

/*
 * The journal's fast path for the common record: a plain object with media and
 * no body. It only ever *accepts* (returns a fresh copy) or *declines*
 * (returns undefined, and the caller asks zod, which accepts or explains the
 * error). It never refuses and never explains, so it cannot change what is
 * valid or any error message: what it accepts, the zod schema (schema.ts)
 * accepts with the same result — a property test (test/record/fast-parse.test.ts)
 * holds it to that on random and mutated records.
 *
 * Why: at 10,000 durable appends a second the main thread has ~100 µs per
 * record, and zod spent ~17 µs of it (plus the garbage) on a record this
 * checks in ~1 µs. Anything unusual — a body, an unknown or undefined member,
 * a non-plain object, a getter's second read — is declined.
 *
 * Every value is read once into a local, checked, and copied: the result never
 * shares an object with the caller, as zod's does not.
 */

const STAGE_SET: ReadonlySet<unknown> = new Set(STAGES);
const KIND_SET: ReadonlySet<unknown> = new Set(KINDS);
const ZERO_PREV = `0x${'00'.repeat(32)}`;

/** Members a record may have, and which ones the fast path requires. */
const UNCHAINED_MEMBERS = new Set(['v', 'id', 'agency', 'device', 'officer', 'case', 'stage', 'kind', 'media', 'capturedAt', 'location', 'salt']);
const CHAINED_MEMBERS = new Set([...UNCHAINED_MEMBERS, 'seq', 'prev', 'sig']);

/** A plain object: not an array (zod's check), not a Proxy (whose traps may answer each read differently). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !types.isProxy(value) && Object.getPrototypeOf(value) === Object.prototype;
}

/**
 * Every key zod's strict check walks (`for…in`: inherited enumerable keys too)
 * is in `allowed` and is an own data member that is not undefined (zod keeps
 * such a key in its result; that case is left to it). A getter declines: zod
 * reads a member once, this path more often. `body`, which this path never
 * reads, declines wherever it is (zod reads it even if not enumerable, or
 * inherited).
 */
function onlyMembers(obj: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key in obj) {
    if (!allowed.has(key)) return false;
    const d = Object.getOwnPropertyDescriptor(obj, key);
    if (d === undefined || !('value' in d) || d.value === undefined) return false;
  }
  return !('body' in obj);
}

const str = (v: unknown, pattern: RegExp): v is string => typeof v === 'string' && pattern.test(v);
const num = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && v >= min && v <= max;
const int = (v: unknown, min: number, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;

const MEDIA_MEMBERS = new Set(['type', 'size', 'sha256', 'cid']);
function media(value: unknown): Media | undefined {
  if (!isPlainObject(value) || !onlyMembers(value, MEDIA_MEMBERS)) return undefined;
  const { type, size, sha256 } = value;
  if (!str(type, PATTERNS.mime) || !int(size, 0, Number.MAX_SAFE_INTEGER) || !str(sha256, PATTERNS.sha256)) return undefined;
  const cid = value.cid;
  if (cid === undefined) return { type, size, sha256 };
  return str(cid, PATTERNS.cid) ? { type, size, sha256, cid } : undefined;
}

const LOCATION_MEMBERS = new Set(['lat', 'lon', 'acc']);
function location(value: unknown): Location | undefined {
  if (!isPlainObject(value) || !onlyMembers(value, LOCATION_MEMBERS)) return undefined;
  const { lat, lon } = value;
  if (!num(lat, -90, 90) || !num(lon, -180, 180)) return undefined;
  const acc = value.acc;
  if (acc === undefined) return { lat, lon };
  return num(acc, 0, 1e6) ? { lat, lon, acc } : undefined;
}

const SIGNATURE_MEMBERS = new Set(['alg', 'key', 'value']);
function signature(value: unknown): RecordSignature | undefined {
  if (!isPlainObject(value) || !onlyMembers(value, SIGNATURE_MEMBERS)) return undefined;
  const { alg, key, value: sig } = value;
  return alg === 'Ed25519' && str(key, PATTERNS.publicKey) && str(sig, PATTERNS.signature) ? { alg, key, value: sig } : undefined;
}

/** The members every record has, checked; undefined to decline. */
function common(value: Record<string, unknown>): UnchainedRecord | undefined {
  const { v, id, agency, device, officer, kind, capturedAt, salt } = value;
  if (v !== RECORD_VERSION || !str(id, PATTERNS.recordId) || !str(agency, PATTERNS.agency) || !str(device, PATTERNS.device)) return undefined;
  if (typeof officer !== 'string' || officer.length > LIMITS.officerLength || !PATTERNS.officer.test(officer)) return undefined;
  if (!KIND_SET.has(kind) || !str(salt, PATTERNS.salt)) return undefined;
  if (typeof capturedAt !== 'string' || capturedAt.length > LIMITS.rfc3339Length || !PATTERNS.rfc3339.test(capturedAt) || Number.isNaN(Date.parse(capturedAt)))
    return undefined;
  // A record without body must have media (a body is left to zod).
  const m = media(value.media);
  if (!m) return undefined;
  const out: UnchainedRecord = { v, id, agency, device, officer, kind: kind as UnchainedRecord['kind'], media: m, capturedAt, salt };
  const c = value.case;
  if (c !== undefined) {
    if (!str(c, PATTERNS.case)) return undefined;
    out.case = c;
  }
  const stage = value.stage;
  if (stage !== undefined) {
    if (!STAGE_SET.has(stage)) return undefined;
    out.stage = stage as UnchainedRecord['stage'];
  }
  if (value.location !== undefined) {
    const l = location(value.location);
    if (!l) return undefined;
    out.location = l;
  }
  return out;
}

/** A copy of `value` if it is a valid record without chain slot and signature of the common kind; else undefined (ask zod). */
export function fastUnchainedRecord(value: unknown): UnchainedRecord | undefined {
  if (!isPlainObject(value) || !onlyMembers(value, UNCHAINED_MEMBERS)) return undefined;
  return common(value);
}

/** A copy of `value` if it is a valid complete record of the common kind; else undefined (ask zod). */
export function fastRecord(value: unknown): LiuhenRecord | undefined {
  if (!isPlainObject(value) || !onlyMembers(value, CHAINED_MEMBERS)) return undefined;
  const base = common(value);
  if (!base) return undefined;
  const { seq, prev } = value;
  if (!int(seq, 1, MAX_DEVICE_SEQ) || !str(prev, PATTERNS.hash32) || (seq === 1 && prev !== ZERO_PREV)) return undefined;
  // Members added to our own fresh object (a spread would give it a fresh hidden class: util/merged.ts).
  const out: LiuhenRecord = Object.assign(base, { seq, prev });
  if (value.sig !== undefined) {
    const sig = signature(value.sig);
    if (!sig) return undefined;
    out.sig = sig;
  }
  return out;
}
