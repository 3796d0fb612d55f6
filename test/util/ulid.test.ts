import { describe, expect, it } from 'vitest';
import { monotonicUlid } from '../../src/util/ulid.js';
import { recordIdSchema } from '../../src/record/schema.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const decodeTime = (id: string) => [...id.slice(0, 10)].reduce((t, c) => t * 32 + ALPHABET.indexOf(c), 0);

describe('monotonic ULID', () => {
  it('is a valid ULID carrying the current time', () => {
    const before = Date.now();
    const id = monotonicUlid()();
    expect(recordIdSchema.safeParse(id).success).toBe(true);
    expect(decodeTime(id)).toBeGreaterThanOrEqual(before);
    expect(decodeTime(id)).toBeLessThanOrEqual(Date.now());
  });
  it('strictly increases, also within one millisecond', () => {
    const next = monotonicUlid();
    const ids = Array.from({ length: 50_000 }, next);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
  });
});
