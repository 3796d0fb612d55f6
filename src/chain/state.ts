import { getAddress } from 'ethers';
import { z } from 'zod';
import { fail } from '../errors.js';
import type { OutboxTx } from './outbox.js';

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
export type AnchorStatus = AnchorState['status'];

/** A signed anchor transaction, as stored before it is broadcast (the outbox's transaction). */
export type AnchorTx = OutboxTx;

/** Where the chain holds a batch. */
export interface AnchorLocation {
  txHash: string;
  blockNumber: number;
  blockHash: string;
  /** Block timestamp, seconds since the epoch. */
  timestamp: number;
}

/** What every state carries: the batch, the deployment, and two annotations. */
interface AnchorStateBase {
  v: 1;
  agency: string;
  seq: number;
  root: string;
  chainId: number;
  registry: string;
  /** Times the anchor disappeared from the chain (reorgs, resets). */
  reorgs?: number;
  /** Why the batch is (again) in this state, for people. */
  note?: string;
  updatedAt: string;
}

/**
 * The states, as a discriminated union on `status`: each carries exactly
 * what that status needs (`anchor?: never` lets code read `s.anchor` on any
 * state and get `undefined` where there is none).
 */
export type PendingState = AnchorStateBase & {
  status: 'pending';
  /** The last transaction signed for the batch, if any (it can no longer be mined, or the anchor was lost). */
  tx?: AnchorTx;
  anchor?: never;
  anchoredAt?: never;
  submittedAt?: never;
};
export type SignedState = AnchorStateBase & { status: 'signed'; tx: AnchorTx; anchor?: never; anchoredAt?: never; submittedAt?: never };
export type SubmittedState = AnchorStateBase & { status: 'submitted'; tx: AnchorTx; submittedAt: string; anchor?: never; anchoredAt?: never };
export type AnchoredState = AnchorStateBase & {
  status: 'anchored';
  /** Our transaction, kept for a byte-identical rebroadcast after a reorg (absent when the batch was found anchored already). */
  tx?: AnchorTx;
  anchor: AnchorLocation;
  /** When this process saw the anchor (local clock). */
  anchoredAt: string;
  /** When our transaction was broadcast (the metrics' broadcast → mined latency). */
  submittedAt?: string;
};
export type FinalState = AnchorStateBase & {
  status: 'final';
  tx?: AnchorTx;
  anchor: AnchorLocation;
  anchoredAt: string;
  submittedAt?: string;
  finalAt: string;
};

export type AnchorState = PendingState | SignedState | SubmittedState | AnchoredState | FinalState;

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);
const txSchema = z.object({
  from: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  nonce: z.number().int().nonnegative(),
  txHash: hex32,
  raw: z.string().regex(/^0x[0-9a-fA-F]+$/),
  signedAt: z.string(),
});
const locationSchema = z.object({ txHash: hex32, blockNumber: z.number().int().nonnegative(), blockHash: hex32, timestamp: z.number().int().nonnegative() });
const base = {
  v: z.literal(1),
  agency: z.string().min(1),
  seq: z.number().int().positive(),
  root: hex32,
  chainId: z.number().int().nonnegative(),
  registry: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  reorgs: z.number().int().nonnegative().optional(),
  note: z.string().optional(),
  updatedAt: z.string(),
};

/** The schema every state read back from disk must pass (`parseAnchorState`). */
export const anchorStateSchema = z.discriminatedUnion('status', [
  z.object({ ...base, status: z.literal('pending'), tx: txSchema.optional() }),
  z.object({ ...base, status: z.literal('signed'), tx: txSchema }),
  z.object({ ...base, status: z.literal('submitted'), tx: txSchema, submittedAt: z.string() }),
  z.object({
    ...base,
    status: z.literal('anchored'),
    tx: txSchema.optional(),
    anchor: locationSchema,
    anchoredAt: z.string(),
    submittedAt: z.string().optional(),
  }),
  z.object({
    ...base,
    status: z.literal('final'),
    tx: txSchema.optional(),
    anchor: locationSchema,
    anchoredAt: z.string(),
    submittedAt: z.string().optional(),
    finalAt: z.string(),
  }),
]);

/**
 * A stored anchor state, validated: JOURNAL_CORRUPT (naming the root) when
 * it is not one of the five shapes. Unknown fields of older versions are
 * dropped.
 */
export function parseAnchorState(value: unknown, root: string): AnchorState {
  const r = anchorStateSchema.safeParse(value);
  if (!r.success)
    fail(
      'JOURNAL_CORRUPT',
      `the anchor state of batch ${root} is not valid: ${r.error.issues.map((i) => `${i.path.join('.') || '(state)'}: ${i.message}`).join('; ')}`,
      { details: { root } },
    );
  return r.data as AnchorState;
}

/** Reads and validates the anchor state of `root` from the journal's anchor-state store. */
export async function readAnchorState(journal: { getAnchorState<T>(root: string): Promise<T | undefined> }, root: string): Promise<AnchorState | undefined> {
  const v = await journal.getAnchorState<unknown>(root);
  return v === undefined ? undefined : parseAnchorState(v, root);
}

/** True when `s` is a state of the deployment (`chainId`, `registry`). */
export function sameDeployment(s: AnchorState | undefined, chainId: number, registry: string): s is AnchorState {
  return !!s && s.chainId === chainId && getAddress(s.registry) === getAddress(registry);
}

export const isAnchored = (s: AnchorState | undefined): s is AnchoredState | FinalState => !!s && (s.status === 'anchored' || s.status === 'final');

// ── the state machine's pure part ──────────────────────────────────────────

