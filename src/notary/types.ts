import type { AnchorLog } from '../chain/registry.js';
import type { ErrorCode } from '../errors.js';
import type { NotaryFlag } from './log.js';
import type { AnchoredBatch, RefusalReason } from './policy.js';
import { agencyCodeOf } from './registry.js';

/** A batch as a notary reports it. `agency` is the code when readable, else its bytes32. */
export interface NotaryBatchRef {
  agency: string;
  agencyBytes32: string;
  seq: number;
  root: string;
  size: number;
  prevRoot: string;
  blockNumber: number;
  /** The anchoring transaction, when known. */
  txHash?: string;
}

export interface NotaryErrorInfo {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * What happened to one batch in a pass:
 * - `signed`: this notary attested the batch (`submitted`: its cosign transaction was mined;
 *   `resumed`: the attestation came from the log, written before a crash or by an earlier run);
 * - `skipped`: nothing to do, the chain already holds this notary's co-signature;
 * - `refused`: a durable refusal, with the coded error (`NOTARY_POLICY` or `NOTARY_EQUIVOCATION`);
 *   `recorded` says whether it was decided now or in an earlier run;
 * - `waiting`: not decided yet (too few confirmations, not anchored any more, transaction not mined);
 * - `failed`: signed and kept in the log, but the cosign transaction could not be sent; retried later.
 */
export type BatchOutcome =
  /** `flags`: policy findings kept with the attestation, never a refusal (capture times beyond the skew or older than `maxAge`). */
  | {
      status: 'signed';
      batch: NotaryBatchRef;
      attestedAt: number;
      signature: string;
      submitted: boolean;
      resumed: boolean;
      cosignTx?: string;
      flags?: NotaryFlag[];
    }
  | { status: 'skipped'; batch: NotaryBatchRef; reason: 'ALREADY_COSIGNED'; detail: string }
  | { status: 'refused'; batch: NotaryBatchRef; reason: RefusalReason; error: NotaryErrorInfo; recorded: 'now' | 'earlier' }
  | { status: 'waiting'; batch: NotaryBatchRef; reason: 'CONFIRMATIONS' | 'NOT_ANCHORED' | 'TX_PENDING'; detail: string }
  | { status: 'failed'; batch: NotaryBatchRef; error: NotaryErrorInfo };

/** Everything `onEvent` hears: batch outcomes, plus notices about the chain. */
export type NotaryEvent =
  | BatchOutcome
  | { status: 'rewound'; fromBlock: number; detail: string }
  /** The chain lost this notary's co-signature of a batch its log says co-signed (rollback, reorg): it co-signs again. */
  | { status: 'recosigning'; batch: NotaryBatchRef; reuse: boolean; detail: string }
  | { status: 'error'; error: NotaryErrorInfo };

/** An anchored batch this notary has not co-signed (`liuhen notary pending`). */
export interface NotaryPendingBatch {
  batch: NotaryBatchRef;
  confirmations: number;
  /** What the log says: nothing yet, refused (with why), or signed and not yet seen on chain. */
  state: 'new' | 'refused' | 'signed' | 'submitted';
  refusal?: { reason: RefusalReason; message: string };
}

export function batchRef(b: AnchoredBatch): NotaryBatchRef {
  return {
    agency: b.agencyCode ?? b.agency,
    agencyBytes32: b.agency,
    seq: b.seq,
    root: b.root,
    size: b.size,
    prevRoot: b.prevRoot,
    blockNumber: b.blockNumber,
    ...(b.txHash === undefined ? {} : { txHash: b.txHash }),
  };
}

/** A `BatchAnchored` event as a notary reports it, before `batch(root)` has confirmed it. */
export function eventRef(ev: AnchorLog): NotaryBatchRef {
  return {
    agency: agencyCodeOf(ev.agencyBytes32) ?? ev.agencyBytes32,
    agencyBytes32: ev.agencyBytes32,
    seq: ev.seq,
    root: ev.root,
    size: ev.size,
    prevRoot: ev.prevRoot,
    blockNumber: ev.blockNumber,
    txHash: ev.txHash,
  };
}
