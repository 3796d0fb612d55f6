import { Contract, decodeBytes32String, encodeBytes32String, Interface, zeroPadValue, type Log, type Provider } from 'ethers';
import { evidenceRegistryArtifact } from '../chain/registry-artifact.js';
import { fail, LiuhenError } from '../errors.js';
import type { AnchoredBatch } from './policy.js';

/**
 * What the notary reads from and sends to `EvidenceRegistry`, over any
 * ethers `Provider`. Everything that comes back from the RPC endpoint is
 * hostile input: logs are checked for address and topic, decoded strictly,
 * and a batch is believed only when `batch(root)` agrees with its event.
 */
export const registryInterface = new Interface(evidenceRegistryArtifact.abi);
const ANCHORED_TOPIC = registryInterface.getEvent('BatchAnchored')!.topicHash;
const COSIGNED_TOPIC = registryInterface.getEvent('BatchCosigned')!.topicHash;
const ZERO32 = `0x${'00'.repeat(32)}`;

/** A `BatchAnchored` event as logged. */
export interface AnchoredEvent {
  agency: string;
  seq: bigint;
  root: string;
  size: bigint;
  prevRoot: string;
  firstCapturedAt: bigint;
  lastCapturedAt: bigint;
  blockNumber: number;
  blockHash: string;
  logIndex: number;
  txHash: string;
}

/** The registry's stored `Batch` (fields as the contract returns them). */
export interface StoredBatch {
  agency: string;
  prevRoot: string;
  seq: bigint;
  size: bigint;
  firstCapturedAt: bigint;
  lastCapturedAt: bigint;
  anchoredAt: bigint;
  blockNumber: bigint;
  cosignerCount: bigint;
}

export class RegistryReader {
  readonly contract: Contract;

  constructor(
    readonly provider: Provider,
    readonly address: string,
    /** Blocks per `eth_getLogs` request; halved while the endpoint refuses a range. */
    private pageSize = 5_000,
  ) {
    this.contract = new Contract(address, registryInterface, provider);
  }

  /** The stored batch, or undefined when `root` was never anchored. */
  async batch(root: string): Promise<StoredBatch | undefined> {
    const b = await this.call<StoredBatch>('batch', root);
    if (b.anchoredAt === 0n) return undefined;
    return {
      agency: b.agency,
      prevRoot: b.prevRoot,
      seq: b.seq,
      size: b.size,
      firstCapturedAt: b.firstCapturedAt,
      lastCapturedAt: b.lastCapturedAt,
      anchoredAt: b.anchoredAt,
      blockNumber: b.blockNumber,
      cosignerCount: b.cosignerCount,
    };
  }

  async attestedAt(root: string, notary: string): Promise<number> {
    return Number(await this.call<bigint>('attestedAt', root, notary));
  }

  async attestationDigest(root: string, attestedAt: number): Promise<string> {
    return this.call<string>('attestationDigest', root, attestedAt);
  }

  async isNotarized(root: string): Promise<boolean> {
    return this.call<boolean>('isNotarized', root);
  }

  /** Calldata of `cosign(root, [{attestedAt, signature}])`. */
  cosignData(root: string, attestedAt: number, signature: string): string {
    return registryInterface.encodeFunctionData('cosign', [root, [[attestedAt, signature]]]);
  }

  /**
   * `BatchAnchored` events in [from, to], page by page (the endpoint may cap
   * the block range of `eth_getLogs`: a refused range is halved, down to a
   * single block). Yields each page's events in chain order with its last block.
   */
  async *anchoredEvents(from: number, to: number): AsyncGenerator<{ events: AnchoredEvent[]; to: number }> {
    for await (const page of this.logs([ANCHORED_TOPIC], from, to)) {
      yield { events: page.logs.map((log) => this.parseAnchored(log)).filter((e): e is AnchoredEvent => e !== undefined), to: page.to };
    }
  }

  /** Roots `notary` co-signed in [from, to] (from `BatchCosigned` logs). */
  async cosignedRoots(notary: string, from: number, to: number): Promise<Set<string>> {
    const roots = new Set<string>();
    for await (const page of this.logs([COSIGNED_TOPIC, null, zeroPadValue(notary, 32)], from, to)) {
      for (const log of page.logs) {
        if (!this.isOurs(log, COSIGNED_TOPIC) || log.topics.length !== 3) continue;
        roots.add(log.topics[1]!.toLowerCase());
      }
    }
    return roots;
  }

  private async *logs(topics: Array<string | null>, from: number, to: number): AsyncGenerator<{ logs: readonly Log[]; to: number }> {
    let start = from;
    while (start <= to) {
      const stop = Math.min(to, start + this.pageSize - 1);
      let logs: readonly Log[];
      try {
        logs = await this.provider.getLogs({ address: this.address, topics, fromBlock: start, toBlock: stop });
      } catch (e) {
        if (stop > start && !isUnreachable(e)) {
          // Range limits differ per endpoint ("block range too large", "more than 10000 results"): halve and retry.
          this.pageSize = Math.max(1, Math.floor((stop - start + 1) / 2));
          continue;
        }
        throw chainError(e, `reading registry logs of blocks ${start}..${stop}`);
      }
      yield { logs: [...logs].sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index), to: stop };
      start = stop + 1;
    }
  }

  private isOurs(log: Log, topic: string): boolean {
    return !log.removed && log.address.toLowerCase() === this.address.toLowerCase() && log.topics[0] === topic;
  }

  /** Hostile input: undefined for a log that is not a well-formed BatchAnchored of this registry. */
  private parseAnchored(log: Log): AnchoredEvent | undefined {
    if (!this.isOurs(log, ANCHORED_TOPIC)) return undefined;
    let parsed;
    try {
      parsed = registryInterface.parseLog({ topics: [...log.topics], data: log.data });
    } catch {
      return undefined;
    }
    if (parsed === null || parsed.name !== 'BatchAnchored') return undefined;
    const a = parsed.args;
    return {
      agency: String(a.agency).toLowerCase(),
      seq: BigInt(a.seq),
      root: String(a.root).toLowerCase(),
      size: BigInt(a.size),
      prevRoot: String(a.prevRoot).toLowerCase(),
      firstCapturedAt: BigInt(a.firstCapturedAt),
      lastCapturedAt: BigInt(a.lastCapturedAt),
      blockNumber: log.blockNumber,
      blockHash: log.blockHash,
      logIndex: log.index,
      txHash: log.transactionHash,
    };
  }

  private async call<T>(method: string, ...args: unknown[]): Promise<T> {
    try {
      return (await this.contract.getFunction(method).staticCall(...args)) as T;
    } catch (e) {
      throw chainError(e, `calling ${method} on the registry ${this.address}`);
    }
  }
}

