import { Contract, decodeBytes32String, getAddress, id, Interface, zeroPadValue, type ContractRunner, type Log, type Provider } from 'ethers';
import { isLiuhenError, LiuhenError } from '../errors.js';
import { ZERO32 } from '../util/hex.js';
import { agencyToBytes32 } from './attestation.js';
import { evidenceRegistryArtifact } from './registry-artifact.js';
import { classifyChainError, isNetworkError, revertData, toChainError } from '../util/chain-error.js';

/** The registry's ABI as an ethers Interface (events, errors, functions). */
export const registryInterface = new Interface(evidenceRegistryArtifact.abi as never);

export const AGENCY_ROLE = id('AGENCY_ROLE');
export const NOTARY_ROLE = id('NOTARY_ROLE');
export const DEFAULT_ADMIN_ROLE = ZERO32;

const BATCH_ANCHORED = registryInterface.getEvent('BatchAnchored')!.topicHash;
const BATCH_COSIGNED = registryInterface.getEvent('BatchCosigned')!.topicHash;

/** `IEvidenceRegistry.Batch`, with numbers as JS numbers and the agency decoded. */
export interface OnChainBatch {
  /** False for a root that was never anchored (every other field is then zero). */
  exists: boolean;
  /** Agency code as text ('' when the root is unknown). */
  agency: string;
  agencyBytes32: string;
  prevRoot: string;
  seq: number;
  size: number;
  firstCapturedAt: number;
  lastCapturedAt: number;
  /** Block timestamp and number of the anchoring transaction. */
  anchoredAt: number;
  blockNumber: number;
  cosignerCount: number;
  notarizedAt: number;
}

/** One `BatchAnchored` log: where a root was anchored. */
export interface AnchorLog {
  root: string;
  /** Agency code as text (the bytes32 itself when it is not a valid string). */
  agency: string;
  agencyBytes32: string;
  seq: number;
  size: number;
  prevRoot: string;
  firstCapturedAt: number;
  lastCapturedAt: number;
  txHash: string;
  blockNumber: number;
  blockHash: string;
}

/** One `BatchCosigned` log: a notary's co-signature as recorded on chain. */
export interface CosignLog {
  root: string;
  notary: string;
  attestedAt: number;
  /** 65-byte signature, lowercase hex. */
  signature: string;
  txHash: string;
  blockNumber: number;
}

export interface RegistryClientOptions {
  /** Blocks per `eth_getLogs` request of the paged scans; halved while the endpoint refuses a range. @default 5000 */
  logPageSize?: number;
}

/**
 * A small typed client of `EvidenceRegistry` (ABI from the committed artifact).
 * Reads are views or log queries; reverts come back as CHAIN_REVERTED errors
 * naming the Solidity error and its arguments (`decodeRegistryError`).
 */
export class RegistryClient {
  readonly contract: Contract;
  private logPageSize: number;

  constructor(
    readonly address: string,
    readonly runner: ContractRunner,
    options: RegistryClientOptions = {},
  ) {
    this.address = getAddress(address);
    this.contract = new Contract(this.address, registryInterface, runner);
    this.logPageSize = options.logPageSize ?? 5_000;
  }

  /** The same registry with another runner (e.g. a signer). */
  connect(runner: ContractRunner): RegistryClient {
    return new RegistryClient(this.address, runner, { logPageSize: this.logPageSize });
  }

  private get provider(): Provider {
    const p = this.runner.provider ?? (this.runner as Provider);
    return p;
  }

  private async call<T>(name: string, args: unknown[]): Promise<T> {
    try {
      return (await this.contract.getFunction(name).staticCall(...args)) as T;
    } catch (e) {
      if ((e as { code?: string }).code === 'BAD_DATA') {
        // An empty answer: no contract (or not this one) at the address.
        throw new LiuhenError('REGISTRY_MISSING', `${this.address} answered ${name}() with no data: there is no EvidenceRegistry at that address on this chain`, { cause: e, details: { registry: this.address } });
      }
      throw decodeRegistryError(e, name);
    }
  }

