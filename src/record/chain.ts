import { fail } from '../errors.js';
import type { Hex } from '../util/hex.js';
import { merged } from '../util/merged.js';
import { canonicalize, canonicalTemplate } from './jcs.js';
import { leafOfCanonical } from './leaf.js';
import { CHAIN_SLOTS, type ChainHead, type ChainLink, type RecordTemplate } from './links.js';
import { parseWith } from './parse.js';
import { verifyRecordSignature } from './device-key.js';
import { signatureSchema, type LiuhenRecord } from './schema.js';

export { CHAIN_SLOTS, flattenLinks, signatureMember, signLinks, type ChainHead, type ChainLink, type RecordTemplate } from './links.js';

/**
 * A device's hash chain: record n+1 carries `seq = n + 1` and `prev` = the leaf
 * of record n, and the leaf covers the signature, so a run of one device's
 * records can only be completed one after another. Doing a whole run in one
 * call (one hand-off to a signing thread per run instead of per record) is what
 * lets a busy journal keep its main thread for the disk.
 */

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

export function recordTemplate(record: UnchainedRecord): RecordTemplate {
  return canonicalTemplate(record, CHAIN_SLOTS);
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
