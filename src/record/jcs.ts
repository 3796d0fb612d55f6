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

/**
 * The JCS text of `obj`, cut where the members named `slots` go (names `obj`
 * lacks, in JCS order): `parts[i]` is the comma-joined members sorting before
 * `slots[i]` (and after `slots[i - 1]`), the last part those after every slot.
 * A record is canonicalised without and then with its chain slot and
 * signature, and only those members differ: the rest is serialised once, and
 * a few strings (not objects) cross to a signing thread.
 */
export function canonicalTemplate(obj: Record<string, unknown>, slots: readonly string[]): string[] {
  const proto = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) fail('JCS_UNSUPPORTED_VALUE', '$: only plain objects can be canonicalized');
  const names = definedNamesInOrder(obj);
  const parts: string[] = [];
  let i = 0;
  let previous = '';
  for (const slot of slots) {
    if (parts.length > 0 && slot <= previous) fail('JCS_UNSUPPORTED_VALUE', `$: the slots must be in JCS order (${slot} after ${previous})`);
    if (names.includes(slot)) fail('JCS_UNSUPPORTED_VALUE', `$.${slot}: the member to add is already present`);
    let part = '';
    while (i < names.length && names[i]! < slot) part = joined(part, member(names[i]!, obj[names[i++]!], '$'));
    parts.push(part);
    previous = slot;
  }
  let rest = '';
  while (i < names.length) rest = joined(rest, member(names[i]!, obj[names[i++]!], '$'));
  parts.push(rest);
  return parts;
}

/**
 * The JCS text of a template's object plus its slot members: `members[i]` is
 * slot i's member as `jcsMember` writes it, or undefined to leave it out.
 * Equal to `canonicalize` of the object with those members added
 * (test/record/chain.test.ts).
 */
export function fillTemplate(parts: readonly string[], members: readonly (string | undefined)[]): string {
  if (members.length !== parts.length - 1)
    fail('JCS_UNSUPPORTED_VALUE', `$: a template of ${parts.length} parts takes ${parts.length - 1} members, not ${members.length}`);
  let out = parts[0]!;
  for (let i = 0; i < members.length; i++) {
    const m = members[i];
    if (m !== undefined) out = out === '' ? m : `${out},${m}`;
    const next = parts[i + 1]!;
    if (next !== '') out = out === '' ? next : `${out},${next}`;
  }
  return `{${out}}`;
}

/** One member, `"name":value`, in JCS (RFC 8785 §3.2). */
export function jcsMember(name: string, value: unknown): string {
  return member(name, value, '$');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Any surrogate at all: a plain scan, so the look-around above runs only on the rare string that has one. */
const SURROGATE = /[\uD800-\uDFFF]/;
const hasLoneSurrogate = (s: string): boolean => SURROGATE.test(s) && LONE_SURROGATE.test(s);

/**
 * `value` in JCS. Where it is (for errors) is `parent` plus `key`, joined only
 * when needed: on an error or to go deeper (records are written ~10 members
 * at a time, and a path string per member was measurable).
 */
function serialize(value: unknown, parent: string, key?: string | number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) fail('JCS_UNSUPPORTED_VALUE', `${at(parent, key)}: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'string':
      if (hasLoneSurrogate(value)) fail('JCS_UNSUPPORTED_VALUE', `${at(parent, key)}: string contains a lone surrogate`);
      return JSON.stringify(value);
    case 'object': {
      const where = at(parent, key);
      if (Array.isArray(value)) return `[${value.map((v, i) => serialize(v, where, i)).join(',')}]`;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) fail('JCS_UNSUPPORTED_VALUE', `${where}: only plain objects can be canonicalized`);
      let out = '';
      for (const k of definedNamesInOrder(value as Record<string, unknown>)) out = joined(out, member(k, (value as Record<string, unknown>)[k], where));
      return `{${out}}`;
    }
    default:
      return fail('JCS_UNSUPPORTED_VALUE', `${at(parent, key)}: ${typeof value} is not a JSON value`);
  }
}

const joined = (list: string, item: string): string => (list === '' ? item : `${list},${item}`);

/**
 * The names of an object's members that are not undefined, in JCS order
 * (§3.2.3: by UTF-16 code units, which is what `<` compares). An insertion
 * sort: objects here have a handful of members, and Array.prototype.sort's
 * work space was the largest allocation per journaled record.
 */
function definedNamesInOrder(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj);
  // Quadratic: only for the handful of members a record's objects have. A body of 2,000 members
  // (16 KiB allows that) would take ~100 ms this way; Array.prototype.sort takes a few.
  if (keys.length > 32) return keys.filter((k) => obj[k] !== undefined).sort();
  const names: string[] = [];
  for (const k of keys) {
    if (obj[k] === undefined) continue;
    let i = names.length;
    names.push(k);
    while (i > 0 && names[i - 1]! > k) {
      names[i] = names[i - 1]!;
      i--;
    }
    names[i] = k;
  }
  return names;
}

const at = (parent: string, key: string | number | undefined): string =>
  key === undefined ? parent : typeof key === 'number' ? `${parent}[${key}]` : `${parent}.${key}`;

function member(name: string, value: unknown, where: string): string {
  return `${memberName(name, where)}${serialize(value, where, name)}`;
}

/** `"name":` for a member name, kept for the few names records have (they are written ~10 times per record). */
const memberNames = new Map<string, string>();
function memberName(name: string, where: string): string {
  let prefix = memberNames.get(name);
  if (prefix === undefined) {
    if (hasLoneSurrogate(name)) fail('JCS_UNSUPPORTED_VALUE', `${where}: member name contains a lone surrogate`);
    prefix = `${JSON.stringify(name)}:`;
    if (memberNames.size < 256) memberNames.set(name, prefix);
  }
  return prefix;
}