  /** True when the address holds contract code answering `NOTARY_ROLE()` like a registry. */
  async isDeployed(): Promise<boolean> {
    const code = await this.provider.getCode(this.address);
    if (code === '0x') return false;
    try {
      return (await this.call<string>('NOTARY_ROLE', [])) === NOTARY_ROLE;
    } catch (e) {
      if (isNetworkError(e)) throw e;
      return false;
    }
  }

  async batch(root: string): Promise<OnChainBatch> {
    const b = await this.call<{
      agency: string;
      prevRoot: string;
      seq: bigint;
      size: bigint;
      firstCapturedAt: bigint;
      lastCapturedAt: bigint;
      anchoredAt: bigint;
      blockNumber: bigint;
      cosignerCount: bigint;
      notarizedAt: bigint;
    }>('batch', [root]);
    return {
      exists: b.seq !== 0n,
      agency: b.seq === 0n ? '' : agencyText(b.agency),
      agencyBytes32: b.agency,
      prevRoot: b.prevRoot,
      seq: Number(b.seq),
      size: Number(b.size),
      firstCapturedAt: Number(b.firstCapturedAt),
      lastCapturedAt: Number(b.lastCapturedAt),
      anchoredAt: Number(b.anchoredAt),
      blockNumber: Number(b.blockNumber),
      cosignerCount: Number(b.cosignerCount),
      notarizedAt: Number(b.notarizedAt),
    };
  }

  /** The agency's last batch on chain: seq 0 and the zero root before its first. */
  async latest(agency: string): Promise<{ seq: number; root: string }> {
    const [seq, root] = await this.call<[bigint, string]>('latest', [agencyToBytes32(agency)]);
    return { seq: Number(seq), root };
  }

  /** The agency an address is bound to, or undefined. */
  async agencyOf(account: string): Promise<string | undefined> {
    const b = await this.call<string>('agencyOf', [account]);
    return b === ZERO32 ? undefined : decodeBytes32String(b);
  }

  hasRole(role: string, account: string): Promise<boolean> {
    return this.call<boolean>('hasRole', [role, account]);
  }

  async notaryThreshold(): Promise<number> {
    return Number(await this.call<bigint>('notaryThreshold', []));
  }

  async notaryCount(): Promise<number> {
    return Number(await this.call<bigint>('notaryCount', []));
  }

  isNotarized(root: string): Promise<boolean> {
    return this.call<boolean>('isNotarized', [root]);
  }

  /** `attestedAt` recorded for `notary` on `root`; 0 when it did not co-sign. */
  async attestedAt(root: string, notary: string): Promise<number> {
    return Number(await this.call<bigint>('attestedAt', [root, notary]));
  }

  async cosigners(root: string): Promise<string[]> {
    return [...(await this.call<string[]>('cosigners', [root]))];
  }

  verifyInclusion(root: string, leaf: string, index: number, size: number, proof: string[]): Promise<boolean> {
    return this.call<boolean>('verifyInclusion', [root, leaf, index, size, proof]);
  }

  /** The EIP-712 digest the registry computes from its own storage for an attestation of `root` at `attestedAt`. */
  attestationDigest(root: string, attestedAt: number): Promise<string> {
    return this.call<string>('attestationDigest', [root, attestedAt]);
  }

  /** Calldata of `anchor(root, size, prevRoot, firstCapturedAt, lastCapturedAt)`. */
  encodeAnchor(p: { root: string; size: number; prevRoot: string; firstCapturedAt: number; lastCapturedAt: number }): string {
    return registryInterface.encodeFunctionData('anchor', [p.root, p.size, p.prevRoot, p.firstCapturedAt, p.lastCapturedAt]);
  }

  /** Calldata of `cosign(root, [{attestedAt, signature}, …])`. */
  encodeCosign(root: string, attestations: ReadonlyArray<{ attestedAt: number; signature: string }>): string {
    return registryInterface.encodeFunctionData('cosign', [root, attestations.map((a) => [a.attestedAt, a.signature])]);
  }

  /** The canonical `BatchAnchored` log of `root` (a node only returns logs of its canonical chain), if any. */
  async findAnchorLog(root: string, fromBlock = 0): Promise<AnchorLog | undefined> {
    const logs = await this.provider.getLogs({ address: this.address, topics: [BATCH_ANCHORED, null, null, root], fromBlock, toBlock: 'latest' });
    const live = logs.filter((l) => !l.removed);
    return live.length > 0 ? parseAnchorLog(live[live.length - 1]!) : undefined;
  }

