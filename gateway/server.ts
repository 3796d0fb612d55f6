import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import { drainApp, httpConfigOf } from './app.js';

export interface ListenParameters {
  /** @default 8080 */
  port?: number;
  /** @default '127.0.0.1' (loopback: put a TLS proxy in front to serve others) */
  host?: string;
  /**
   * Time to receive a whole request. @default 0 (none): a multi-GB upload on a
   * slow link may take hours; slow clients are bounded by the minimum data
   * rate instead (config `http`, issue 9.6).
   */
  requestTimeoutMs?: number;
  /** Time to receive the headers. @default the app's `http.headersTimeoutMs` (20 s) */
  headersTimeoutMs?: number;
  /** A connection silent this long is closed (a stalled upload journals nothing). @default 120 s */
  idleTimeoutMs?: number;
}

export interface RunningGateway {
  server: Server;
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  /**
   * Stops accepting, lets requests in flight finish (at most `graceMs`), closes
   * every connection, then waits until their audit entries are durable. Close
   * the Liuhen facade after this resolves.
   */
  close(graceMs?: number): Promise<void>;
}

/** Serves `app` over HTTP. Resolves once listening. */
export function listen(app: Express, p: ListenParameters = {}): Promise<RunningGateway> {
  const host = p.host ?? '127.0.0.1';
  const headersTimeout = p.headersTimeoutMs ?? httpConfigOf(app).headersTimeoutMs;
  const server = createServer(
    {
      requestTimeout: p.requestTimeoutMs ?? 0,
      headersTimeout,
      // Node checks both timeouts on this period (default 30 s): check often enough that the header bound means what it says.
      connectionsCheckingInterval: Math.max(50, Math.min(5000, Math.floor(headersTimeout / 2))),
    },
    app,
  );
  server.setTimeout(p.idleTimeoutMs ?? 120_000, (socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(p.port ?? 8080, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        server,
        port,
        url: `http://${shown}:${port}`,
        close: async (graceMs = 5000) => {
          await new Promise<void>((done) => {
            const timer = setTimeout(() => server.closeAllConnections(), graceMs);
            timer.unref();
            server.close(() => {
              clearTimeout(timer);
              done();
            });
            server.closeIdleConnections();
          });
          await drainApp(app);
        },
      });
    });
  });
}
