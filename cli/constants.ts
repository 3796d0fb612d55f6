/**
 * Values the commands need while they are only being described (`--help`),
 * restated here so that describing them loads no schema library (zod) and
 * no chain client. test/cli/build.test.ts checks each against the SDK.
 */
export const DEFAULT_DATA_DIR = '.liuhen';
export const STAGES = ['onsite', 'filing', 'investigation', 'review', 'decision', 'service', 'execution', 'closing'] as const;
export const KINDS = ['video', 'photo', 'audio', 'document', 'form', 'event'] as const;
export const MAX_RECEIPT_BYTES = 256 * 1024;
export const EMBEDDED_CHAIN_ID = 27752;
export const NOTARY_PASSPHRASE_ENV = 'LIUHEN_NOTARY_PASSPHRASE';
