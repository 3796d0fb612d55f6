import { FetchRequest, JsonRpcProvider, Network } from 'ethers';
import { fail, isLiuhenError, type LiuhenError } from '../errors.js';
import { isNetworkError, toChainError } from '../util/chain-error.js';

/**
 * JSON-RPC connections. Every URL that reaches a message goes through
 * `redactUrl` first: RPC URLs of hosted nodes often carry an API key in the
 * path, the query or the userinfo part.
 */

/** Default per-request timeout. A node that does not answer within it counts as unreachable. */
export const DEFAULT_RPC_TIMEOUT_MS = 10_000;

/**
 * The URL with credentials removed: userinfo becomes `***`, every query value
 * becomes `***`, and path segments that look like API keys (≥ 20 characters of
 * letters, digits, `_` or `-`) become `***`.
 *
 * @example redactUrl('https://user:pw@node.example/v3/0123456789abcdef0123?key=x') // 'https://***@node.example/v3/***?key=***'
 */
export function redactUrl(url: string): string {
  const u = parseUrl(url);
  if (!u) return '(invalid URL)';
  const auth = u.username || u.password ? '***@' : '';
  const path = u.pathname
    .split('/')
    .map((seg) => (/^[A-Za-z0-9_-]{20,}$/.test(seg) ? '***' : seg))
    .join('/');
  const query = [...u.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=***`).join('&');
  return `${u.protocol}//${auth}${u.host}${path === '/' ? '' : path}${query ? `?${query}` : ''}`;
}

/** A FetchRequest for `url`, with userinfo moved into an Authorization header (fetch refuses URLs with credentials). */
export function rpcRequest(url: string, timeoutMs = DEFAULT_RPC_TIMEOUT_MS): FetchRequest {
  const u = parseUrl(url) ?? fail('INVALID_INPUT', `not a URL: ${redactUrl(url)}`);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') fail('INVALID_INPUT', `the JSON-RPC endpoint must be http(s), got ${u.protocol}`);
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  const req = new FetchRequest(u.toString());
  if (user || pass) {
    // Plain-http basic auth is only acceptable on loopback (a local node behind a proxy).
    req.allowInsecureAuthentication = u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.hostname === '[::1]';
    req.setCredentials(user, pass);
  }
  req.timeout = timeoutMs;
  return req;
}

function parseUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** True when `e` says the node could not be reached (the one mapper: src/util/chain-error.ts). */
export { isNetworkError } from '../util/chain-error.js';

/** Wraps a network failure into CHAIN_UNREACHABLE naming the (redacted) endpoint; coded errors pass through. */
export function unreachable(url: string, e: unknown): LiuhenError {
  if (isLiuhenError(e)) return e;
  return toChainError(e, { endpoint: redactUrl(url) });
}

/** Runs `fn`, turning network failures into CHAIN_UNREACHABLE for `url`. */
export async function onChain<T>(url: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isNetworkError(e)) throw unreachable(url, e);
    throw e;
  }
}

export interface ConnectParameters {
  rpc: string;
  /** When given, the node's chain id must equal it (CHAIN_MISMATCH otherwise). */
  expectedChainId?: number | undefined;
  /** Per-request timeout. @default 10000 */
  timeoutMs?: number | undefined;
}

export interface Connection {
  provider: JsonRpcProvider;
  chainId: number;
  /** The endpoint with credentials removed, for messages. */
  label: string;
}

/**
 * Asks the node for its chain id (one request, bounded by the timeout) and
 * returns a provider pinned to it. Pinning (`staticNetwork`) keeps ethers from
 * retrying network detection forever in the background when the node is down;
 * a node that later changes its chain id is caught by `assertChainId`.
 */
export async function connect(p: ConnectParameters): Promise<Connection> {
  const label = redactUrl(p.rpc);
  const probe = new JsonRpcProvider(rpcRequest(p.rpc, p.timeoutMs), undefined, { staticNetwork: Network.from(1), batchMaxCount: 1 });
  let chainId: number;
  try {
    chainId = Number(BigInt(await onChain(p.rpc, () => probe.send('eth_chainId', []) as Promise<string>)));
  } finally {
    probe.destroy();
  }
  if (p.expectedChainId !== undefined && chainId !== p.expectedChainId) {
    fail('CHAIN_MISMATCH', `the node at ${label} serves chain ${chainId}, expected ${p.expectedChainId}`, {
      details: { rpc: label, chainId, expected: p.expectedChainId },
    });
  }
  // cacheTimeout -1: no 250 ms result cache — nonces and heads must be fresh.
  // batchStallTime 0: the anchorer's calls are sequential; waiting 10 ms to batch each one only adds latency.
  const provider = new JsonRpcProvider(rpcRequest(p.rpc, p.timeoutMs), Network.from(chainId), { staticNetwork: true, cacheTimeout: -1, batchStallTime: 0 });
  return { provider, chainId, label };
}

/** Re-reads the node's chain id (a restarted node may serve another chain). */
export async function assertChainId(provider: JsonRpcProvider, rpc: string, expected: number): Promise<void> {
  const id = Number(BigInt(await onChain(rpc, () => provider.send('eth_chainId', []) as Promise<string>)));
  if (id !== expected)
    fail('CHAIN_MISMATCH', `the node at ${redactUrl(rpc)} now serves chain ${id}, expected ${expected}`, { details: { chainId: id, expected } });
}
