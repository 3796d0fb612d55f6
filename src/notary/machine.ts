import type { TxStatus } from '../chain/outbox.js';
import type { NotaryDecision } from './log.js';

/**
 * The notary's state machine, pure: from a batch's decision in the log and
 * what the chain says, the next action. Tested table by table in
 * test/notary/machine.test.ts; `NotaryService` gathers the facts and acts.
 *
 *   (none) ─ co-signature on chain ─▶ record-cosigned        ─ else ─▶ evaluate (flag, refuse or sign)
 *   signed/submitted ─ on chain ─▶ record-cosigned ─ relayer ─▶ report-signed ─ not anchored ─▶ wait
 *                    ─ submitted, tx can still be mined ─▶ rebroadcast ─ else ─▶ send (new tx, same attestation)
 *   cosigned ─ still on chain ─▶ skip ─ not anchored ─▶ wait (the anchorer re-anchors it)
 *            ─ lost (rollback) ─▶ recosign: the logged attestation if the registry still accepts it, else a fresh one
 *   refused ─▶ report-refused
 */
export interface NotaryFacts {
  /** `attestedAt` the registry records for this notary on the root; 0 when it holds no co-signature of it. */
  onChainAttestedAt: number;
  /** The registry holds the batch, with the facts of its event. */
  anchored: boolean;
  /** The notary sends `cosign` itself (false: relayer mode). */
  submit: boolean;
  /** For `submitted`: what became of the logged transaction. */
  tx?: TxStatus;
  /** For `cosigned` lost on chain: the registry would accept the logged attestation as is (same digest, not before the anchor). */
  loggedAttestationAccepted?: boolean;
}

export type NotaryAction =
  | { type: 'evaluate' }
  | { type: 'record-cosigned'; attestedAt: number }
  | { type: 'report-signed' }
  | { type: 'wait-not-anchored' }
  | { type: 'send' }
  | { type: 'rebroadcast' }
  | { type: 'skip' }
  | { type: 'recosign'; reuse: boolean }
  | { type: 'report-refused' };

export function notaryTransition(dec: NotaryDecision | undefined, f: NotaryFacts): NotaryAction {
  if (dec === undefined) return f.onChainAttestedAt !== 0 ? { type: 'record-cosigned', attestedAt: f.onChainAttestedAt } : { type: 'evaluate' };
  switch (dec.status) {
    case 'refused':
      return { type: 'report-refused' };
    case 'signed':
    case 'submitted':
      if (f.onChainAttestedAt !== 0) return { type: 'record-cosigned', attestedAt: f.onChainAttestedAt };
      if (!f.submit) return { type: 'report-signed' };
      if (!f.anchored) return { type: 'wait-not-anchored' };
      if (dec.status === 'submitted' && f.tx?.kind === 'unmined') return { type: 'rebroadcast' };
      return { type: 'send' };
    case 'cosigned':
      if (f.onChainAttestedAt !== 0) return { type: 'skip' };
      if (!f.anchored) return { type: 'wait-not-anchored' };
      return { type: 'recosign', reuse: dec.attestation !== undefined && f.loggedAttestationAccepted === true };
  }
}
