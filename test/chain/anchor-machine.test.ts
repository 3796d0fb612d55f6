/**
 * The anchorer's state machine, table by table: `transition(state, facts)`
 * for each stored state, `relocateAction` after a lost block, and
 * `parseAnchorState` (states read back from disk are validated).
 */
import { describe, expect, it } from 'vitest';
import type { TxStatus } from '../../src/chain/outbox.js';
import { factsNeeded, parseAnchorState, relocateAction, transition, type AnchorFacts, type AnchorState, type AnchoredState } from '../../src/chain/state.js';

const h = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;
const tx = { from: `0x${'ab'.repeat(20)}`, nonce: 4, txHash: h(0x7a), raw: '0x02f8', signedAt: '2026-01-01T00:00:00Z' };
const loc = { txHash: h(0x7a), blockNumber: 10, blockHash: h(0xb10), timestamp: 1_700_000_000 };
const base = { v: 1 as const, agency: 'JN-CG', seq: 3, root: h(3), chainId: 31337, registry: `0x${'cd'.repeat(20)}`, updatedAt: '2026-01-01T00:00:00Z' };
const states = {
  pending: { ...base, status: 'pending' },
  signed: { ...base, status: 'signed', tx },
  submitted: { ...base, status: 'submitted', tx, submittedAt: '2026-01-01T00:00:01Z' },
  anchored: { ...base, status: 'anchored', tx, anchor: loc, anchoredAt: '2026-01-01T00:00:02Z' },
  final: { ...base, status: 'final', tx, anchor: loc, anchoredAt: '2026-01-01T00:00:02Z', finalAt: '2026-01-01T00:00:03Z' },
} satisfies Record<string, AnchorState>;
const f = (x: Partial<AnchorFacts> = {}): AnchorFacts => ({ agency: 'JN-CG', seq: 3, head: 10, confirmations: 2, ...x });
const heldHere = { held: true as const, agency: 'JN-CG', seq: 3, location: loc };
const tx_ = (kind: TxStatus['kind']): TxStatus =>
  kind === 'gap'
    ? { kind, next: 2 }
    : kind === 'mined'
      ? { kind, blockNumber: 10, blockHash: h(1) }
      : kind === 'reverted'
        ? { kind, blockNumber: 10 }
        : { kind };

describe('transition: no state / pending', () => {
  for (const s of [undefined, states.pending]) {
    const name = s?.status ?? 'none';
    it(`${name}: not held → sign-new`, () => expect(transition(s, f({ registry: { held: false } }))).toEqual({ type: 'sign-new' }));
    it(`${name}: held here → mark-anchored at its log`, () =>
      expect(transition(s, f({ registry: heldHere }))).toEqual({ type: 'mark-anchored', location: loc }));
    it(`${name}: held, log not returned yet → wait`, () =>
      expect(transition(s, f({ registry: { ...heldHere, location: undefined } }))).toEqual({ type: 'wait' }));
    it(`${name}: held as another agency's batch (v1 registry) → diverged`, () =>
      expect(transition(s, f({ registry: { ...heldHere, agency: 'OTHER' } })).type).toBe('diverged'));
    it(`${name}: held as another seq → diverged`, () => expect(transition(s, f({ registry: { ...heldHere, seq: 2 } })).type).toBe('diverged'));
  }
});

describe('transition: signed / submitted', () => {
  const table: Array<[TxStatus['kind'], string]> = [
    ['mined', 'wait'],
    ['reverted', 'resign'],
    ['replaced', 'resign'],
    ['gap', 'resign'],
    ['unmined', 'rebroadcast'],
  ];
  for (const s of [states.signed, states.submitted]) {
    for (const [kind, action] of table) {
      it(`${s.status}, not held, tx ${kind} → ${action}`, () => expect(transition(s, f({ registry: { held: false }, tx: tx_(kind) })).type).toBe(action));
    }
    it(`${s.status}, held → mark-anchored whatever the tx says`, () =>
      expect(transition(s, f({ registry: heldHere, tx: tx_('unmined') }))).toEqual({ type: 'mark-anchored', location: loc }));
  }
  it('resign reasons name the transaction and nonce', () => {
    expect(transition(states.submitted, f({ registry: { held: false }, tx: tx_('gap') }))).toEqual({
      type: 'resign',
      reason: "nonce 4 is beyond the account's next nonce 2",
    });
    expect(transition(states.submitted, f({ registry: { held: false }, tx: tx_('reverted') }))).toEqual({
      type: 'resign',
      reason: `transaction ${h(0x7a)} reverted`,
    });
  });
});

