/**
 * The journal's fast path (src/record/fast-parse.ts) may only accept what the
 * zod schema accepts, with the same result: it never refuses, so a record it
 * declines is judged by the schema as before. Property-tested on records built
 * from a valid one with every member replaced, now and then, by a valid
 * alternative, a near miss, a wrong type, undefined, or dropped; plus extra
 * members, non-plain objects and getters.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastRecord, fastUnchainedRecord } from '../../src/record/fast-parse.js';
import { recordSchema, unchainedRecordSchema } from '../../src/record/schema.js';

const ZERO = `0x${'00'.repeat(32)}`;
const valid = {
  v: 1,
  id: '01JDQ7Z8X9Y0ABCDEFGHJKMNPQ',
  agency: 'JN-CG',
  device: 'cam-01',
  officer: '37010001',
  case: '济南城管〔2026〕12号',
  stage: 'onsite',
  kind: 'video',
  media: { type: 'video/mp4', size: 1234, sha256: 'a'.repeat(64), cid: `b${'a'.repeat(58)}` },
  capturedAt: '2026-11-27T09:30:00.123+08:00',
  location: { lat: 36.65, lon: 117.12, acc: 5 },
  salt: `0x${'11'.repeat(16)}`,
  seq: 2,
  prev: `0x${'ab'.repeat(32)}`,
  sig: { alg: 'Ed25519', key: `0x${'cd'.repeat(32)}`, value: `0x${'ef'.repeat(64)}` },
};

const wrongType = fc.constantFrom<unknown>(null, true, 0, '', [], {}, Object.create(null), new Date(0), 1n);
const tricky = fc.constantFrom(
  '',
  'A',
  'a'.repeat(31),
  'a'.repeat(32),
  'a'.repeat(64),
  'a'.repeat(65),
  'x\u0000y',
  'x\u007f',
  '\u4e00\u9fff',
  'é',
  '-lead',
  '.lead',
  'A'.repeat(64),
  '0x' + 'A'.repeat(64),
  '0x' + 'a'.repeat(63),
  '0x' + 'a'.repeat(128),
  ZERO,
  '\uD800',
);
const num = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    1,
    -1,
    1.5,
    2 ** 48 - 1,
    2 ** 48,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 1,
    90,
    90.0001,
    -180,
    1e6,
    1e6 + 1,
    NaN,
    Infinity,
    -Infinity,
  ),
  fc.integer(),
  fc.double(),
);

type Change = { kind: 'drop' } | { kind: 'undefined' } | { kind: 'set'; value: unknown };
const changeOf = (variant: fc.Arbitrary<unknown>): fc.Arbitrary<Change> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant({ kind: 'drop' } as Change) },
    { weight: 1, arbitrary: fc.constant({ kind: 'undefined' } as Change) },
    { weight: 1, arbitrary: wrongType.map((value) => ({ kind: 'set', value }) as Change) },
    { weight: 5, arbitrary: variant.map((value) => ({ kind: 'set', value }) as Change) },
  );

/** `base` (a copy) with up to `most` of its members changed. */
function mutated(base: object, variants: Record<string, fc.Arbitrary<unknown>>, most: number): fc.Arbitrary<Record<string, unknown>> {
  const names = Object.keys(variants);
  return fc
    .subarray(names, { maxLength: most })
    .chain((picked) => fc.tuple(...picked.map((n) => changeOf(variants[n]!).map((c) => [n, c] as const))))
    .map((changes) => {
      const out: Record<string, unknown> = structuredClone(base) as Record<string, unknown>;
      for (const [n, c] of changes) {
        if (c.kind === 'drop') delete out[n];
        else if (c.kind === 'undefined') out[n] = undefined;
        // defineProperty: `__proto__` becomes an own member, as JSON.parse makes it.
        else Object.defineProperty(out, n, { value: c.value, enumerable: true, writable: true, configurable: true });
      }
      return out;
    });
}

/** A nested object (media, location, sig) with one member changed. */
const nested = (base: object, variants: Record<string, fc.Arbitrary<unknown>>) => mutated(base, variants, 1);

