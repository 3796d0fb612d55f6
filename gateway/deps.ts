import type {
  Authenticity,
  BatchInfo,
  ChainVerifier,
  EvidenceStore,
  ExistenceProof,
  Liuhen,
  OnChainDevice,
  ReceiptAnchor,
  ReceiptAttestation,
} from '../src/index.js';
import type { GatewayConfigInput } from './config.js';
import type { AuditTrail } from './audit/trail.js';
import type { TokenStore } from './auth/tokens.js';
import { defaultLogger } from './logging.js';

/**
 * What the gateway is built from. Everything is injected: the gateway opens
 * nothing itself, so `liuhen gateway`, `liuhen start` and the tests each wire
 * the same `createApp` to their own journal, store and chain.
 */
export interface GatewayDeps {
  /** The SDK facade over the data folder: the journal, and the station key that signs uploaded records and audit entries. */
  liuhen: Liuhen;
  /** Tokens (hashes only), from `openTokenStore(<data>/gateway)`. */
  tokens: TokenStore;
  /** The encrypted evidence store. Without it uploads and content downloads answer 503 STORE_UNAVAILABLE. */
  store?: EvidenceStore | undefined;
  /** The chain as the gateway needs it. Without it anchor and notary states read "unknown" and verdicts stay incomplete. */
  chain?: GatewayChain | undefined;
  /** Limits, rate limits, health thresholds; parsed once by zod (`gatewayConfigSchema`). */
  config?: GatewayConfigInput | undefined;
  /** Where audit entries go; default: journaled through `liuhen` (kind `event`, device `gateway-audit`). */
  audit?: AuditTrail | undefined;
  /** Wall clock (tests). Default `() => new Date()`. */
  clock?: (() => Date) | undefined;
  /** Default: pino JSON lines on stderr at LIUHEN_LOG_LEVEL (info), with the access log (`createLogger` in logging.ts). */
  logger?: Logger | undefined;
  /** The web pages router (`createPagesRouter()`); mounted after the API when given. */
  pages?: import('express').Router | undefined;
  /** What the process around the gateway runs (`liuhen start`: the chain process, its state, anchoring, the notary); shown by `/healthz`. */
  components?: (() => Promise<ComponentHealth[]>) | undefined;
}

/** One component's real state for `/healthz` (issue 10.4): anything not `ok` makes the gateway degraded, with `detail` as the reason. */
export interface ComponentHealth {
  name: string;
  status: 'ok' | 'degraded' | 'down';
  detail: string;
  /** Figures behind the status (lag, backlog, restarts …). */
  data?: Record<string, unknown>;
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Where a batch is on its way to the chain (the anchorer's states; `unknown` when no chain is configured). */
export type AnchorPhase = 'unknown' | 'sealed' | 'signed' | 'submitted' | 'anchored' | 'final';

/** What the chain knows of one batch root. */
export interface BatchChainStatus {
  phase: AnchorPhase;
  /** The anchor as a receipt carries it, once the batch is in a block. */
  anchor: ReceiptAnchor | null;
  /** Notary co-signatures known for the root. */
  attestations: ReceiptAttestation[];
  /** Distinct co-signers ≥ the registry's threshold. */
  notarized: boolean;
}

/**
 * The chain as the gateway sees it: an adapter over the chain module
 * (anchorer state in the journal, registry reads, the receipt verifier).
 * Every method may throw `CHAIN_UNREACHABLE`; the gateway then reports the
 * state as unknown (reads) or the check as pending (verdicts).
 */
export interface GatewayChain {
  /** The anchor and notary checks of `verifyReceipt`. */
  verifier: ChainVerifier;
  /** Anchor and notary state of a sealed batch. */
  batchStatus(batch: BatchInfo): Promise<BatchChainStatus>;
  /** Resolves when the chain answers; throws (any error) when it does not. Used by `/healthz`. */
  ping(): Promise<void>;
  /**
   * A device's enrollment history on the folder's registry (issue 13):
   * `undefined` when not enrolled, `null` when the registry keeps no
   * enrollments (version 1). The continuity and case views explain key
   * changes with it. Optional: a gateway without it reports every key change.
   */
  deviceHistory?(agency: string, device: string): Promise<OnChainDevice | undefined | null>;
  /**
   * The authenticity level of a record as the registry's enrollments say
   * now, for the ingest-time check of `POST /v1/records/signed`;
   * `undefined` when the registry keeps no enrollments.
   */
  recordAuthenticity?(p: {
    agency: string;
    device: string;
    capturedAt: number;
    signingKey: string | undefined;
    existedBy: ExistenceProof;
  }): Promise<Authenticity | undefined>;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Default: structured JSON lines (pino) on stderr at LIUHEN_LOG_LEVEL (default info); see logging.ts. Created on first use. */
export const stderrLogger: Logger = {
  info: (message, fields) => defaultLogger().info(message, fields),
  warn: (message, fields) => defaultLogger().warn(message, fields),
  error: (message, fields) => defaultLogger().error(message, fields),
  get pino() {
    return defaultLogger().pino;
  },
} as Logger;
