/**
 * THE table of forged and mutated receipts (issue 9, adversarial suite). Every
 * verifier — the SDK, the CLI, the gateway (JSON and multipart) and the Verify
 * page (test/browser, pages room) — runs every case and must reach the same
 * verdict, so they can never disagree. Exported so other suites run it too:
 * build a `CaseFixture` (two complete receipts of two anchored, notarized
 * batches on one pinned registry, with their files) and call `build`.
 *
 * Organised by the actor of docs/threat-model.md who could produce the input:
 * the public (anyone holding or editing a receipt), a notary-impersonator, a
 * replayer of another batch's proofs, a holder of a foreign registry.
 */
import { Wallet } from 'ethers';
import { attestationDomain, attestationMessage, ATTESTATION_TYPES } from '../../src/chain/attestation.js';
import type { Receipt } from '../../src/receipt/format.js';

export interface CaseEvidence {
  bytes: Uint8Array;
  sha256: string;
  /** Complete: record, anchor and at least one on-chain attestation. */
  receipt: Receipt;
}

export interface CaseFixture {
  chainId: number;
  /** The pinned (trusted) registry. */
  registry: string;
  a: CaseEvidence;
  b: CaseEvidence;
}

/** What a case hands every verifier. `file` is given to the CLI and the page as a file, to the others as its SHA-256. */
export interface CaseInput {
  receipt: unknown;
  file?: Uint8Array;
  /** Only a SHA-256 (no file): the CLI cannot take it and skips the case. */
  sha256?: string;
}

export interface AdversarialCase {
  name: string;
  actor: 'public' | 'notary impersonator' | 'replayer' | 'foreign registry' | 'control';
  build(f: CaseFixture): CaseInput | Promise<CaseInput>;
  /** The verdict every verifier must give. */
  status: 'verified' | 'failed' | 'incomplete';
  /** check → expected `status:CODE` (a RegExp where a forgery may be caught two ways). */
  checks: Record<string, string | RegExp>;
}

const foreignBytes = new TextEncoder().encode('a file that was never recorded');
const clone = (r: Receipt): Receipt => structuredClone(r);
const withheld = (r: Receipt): Receipt => ({ ...clone(r), record: null });
const hex32 = (n: number) => `0x${n.toString(16).padStart(64, '0')}`;
const flipHex = (h: string, at = 10) => `${h.slice(0, at)}${(parseInt(h[at]!, 16) ^ 1).toString(16)}${h.slice(at + 1)}`;
const facts = (r: Receipt) => ({ root: r.batch.root, agency: r.batch.agency, seq: r.batch.seq, size: r.batch.size, prevRoot: r.batch.prevRoot });
const sign = (w: Pick<Wallet, 'signTypedData'>, chainId: number, registry: string, r: Receipt, attestedAt: number) =>
  w.signTypedData(attestationDomain(chainId, registry), ATTESTATION_TYPES as never, attestationMessage({ ...facts(r), attestedAt }));
const mutate = (r: Receipt, f: (r: Receipt) => unknown): Receipt => {
  const c = clone(r);
  f(c);
  return c;
};