/**
 * The notary's view of an anchored batch, or a reason it cannot be believed:
 * the registry must hold `root` with exactly the event's fields.
 */
export function reconcile(event: AnchoredEvent, stored: StoredBatch | undefined): { batch: AnchoredBatch } | { mismatch: string } {
  if (stored === undefined) return { mismatch: `the registry does not hold root ${event.root} (the block was reorganised away, or the chain was reset)` };
  const diffs: string[] = [];
  const same = (name: string, a: unknown, b: unknown): void => {
    if (String(a).toLowerCase() !== String(b).toLowerCase()) diffs.push(`${name} ${String(a)} ≠ ${String(b)}`);
  };
  same('agency', event.agency, stored.agency);
  same('seq', event.seq, stored.seq);
  same('size', event.size, stored.size);
  same('prevRoot', event.prevRoot, stored.prevRoot);
  same('firstCapturedAt', event.firstCapturedAt, stored.firstCapturedAt);
  same('lastCapturedAt', event.lastCapturedAt, stored.lastCapturedAt);
  same('blockNumber', event.blockNumber, stored.blockNumber);
  if (diffs.length > 0) return { mismatch: `the event and the registry disagree: ${diffs.join(', ')}` };
  return { batch: toAnchoredBatch(event.root, stored, event.txHash) };
}

export function toAnchoredBatch(root: string, stored: StoredBatch, txHash?: string): AnchoredBatch {
  return {
    agency: stored.agency.toLowerCase(),
    agencyCode: agencyCodeOf(stored.agency),
    seq: Number(stored.seq),
    root: root.toLowerCase(),
    size: Number(stored.size),
    prevRoot: stored.prevRoot.toLowerCase(),
    firstCapturedAt: Number(stored.firstCapturedAt),
    lastCapturedAt: Number(stored.lastCapturedAt),
    anchoredAt: Number(stored.anchoredAt),
    blockNumber: Number(stored.blockNumber),
    ...(txHash === undefined ? {} : { txHash }),
  };
}

/** The agency code when `bytes32` is one (round-trips through `encodeBytes32String`), else undefined. */
export function agencyCodeOf(bytes32: string): string | undefined {
  try {
    const code = decodeBytes32String(bytes32);
    return code.length > 0 && encodeBytes32String(code).toLowerCase() === bytes32.toLowerCase() ? code : undefined;
  } catch {
    return undefined;
  }
}

export const isZero32 = (h: string): boolean => h.toLowerCase() === ZERO32;

/** The revert of a registry call as `Name(arg, …)`, when the error carries revert data of this contract. */
export function decodeRevert(error: unknown): string | undefined {
  let cursor: unknown = error;
  for (let depth = 0; depth < 6 && typeof cursor === 'object' && cursor !== null; depth++) {
    const data = (cursor as { data?: unknown }).data;
    if (typeof data === 'string' && /^0x[0-9a-fA-F]{8}/.test(data)) {
      try {
        const parsed = registryInterface.parseError(data);
        if (parsed) return `${parsed.name}(${parsed.args.map((a: unknown) => String(a)).join(', ')})`;
      } catch {
        return undefined;
      }
    }
    cursor = (cursor as { error?: unknown; info?: { error?: unknown } }).error ?? (cursor as { info?: { error?: unknown } }).info?.error;
  }
  return undefined;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN', 'EPIPE', 'NETWORK_ERROR', 'TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

export function isUnreachable(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  const cause = (e as { cause?: unknown })?.cause;
  return cause !== undefined && cause !== e && isUnreachable(cause);
}

/** A coded error for a failed chain request; the endpoint URL never appears (it may carry credentials). */
export function chainError(e: unknown, doing: string): LiuhenError {
  if (e instanceof LiuhenError) return e;
  if (isUnreachable(e)) return new LiuhenError('CHAIN_UNREACHABLE', `the chain cannot be reached while ${doing}; is the node running?`, { cause: e });
  const revert = decodeRevert(e);
  if (revert !== undefined) return new LiuhenError('CHAIN_REVERTED', `${doing} reverted: ${revert}`, { cause: e, details: { revert } });
  const short = (e as { shortMessage?: string })?.shortMessage ?? (e as Error)?.message ?? String(e);
  return new LiuhenError('CHAIN_UNREACHABLE', `the chain answered with an error while ${doing}: ${short.slice(0, 200)}`, { cause: e });
}

export function requireAddress(address: string, what: string): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) fail('INVALID_INPUT', `${what} must be a 0x-prefixed 20-byte address`);
  return address;
}
