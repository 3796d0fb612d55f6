import type { Request } from 'express';

/**
 * The client's address as this gateway sees it: Express's `req.ip` (which
 * follows `trustProxy`), else the socket's peer. Rate limits, audit entries,
 * the access log and per-address upload slots all count by it, so they must
 * agree on one reading.
 */
export function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}
