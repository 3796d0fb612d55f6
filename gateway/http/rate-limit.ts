import { isIP } from 'node:net';
import type { RequestHandler, Response } from 'express';
import { httpError } from './errors.js';
import { clientAddress } from './client-address.js';

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
   * Only responses this accepts stay counted (failed authorisations). A
   * request is counted on arrival — so a burst of concurrent guesses cannot
   * all slip in before the first is answered — and uncounted as soon as it
   * is known not to count: `releaseRateLimit(res)` (the token checked out),
   * or its response does not count. A response that counts after a release
   * (a handler's 403) is counted again.
   */
  counts?: (res: Response) => boolean;
  /** ms since the epoch (tests). */
  now?: () => number;
}

const RELEASE = Symbol('liuhen.rate-limit.release');

/** This request does not count for the `counts` limiter it passed (its token checked out): uncounted now, not when answered. */
export function releaseRateLimit(res: Response): void {
  (res.locals as Record<symbol, (() => void) | undefined>)[RELEASE]?.();
}

export function rateLimiter(o: RateLimitOptions): RequestHandler {
  const now = o.now ?? Date.now;
  const policy = `${o.limit};w=${Math.ceil(o.windowMs / 1000)}`;
  let windowStart = -1;
  let used = new Map<string, number>();
  /** Adds `by` to `key`'s count if the window `start` is still the current one (a window gone is forgotten whole). */
  const add = (start: number, key: string, by: number) => {
    if (start !== windowStart) return;
    const n = (used.get(key) ?? 0) + by;
    if (n > 0) used.set(key, n);
    else used.delete(key);
  };
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
      let counted = true;
      const release = () => {
        if (counted) add(start, key, -1);
        counted = false;
      };
      (res.locals as Record<symbol, () => void>)[RELEASE] = release;
      res.once('finish', () => {
        if (!counts(res)) release();
        else if (!counted) {
          counted = true;
          add(start, key, 1);
        }
      });
    }
    next();
  };
}

/**
 * The key an address is counted under: an IPv4 address itself (also when
 * written inside IPv6: IPv4-mapped, IPv4-compatible, the NAT64 prefix
 * 64:ff9b::/96 of RFC 6052 — each of those clients is one IPv4 host), an IPv6
 * address's /56. Anything that is not an IP address (a proxy's garbage in
 * X-Forwarded-For) shares one key, so it can neither mint fresh limits nor fill memory.
 */
export function addressKey(address: string): string {
  const zone = address.indexOf('%');
  const ip = zone >= 0 ? address.slice(0, zone) : address;
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family !== 6) return '(not an IP address)';
  const g = ipv6Groups(ip);
  const v4 = () => `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
  const zeroTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped, RFC 4291 §2.5.5.2); ::a.b.c.d (compatible, §2.5.5.1, not ::1 or ::); 64:ff9b::a.b.c.d (RFC 6052 §2.1).
  if (zeroTo(5) && g[5] === 0xffff) return v4();
  if (zeroTo(6) && (g[6]! !== 0 || g[7]! > 1)) return v4();
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4();
  return `${g[0]!.toString(16)}:${g[1]!.toString(16)}:${g[2]!.toString(16)}:${(g[3]! & 0xff00).toString(16)}::/56`;
}

/** The eight 16-bit groups of a valid IPv6 address ("::" expanded, RFC 4291 §2.2; a dotted IPv4 tail is two groups). */
function ipv6Groups(ip: string): number[] {
  const parts = (s: string): number[] =>
    s === ''
      ? []
      : s.split(':').flatMap((x) => {
          if (!x.includes('.')) return [parseInt(x, 16)];
          const [a, b, c, d] = x.split('.').map(Number) as [number, number, number, number];
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = '', tail] = ip.split('::');
  if (tail === undefined) return parts(head);
  const h = parts(head);
  const t = parts(tail);
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}
