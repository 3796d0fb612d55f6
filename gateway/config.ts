import { z } from 'zod';
import { agencySchema, deviceSchema, describeIssues, LiuhenError, officerSchema } from '../src/index.js';
import { supervisionConfigSchema } from './routes/stats/config.js';

const GiB = 1024 ** 3;
const KiB = 1024;
const bytes = (max: number) => z.number().int().min(1).max(max);

/**
 * The gateway's settings, parsed once by zod when the app is built. Every
 * field has a default, so `{}` is a valid configuration.
 */
export const gatewayConfigSchema = z.strictObject({
  limits: z
    .strictObject({
      /** Largest evidence file accepted by `POST /v1/records`. @default 4 GiB */
      uploadBytes: bytes(2 ** 45).default(4 * GiB),
      /** Largest file hashed by `POST /v1/verify` (the file is hashed and dropped, never stored). @default 1 GiB */
      verifyFileBytes: bytes(2 ** 45).default(1 * GiB),
      /** Public verifications with a file upload hashed at once (each streams up to verifyFileBytes). */
      verifyUploads: z.number().int().min(1).max(1024).default(4),
      /** Largest JSON body. Receipts fit (≤ 256 KiB plus the envelope). @default 272 KiB */
      jsonBytes: bytes(16 * 1024 * KiB).default(272 * KiB),
      /** Largest non-file multipart field (`meta`, `receipt`, `sha256`). @default 272 KiB */
      fieldBytes: bytes(16 * 1024 * KiB).default(272 * KiB),
      /** File verifications one client address may run at once (the rest of `verifyUploads` stays free for others). @default 2 */
      verifyUploadsPerAddress: z.number().int().min(1).max(1024).default(2),
      /** Most multipart parts (fields + files). @default 4 */
      parts: z.number().int().min(2).max(64).default(4),
    })
    .prefault({}),
  rateLimit: z
    .strictObject({
      windowMs: z.number().int().min(1000).max(3_600_000).default(60_000),
      /** Requests per window and client address, all routes. */
      requests: z.number().int().min(1).max(10_000_000).default(1200),
      /** Public verification (`/v1/verify*`) per window and address. */
      verify: z.number().int().min(1).max(10_000_000).default(120),
      /** Failed authorisations (401/403) per window and address; beyond it every request of that address is refused until the window ends. */
      authFailures: z.number().int().min(1).max(10_000_000).default(30),
    })
    .prefault({}),
  /**
   * Slow clients (issue 9.6). A fixed total time would cut off real multi-GB
   * uploads on slow links, so a request body must instead keep a minimum data
   * rate: every `rateWindowMs` it must have delivered at least
   * `minBytesPerSecond × window` bytes, or it is answered 408 REQUEST_TOO_SLOW
   * and its connection closed (Slowloris-style drip feeds). Time spent waiting
   * on the gateway itself (backpressure) is never counted against the client.
   */
  http: z
    .strictObject({
      /** Time to receive a request's headers. @default 20 s */
      headersTimeoutMs: z.number().int().min(100).max(600_000).default(20_000),
      /** Window over which the data rate is measured. @default 15 s */
      rateWindowMs: z.number().int().min(100).max(600_000).default(15_000),
      /** Minimum body rate, all routes (1 KB/s: a poor mobile link still uploads several GB a day). */
      minBytesPerSecond: z.number().int().min(1).max(1e9).default(1000),
      /** Minimum body rate of the public `POST /v1/verify` (its uploads hold one of `verifyUploads` slots). */
      verifyMinBytesPerSecond: z.number().int().min(1).max(1e9).default(4000),
      /**
       * Requests per client address still sending their body after one window
       * ("slow"); one more is cut off. Raise it for many stations behind one NAT
       * or for load tests. @default 16
       */
      slowPerAddress: z.number().int().min(1).max(1_000_000).default(16),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      /**
       * SHA-256 (hex) of the bearer token Prometheus sends for `GET /metrics`.
       * Unset: /metrics answers loopback clients only (and nobody when trustProxy is set).
       */
      tokenSha256: z
        .string()
        .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (sha256 of the token)')
        .optional(),
    })
    .prefault({}),
  health: z
    .strictObject({
      /** A pending (unsealed) record older than this makes `/healthz` degraded. @default 300 s */
      maxPendingSeconds: z
        .number()
        .min(1)
        .max(30 * 86_400)
        .default(300),
      /** Time allowed to each health probe (chain, store). @default 2000 ms */
      probeTimeoutMs: z.number().int().min(50).max(60_000).default(2000),
    })
    .prefault({}),
  audit: z
    .strictObject({
      /** Agency under which audit entries are journaled. @default the data folder's agency */
      agency: agencySchema.optional(),
      /** Device chain of the audit entries (reserved: agencies cannot record for it). */
      device: deviceSchema.default('gateway-audit'),
      /** `officer` field of audit records. */
      officer: officerSchema.default('gateway'),
    })
    .prefault({}),
  /** Batches per agency scanned (newest first) for `GET /v1/notary/pending`. */
  notaryScanBatches: z.number().int().min(1).max(100_000).default(256),
  /** Completeness policy for case and device audits (seconds). */
  policy: z
    .strictObject({
      maxSealDelaySeconds: z.number().min(0).optional(),
      maxAnchorDelaySeconds: z.number().min(0).optional(),
      maxClockSkewSeconds: z.number().min(0).optional(),
    })
    .prefault({}),
  /** The supervision body: its agency and device chains, statistics, 码上监督 feedback limits (gateway/routes/stats/config.ts). */
  supervision: supervisionConfigSchema,
  /**
   * Display names (issue 14) where the registry has none (a version 1
   * registry, or names not registered yet): agency code → name, notary
   * address → name, and/or a trust file (`liuhen-trust/1`) whose names are
   * used. Names registered on the registry come first.
   */
  names: z
    .strictObject({
      agencies: z.record(z.string().max(64), z.string().min(1).max(256)).default({}),
      notaries: z.record(z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 20-byte address in 0x hex'), z.string().min(1).max(256)).default({}),
      trustFile: z.string().min(1).max(4096).optional(),
    })
    .prefault({}),
  /**
   * Express `trust proxy`: false (default) when clients connect directly; a hop count behind a reverse proxy.
   * Not `true`: that trusts the left-most X-Forwarded-For entry, which any client writes itself —
   * every request could claim a fresh address, and with it a fresh rate limit and a false audit `from`.
   */
  trustProxy: z
    .union([z.literal(false), z.number().int().min(0).max(16)], {
      error: 'must be false, or the number of reverse proxies in front of the gateway (0–16); true would let every client choose its own address',
    })
    .default(false),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;

/** Parses the settings; an invalid one is a CONFIG_INVALID naming the field. */
export function parseGatewayConfig(input: unknown = {}): GatewayConfig {
  const r = gatewayConfigSchema.safeParse(input ?? {});
  if (!r.success) throw new LiuhenError('CONFIG_INVALID', `invalid gateway configuration: ${describeIssues(r.error)}`);
  return r.data;
}
