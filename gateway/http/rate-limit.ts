import { isIPv6 } from 'node:net';
import type { Request, RequestHandler, Response } from 'express';
import { httpError } from './errors.js';

/**
 * Requests per client address and window (fixed windows aligned to the
 * clock). One synchronous map lookup per request: the public verdicts are
 * served at over a thousand a second (issue 11), and the library this
 * replaces (express-rate-limit) cost more per request than the memoised
 * verdict itself — six awaits and a validation pass per limiter.
 *
 * Answers carry the IETF draft-7 headers (`RateLimit-Policy`, `RateLimit`);
 * a refused request is 429 RATE_LIMITED with `Retry-After` (RFC 9110 §10.2.3)
 * in seconds. A fixed window lets an address spend up to twice its limit
 * across a window's boundary; the limits are sized with that in mind.
 *
 * IPv6 clients are counted per /56 (the prefix an ISP gives one customer),
 * not per address: anyone holding a /64 has 2^64 addresses to rotate through.
 */
export interface RateLimitOptions {
  windowMs: number;
  /** Requests an address may make per window. */
  limit: number;
  /** What is counted, for the error message ("too many verifications from this address"). */
  what: string;
  /**
   * Only responses this accepts stay counted (e.g. failed authorisations).
   * A request is counted while in flight and uncounted once its response is
   * known not to count, so many concurrent attempts cannot all slip in
   * before the first is answered.
   */
  counts?: (res: Response) => boolean;
  /** ms since the epoch (tests). */
  now?: () => number;
}

export function rateLimiter(o: RateLimitOptions): RequestHandler {
  const now = o.now ?? Date.now;
  const policy = `${o.limit};w=${Math.ceil(o.windowMs / 1000)}`;
  let windowStart = -1;
  let used = new Map<string, number>();
  return (req, res, next) => {
    const t = now();
    const start = t - (t % o.windowMs);
    // A new window forgets the last one whole: memory is bounded by one window's addresses.
    if (start !== windowStart) {
      windowStart = start;
      used = new Map();
    }
    const key = addressKey(clientAddress(req));
    const seen = used.get(key) ?? 0;
    const reset = Math.max(1, Math.ceil((start + o.windowMs - t) / 1000));
    res.setHeader('RateLimit-Policy', policy);
    res.setHeader('RateLimit', `limit=${o.limit}, remaining=${Math.max(0, o.limit - seen - 1)}, reset=${reset}`);
    if (seen >= o.limit) {
      res.setHeader('Retry-After', String(reset));
      next(httpError('RATE_LIMITED', `too many ${o.what} from this address; try again in ${reset} s`));
      return;
    }
    used.set(key, seen + 1);
    if (o.counts) {
      const counts = o.counts;
      const map = used;
      res.once('finish', () => {
        if (counts(res)) return;
        const n = map.get(key) ?? 0;
        if (n > 0) map.set(key, n - 1);
      });
    }
    next();
  };
}

function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** The key an address is counted under: an IPv4 address itself (also when IPv4-mapped), an IPv6 address's /56. */
export function addressKey(address: string): string {
  const zone = address.indexOf('%');
  const ip = zone >= 0 ? address.slice(0, zone) : address;
  if (!isIPv6(ip)) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = ip.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const width = (g: string[]) => g.reduce((n, x) => n + (x.includes('.') ? 2 : 1), 0);
  // "::" stands for as many zero groups as the address lacks (RFC 4291 §2.2); an IPv4 tail is two groups.
  const all = tail === undefined ? groups(head) : [...groups(head), ...Array<string>(8 - width(groups(head)) - width(groups(tail))).fill('0'), ...groups(tail)];
  const g = all.slice(0, 4).map((x) => parseInt(x, 16));
  return `${g[0]!.toString(16)}:${g[1]!.toString(16)}:${g[2]!.toString(16)}:${(g[3]! & 0xff00).toString(16)}::/56`;
}
