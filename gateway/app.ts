import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type Express, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import { JournalAuditTrail } from './audit/trail.js';
import { parseGatewayConfig, type GatewayConfig } from './config.js';
import type { Context } from './context.js';
import { stderrLogger, type GatewayDeps } from './deps.js';
import { errorMiddleware, notFound } from './http/errors.js';
import { dataRateGuard } from './http/rate.js';
import { rateLimiter } from './http/rate-limit.js';
import { accessLog } from './logging.js';
import { createMetrics, metricsAccess, type GatewayMetrics } from './metrics.js';
import { mount, type RouteSpec } from './http/route.js';
import { buildOpenApi } from './openapi.js';
import { createPagesRouter } from './pages/router.js';
import { auditRoutes } from './routes/audit/router.js';
import { batchRoutes } from './routes/batches/router.js';
import { caseRoutes } from './routes/cases/router.js';
import { deviceRoutes } from './routes/devices/router.js';
import { healthRoutes } from './routes/health/router.js';
import { notaryRoutes } from './routes/notary/router.js';
import { recordRoutes } from './routes/records/router.js';
import { tokenRoutes } from './routes/tokens/router.js';
import { flushPublicReads } from './routes/verify/handler.js';
import { verifyRoutes } from './routes/verify/router.js';
import { findingRoutes } from './routes/findings/router.js';
import { feedbackRoutes } from './routes/feedback/router.js';
import { certificateRoutes } from './routes/certificates/router.js';
import { nameRoutes } from './routes/names/router.js';
import { closeSupervision } from './routes/stats/service.js';
import { statsRoutes } from './routes/stats/router.js';
import { createSupervisionPagesRouter } from './routes/stats/pages.js';

/**
 * Builds the gateway: an Express app over the SDK. Opens nothing and
 * listens nowhere (see `listen` in server.ts); throws CONFIG_INVALID when
 * `deps.config` is invalid.
 */
export function createApp(deps: GatewayDeps): Express {
  const config = parseGatewayConfig(deps.config ?? {});
  const clock = deps.clock ?? (() => new Date());
  const logger = deps.logger ?? stderrLogger;
  const audit =
    deps.audit ??
    new JournalAuditTrail(deps.liuhen, {
      agency: config.audit.agency ?? deps.liuhen.config.agency,
      device: config.audit.device,
      officer: config.audit.officer,
      clock,
      logger,
    });

  const limiter = (limit: number, what: string, counts?: (res: Response) => boolean): RequestHandler =>
    rateLimiter({ windowMs: config.rateLimit.windowMs, limit, what, ...(counts && { counts }) });

  const ctx: Context = {
    liuhen: deps.liuhen,
    journal: deps.liuhen.journal,
    dataDir: deps.liuhen.dataDir,
    store: deps.store,
    chain: deps.chain,
    tokens: deps.tokens,
    audit,
    config,
    policy: { ...config.policy },
    clock,
    logger,
    // Counts only refused authorisations; past the limit the address is refused everything until the window ends.
    authFailureLimiter: limiter(config.rateLimit.authFailures, 'failed authorisations', (res) => res.statusCode === 401 || res.statusCode === 403),
    verifyLimiter: limiter(config.rateLimit.verify, 'verifications'),
    ...(deps.components && { components: deps.components }),
    metrics: undefined as unknown as GatewayMetrics,
  };
  ctx.metrics = createMetrics(ctx);

  // Express tries routes in this order: the public verdicts, asked for a thousand times a second, first.
  const routes: RouteSpec[] = [
    ...verifyRoutes(ctx),
    ...healthRoutes,
    ...recordRoutes,
    ...batchRoutes,
    ...caseRoutes,
    ...deviceRoutes,
    ...notaryRoutes,
    ...tokenRoutes,
    ...auditRoutes,
    ...statsRoutes,
    ...findingRoutes,
    ...feedbackRoutes(ctx),
    ...certificateRoutes(ctx),
    ...nameRoutes,
  ];
  let openapi: unknown;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('query parser', 'simple');
  // No ETag on API answers (a SHA-1 of every body): verdicts and evidence reads are no-store, and
  // nothing here answers conditional requests. Static pages keep theirs (serve-static sets its own).
  app.set('etag', false);
  // The access log and the request id (X-Request-Id, error bodies, audit entries) before anything can answer.
  app.use(accessLog(logger));
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (req.route as { path?: string } | undefined)?.path ?? '(unmatched)';
      ctx.metrics.request(req.method, route, res.statusCode, seconds);
      if (route === '/v1/verify' || route === '/v1/verify/:leaf')
        ctx.metrics.verification(route === '/v1/verify' ? 'post' : 'leaf', (res.locals as { verdict?: string }).verdict ?? 'error', seconds);
    });
    next();
  });
  // Then, before anything waits on the body: slow clients are cut off by rate, not by a total time (issue 9.6).
  app.use(dataRateGuard(config.http, logger));
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  app.use(limiter(config.rateLimit.requests, 'requests'));

  const api = Router({ caseSensitive: true, strict: false });
  for (const r of routes) mount(api, r, ctx);
  api.get('/openapi.json', (_req, res) => {
    openapi ??= buildOpenApi(routes, { version: packageVersion() });
    res.json(openapi);
  });
  app.get('/metrics', metricsAccess(ctx), (_req, res, next) => {
    ctx.metrics.text().then((text) => {
      res.set('Content-Type', ctx.metrics.registry.contentType).set('Cache-Control', 'no-store').send(text);
    }, next);
  });
  app.use(api);
  app.use('/v1', notFound);
  app.use(createSupervisionPagesRouter());
  if (deps.pages !== undefined) app.use(deps.pages);
  else app.use(createPagesRouter());
  app.use(notFound);
  app.use(errorMiddleware(logger, ctx.dataDir, (code) => code.startsWith('STORE_') && ctx.metrics.storeError(code)));
  // Supervision: the statistics index is closed with the app (reopened if the app serves again).
  (app.locals as Record<symbol, unknown>)[DRAIN] = () => (flushPublicReads(ctx), audit.flush().then(() => closeSupervision(ctx)));
  (app.locals as Record<symbol, unknown>)[HTTP_CONFIG] = config.http;
  return app;
}

const DRAIN = Symbol.for('liuhen.gateway.drain');
const HTTP_CONFIG = Symbol.for('liuhen.gateway.http');

/** The app's `http` settings (header time) for `listen`; the defaults for an app not built by createApp. */
export function httpConfigOf(app: Express): GatewayConfig['http'] {
  return ((app.locals as Record<symbol, unknown>)[HTTP_CONFIG] as GatewayConfig['http'] | undefined) ?? parseGatewayConfig({}).http;
}

/**
 * Resolves once every audit entry of requests already answered is durable.
 * `listen(...).close()` calls it; call it yourself before closing the
 * journal if you serve the app another way.
 */
export function drainApp(app: Express): Promise<void> {
  const drain = (app.locals as Record<symbol, unknown>)[DRAIN] as (() => Promise<void>) | undefined;
  return drain ? drain() : Promise.resolve();
}

let version: string | undefined;
function packageVersion(): string {
  if (version) return version;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'liuhen' && pkg.version) return (version = pkg.version);
      } catch {
        // keep looking
      }
    }
    dir = dirname(dir);
  }
  return (version = '0.0.0');
}