describe('transition: anchored / final', () => {
  it('same block, too few confirmations → none', () =>
    expect(transition(states.anchored, f({ head: 11, anchorBlockHash: loc.blockHash }))).toEqual({ type: 'none' }));
  it('same block, enough confirmations → mark-final', () =>
    expect(transition(states.anchored, f({ head: 12, anchorBlockHash: loc.blockHash }))).toEqual({ type: 'mark-final', confirmations: 2 }));
  it('0 confirmations: final once mined', () =>
    expect(transition(states.anchored, f({ head: 10, confirmations: 0, anchorBlockHash: loc.blockHash })).type).toBe('mark-final'));
  it('block changed → relocate', () => expect(transition(states.anchored, f({ head: 12, anchorBlockHash: h(0xdead) })).type).toBe('relocate'));
  it('block gone → relocate', () =>
    expect(transition(states.anchored, f({ head: 12, anchorBlockHash: null }))).toEqual({ type: 'relocate', detail: 'block 10 is now missing' }));
  it('final → none', () => expect(transition(states.final, f({ head: 100 }))).toEqual({ type: 'none' }));
});

describe('relocateAction', () => {
  const anchored: AnchoredState = states.anchored;
  it('the registry holds it elsewhere → mark-anchored there', () => {
    const moved = { ...loc, blockNumber: 11, blockHash: h(0xb11) };
    expect(relocateAction(anchored, { ...heldHere, location: moved }, 'x')).toEqual({ type: 'mark-anchored', location: moved });
  });
  it('lost, with a stored transaction → requeue and resend it', () =>
    expect(relocateAction(anchored, { held: false }, 'gone')).toEqual({ type: 'requeue', resend: true, detail: 'gone' }));
  it('lost, without one → requeue, sign anew', () => {
    const { tx: _t, ...noTx } = anchored;
    expect(relocateAction(noTx, { held: false }, 'gone')).toEqual({ type: 'requeue', resend: false, detail: 'gone' });
  });
});

describe('factsNeeded: a state never waits on a fact it does not use', () => {
  it.each([
    ['none', undefined, { registry: true, anchorBlock: false, tx: false }],
    ['pending', states.pending, { registry: true, anchorBlock: false, tx: false }],
    ['submitted', states.submitted, { registry: true, anchorBlock: false, tx: true }],
    ['anchored', states.anchored, { registry: false, anchorBlock: true, tx: false }],
    ['final', states.final, { registry: false, anchorBlock: false, tx: false }],
  ] as const)('%s', (_n, s, need) => expect(factsNeeded(s)).toEqual(need));
});

describe('parseAnchorState', () => {
  it('accepts each shape, dropping unknown fields', () => {
    for (const s of Object.values(states)) expect(parseAnchorState({ ...s, extra: 1 }, s.root)).toEqual(s);
  });
  it.each([
    ['anchored without its anchor', { ...states.anchored, anchor: undefined }],
    ['signed without its transaction', { ...states.signed, tx: undefined }],
    ['an unknown status', { ...states.pending, status: 'mined' }],
    ['a malformed root', { ...states.pending, root: '0x12' }],
    ['not an object', 'final'],
  ])('refuses %s with JOURNAL_CORRUPT', (_n, v) => {
    expect(() => parseAnchorState(v, h(3))).toThrow(expect.objectContaining({ code: 'JOURNAL_CORRUPT' }));
  });
});
