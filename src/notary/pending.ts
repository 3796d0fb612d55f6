import type { Provider } from 'ethers';
import { chainError, RegistryClient, type CosignedBatches } from '../chain/registry.js';
import { logDomain, type NotaryLog } from './log.js';
import { anchorLogPages } from './registry.js';
import { batchRef, eventRef, type NotaryPendingBatch } from './types.js';

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
  let head: number;
  try {
    head = await p.provider.getBlockNumber();
  } catch (e) {
    throw chainError(e, 'reading the block number');
  }
  const from = p.fromBlock ?? 0;
  if (from > head) return [];
  let client: RegistryClient;
  let cosigned: CosignedBatches;
  try {
    client = new RegistryClient(p.registry, p.provider, { logPageSize: p.logPageSize });
    cosigned = await client.cosignedBatches(p.notary, from, head);
  } catch (e) {
    throw chainError(e, `reading registry logs of blocks ${from}..${head}`);
  }
  const d = logDomain(p.chainId, p.registry);
  const out: NotaryPendingBatch[] = [];
  for await (const page of anchorLogPages(client, from, head)) {
    for (const ev of page.logs) {
      if (cosigned.has(ev.agencyBytes32, ev.root)) continue;
      const dec = await p.log?.decision(d, ev.root);
      const pending: NotaryPendingBatch = { batch: dec ? { ...batchRef(dec.batch), txHash: ev.txHash } : eventRef(ev), confirmations: head - ev.blockNumber, state: 'new' };
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