  /** Every `BatchAnchored` log of an agency in [fromBlock, toBlock], in chain order. */
  async anchorLogs(agency: string, fromBlock: number, toBlock: number | 'latest' = 'latest'): Promise<AnchorLog[]> {
    const logs = await this.provider.getLogs({ address: this.address, topics: [BATCH_ANCHORED, agencyToBytes32(agency)], fromBlock, toBlock });
    return logs.filter((l) => !l.removed).map(parseAnchorLog);
  }

  /** The `BatchCosigned` logs of `root`, in chain order. */
  async cosignLogs(root: string, fromBlock = 0): Promise<CosignLog[]> {
    const logs = await this.provider.getLogs({ address: this.address, topics: [BATCH_COSIGNED, root], fromBlock, toBlock: 'latest' });
    return logs.filter((l) => !l.removed).map(parseCosignLog);
  }

  /**
   * The `BatchAnchored` logs of every agency in [fromBlock, toBlock], page by
   * page (see `logPages`): each page's logs in chain order, with the page's
   * last block. A log that is not a well-formed `BatchAnchored` is skipped.
   */
  async *anchorLogPages(fromBlock: number, toBlock: number): AsyncGenerator<{ logs: AnchorLog[]; toBlock: number }> {
    for await (const page of this.logPages([BATCH_ANCHORED], fromBlock, toBlock)) {
      yield { logs: page.logs.map(decodeAnchorLog).filter((l): l is AnchorLog => l !== undefined), toBlock: page.toBlock };
    }
  }

  /** Roots `notary` co-signed in [fromBlock, toBlock] (from its `BatchCosigned` logs, paged), lowercase. */
  async cosignedRoots(notary: string, fromBlock: number, toBlock: number): Promise<Set<string>> {
    const roots = new Set<string>();
    for await (const page of this.logPages([BATCH_COSIGNED, null, zeroPadValue(notary, 32)], fromBlock, toBlock)) {
      for (const log of page.logs) if (log.topics.length === 3) roots.add(log.topics[1]!.toLowerCase());
    }
    return roots;
  }

  /**
   * This registry's logs with `topics` in [fromBlock, toBlock], `logPageSize`
   * blocks per request. The endpoint may cap the block range of
   * `eth_getLogs`: a refused range is halved, down to a single block, and the
   * smaller size is kept. Whatever the endpoint answers is hostile input:
   * removed logs, logs of another address or with another first topic are
   * dropped.
   */
  private async *logPages(topics: Array<string | null>, fromBlock: number, toBlock: number): AsyncGenerator<{ logs: Log[]; toBlock: number }> {
    let start = fromBlock;
    while (start <= toBlock) {
      const stop = Math.min(toBlock, start + this.logPageSize - 1);
      let logs: readonly Log[];
      try {
        logs = await this.provider.getLogs({ address: this.address, topics, fromBlock: start, toBlock: stop });
      } catch (e) {
        // Range limits differ per endpoint ("block range too large", "more than 10000 results"), and some
        // refuse with an HTTP error status (SERVER_ERROR): halve and retry. A node that cannot be reached is no range problem.
        if (stop > start && (!isNetworkError(e) || (e as { code?: unknown }).code === 'SERVER_ERROR')) {
          this.logPageSize = Math.max(1, Math.floor((stop - start + 1) / 2));
          continue;
        }
        throw e;
      }
      const ours = logs.filter((l) => !l.removed && l.address.toLowerCase() === this.address.toLowerCase() && l.topics[0] === topics[0]);
      yield { logs: ours.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index), toBlock: stop };
      start = stop + 1;
    }
  }
}

/** The agency code of a bytes32, or the bytes32 itself when it is not a valid string. */
function agencyText(bytes32: string): string {
  try {
    return decodeBytes32String(bytes32);
  } catch {
    return bytes32; // not a valid bytes32 string: show it raw
  }
}

/** Parses a `BatchAnchored` log (of this registry's ABI). */
export function parseAnchorLog(log: Log): AnchorLog {
  const parsed = decodeAnchorLog(log);
  if (!parsed) throw new Error('not a BatchAnchored log');
  return parsed;
}

