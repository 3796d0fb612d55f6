export {
  RECEIPT_FORMAT,
  MAX_RECEIPT_BYTES,
  receiptSchema,
  anchorSchema,
  attestationSchema,
  inclusionSchema,
  batchRefSchema,
  parseReceipt,
  serializeReceipt,
} from './format.js';
export type { Receipt, ReceiptAnchor, ReceiptAttestation, ReceiptInclusion, ReceiptBatch } from './format.js';
export { buildReceipt, receiptFromJournal, redactReceipt } from './build.js';
export type { BuildReceiptParameters } from './build.js';
