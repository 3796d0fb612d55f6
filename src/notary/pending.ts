import type { Provider } from 'ethers';
import { chainError, RegistryClient, type CosignedBatches } from '../chain/registry.js';
import { logDomain, type NotaryLog } from './log.js';
import { anchorLogPages } from './registry.js';
import { batchRef, eventRef, type NotaryBatchRef, type NotaryPendingBatch } from './types.js';

export interface ListPendingParameters {
  provider: Provider;
  registry: string;
  /** The notary's address (no key needed: `keystoreAddress` reads it from the keystore). */
  notary: string;
  chainId: number;
  /** First block to scan (the registry's deployment block). @default 0 */
  fromBlock?: number | undefined;
  /** The notary's log, to say why a batch is pending (refused, signed and not yet mined). Optional. */
  log?: NotaryLog | undefined;
  /** Blocks per `eth_getLogs` request. @default 5000 */
  logPageSize?: number | undefined;
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
      const dec = await p.log?.decision(d, ev.agencyBytes32, ev.root);
      const pending: NotaryPendingBatch = {
        batch: dec ? { ...batchRef(dec.batch), txHash: ev.txHash } : eventRef(ev),
        confirmations: head - ev.blockNumber,
        state: 'new',
      };
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

export interface ListUnnotarizedParameters {
  provider: Provider;
  registry: string;
  /** Only batches anchored longer ago than this (seconds, by the chain's clock). @default 0 */
  olderThanSeconds?: number;
  /** Only this agency's batches (the agency code, e.g. `JN-CG`). @default every agency */
  agency?: string;
  /** First block to scan (the registry's deployment block). @default 0 */
  fromBlock?: number;
  /** Blocks per `eth_getLogs` request. @default 5000 */
  logPageSize?: number;
}

/** An anchored batch the registry does not count as notarized yet. */
export interface UnnotarizedBatch {
  batch: NotaryBatchRef;
  /** Block time of the anchor, unix seconds. */
  anchoredAt: number;
  /** Seconds since the anchor, by the latest block's time. */
  ageSeconds: number;
  /** Notaries that co-signed so far (below the threshold). */
  cosigners: number;
}

/**
 * Anchored batches left unnotarized (the registry's `isNotarized` false:
 * fewer co-signatures than the threshold) for longer than `olderThanSeconds`,
 * oldest first, with their age. Whatever the cause — a notary down, a refusal,
 * a rollback — the station learns it from the chain alone (issue 9.3): this
 * is what `/healthz`, the metrics and the supervisor pages alert on. Ages use
 * the latest block's timestamp, so a station's clock cannot hide a delay.
 */
export async function listUnnotarized(p: ListUnnotarizedParameters): Promise<UnnotarizedBatch[]> {
  const threshold = p.olderThanSeconds ?? 0;
  if (!Number.isSafeInteger(threshold) || threshold < 0) throw new RangeError(`olderThanSeconds must be a non-negative integer, got ${String(threshold)}`);
  let head: { number: number; timestamp: number };
  let client: RegistryClient;
  try {
    const latest = await p.provider.getBlock('latest');
    if (latest === null) return [];
    head = { number: latest.number, timestamp: latest.timestamp };
    client = new RegistryClient(p.registry, p.provider, { logPageSize: p.logPageSize });
  } catch (e) {
    throw chainError(e, 'reading the latest block');
  }
  const from = p.fromBlock ?? 0;
  if (from > head.number) return [];
  const out: UnnotarizedBatch[] = [];
  for await (const page of anchorLogPages(client, from, head.number)) {
    for (const ev of page.logs) {
      if (p.agency !== undefined && ev.agency !== p.agency) continue;
      let b;
      try {
        b = await client.batch(ev.agencyBytes32, ev.root);
      } catch (e) {
        throw chainError(e, `reading batch ${ev.root} from the registry`);
      }
      // Not held any more (reorganised away), or notarized: nothing to report.
      if (!b.exists || b.notarizedAt !== 0) continue;
      const ageSeconds = Math.max(0, head.timestamp - b.anchoredAt);
      if (ageSeconds < threshold) continue;
      out.push({ batch: eventRef(ev), anchoredAt: b.anchoredAt, ageSeconds, cosigners: b.cosignerCount });
    }
  }
  return out.sort((a, b) => a.anchoredAt - b.anchoredAt || a.batch.seq - b.batch.seq);
}