/** For each member: valid alternatives and near misses. */
const variants: Record<string, fc.Arbitrary<unknown>> = {
  v: fc.constantFrom<unknown>(1, 2, '1', 1.0),
  id: fc.oneof(fc.constantFrom('01JDQ7Z8X9Y0ABCDEFGHJKMNPR', '01JDQ7Z8X9Y0ABCDEFGHJKMNPI', '01jdq7z8x9y0abcdefghjkmnpq', '01JDQ7Z8X9Y0ABCDEFGHJKMNP'), tricky),
  agency: fc.oneof(fc.constantFrom('A', 'a.b_c-d', '_x', 'A'.repeat(31)), tricky, fc.string()),
  device: fc.oneof(fc.constantFrom('cam:01', 'd'.repeat(64), 'd'.repeat(65)), tricky, fc.string()),
  officer: fc.oneof(tricky, fc.string({ maxLength: 70 }), fc.constantFrom('o'.repeat(64), 'o'.repeat(65), '张三')),
  case: fc.oneof(tricky, fc.constantFrom('(2026)1', '（2026）', 'a/b:c', 'a b'), fc.string()),
  stage: fc.constantFrom<unknown>('onsite', 'closing', 'trial', 'Onsite'),
  kind: fc.constantFrom<unknown>('video', 'photo', 'event', 'clip'),
  media: fc.oneof(
    nested(valid.media, {
      type: fc.oneof(fc.constantFrom('image/jpeg', 'Video/mp4', 'video', 'a/b/c', 'x'.repeat(63) + '/y', 'x'.repeat(64) + '/y'), tricky),
      size: num,
      sha256: fc.oneof(fc.constantFrom('b'.repeat(64), 'B'.repeat(64)), tricky),
      cid: fc.oneof(fc.constantFrom(`b${'2'.repeat(20)}`, `b${'2'.repeat(19)}`, `B${'a'.repeat(40)}`), tricky),
      extra: fc.constant(1),
    }),
    wrongType,
  ),
  body: fc.constantFrom<unknown>({ form: 1 }, {}, undefined),
  capturedAt: fc.oneof(
    fc.constantFrom(
      '2026-11-27T09:30:00Z',
      '2026-11-27T09:30:00+08:00',
      '2026-13-45T09:30:00Z',
      '2026-02-30T25:61:61Z',
      '2026-11-27T09:30:00.1234567891Z',
      '2026-11-27T09:30:00.123456789+08:00',
      '2026-11-27 09:30:00Z',
      '2026-11-27T09:30:00',
      '2026-11-27T09:30:00z',
      '+02026-11-27T09:30:00Z',
    ),
    tricky,
  ),
  location: fc.oneof(nested(valid.location, { lat: num, lon: num, acc: num, alt: fc.constant(1) }), wrongType),
  salt: fc.oneof(fc.constantFrom(`0x${'22'.repeat(32)}`, `0x${'22'.repeat(33)}`, `0x${'22'.repeat(15)}`, `0x${'2'.repeat(33)}`), tricky),
  seq: num,
  prev: fc.oneof(fc.constantFrom(ZERO, `0x${'AB'.repeat(32)}`), tricky),
  sig: fc.oneof(
    nested(valid.sig, {
      alg: fc.constantFrom<unknown>('Ed25519', 'ed25519', 'RSA'),
      key: fc.oneof(fc.constantFrom(`0x${'12'.repeat(32)}`), tricky),
      value: fc.oneof(fc.constantFrom(`0x${'34'.repeat(64)}`), tricky),
      extra: fc.constant(1),
    }),
    wrongType,
  ),
  extra: fc.constantFrom<unknown>(1, undefined),
  __proto__: fc.constant({ polluted: true }),
};

/** A valid record (with or without its chain slot) with up to three members changed; more, and nearly every candidate is plainly invalid. */
const candidate = fc.record({ chained: fc.boolean(), getter: fc.boolean() }).chain(({ chained, getter }) => {
  const { seq: _s, prev: _p, sig: _g, ...unchained } = valid;
  return mutated(chained ? valid : unchained, variants, 3).map((out) => {
    if (getter && 'officer' in out) {
      // A getter that answers differently each time it is read.
      let reads = 0;
      const first = out.officer;
      Object.defineProperty(out, 'officer', { enumerable: true, get: () => (reads++ === 0 ? first : 'x\u0000') });
    }
    return { value: out, chained };
  });
});

/** What the fast path gives must be what zod gives; what it declines, zod judges (no claim about it here). */
let accepted = 0;
function agrees(value: unknown, chained: boolean): boolean {
  const fast = chained ? fastRecord(value) : fastUnchainedRecord(value);
  if (fast === undefined) return true;
  accepted++;
  const zod = (chained ? recordSchema : unchainedRecordSchema).safeParse(value);
  expect(zod.success, `the fast path accepted what zod refuses: ${JSON.stringify(value)} — ${zod.error?.message}`).toBe(true);
  expect(fast).toStrictEqual(zod.data);
  return true;
}

