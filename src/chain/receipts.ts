import { getAddress, type JsonRpcProvider } from 'ethers';
import type { ChainConfig } from '../config.js';
import { fail } from '../errors.js';
import type { Journal } from '../journal/journal.js';
import type { BatchInfo } from '../journal/types.js';
import { receiptFromJournal } from '../receipt/build.js';
import type { Receipt, ReceiptAnchor, ReceiptAttestation } from '../receipt/format.js';
import { RegistryClient } from './registry.js';
import { connect, onChain } from './rpc.js';
import { trustedRegistries } from './deploy.js';
import { isAnchored, sameDeployment, type AnchorState } from './state.js';

/** The registry of `state` when it is the configured one or a previous one of the same chain, else undefined. */
function anchoredRegistry(state: AnchorState | undefined, chain: ChainConfig): string | undefined {
  return trustedRegistries(chain).find((r) => sameDeployment(state, chain.chainId, r));
}

/** The schema's limit on attestations per receipt. */
const MAX_ATTESTATIONS = 32;

export interface ChainDataParameters {
  journal: Journal;
  /** The deployment (`chainId`, `registry`) whose anchor is wanted. */
  chain: ChainConfig;
  provider: JsonRpcProvider;
  batch: BatchInfo;
}

export interface ChainData {
  anchor: ReceiptAnchor | null;
  attestations: ReceiptAttestation[];
}

/**
 * A batch's `anchor` and `attestations` for its receipts. The anchor is given
 * only when the journal's anchor state says anchored (or final) for this
 * deployment AND the chain confirms it now: the registry holds the batch with
 * the same agency, seq, size and prevRoot, and the node's canonical chain has
 * its `BatchAnchored` log — whose transaction and block are what the receipt
 * states (after a reorg that re-included the transaction elsewhere, the new
 * place). Attestations are the registry's `BatchCosigned` logs of the root,
 * one per notary (the first, as the contract counts it), sorted by address.
 */
export async function chainDataFor(p: ChainDataParameters): Promise<ChainData> {
  const none: ChainData = { anchor: null, attestations: [] };
  if (!p.chain.registry) return none;
  const state = await p.journal.getAnchorState<AnchorState>(p.batch.root);
  // The configured registry, or one the folder moved away from (its anchors stay: docs/chain.md).
  const registryAddress = anchoredRegistry(state, p.chain);
  if (!registryAddress || !isAnchored(state)) return none;
  return onChain(p.chain.rpc, async () => {
    const registry = new RegistryClient(registryAddress, p.provider);
    if (!(await registry.isDeployed())) return none; // a reset chain: nothing to confirm
    const b = p.batch;
    const stored = await registry.batch(b.agency, b.root);
    if (!stored.exists || stored.agency !== b.agency || stored.seq !== b.seq || stored.size !== b.size || stored.prevRoot !== b.prevRoot) return none;
    const log = await registry.findAnchorLog(b.agency, b.root, stored.blockNumber);
    if (!log) return none;
    const anchor: ReceiptAnchor = {
      chainId: p.chain.chainId,
      registry: registry.address,
      txHash: log.txHash,
      blockNumber: log.blockNumber,
      blockHash: log.blockHash,
      timestamp: stored.anchoredAt,
    };
    const seen = new Set<string>();
    const attestations: ReceiptAttestation[] = [];
    for (const c of await registry.cosignLogs(b.agency, b.root, log.blockNumber)) {
      const key = c.notary.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
      attestations.push({ notary: getAddress(c.notary), attestedAt: c.attestedAt, signature: c.signature });
    }
    attestations.sort((x, y) => (x.notary.toLowerCase() < y.notary.toLowerCase() ? -1 : x.notary.toLowerCase() > y.notary.toLowerCase() ? 1 : 0));
    return { anchor, attestations: attestations.slice(0, MAX_ATTESTATIONS) };
  });
}

export interface ChainReceiptParameters {
  journal: Journal;
  chain: ChainConfig;
  /** Record id. */
  id: string;
  /** A provider for `chain`; by default one is connected (only when the batch has an anchor state to confirm) and closed after. */
  provider?: JsonRpcProvider;
}

/**
 * The receipt of a sealed record with `anchor` and `attestations` filled from
 * the chain (see `chainDataFor`). A batch without an anchored state gets a
 * receipt without chain data, and the chain is not contacted.
 */
export async function receiptWithChain(p: ChainReceiptParameters): Promise<Receipt> {
  const receipt = await receiptFromJournal(p.journal, p.id);
  const batch = await p.journal.getBatch(receipt.batch.agency, receipt.batch.seq);
  if (!batch) fail('JOURNAL_CORRUPT', `batch ${receipt.batch.agency}#${receipt.batch.seq} vanished while building a receipt`);
  const state = await p.journal.getAnchorState<AnchorState>(batch.root);
  if (!anchoredRegistry(state, p.chain) || !isAnchored(state)) return receipt;
  const provider = p.provider ?? (await connect({ rpc: p.chain.rpc, expectedChainId: p.chain.chainId })).provider;
  try {
    const { anchor, attestations } = await chainDataFor({ journal: p.journal, chain: p.chain, provider, batch });
    return { ...receipt, anchor, attestations };
  } finally {
    if (!p.provider) provider.destroy();
  }
}
