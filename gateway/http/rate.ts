import type { Request, RequestHandler, Response } from 'express';
import type { GatewayConfig } from '../config.js';
import type { Logger } from '../deps.js';
import { requestIdOf } from '../logging.js';
import { clientAddress } from './client-address.js';

/**
 * Slow clients (issue 9.6). A request body must keep a minimum data rate,
 * measured over a window, instead of finishing within a fixed total time:
 * a 4 GB clip over a 1 MB/s link takes over an hour and must get through,
 * while a client that drips one byte every few seconds (Slowloris) must not
 * hold a connection, a verification slot or a file descriptor for hours.
 *
 * The rate is read from the socket's byte counter (`socket.bytesRead`), so
 * nothing here consumes or re-buffers the body. A window in which the
 * gateway itself was not reading (data waiting in the request's buffer, the
 * socket paused by backpressure) is not held against the client.
 *
 * Requests still receiving their body after one window are "slow"; an
 * address may have at most `slowPerAddress` of them (configurable: many
 * stations behind one NAT, load tests).
 */
interface RateState {
  minBytesPerSecond: number;
}

const STATE = Symbol('liuhen.rate');

/** A route's own minimum rate (e.g. the public verification); called before the handler reads the body. */
export function setMinDataRate(res: Response, bytesPerSecond: number): void {
  const s = (res.locals as Record<symbol, RateState | undefined>)[STATE];
  if (s) s.minBytesPerSecond = bytesPerSecond;
}

const hasBody = (req: Request): boolean => {
  const len = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (len !== undefined && len !== '0');
};

export function dataRateGuard(config: GatewayConfig['http'], logger: Logger): RequestHandler {
  const slow = new Map<string, number>();
  return (req, res, next) => {
    if (!hasBody(req) || req.complete) return next();
    const state: RateState = { minBytesPerSecond: config.minBytesPerSecond };
    (res.locals as Record<symbol, RateState>)[STATE] = state;
    const socket = req.socket;
    const from = clientAddress(req);
    let last = socket.bytesRead;
    let markedSlow = false;
    let stopped = false;

    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (markedSlow) {
        const n = (slow.get(from) ?? 1) - 1;
        if (n <= 0) slow.delete(from);
        else slow.set(from, n);
      }
    };
    // Once answered, Node no longer aborts the request when its socket closes:
    // destroy it ourselves, so whoever still reads the body sees it end (UPLOAD_INCOMPLETE) and frees what it holds.
    const close = () => {
      req.destroy();
      socket.destroy();
    };
    const cut = (why: string) => {
      stop();
      logger.warn('slow request cut off', { requestId: requestIdOf(req), from, method: req.method, path: req.path, why });
      if (!res.headersSent) {
        const body = JSON.stringify({
          error: {
            code: 'REQUEST_TOO_SLOW',
            message: `the request body arrived too slowly (${why}); send it at a steady rate and try again`,
            requestId: requestIdOf(req),
          },
        });
        res.writeHead(408, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
        res.end(body, close);
        // A client that does not read its answer either is closed anyway.
        setTimeout(close, 1000).unref();
      } else close();
    };
    const check = () => {
      if (req.complete || socket.destroyed) return stop();
      const now = socket.bytesRead;
      const got = now - last;
      last = now;
      // Our own backpressure: the body is waiting for the gateway, not the other way round.
      if (req.readableLength > 0 || (socket as { isPaused?: () => boolean }).isPaused?.()) return undefined;
      const need = (state.minBytesPerSecond * config.rateWindowMs) / 1000;
      if (got < need) return cut(`${got} bytes in ${config.rateWindowMs} ms, at least ${Math.ceil(need)} needed`);
      if (!markedSlow) {
        markedSlow = true;
        const n = (slow.get(from) ?? 0) + 1;
        slow.set(from, n);
        if (n > config.slowPerAddress) return cut(`more than ${config.slowPerAddress} long uploads from this address at once`);
      }
      return undefined;
    };
    const timer = setInterval(check, config.rateWindowMs);
    timer.unref();
    req.once('end', stop);
    res.once('close', stop);
    next();
  };
}
