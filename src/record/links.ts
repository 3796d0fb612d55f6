import { toHex, type Hex } from '../util/hex.js';
import { fillTemplate, jcsMember } from './jcs.js';
import { leafOfCanonical, signingBytesOfCanonical } from './leaf.js';
import type { RecordSignature } from './schema.js';

/*
 * What a signing thread runs (signing-worker.ts): completing, signing and
 * hashing a run of one device's records from their JCS templates. Kept apart
 * from chain.ts so that a signing thread loads no schema library (zod) and no
 * journal code: it starts in a fraction of the time.
 */

/** Where a device's chain stands: its next record gets `seq + 1` and `prev = leaf` (0 and 32 zero bytes for a new device). */
export interface ChainHead {
  seq: number;
  leaf: Hex;
}

/** What signing a run produces per record: the signature value, the leaf and the JCS text (the record itself is rebuilt by `linkRecords`). */
export interface ChainLink {
  sig: Hex;
  leaf: Hex;
  canonical: string;
}

/** Where a record's chain slot and signature go in its JCS text (`prev` < `salt` < `seq` < `sig` in JCS order, RFC 8785 §3.2.3). */
export const CHAIN_SLOTS = ['prev', 'seq', 'sig'] as const;

/** A record's JCS text without its chain slot and signature, cut where they go (see canonicalTemplate). */
export type RecordTemplate = string[];

/**
 * Completes, signs and hashes a run in order after `head`, with a raw Ed25519
 * signing function. Takes each record's template (recordTemplate), so a
 * signing thread receives strings rather than objects.
 */
export function signLinks(head: ChainHead, templates: readonly RecordTemplate[], publicKey: Hex, signBytes: (message: Uint8Array) => Uint8Array): ChainLink[] {
  let { seq, leaf: prev } = head;
  const sigMember = signatureMember(publicKey);
  return templates.map((template) => {
    const slot = [jcsMember('prev', prev), jcsMember('seq', ++seq)];
    const sig = toHex(signBytes(signingBytesOfCanonical(fillTemplate(template, [...slot, undefined]))));
    const canonical = fillTemplate(template, [...slot, sigMember(sig)]);
    prev = leafOfCanonical(canonical);
    return { sig, leaf: prev, canonical };
  });
}

/**
 * The `sig` member for a key, as a function of the signature value: the
 * member is serialised once per run with an empty value and the value, lower
 * hex that needs no escaping, is put in its place (`value` sorts last of the
 * three names, RFC 8785 §3.2.3). Equal to jcsMember (test/record/chain.test.ts).
 */
export function signatureMember(publicKey: Hex): (value: Hex) => string {
  const empty = jcsMember('sig', { alg: 'Ed25519', key: publicKey, value: '' } satisfies Omit<RecordSignature, 'value'> & { value: string });
  const head = empty.slice(0, -'"}'.length);
  return (value) => `${head}${value}"}`;
}

/** Links as one flat array of strings (sig, leaf, canonical of each record in turn), to cross threads: cheaper than objects. */
export function flattenLinks(links: readonly ChainLink[]): string[] {
  // Pushed, not preallocated: a holey array is serialised element by element, as a sparse one.
  const flat: string[] = [];
  for (const l of links) flat.push(l.sig, l.leaf, l.canonical);
  return flat;
}
