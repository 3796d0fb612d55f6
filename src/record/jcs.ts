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

/** An object's members in JCS order (§3.2.3), each serialised as `"name":value`; plain data, so it can cross to a worker. */
export interface CanonicalMembers {
  names: string[];
  members: string[];
}

export function canonicalMembers(obj: Record<string, unknown>): CanonicalMembers {
  const proto = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) fail('JCS_UNSUPPORTED_VALUE', '$: only plain objects can be canonicalized');
  const names = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return { names, members: names.map((k) => member(k, obj[k], '$')) };
}

/**
 * JCS of the object `form` was made from plus the members of `extra` (which it
 * must not have): a record is canonicalised without and with its chain slot
 * and signature, and only those members differ, so the rest is serialised once.
 */
export function canonicalWith(form: CanonicalMembers, extra: Record<string, unknown>): string {
  const out: string[] = [];
  let i = 0;
  for (const name of Object.keys(extra)
    .filter((k) => extra[k] !== undefined)
    .sort()) {
    if (form.names.includes(name)) fail('JCS_UNSUPPORTED_VALUE', `$.${name}: the member to add is already present`);
    while (i < form.names.length && form.names[i]! < name) out.push(form.members[i++]!);
    out.push(member(name, extra[name], '$'));
  }
  while (i < form.names.length) out.push(form.members[i++]!);
  return `{${out.join(',')}}`;
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
      const keys = Object.keys(value as object)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort();
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