describe('the fast record check (fast-parse.ts) never accepts what the schema refuses', () => {
  it('agrees with zod on 5,000 random and mutated records', () => {
    fc.assert(
      fc.property(candidate, ({ value, chained }) => agrees(value, chained)),
      { numRuns: 5_000 },
    );
    // Not vacuous: a good share of the candidates is taken by the fast path and compared.
    expect(accepted).toBeGreaterThan(500);
  });

  it('agrees with zod at every boundary, one member at a time', () => {
    const values: unknown[] = [
      ...[0, -0, 1, -1, 1.5, 90, 90.0001, -90.0001, 180, 180.5, 2 ** 48 - 1, 2 ** 48, 1e6, 1e6 + 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2],
      ...[NaN, Infinity, -Infinity, null, true, '', '1', [], {}],
      ...['a'.repeat(31), 'a'.repeat(32), 'o'.repeat(64), 'o'.repeat(65), 'x\u0000', 'Ed25519', 'video', 'onsite', ZERO, `0x${'22'.repeat(15)}`],
    ];
    const { seq: _s, prev: _p, sig: _g, ...unchained } = valid;
    let checked = 0;
    for (const [base, chained] of [
      [valid, true],
      [unchained, false],
    ] as const) {
      for (const path of [
        ...Object.keys(base).map((k) => [k]),
        ...['media', 'location', 'sig'].flatMap((o) => Object.keys((valid as unknown as Record<string, object>)[o]!).map((k) => [o, k])),
      ]) {
        if (!(path[0]! in base)) continue;
        for (const value of values) {
          const r = structuredClone(base) as unknown as Record<string, Record<string, unknown>>;
          if (path.length === 1) (r as Record<string, unknown>)[path[0]!] = value;
          else r[path[0]!]![path[1]!] = value;
          agrees(r, chained);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('takes the common records itself, and declines what it leaves to zod', () => {
    const { seq: _s, prev: _p, sig: _g, ...unchained } = valid;
    expect(fastRecord(valid)).toStrictEqual(recordSchema.parse(valid));
    expect(fastUnchainedRecord(unchained)).toStrictEqual(unchainedRecordSchema.parse(unchained));
    const minimal = { ...unchained, case: undefined, stage: undefined, location: undefined };
    expect(fastUnchainedRecord(minimal)).toBeUndefined(); // an undefined member: zod keeps it, so zod decides
    expect(fastUnchainedRecord({ ...unchained, body: { a: 1 } })).toBeUndefined();
    expect(fastUnchainedRecord({ ...unchained, media: undefined, body: { a: 1 } })).toBeUndefined();
    expect(fastRecord({ ...valid, seq: 1 })).toBeUndefined(); // first record with a non-zero prev: zod explains
    expect(fastUnchainedRecord(Object.assign(Object.create(null), unchained))).toBeUndefined();
  });

  it('declines what it could read differently from zod: getters, a hidden or inherited body, arrays, proxies, inherited keys', () => {
    const { seq: _s, prev: _p, sig: _g, ...unchained } = valid;
    const refused = (make: () => object) => {
      expect(unchainedRecordSchema.safeParse(make()).success).toBe(false);
      expect(fastUnchainedRecord(make())).toBeUndefined();
    };
    // A getter that answers badly first, well after (the fast path used to read twice and keep the second).
    refused(() => {
      let reads = 0;
      return Object.defineProperty(structuredClone(unchained), 'case', { enumerable: true, get: () => (reads++ ? 'OK' : 'bad case!') });
    });
    refused(() => Object.defineProperty(structuredClone(unchained), 'body', { value: 42 }));
    refused(() => Object.assign(Object.setPrototypeOf([], Object.prototype), structuredClone(unchained)));
    refused(() => ({ ...structuredClone(unchained), media: Object.assign(Object.setPrototypeOf([], Object.prototype), valid.media) }));
    // Accepted by zod, but not the fast path's to take: a proxy, a good getter.
    expect(fastUnchainedRecord(new Proxy(structuredClone(unchained), {}))).toBeUndefined();
    expect(fastUnchainedRecord(Object.defineProperty(structuredClone(unchained), 'officer', { enumerable: true, get: () => 'O-1' }))).toBeUndefined();
    // An enumerable member inherited through a polluted prototype: zod's strict check sees it, so must this.
    const polluted = Object.create(Object.prototype) as Record<string, unknown>;
    Object.defineProperty(Object.prototype, 'xPolluted', { value: 1, enumerable: true, configurable: true, writable: true });
    try {
      Object.assign(polluted, structuredClone(unchained));
      expect(unchainedRecordSchema.safeParse(polluted).success).toBe(false);
      expect(fastUnchainedRecord(polluted)).toBeUndefined();
    } finally {
      delete (Object.prototype as Record<string, unknown>).xPolluted;
    }
  });

  it('returns a copy: changing the caller\u2019s object afterwards changes nothing', () => {
    const input = structuredClone(valid);
    const out = fastRecord(input)!;
    input.media.sha256 = 'f'.repeat(64);
    input.location.lat = 0;
    input.sig.value = `0x${'00'.repeat(64)}`;
    expect(out).toStrictEqual(recordSchema.parse(valid));
  });
});
