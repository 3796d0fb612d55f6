import type { Journal } from '../journal/journal.js';
import type { BatchInfo, StoredRecord } from '../journal/types.js';
import type { MerkleTree } from '../merkle/tree.js';
import { fail } from '../errors.js';
import { toHex } from '../util/hex.js';
import { RECEIPT_FORMAT, type Receipt, type ReceiptAnchor, type ReceiptAttestation } from './format.js';

export interface BuildReceiptParameters {
  stored: StoredRecord;
  batch: BatchInfo;
  index: number;
  tree: MerkleTree;
  anchor?: ReceiptAnchor | null;
  attestations?: ReceiptAttestation[];
}

/** Assembles a receipt from journal data. The path comes from the tree, never from the caller. */
export function buildReceipt(p: BuildReceiptParameters): Receipt {
  if (toHex(p.tree.leaf(p.index)) !== p.stored.leaf) fail('JOURNAL_CORRUPT', `leaf ${p.index} of batch ${p.batch.root} is not record ${p.stored.record.id}`);
  return {
    format: RECEIPT_FORMAT,
    record: p.stored.record,
    leaf: p.stored.leaf,
    inclusion: { index: p.index, size: p.batch.size, path: p.tree.inclusionProof(p.index).map(toHex) },
    batch: { agency: p.batch.agency, seq: p.batch.seq, root: p.batch.root, size: p.batch.size, prevRoot: p.batch.prevRoot },
    anchor: p.anchor ?? null,
    attestations: p.attestations ?? [],
  };
}

/** The receipt of a sealed record, without chain data (the chain module fills `anchor` and `attestations`). */
export async function receiptFromJournal(journal: Journal, id: string): Promise<Receipt> {
  const stored = await journal.requireRecord(id);
  const loc = await journal.locate(stored);
  if (!loc) fail('RECORD_NOT_SEALED', `record ${id} is not sealed into a batch yet; run \`liuhen seal\` first`);
  return buildReceipt({ stored, batch: loc.batch, index: loc.index, tree: await journal.tree(loc.batch.root) });
}

/** Public disclosure: the same receipt without the record (no personal data), verifiable from the leaf on. */
export function redactReceipt(receipt: Receipt): Receipt {
  return { ...receipt, record: null };
}
