import type { BatchInfo, Receipt, ReceiptAnchor, ReceiptAttestation } from '../../src/index.js';
import type { BatchChainStatus, GatewayChain } from '../../gateway/index.js';

/**
 * FAKE CHAIN — a test double of the gateway's `GatewayChain` port, NOT the
 * chain module. It lets the API tests set a batch's anchor/notary state
 * directly (anchored, notarized, chain down) without running a node; the
 * real adapter (`createGatewayChain`) is exercised against Anvil separately.
 */
export class FakeChain implements GatewayChain {
  readonly states = new Map<string, BatchChainStatus>();
  down = false;
  private block = 100;

  anchor(batch: BatchInfo, o: { timestamp?: number; notaries?: string[] } = {}): ReceiptAnchor {
    const anchor: ReceiptAnchor = {
      chainId: 27752,
      registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      txHash: `0x${(this.block + 1).toString(16).padStart(64, 'a')}`,
      blockNumber: ++this.block,
      blockHash: `0x${this.block.toString(16).padStart(64, 'b')}`,
      timestamp: o.timestamp ?? Math.floor(Date.now() / 1000),
    };
    const attestations: ReceiptAttestation[] = (o.notaries ?? []).map((notary, i) => ({
      notary,
      attestedAt: anchor.timestamp + 1 + i,
      signature: `0x${'1'.repeat(128)}1b`,
    }));
    this.states.set(batch.root, { phase: 'final', anchor, attestations, notarized: attestations.length > 0 });
    return anchor;
  }

  private check(): void {
    if (this.down) throw Object.assign(new Error('fake chain is down'), { code: 'CHAIN_UNREACHABLE' });
  }

  verifier = {
    checkAnchor: async (r: Receipt) => {
      this.check();
      const s = this.states.get(r.batch.root);
      if (!r.anchor) return { status: 'pending' as const, code: 'ANCHOR_ABSENT', detail: 'not anchored (fake chain)' };
      if (!s?.anchor || s.anchor.blockHash !== r.anchor.blockHash) return { status: 'fail' as const, code: 'ANCHOR_MISMATCH', detail: 'fake chain disagrees' };
      return { status: 'pass' as const, code: 'ANCHOR_VALID', detail: `anchored in block ${s.anchor.blockNumber} (fake chain)` };
    },
    checkNotary: async (r: Receipt) => {
      this.check();
      const s = this.states.get(r.batch.root);
      if (!s?.notarized || r.attestations.length === 0) return { status: 'pending' as const, code: 'NOTARY_ABSENT', detail: 'not notarized (fake chain)' };
      return { status: 'pass' as const, code: 'NOTARY_VALID', detail: `${r.attestations.length} notary signature(s) (fake chain)` };
    },
  };

  async batchStatus(batch: BatchInfo): Promise<BatchChainStatus> {
    this.check();
    return this.states.get(batch.root) ?? { phase: 'sealed', anchor: null, attestations: [], notarized: false };
  }

  async ping(): Promise<void> {
    this.check();
  }
}
