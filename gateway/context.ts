import type { RequestHandler } from 'express';
import {
  isLiuhenError,
  receiptFromJournal,
  type AuditPolicy,
  type BatchInfo,
  type EvidenceStore,
  type Journal,
  type Liuhen,
  type Receipt,
} from '../src/index.js';
import type { AuditTrail } from './audit/trail.js';
import type { TokenStore } from './auth/tokens.js';
import type { GatewayConfig } from './config.js';
import type { BatchChainStatus, ComponentHealth, GatewayChain, Logger } from './deps.js';
import { httpError } from './http/errors.js';
import type { GatewayMetrics } from './metrics.js';

/** Everything a handler may use, resolved once by `createApp`. */
export interface Context {
  liuhen: Liuhen;
  journal: Journal;
  dataDir: string;
  store: EvidenceStore | undefined;
  chain: GatewayChain | undefined;
  tokens: TokenStore;
  audit: AuditTrail;
  config: GatewayConfig;
  policy: AuditPolicy;
  clock: () => Date;
  logger: Logger;
  authFailureLimiter: RequestHandler;
  verifyLimiter: RequestHandler;
  /** Components around the gateway (see GatewayDeps.components). */
  components?: () => Promise<ComponentHealth[]>;
  /** Prometheus metrics of this app (`GET /metrics`). */
  metrics: GatewayMetrics;
}

/** A batch's chain status as the API reports it (`chainError` when the chain could not be asked). */
export type ChainStatusView = BatchChainStatus & { chainError?: string };

const UNKNOWN: BatchChainStatus = { phase: 'unknown', anchor: null, attestations: [], notarized: false };

/** Asks the chain about a batch; never throws (an unreachable chain reads as unknown). Memoised per request by the caller's map. */
export async function chainStatus(ctx: Context, batch: BatchInfo, memo?: Map<string, Promise<ChainStatusView>>): Promise<ChainStatusView> {
  const cached = memo?.get(batch.root);
  if (cached) return cached;
  const run = (async (): Promise<ChainStatusView> => {
    if (!ctx.chain) return UNKNOWN;
    try {
      return await ctx.chain.batchStatus(batch);
    } catch (e) {
      ctx.logger.warn('chain status unavailable', { root: batch.root, code: isLiuhenError(e) ? e.code : undefined, message: (e as Error)?.message });
      return { ...UNKNOWN, chainError: isLiuhenError(e) ? e.code : 'CHAIN_UNREACHABLE' };
    }
  })();
  memo?.set(batch.root, run);
  return run;
}

/** The journal's receipt of a record with the chain's anchor and attestations when known. */
export async function receiptWithChain(
  ctx: Context,
  id: string,
  memo?: Map<string, Promise<ChainStatusView>>,
): Promise<{ receipt: Receipt; status: ChainStatusView }> {
  // The journal's receipt (no chain I/O here: the facade's `receipt` would ask the chain itself, and fail while it is down).
  const receipt = await receiptFromJournal(ctx.journal, id);
  const batch = await ctx.journal.getBatchByRoot(receipt.batch.root);
  if (!batch) throw httpError('BATCH_NOT_FOUND', `the batch of record ${id} is missing from the journal`);
  const status = await chainStatus(ctx, batch, memo);
  return {
    receipt: { ...receipt, anchor: status.anchor ?? receipt.anchor, attestations: status.attestations.length > 0 ? status.attestations : receipt.attestations },
    status,
  };
}

export function requireStore(ctx: Context): EvidenceStore {
  if (!ctx.store) throw httpError('STORE_UNAVAILABLE', 'this gateway has no evidence store configured');
  return ctx.store;
}
