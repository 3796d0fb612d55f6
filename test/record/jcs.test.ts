import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/record/jcs.js';

// Examples from RFC 8785 (JSON Canonicalization Scheme).
describe('RFC 8785 JCS', () => {
  it('§3.2.2 sample: literals, numbers and string escaping', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('§3.2.3 sorting by UTF-16 code units', () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh", "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    );
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis","€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  // Appendix B: IEEE 754 bit patterns → their canonical text.
  const numbers: Array<[string, string]> = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  for (const [bits, text] of numbers) {
    it(`Appendix B: ${bits} → ${text}`, () => {
      const n = Buffer.from(bits, 'hex').readDoubleBE(0);
      expect(canonicalize(n)).toBe(text);
    });
  }

  it('refuses what has no canonical form', () => {
    for (const bad of [NaN, Infinity, -Infinity]) expect(() => canonicalize({ x: bad })).toThrow(expect.objectContaining({ code: 'JCS_UNSUPPORTED_VALUE' }));
    expect(() => canonicalize({ x: '\ud800' })).toThrow(/lone surrogate/);
    expect(() => canonicalize({ x: new Date() })).toThrow(/plain objects/);
    expect(() => canonicalize({ x: 1n })).toThrow(/bigint/);
  });

  it('nested arrays and objects keep array order and sort members', () => {
    expect(canonicalize({ b: [3, { z: 1, a: [] }], a: {} })).toBe('{"a":{},"b":[3,{"a":[],"z":1}]}');
  });
});

describe('member order (§3.2.3) on random names', () => {
  it('equals Array.prototype.sort of the names, for any set of names without lone surrogates', () => {
    const name = fc.string({ unit: 'grapheme', maxLength: 6 });
    fc.assert(
      fc.property(fc.dictionary(name, fc.integer(), { maxKeys: 24 }), (obj) => {
        const reference = `{${Object.keys(obj)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${JSON.stringify(obj[k])}`)
          .join(',')}}`;
        expect(canonicalize(obj)).toBe(reference);
      }),
      { numRuns: 2_000 },
    );
  });
  it('the same for an object of many members (sorted another way past 32: an insertion sort is quadratic)', () => {
    const obj = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`k${String(1999 - i).padStart(4, '0')}`, i]));
    const reference = `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${obj[k]}`)
      .join(',')}}`;
    expect(canonicalize(obj)).toBe(reference);
  });
});