/** What the registry says of a root (for this agency). */
export type RegistryFact =
  | { held: false }
  /** `location`: its canonical `BatchAnchored` log, when the node returned it. */
  | { held: true; agency: string; seq: number; location: AnchorLocation | undefined };

/**
 * Chain facts the anchorer gathers for one batch. Which ones it asks for
 * depends on the state (`factsNeeded`): a state never waits on a fact it does
 * not use.
 */
export interface AnchorFacts {
  /** The agency and seq the batch has locally (what the registry must agree with). */
  agency: string;
  seq: number;
  head: number;
  /** `chain.confirmations`: blocks needed on top of the anchor block (0: final once mined). */
  confirmations: number;
  registry?: RegistryFact;
  /** Canonical hash of the block at `anchor.blockNumber` (null: no such block). For anchored states. */
  anchorBlockHash?: string | null;
  /** What became of the stored transaction (outbox `classifyTx`). For signed/submitted states. */
  tx?: import('./outbox.js').TxStatus;
}

/** What the anchorer does next with one batch. */
export type AnchorAction =
  /** Nothing to do now (final; anchored and waiting for confirmations). */
  | { type: 'none' }
  /** Mined; the registry does not answer for it yet: look again next pass. */
  | { type: 'wait' }
  /** The registry holds it at `location`: record anchored (or final at 0 confirmations). */
  | { type: 'mark-anchored'; location: AnchorLocation }
  | { type: 'mark-final'; confirmations: number }
  /** The anchor's block is gone: ask the registry where the batch is now (`relocateFacts`). */
  | { type: 'relocate'; detail: string }
  /** The registry lost it: back to anchoring, resending the stored bytes when there are some. */
  | { type: 'requeue'; resend: boolean; detail: string }
  /** The stored transaction can still be mined: send the same bytes again. */
  | { type: 'rebroadcast' }
  /** The stored transaction can never be mined: pending, sign a new one. */
  | { type: 'resign'; reason: string }
  /** Nothing on chain and no transaction: sign and send one. */
  | { type: 'sign-new' }
  /** The registry holds this root as another batch (v1 registries only: a root of another agency or seq). */
  | { type: 'diverged'; reason: string };

/** Which facts `transition` needs for `s`. */
export function factsNeeded(s: AnchorState | undefined): { registry: boolean; anchorBlock: boolean; tx: boolean } {
  switch (s?.status) {
    case undefined:
    case 'pending':
      return { registry: true, anchorBlock: false, tx: false };
    case 'signed':
    case 'submitted':
      return { registry: true, anchorBlock: false, tx: true };
    case 'anchored':
      return { registry: false, anchorBlock: true, tx: false };
    case 'final':
      return { registry: false, anchorBlock: false, tx: false };
  }
}

/**
 * The anchorer's decision for one batch, from its stored state and the chain
 * facts: pure, tested table by table (test/chain/anchor-machine.test.ts).
 *
 *   (none)/pending ─ registry holds it ─▶ anchored      ─ not held ─▶ sign-new
 *   signed/submitted ─ registry holds it ─▶ anchored    ─ tx mined ─▶ wait
 *        ─ tx reverted / nonce replaced / beyond a gap ─▶ resign     ─ tx unmined ─▶ rebroadcast
 *   anchored ─ block changed ─▶ relocate   ─ confirmations reached ─▶ final
 *   final ─▶ none (the tail check and full scans find later reorgs)
 */
export function transition(s: AnchorState | undefined, f: AnchorFacts): AnchorAction {
  const held = (): AnchorAction | undefined => {
    const r = f.registry;
    if (r === undefined || !r.held) return undefined;
    if (r.agency !== f.agency || r.seq !== f.seq)
      return { type: 'diverged', reason: `root is on chain as batch ${r.seq} of "${r.agency}", but is batch ${f.seq} of "${f.agency}" here` };
    return r.location ? { type: 'mark-anchored', location: r.location } : { type: 'wait' };
  };
  switch (s?.status) {
    case undefined:
    case 'pending':
      return held() ?? { type: 'sign-new' };
    case 'signed':
    case 'submitted': {
      const h = held();
      if (h) return h;
      const tx = f.tx;
      if (tx === undefined) return { type: 'wait' };
      switch (tx.kind) {
        case 'mined':
          return { type: 'wait' };
        case 'reverted':
          return { type: 'resign', reason: `transaction ${s.tx.txHash} reverted` };
        case 'replaced':
          return { type: 'resign', reason: `nonce ${s.tx.nonce} was used by another transaction` };
        case 'gap':
          return { type: 'resign', reason: `nonce ${s.tx.nonce} is beyond the account's next nonce ${tx.next}` };
        case 'unmined':
          return { type: 'rebroadcast' };
      }
      return { type: 'wait' };
    }
    case 'anchored': {
      if (f.anchorBlockHash !== undefined && f.anchorBlockHash !== s.anchor.blockHash) {
        return { type: 'relocate', detail: `block ${s.anchor.blockNumber} is now ${f.anchorBlockHash ?? 'missing'}` };
      }
      const confirmations = f.head - s.anchor.blockNumber;
      return confirmations >= f.confirmations ? { type: 'mark-final', confirmations } : { type: 'none' };
    }
    case 'final':
      return { type: 'none' };
  }
}

/** After `relocate`: the registry moved the batch (`mark-anchored`), or lost it (`requeue`). */
export function relocateAction(s: AnchoredState | FinalState, registry: RegistryFact, detail: string): AnchorAction {
  if (registry.held && registry.location) return { type: 'mark-anchored', location: registry.location };
  return { type: 'requeue', resend: s.tx !== undefined, detail };
}