export const adversarialCases: AdversarialCase[] = [
  // — controls —
  {
    name: 'untouched receipt, its own file',
    actor: 'control',
    build: (f) => ({ receipt: f.a.receipt, file: f.a.bytes }),
    status: 'verified',
    checks: { content: 'pass:CONTENT_MATCH', anchor: 'pass:ANCHOR_VALID', notary: 'pass:NOTARY_VALID' },
  },
  {
    name: 'the other receipt, its own file',
    actor: 'control',
    build: (f) => ({ receipt: f.b.receipt, file: f.b.bytes }),
    status: 'verified',
    checks: { content: 'pass:CONTENT_MATCH' },
  },

  // — content —
  {
    name: 'foreign file',
    actor: 'public',
    build: (f) => ({ receipt: f.a.receipt, file: foreignBytes }),
    status: 'failed',
    checks: { content: 'fail:CONTENT_MISMATCH' },
  },
  {
    name: "the other record's file",
    actor: 'public',
    build: (f) => ({ receipt: f.a.receipt, file: f.b.bytes }),
    status: 'failed',
    checks: { content: 'fail:CONTENT_MISMATCH' },
  },
  {
    name: 'foreign sha256',
    actor: 'public',
    build: (f) => ({ receipt: f.a.receipt, sha256: 'ab'.repeat(32) }),
    status: 'failed',
    checks: { content: 'fail:CONTENT_MISMATCH' },
  },

  // — withheld record (issue 9.1) —
  {
    name: 'withheld record + foreign file',
    actor: 'public',
    build: (f) => ({ receipt: withheld(f.a.receipt), file: foreignBytes }),
    status: 'incomplete',
    checks: { content: 'pending:CONTENT_RECORD_WITHHELD' },
  },
  {
    name: 'withheld record + its own file (cannot be compared either)',
    actor: 'public',
    build: (f) => ({ receipt: withheld(f.a.receipt), file: f.a.bytes }),
    status: 'incomplete',
    checks: { content: 'pending:CONTENT_RECORD_WITHHELD' },
  },
  {
    name: 'withheld record + foreign sha256',
    actor: 'public',
    build: (f) => ({ receipt: withheld(f.a.receipt), sha256: 'cd'.repeat(32) }),
    status: 'incomplete',
    checks: { content: 'pending:CONTENT_RECORD_WITHHELD' },
  },
  {
    name: 'withheld record + the leaf of the other batch',
    actor: 'replayer',
    build: (f) => ({ receipt: { ...withheld(f.a.receipt), leaf: f.b.receipt.leaf }, file: f.a.bytes }),
    status: 'failed',
    checks: { inclusion: 'fail:INCLUSION_ROOT_MISMATCH' },
  },

  // — record fields (the device signature and the leaf cover every one) —
  {
    name: 'record.media.sha256 set to the foreign file',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.record!.media!.sha256 = 'ab'.repeat(32))), sha256: 'ab'.repeat(32) }),
    status: 'failed',
    checks: { signature: 'fail:SIGNATURE_INVALID', leaf: 'fail:LEAF_MISMATCH' },
  },
  {
    name: 'record.media.size changed',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.record!.media!.size += 1)), file: f.a.bytes }),
    status: 'failed',
    checks: { signature: 'fail:SIGNATURE_INVALID' },
  },
  {
    name: 'record.officer changed',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.record!.officer = 'OF-9999')), file: f.a.bytes }),
    status: 'failed',
    checks: { signature: 'fail:SIGNATURE_INVALID', leaf: 'fail:LEAF_MISMATCH' },
  },
  {
    name: 'record.capturedAt changed',
    actor: 'public',
    build: (f) => ({
      receipt: mutate(f.a.receipt, (r) => (r.record!.capturedAt = new Date(Date.parse(r.record!.capturedAt) - 3_600_000).toISOString())),
      file: f.a.bytes,
    }),
    status: 'failed',
    checks: { signature: 'fail:SIGNATURE_INVALID' },
  },
  {
    name: 'record.device changed',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.record!.device = 'cam-forged')), file: f.a.bytes }),
    status: 'failed',
    checks: { signature: 'fail:SIGNATURE_INVALID' },
  },
  {
    name: 'record signature flipped',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.record!.sig!.value = flipHex(r.record!.sig!.value))), file: f.a.bytes }),
    status: 'failed',
    checks: { signature: /^fail:SIGNATURE_(INVALID|WEAK_KEY)$/ },
  },
  {
    name: 'leaf changed',
    actor: 'public',
    build: (f) => ({ receipt: { ...clone(f.a.receipt), leaf: hex32(1) }, file: f.a.bytes }),
    status: 'failed',
    checks: { leaf: 'fail:LEAF_MISMATCH' },
  },

  // — inclusion and batch —
  {
    name: 'inclusion.path[0] flipped',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.inclusion.path[0] = flipHex(r.inclusion.path[0]!, 20))), file: f.a.bytes }),
    status: 'failed',
    checks: { inclusion: 'fail:INCLUSION_ROOT_MISMATCH' },
  },
  {
    name: 'swapped batches: record A, batch/anchor/attestations of B',
    actor: 'replayer',
    build: (f) => ({
      receipt: {
        ...clone(f.a.receipt),
        batch: { ...f.b.receipt.batch, agency: f.a.receipt.batch.agency },
        anchor: f.b.receipt.anchor,
        attestations: f.b.receipt.attestations,
        inclusion: f.b.receipt.inclusion.size === f.a.receipt.inclusion.size ? f.a.receipt.inclusion : f.b.receipt.inclusion,
      },
      file: f.a.bytes,
    }),
    status: 'failed',
    checks: { inclusion: 'fail:INCLUSION_ROOT_MISMATCH' },
  },
  {
    name: "batch.root replaced by the other batch's",
    actor: 'replayer',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.batch.root = f.b.receipt.batch.root)), file: f.a.bytes }),
    status: 'failed',
    checks: { inclusion: 'fail:INCLUSION_ROOT_MISMATCH' },
  },
  {
    name: 'batch.seq changed',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.batch.seq += 7)), file: f.a.bytes }),
    status: 'failed',
    checks: { anchor: 'fail:ANCHOR_SEQ_MISMATCH' },
  },
  {
    name: 'batch.prevRoot changed',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.batch.prevRoot = hex32(7))), file: f.a.bytes }),
    status: 'failed',
    checks: { anchor: 'fail:ANCHOR_PREV_ROOT_MISMATCH' },
  },
  {
    name: 'batch.agency changed (record withheld)',
    actor: 'public',
    build: (f) => ({ receipt: { ...withheld(f.a.receipt), batch: { ...f.a.receipt.batch, agency: '310104-SCJG' } } }),
    status: 'failed',
    checks: { anchor: 'fail:ANCHOR_AGENCY_MISMATCH' },
  },

  // — anchor —
  {
    name: 'anchor.registry: an address nobody pinned',
    actor: 'foreign registry',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.anchor!.registry = '0x000000000000000000000000000000000000dEaD')), file: f.a.bytes }),
    status: 'failed',
    checks: { anchor: 'fail:ANCHOR_REGISTRY_UNTRUSTED' },
  },
  {
    name: 'anchor.chainId of another chain',
    actor: 'foreign registry',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.anchor!.chainId = 1)), file: f.a.bytes }),
    status: 'failed',
    checks: { anchor: 'fail:CHAIN_MISMATCH' },
  },
  {
    name: "anchor.txHash of the other batch's anchor",
    actor: 'replayer',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.anchor!.txHash = f.b.receipt.anchor!.txHash)), file: f.a.bytes }),
    status: 'failed',
    checks: { anchor: 'fail:ANCHOR_TX_NO_EVENT' },
  },
  {
    name: 'anchor removed',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.anchor = null)), file: f.a.bytes }),
    status: 'incomplete',
    checks: { anchor: 'pending:ANCHOR_ABSENT' },
  },
  // Where the anchor is, is information (issue 10.1): moved is told (warn), never a pass/fail of its own.
  {
    name: 'anchor.blockNumber/blockHash/timestamp moved (as after a rollback)',
    actor: 'public',
    build: (f) => ({
      receipt: mutate(f.a.receipt, (r) => ((r.anchor!.blockNumber -= 1), (r.anchor!.blockHash = hex32(2)), (r.anchor!.timestamp -= 30))),
      file: f.a.bytes,
    }),
    status: 'verified',
    checks: { anchor: 'warn:ANCHOR_REANCHORED' },
  },

  // — attestations —
  {
    name: 'attestations removed',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.attestations = [])), file: f.a.bytes }),
    status: 'incomplete',
    checks: { notary: 'pending:NOTARY_ABSENT' },
  },
  {
    name: 'attestation by a non-notary (valid EIP-712 signature)',
    actor: 'notary impersonator',
    build: async (f) => {
      const stranger = Wallet.createRandom();
      const at = f.a.receipt.attestations[0]!.attestedAt;
      return {
        receipt: {
          ...clone(f.a.receipt),
          attestations: [{ notary: stranger.address, attestedAt: at, signature: await sign(stranger, f.chainId, f.registry, f.a.receipt, at) }],
        },
        file: f.a.bytes,
      };
    },
    status: 'failed',
    checks: { notary: 'fail:NOTARY_NOT_NOTARY' },
  },
  {
    name: 'replayed attestation of the other batch',
    actor: 'replayer',
    build: (f) => ({ receipt: { ...clone(f.a.receipt), attestations: clone(f.b.receipt).attestations }, file: f.a.bytes }),
    status: 'failed',
    checks: { notary: 'fail:NOTARY_SIGNER_MISMATCH' },
  },
  {
    name: 'attestation signed for another registry (domain of a foreign registry)',
    actor: 'foreign registry',
    build: async (f) => {
      const stranger = Wallet.createRandom();
      const at = f.a.receipt.attestations[0]!.attestedAt;
      const signature = await sign(stranger, f.chainId, '0x000000000000000000000000000000000000dEaD', f.a.receipt, at);
      return { receipt: { ...clone(f.a.receipt), attestations: [{ notary: stranger.address, attestedAt: at, signature }] }, file: f.a.bytes };
    },
    status: 'failed',
    checks: { notary: 'fail:NOTARY_SIGNER_MISMATCH' },
  },
  {
    name: 'attestation signature flipped',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.attestations[0]!.signature = flipHex(r.attestations[0]!.signature))), file: f.a.bytes }),
    status: 'failed',
    checks: { notary: /^fail:NOTARY_(SIGNER_MISMATCH|SIGNATURE_INVALID)$/ },
  },
  {
    name: 'attestation.attestedAt changed',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.attestations[0]!.attestedAt += 1)), file: f.a.bytes }),
    status: 'failed',
    checks: { notary: 'fail:NOTARY_SIGNER_MISMATCH' },
  },
  {
    name: 'attestation.notary changed',
    actor: 'notary impersonator',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.attestations[0]!.notary = '0x000000000000000000000000000000000000dEaD')), file: f.a.bytes }),
    status: 'failed',
    checks: { notary: 'fail:NOTARY_SIGNER_MISMATCH' },
  },
  {
    name: 'attestation duplicated',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => r.attestations.push({ ...r.attestations[0]! })), file: f.a.bytes }),
    status: 'failed',
    checks: { notary: 'fail:NOTARY_DUPLICATE' },
  },

  // — format —
  {
    name: 'unknown format tag',
    actor: 'public',
    build: (f) => ({ receipt: { ...clone(f.a.receipt), format: 'liuhen-receipt/9' }, file: f.a.bytes }),
    status: 'failed',
    checks: { format: 'fail:RECEIPT_FORMAT_UNKNOWN' },
  },
  {
    name: 'an extra field',
    actor: 'public',
    build: (f) => ({ receipt: { ...clone(f.a.receipt), verified: true }, file: f.a.bytes }),
    status: 'failed',
    checks: { format: 'fail:INVALID_RECEIPT' },
  },
  {
    name: 'inclusion.index outside the tree',
    actor: 'public',
    build: (f) => ({ receipt: mutate(f.a.receipt, (r) => (r.inclusion.index = r.inclusion.size)), file: f.a.bytes }),
    status: 'failed',
    checks: { format: 'fail:INVALID_RECEIPT' },
  },
];
