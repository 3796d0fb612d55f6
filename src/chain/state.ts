import { getAddress } from 'ethers';

/**
 * The anchor state of one batch, kept in the journal's anchor-state store
 * (key = batch root; every write is synced before it resolves).
 *
 *   (none) ──sign──▶ signed ──broadcast──▶ submitted ──mined──▶ anchored ──confirmations──▶ final
 *     ▲                 │  ▲                   │                  │                          │
 *     └── pending ◀─────┴──┼───────────────────┴─ reverted, or its nonce used by another tx   │
 *           ▲              └── reorg: the same raw tx is rebroadcast (nonce still free) ◀─────┘
 *           └──────────────── reorg / chain reset, no reusable tx
 *
 * - `signed`: the raw transaction, its hash and nonce are on disk before the
 *   first broadcast, so a crash at any point leaves either nothing sent or a
 *   transaction the next run can find (by hash, or in the registry) or resend
 *   byte for byte — never a second, different transaction for the same nonce.
 * - `anchored`/`final` carry where the chain holds the batch; the anchorer
 *   re-checks that block hash every pass until final, and the tail after.
 * - A state belongs to one deployment (`chainId`, `registry`); a state of
 *   another deployment counts as no state (the batch is anchored anew there).
 */
export type AnchorStatus = 'pending' | 'signed' | 'submitted' | 'anchored' | 'final';

/** A signed anchor transaction, as stored before it is broadcast. */
export interface AnchorTx {
  from: string;
  nonce: number;
  txHash: string;
  /** The signed transaction, RLP, 0x hex. Public data: it is what goes on chain. */
  raw: string;
  signedAt: string;
}

/** Where the chain holds a batch. */
export interface AnchorLocation {
  txHash: string;
  blockNumber: number;
  blockHash: string;
  /** Block timestamp, seconds since the epoch. */
  timestamp: number;
}

export interface AnchorState {
  v: 1;
  status: AnchorStatus;
  agency: string;
  seq: number;
  root: string;
  chainId: number;
  registry: string;
  /** The last transaction signed for this batch (kept after mining, for a rebroadcast after a reorg). */
  tx?: AnchorTx;
  submittedAt?: string;
  /** Set in `anchored` and `final`. */
  anchor?: AnchorLocation;
  /** When this process saw the anchor (local clock). */
  anchoredAt?: string;
  finalAt?: string;
  /** Times the anchor disappeared from the chain (reorgs, resets). */
  reorgs?: number;
  /** Why the batch is pending again. */
  note?: string;
  updatedAt: string;
}

/** True when `s` is a state of the deployment (`chainId`, `registry`). */
export function sameDeployment(s: AnchorState | undefined, chainId: number, registry: string): s is AnchorState {
  return !!s && s.chainId === chainId && getAddress(s.registry) === getAddress(registry);
}

export const isAnchored = (s: AnchorState | undefined): s is AnchorState & { anchor: AnchorLocation } =>
  !!s && (s.status === 'anchored' || s.status === 'final') && !!s.anchor;
