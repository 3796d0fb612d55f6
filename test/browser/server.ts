/**
 * The real gateway for the page tests: `createApp` (API routes, helmet's CSP,
 * rate limits, the pages router) over the SDK on the fixture's data folder,
 * with a token store holding one supervisor token, and no chain (anchor and
 * notary states read "unknown", verdicts stay incomplete at best). An outer
 * app logs how many bytes the server read for every request (headers and
 * body, counted on the socket so that the body stream is left untouched).
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { createApp, silentLogger, TokenStore } from '../../gateway/index.js';
import { createPagesRouter } from '../../gateway/pages/router.js';
import { Liuhen } from '../../src/index.js';

export interface ReceivedRequest {
  method: string;
  path: string;
  /** Bytes read from the socket while the request was served: its headers and body. */
  bytes: number;
}

export interface TestServer {
  url: string;
  supervisorToken: string;
  received: ReceivedRequest[];
  close(): Promise<void>;
}

export async function startTestServer(dataDir: string, tokensDir = join(dataDir, 'gateway')): Promise<TestServer> {
  const liuhen = await Liuhen.open(dataDir);
  const tokens = await TokenStore.open(tokensDir);
  const { token: supervisorToken } = await tokens.create({ role: 'supervisor', label: 'browser tests', createdBy: 'test' });
  const gateway = createApp({ liuhen, tokens, logger: silentLogger, pages: createPagesRouter() });

  const received: ReceivedRequest[] = [];
  const outer = express();
  outer.disable('x-powered-by');
  outer.use((req, res, next) => {
    const start = req.socket.bytesRead;
    const path = req.path;
    res.on('finish', () => received.push({ method: req.method, path, bytes: req.socket.bytesRead - start }));
    next();
  });
  outer.use(gateway);

  const server = outer.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    supervisorToken,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await liuhen.close();
    },
  };
}
