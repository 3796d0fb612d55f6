import { describe, expect, it } from 'vitest';
import { merged } from '../../src/util/merged.js';

describe('merged (spread without a fresh hidden class)', () => {
  it('equals { ...a, ...b }: later members win, nested objects are shared as a spread shares them', () => {
    const inner = { x: 1 };
    const a = { p: 1, q: inner, r: 'a' };
    const b = { r: 'b', s: undefined };
    expect(merged(a, b)).toStrictEqual({ ...a, ...b });
    expect(merged(a, b).q).toBe(inner);
  });

  it('keeps an own __proto__ member a member, as the spread does, instead of setting the prototype', () => {
    const draft = JSON.parse('{"__proto__": {"polluted": true}, "agency": "A"}') as object;
    const out = merged(draft, { v: 1 }) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'agency', 'v']);
    expect(out.polluted).toBeUndefined();
  });
});
