import { fail } from '../errors.js';

/**
 * RFC 8785 JSON Canonicalization Scheme. The output is the exact byte string
 * that gets hashed, so this is consensus-critical:
 * - objects: members sorted by the UTF-16 code units of their names (§3.2.3),
 *   which is what Array.prototype.sort does on strings;
 * - numbers: the ECMAScript Number serialisation (§3.2.2.3), which is
 *   JSON.stringify's; NaN and ±Infinity are not JSON and are refused;
 * - strings: JSON.stringify's escaping (§3.2.2.2); lone surrogates are refused
 *   (I-JSON, RFC 7493 §2.1), so a record always has one canonical form.
 */
export function canonicalize(value: unknown): string {
  return serialize(value, '$');
}

export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalize(value));
}

/** JCS of an object, able to say what it would be with one more member. */
export interface CanonicalForm {
  readonly text: string;
  /** JCS of the object plus the member `name` (which it must not have yet). */
  adding(name: string, value: unknown): string;
}

/**
 * A record is canonicalised twice: without `sig` (the bytes its device signs)
 * and with it (its leaf). The two differ only by that member at its sorted
 * place (§3.2.3), so the shared members are serialised once.
 */
export function canonicalForm(obj: Record<string, unknown>): CanonicalForm {
  const proto = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) fail('JCS_UNSUPPORTED_VALUE', '$: only plain objects can be canonicalized');
  const names = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  const members = names.map((k) => member(k, obj[k], '$'));
  const text = `{${members.join(',')}}`;
  return {
    text,
    adding(name, value) {
      if (names.includes(name)) fail('JCS_UNSUPPORTED_VALUE', `$.${name}: the member to add is already present`);
      let at = names.findIndex((k) => k > name);
      if (at < 0) at = names.length;
      return `{${[...members.slice(0, at), member(name, value, '$'), ...members.slice(at)].join(',')}}`;
    },
  };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function serialize(value: unknown, where: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) fail('JCS_UNSUPPORTED_VALUE', `${where}: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'string':
      if (LONE_SURROGATE.test(value)) fail('JCS_UNSUPPORTED_VALUE', `${where}: string contains a lone surrogate`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => serialize(v, `${where}[${i}]`)).join(',')}]`;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) fail('JCS_UNSUPPORTED_VALUE', `${where}: only plain objects can be canonicalized`);
      const keys = Object.keys(value as object).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
      return `{${keys.map((k) => member(k, (value as Record<string, unknown>)[k], where)).join(',')}}`;
    }
    default:
      return fail('JCS_UNSUPPORTED_VALUE', `${where}: ${typeof value} is not a JSON value`);
  }
}

function member(name: string, value: unknown, where: string): string {
  if (LONE_SURROGATE.test(name)) fail('JCS_UNSUPPORTED_VALUE', `${where}: member name contains a lone surrogate`);
  return `${JSON.stringify(name)}:${serialize(value, `${where}.${name}`)}`;
}
