import type { Provider } from 'ethers';
import { chainError, RegistryReader } from './registry.js';
import { logDomain, type NotaryLog } from './log.js';
import { batchRef, type NotaryPendingBatch } from './types.js';
import { agencyCodeOf } from './registry.js';

export interface ListPendingParameters {
  provider: Provider;
  registry: string;
  /** The notary's address (no key needed: `keystoreAddress` reads it from the keystore). */
  notary: string;
  chainId: number;
  /** First block to scan (the registry's deployment block). @default 0 */
  fromBlock?: number;
  /** The notary's log, to say why a batch is pending (refused, signed and not yet mined). Optional. */
  log?: NotaryLog;
  /** Blocks per `eth_getLogs` request. @default 5000 */
  logPageSize?: number;
}

/**
 * Anchored batches that `notary` has not co-signed on chain, oldest first:
 * every `BatchAnchored` of the registry minus the roots of its own
 * `BatchCosigned` events. Reads the chain only (and the log when given).
 */
export async function listPending(p: ListPendingParameters): Promise<NotaryPendingBatch[]> {
  const client = new RegistryReader(p.provider, p.registry, p.logPageSize ?? 5_000);
  let head: number;
  try {
    head = await p.provider.getBlockNumber();
  } catch (e) {
    throw chainError(e, 'reading the block number');
  }
  const from = p.fromBlock ?? 0;
  if (from > head) return [];
  const cosigned = await client.cosignedRoots(p.notary, from, head);
  const d = logDomain(p.chainId, p.registry);
  const out: NotaryPendingBatch[] = [];
  for await (const page of client.anchoredEvents(from, head)) {
    for (const ev of page.events) {
      if (cosigned.has(ev.root)) continue;
      const dec = await p.log?.decision(d, ev.root);
      const ref = {
        agency: agencyCodeOf(ev.agency) ?? ev.agency,
        agencyBytes32: ev.agency,
        seq: Number(ev.seq),
        root: ev.root,
        size: Number(ev.size),
        prevRoot: ev.prevRoot,
        blockNumber: ev.blockNumber,
        txHash: ev.txHash,
      };
      const pending: NotaryPendingBatch = { batch: dec ? { ...batchRef(dec.batch), txHash: ev.txHash } : ref, confirmations: head - ev.blockNumber, state: 'new' };
      if (dec?.status === 'refused' && dec.refusal) {
        pending.state = 'refused';
        pending.refusal = { reason: dec.refusal.reason, message: dec.refusal.message };
      } else if (dec?.status === 'signed' || dec?.status === 'submitted') {
        pending.state = dec.status;
      }
      out.push(pending);
    }
  }
  return out;
}
