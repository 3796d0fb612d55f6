import { fail } from '../errors.js';
import { toHex, type Hex } from '../util/hex.js';
import { merged } from '../util/merged.js';
import { canonicalize, canonicalTemplate, fillTemplate, jcsMember } from './jcs.js';
import { leafOfCanonical, signingBytesOfCanonical } from './leaf.js';
import { parseWith } from './parse.js';
import { verifyRecordSignature } from './device-key.js';
import { signatureSchema, type LiuhenRecord, type RecordSignature } from './schema.js';

/**
 * A device's hash chain: record n+1 carries `seq = n + 1` and `prev` = the leaf
 * of record n, and the leaf covers the signature, so a run of one device's
 * records can only be completed one after another. Doing a whole run in one
 * call (one hand-off to a signing thread per run instead of per record) is what
 * lets a busy journal keep its main thread for the disk.
 */

/** Where a device's chain stands: its next record gets `seq + 1` and `prev = leaf` (0 and 32 zero bytes for a new device). */
export interface ChainHead {
  seq: number;
  leaf: Hex;
}

/** A record before its chain slot and signature: the journal has validated and completed everything else. */
export type UnchainedRecord = Omit<LiuhenRecord, 'seq' | 'prev' | 'sig'>;

/** A record completed into its device chain, with its leaf and the JCS text the leaf hashes. */
export interface ChainedRecord {
  record: LiuhenRecord;
  leaf: Hex;
  canonical: string;
}

/**
 * Anything that can sign a record for its device (a DeviceKey, an HSM, …). The
 * journal takes only `sig` from what it returns; the record and its leaf are
 * rebuilt and computed by the SDK. (A DeviceKey signs whole runs at once.)
 */
export interface RecordSigner {
  sign(record: LiuhenRecord): LiuhenRecord | Promise<LiuhenRecord>;
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

export function recordTemplate(record: UnchainedRecord): RecordTemplate {
  return canonicalTemplate(record, CHAIN_SLOTS);
}

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

/** The records `signLinks` completed, rebuilt from its links (a signing thread sends back only those). */
export function linkRecords(head: ChainHead, records: readonly UnchainedRecord[], publicKey: Hex, links: readonly ChainLink[]): ChainedRecord[] {
  if (links.length !== records.length) fail('SIGNING_FAILED', `the signer returned ${links.length} signatures for a run of ${records.length} records`);
  let { seq, leaf: prev } = head;
  return records.map((r, i) => {
    const { sig, leaf, canonical } = links[i]!;
    const record = merged(r, { seq: ++seq, prev, sig: { alg: 'Ed25519', key: publicKey, value: sig } }) as LiuhenRecord;
    prev = leaf;
    return { record, leaf, canonical };
  });
}

/** Chains `records` with any signer, one `sign` call per record; only the signature is taken from the signer. */
export async function chainWith(signer: RecordSigner, head: ChainHead, records: readonly UnchainedRecord[]): Promise<ChainedRecord[]> {
  let { seq, leaf: prev } = head;
  const out: ChainedRecord[] = [];
  for (const r of records) {
    const unsigned = { ...r, seq: ++seq, prev } as LiuhenRecord;
    const signed = await signer.sign(unsigned);
    // The signer may only add `sig`; check that much without re-validating the whole record.
    const sig = parseWith(signatureSchema, signed.sig, 'INVALID_RECORD', 'signature');
    const record: LiuhenRecord = { ...unsigned, sig };
    // A faulty signer (an HSM returning another record's signature, a weak key) is caught here, not by a court.
    if (!verifyRecordSignature(record)) fail('SIGNATURE_INVALID', `the signer's signature does not verify for record ${record.id} (device ${record.device})`);
    const canonical = canonicalize(record);
    prev = leafOfCanonical(canonical);
    out.push({ record, leaf: prev, canonical });
  }
  return out;
}