/** A `BatchAnchored` log decoded, or undefined when it is not a well-formed one (hostile input never throws here). */
function decodeAnchorLog(log: Log): AnchorLog | undefined {
  let ev;
  try {
    ev = registryInterface.parseLog({ topics: [...log.topics], data: log.data });
  } catch {
    return undefined;
  }
  if (!ev || ev.name !== 'BatchAnchored') return undefined;
  return {
    root: ev.args.root as string,
    agency: agencyText(ev.args.agency as string),
    agencyBytes32: ev.args.agency as string,
    seq: Number(ev.args.seq),
    size: Number(ev.args.size),
    prevRoot: ev.args.prevRoot as string,
    firstCapturedAt: Number(ev.args.firstCapturedAt),
    lastCapturedAt: Number(ev.args.lastCapturedAt),
    txHash: log.transactionHash,
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
  };
}

export function parseCosignLog(log: Log): CosignLog {
  const ev = registryInterface.parseLog({ topics: [...log.topics], data: log.data });
  if (!ev || ev.name !== 'BatchCosigned') throw new Error('not a BatchCosigned log');
  return {
    root: ev.args.root as string,
    notary: getAddress(ev.args.notary as string),
    attestedAt: Number(ev.args.attestedAt),
    signature: (ev.args.signature as string).toLowerCase(),
    txHash: log.transactionHash,
    blockNumber: log.blockNumber,
  };
}

/** The registry's custom error (or ethers' decoded `Error(string)`/`Panic`) that `e` carries, with its arguments as text. */
export function registryRevert(e: unknown): { name: string; args: Record<string, string>; shown: string } | undefined {
  const ethersRevert = (e as { revert?: { name: string; args: readonly unknown[] } }).revert;
  let name: string | undefined;
  let args: Record<string, string> = {};
  if (ethersRevert) {
    name = ethersRevert.name;
    const frag = registryInterface.getError(name);
    args = Object.fromEntries((frag?.inputs ?? []).map((inp, i) => [inp.name || `arg${i}`, show(ethersRevert.args[i])]));
  } else {
    const data = revertData(e);
    if (data) {
      try {
        const parsed = registryInterface.parseError(data);
        if (parsed) {
          name = parsed.name;
          args = Object.fromEntries(parsed.fragment.inputs.map((inp, i) => [inp.name || `arg${i}`, show(parsed.args[i])]));
        }
      } catch {
        /* not one of ours */
      }
    }
  }
  if (!name) return undefined;
  return { name, args, shown: `${name}(${Object.entries(args).map(([k, v]) => `${k}=${v}`).join(', ')})` };
}

/**
 * Turns a failed call or transaction into a coded error: a revert becomes
 * CHAIN_REVERTED naming the registry's custom error and its arguments
 * (`EvidenceRegistryUnexpectedPrevRoot(agency=…, expected=…, given=…)`);
 * anything else passes through (the caller maps network failures to
 * CHAIN_UNREACHABLE). One mapper: src/util/chain-error.ts.
 */
export function decodeRegistryError(e: unknown, what: string): unknown {
  if (isLiuhenError(e) || classifyChainError(e) !== 'revert') return e;
  return toChainError(e, { doing: what, decodeRevert: registryRevert });
}

/**
 * Always a coded error for a failed chain request, for callers that hold a
 * bare `Provider` (the notary): it names no endpoint, since a URL may carry
 * credentials. Network failures become CHAIN_UNREACHABLE, a revert
 * CHAIN_REVERTED (`<doing> reverted: Name(…)`), any other answer of the node
 * CHAIN_RPC_ERROR (src/util/chain-error.ts); coded errors pass through.
 */
export function chainError(e: unknown, doing: string): LiuhenError {
  return toChainError(e, { doing, decodeRevert: registryRevert });
}

function show(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string' && /^0x[0-9a-f]{64}$/i.test(v)) {
    // bytes32 agency codes read better as text
    try {
      const s = decodeBytes32String(v);
      if (/^[\x20-\x7e]+$/.test(s)) return `${v.slice(0, 10)}…("${s}")`;
    } catch {
      /* a hash, not text */
    }
    return v;
  }
  return String(v);
}
