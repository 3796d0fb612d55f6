import { isLiuhenError, LiuhenError } from '../errors.js';

/**
 * The one mapping of a failed chain request (ethers v6 error, Node/undici
 * network error, or an already coded error) to a coded `LiuhenError`. Three
 * kinds, never mixed:
 *
 * - `network`: the node could not be reached or did not answer in time
 *   (connection refused/reset, DNS, timeout, an HTTP 5xx from a proxy) →
 *   `CHAIN_UNREACHABLE`; retrying later may help.
 * - `revert`: the EVM ran the call and it reverted (ethers `CALL_EXCEPTION`,
 *   or revert data in the error) → `CHAIN_REVERTED`, naming the contract error
 *   when a decoder recognises it.
 * - `rejected`: the node answered, with an error that is not a revert (bad
 *   parameters, nonce too low, insufficient funds, a method it does not
 *   serve) → `CHAIN_RPC_ERROR`. Not "unreachable": the operator must not go
 *   looking for a dead node.
 *
 * Messages name no endpoint unless the caller passes an already redacted label
 * (RPC URLs may carry API keys).
 */
export type ChainErrorKind = 'network' | 'revert' | 'rejected';

/** A decoded revert: the contract error's name and arguments as text. */
export interface DecodedRevert {
  name: string;
  args: Record<string, string>;
  /** `Name(arg=value, …)` */
  shown: string;
}

export interface ChainErrorContext {
  /** What was being done, for the message: "reading the block number", "anchor of batch #3". */
  doing?: string;
  /** The endpoint, already redacted (`redactUrl`), when the message may name it. */
  endpoint?: string;
  /** Decodes the contract's custom errors (the registry's `registryRevert`). */
  decodeRevert?: (e: unknown) => DecodedRevert | undefined;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'TIMEOUT',
  'NETWORK_ERROR',
  'SERVER_ERROR',
]);

/** True when `e` says the node could not be reached (as opposed to the node answering with an error). */
export function isNetworkError(e: unknown): boolean {
  if (isLiuhenError(e, 'CHAIN_UNREACHABLE')) return true;
  for (let cur: unknown = e, depth = 0; cur && depth < 5; depth++) {
    const c = cur as { code?: unknown; message?: unknown; cause?: unknown; error?: unknown };
    if (typeof c.code === 'string' && NETWORK_CODES.has(c.code)) return true;
    if (typeof c.message === 'string' && /socket hang up|fetch failed|connect ECONNREFUSED/i.test(c.message)) return true;
    cur = c.cause ?? c.error;
  }
  return false;
}

/** Revert data (at least a 4-byte selector) carried anywhere in the error's chain. */
export function revertData(e: unknown): string | undefined {
  for (let cur: unknown = e, depth = 0; cur && depth < 6; depth++) {
    const c = cur as { data?: unknown; error?: unknown; info?: { error?: unknown }; cause?: unknown };
    if (typeof c.data === 'string' && /^0x[0-9a-fA-F]{8}/.test(c.data)) return c.data;
    if (c.data && typeof c.data === 'object' && typeof (c.data as { data?: unknown }).data === 'string') return (c.data as { data: string }).data;
    cur = c.error ?? c.info?.error ?? c.cause;
  }
  return undefined;
}

/** Which of the three kinds `e` is (coded errors: CHAIN_UNREACHABLE → network, CHAIN_REVERTED → revert, others → rejected). */
export function classifyChainError(e: unknown): ChainErrorKind {
  if (isLiuhenError(e)) return e.code === 'CHAIN_UNREACHABLE' ? 'network' : e.code === 'CHAIN_REVERTED' ? 'revert' : 'rejected';
  if (isNetworkError(e)) return 'network';
  const x = e as { code?: unknown; revert?: unknown; message?: unknown };
  if (x?.code === 'CALL_EXCEPTION' || (x?.revert !== undefined && x.revert !== null) || revertData(e) !== undefined) return 'revert';
  if (typeof x?.message === 'string' && /execution reverted|reverted with/i.test(x.message)) return 'revert';
  return 'rejected';
}

/** The node's own words, shortened (ethers' `shortMessage` first). */
export function chainMessage(e: unknown): string {
  if (isLiuhenError(e)) return e.message;
  const x = e as { shortMessage?: string; message?: string; code?: string };
  return String(x?.shortMessage ?? x?.message ?? x?.code ?? e).slice(0, 200);
}

/** `e` as a coded error (coded errors pass through unchanged). */
export function toChainError(e: unknown, ctx: ChainErrorContext): LiuhenError {
  if (isLiuhenError(e)) return e;
  const where = ctx.endpoint ? ` at ${ctx.endpoint}` : '';
  const doing = ctx.doing ?? 'a request';
  switch (classifyChainError(e)) {
    case 'network': {
      const why = (e as { code?: string })?.code ?? (e as Error)?.message ?? String(e);
      return new LiuhenError(
        'CHAIN_UNREACHABLE',
        `the chain${where} cannot be reached${ctx.doing ? ` while ${ctx.doing}` : ''} (${String(why).slice(0, 80)}); is the node running? (\`liuhen chain\` starts the embedded one)`,
        {
          cause: e,
          ...(ctx.endpoint ? { details: { rpc: ctx.endpoint } } : {}),
        },
      );
    }
    case 'revert': {
      const revert = ctx.decodeRevert?.(e);
      return new LiuhenError('CHAIN_REVERTED', `${doing} reverted: ${revert?.shown ?? 'an unknown reason'}`, {
        cause: e,
        details: { error: revert?.name ?? null, args: revert?.args ?? {} },
      });
    }
    case 'rejected':
      return new LiuhenError('CHAIN_RPC_ERROR', `the chain${where} answered with an error while ${doing}: ${chainMessage(e)}`, {
        cause: e,
        ...(ctx.endpoint ? { details: { rpc: ctx.endpoint } } : {}),
      });
  }
}
