import {
  Contract,
  decodeBytes32String,
  getAddress,
  id,
  Interface,
  keccak256,
  toUtf8Bytes,
  zeroPadValue,
  type ContractRunner,
  type Log,
  type Provider,
} from 'ethers';
import { isLiuhenError, LiuhenError } from '../errors.js';
import { ZERO32 } from '../util/hex.js';
import { agencyToBytes32, type RegistryVersion } from './attestation.js';
import { evidenceRegistryArtifact } from './registry-artifact.js';
import { evidenceRegistryV1Artifact } from './registry-v1-artifact.js';
import { classifyChainError, isNetworkError, revertData, toChainError } from '../util/chain-error.js';

/** The current (version 2) registry's ABI as an ethers Interface (events, errors, functions). */
export const registryInterface = new Interface(evidenceRegistryArtifact.abi as never);
/** The version 1 registry's ABI: still read, so that receipts anchored on it stay verifiable. */
export const registryV1Interface = new Interface(evidenceRegistryV1Artifact.abi as never);

export const AGENCY_ROLE = id('AGENCY_ROLE');
export const NOTARY_ROLE = id('NOTARY_ROLE');
export const DEFAULT_ADMIN_ROLE = ZERO32;

/** `BatchAnchored` has the same signature (agency, seq and root indexed) in both versions. */
const BATCH_ANCHORED = registryInterface.getEvent('BatchAnchored')!.topicHash;
/** Version 2: `BatchCosigned(agency indexed, root indexed, notary indexed, attestedAt, signature)`. */
const BATCH_COSIGNED = registryInterface.getEvent('BatchCosigned')!.topicHash;
/** Version 1: `BatchCosigned(root indexed, notary indexed, attestedAt, signature)`. */
const BATCH_COSIGNED_V1 = registryV1Interface.getEvent('BatchCosigned')!.topicHash;

/** Device kinds as enrolled on a version 2 registry (`IEvidenceRegistry.DeviceKind`, without `None`). */
export const DEVICE_KINDS = ['body-camera', 'terminal', 'station'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** The contract's enum value of a device kind (`None` = 0 is never enrolled). */
export function deviceKindValue(kind: DeviceKind): number {
  switch (kind) {
    case 'body-camera':
      return 1;
    case 'terminal':
      return 2;
    case 'station':
      return 3;
  }
}

/** The device kind of the contract's enum value, undefined for `None` or an unknown value. */
export function deviceKindOf(value: number): DeviceKind | undefined {
  return value >= 1 && value <= DEVICE_KINDS.length ? DEVICE_KINDS[value - 1] : undefined;
}

/** How a device id is keyed on chain: `keccak256(bytes(deviceId))` (the contract's `deviceHash`). */
export function deviceHash(deviceId: string): string {
  return keccak256(toUtf8Bytes(deviceId));
}

/**
 * An agency argument as the contract wants it: an agency code (`JN-CG`) is
 * encoded with `encodeBytes32String`; a 0x-prefixed 32-byte hex string is
 * taken as already encoded (no code can look like one: codes are at most 31
 * bytes).
 */
export function agencyArg(agency: string): string {
  return /^0x[0-9a-fA-F]{64}$/.test(agency) ? agency.toLowerCase() : agencyToBytes32(agency);
}

/** `IEvidenceRegistry.Batch`, with numbers as JS numbers and the agency decoded. */
export interface OnChainBatch {
  /** False for a batch the agency never anchored (every other field is then zero). */
  exists: boolean;
  /** Agency code as text ('' when the batch is unknown). */
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
  /** The agency's bytes32 (version 2 logs carry it; for version 1 it is the agency asked for, or zero). */
  agencyBytes32: string;
  root: string;
  notary: string;
  attestedAt: number;
  /** 65-byte signature, lowercase hex. */
  signature: string;
  txHash: string;
  blockNumber: number;
}

/** An enrolled device and its whole key history, as a version 2 registry holds them. */
export interface OnChainDevice {
  agency: string;
  /** The device id as the agency enrolled it. */
  deviceId: string;
  deviceHash: string;
  kind: DeviceKind;
  /** `block.timestamp` of the enrollment. */
  enrolledAt: number;
  keys: OnChainDeviceKey[];
}

export interface OnChainDeviceKey {
  index: number;
  /** Ed25519 public key, 0x-prefixed lowercase hex (32 bytes). */
  publicKey: string;
  validFrom: number;
  /** 0 while the key is current. */
  validUntil: number;
  /** 0 unless revoked. */
  compromisedAt: number;
  /** 0 unless revoked. */
  revokedAt: number;
}

/** A device event of an agency, as `RegistryClient.deviceEvents` decodes it. */
export type DeviceEvent =
  | { type: 'enrolled'; deviceId: string; publicKey: string; kind: DeviceKind | undefined; validFrom: number; blockNumber: number; txHash: string }
  | { type: 'rotated'; deviceId: string; publicKey: string; keyIndex: number; validFrom: number; blockNumber: number; txHash: string }
  | { type: 'revoked'; deviceId: string; publicKey: string; keyIndex: number; compromisedAt: number; reason: string; blockNumber: number; txHash: string };

/** Batches a notary co-signed: keyed by (agency, root) on version 2, by root on version 1. */
export class CosignedBatches {
  private readonly keys = new Set<string>();
  constructor(readonly version: RegistryVersion) {}
  add(agencyBytes32: string, root: string): void {
    this.keys.add(this.key(agencyBytes32, root));
  }
  has(agencyBytes32: string, root: string): boolean {
    return this.keys.has(this.key(agencyBytes32, root));
  }
  get size(): number {
    return this.keys.size;
  }
  private key(agencyBytes32: string, root: string): string {
    // A version 1 registry held a root for one agency only.
    return this.version === 1 ? root.toLowerCase() : `${agencyBytes32.toLowerCase()}:${root.toLowerCase()}`;
  }
}

export interface RegistryClientOptions {
  /** Blocks per `eth_getLogs` request of the paged scans; halved while the endpoint refuses a range. @default 5000 */
  logPageSize?: number | undefined;
  /** The registry's version when already known (skips asking the registry). */
  version?: RegistryVersion | undefined;
  /**
   * The block its reads are made at (calls, and the end of the device-event scan), asked per
   * read; undefined: the latest. The verdict cache pins its reads to the block it synced
   * (src/chain/verifier-cache.ts).
   */
  blockTag?: (() => number | undefined) | undefined;
}

/** Versions already asked, per provider and address: a registry's code does not change. */
const knownVersions = new WeakMap<object, Map<string, RegistryVersion>>();

/**
 * A small typed client of `EvidenceRegistry`, version 2 (ABI from the
 * committed artifact) and version 1 (the frozen v1 artifact): every batch
 * function takes the agency, as version 2 keys batches by (agency, root);
 * on a version 1 registry the client asks by root and answers "unknown
 * batch" when the root belongs to another agency, so callers see the same
 * semantics. Reads are views or log queries; reverts come back as
 * CHAIN_REVERTED errors naming the Solidity error and its arguments
 * (`decodeRegistryError`).
 */
export class RegistryClient {
  readonly contract: Contract;
  private readonly contractV1: Contract;
  private logPageSize: number;
  private versionKnown: RegistryVersion | undefined;
  private readonly blockTag: (() => number | undefined) | undefined;

  constructor(
    readonly address: string,
    readonly runner: ContractRunner,
    options: RegistryClientOptions = {},
  ) {
    this.address = getAddress(address);
    this.contract = new Contract(this.address, registryInterface, runner);
    this.contractV1 = new Contract(this.address, registryV1Interface, runner);
    this.logPageSize = options.logPageSize ?? 5_000;
    this.blockTag = options.blockTag;
    this.versionKnown = options.version ?? knownVersions.get(this.provider as object)?.get(this.address);
  }

  /** The same registry with another runner (e.g. a signer). */
  connect(runner: ContractRunner): RegistryClient {
    return new RegistryClient(this.address, runner, { logPageSize: this.logPageSize, ...(this.versionKnown !== undefined && { version: this.versionKnown }) });
  }

  private get provider(): Provider {
    const p = this.runner.provider ?? (this.runner as Provider);
    return p;
  }

  private async call<T>(name: string, args: unknown[], contract: Contract = this.contract): Promise<T> {
    try {
      const blockTag = this.blockTag?.();
      return (await (blockTag === undefined
        ? contract.getFunction(name).staticCall(...args)
        : contract.getFunction(name).staticCall(...args, { blockTag }))) as T;
    } catch (e) {
      if ((e as { code?: string }).code === 'BAD_DATA') {
        // An empty answer: no contract (or not this one) at the address.
        throw new LiuhenError(
          'REGISTRY_MISSING',
          `${this.address} answered ${name}() with no data: there is no EvidenceRegistry at that address on this chain`,
          { cause: e, details: { registry: this.address } },
        );
      }
      throw decodeRegistryError(e, name);
    }
  }

  /**
   * The registry's interface version: `registryVersion()` answers 2; a version
   * 1 registry has no such function, so a revert or an empty answer from a
   * contract that answers `NOTARY_ROLE()` like a registry means 1. Asked once
   * per provider and address.
   */
  async version(): Promise<RegistryVersion> {
    if (this.versionKnown !== undefined) return this.versionKnown;
    let v: RegistryVersion;
    try {
      const n = (await this.contract.getFunction('registryVersion').staticCall()) as bigint;
      if (n !== 2n)
        throw new LiuhenError('REGISTRY_MISSING', `${this.address} says it is registry version ${n}; this SDK reads versions 1 and 2`, {
          details: { registry: this.address, version: n.toString() },
        });
      v = 2;
    } catch (e) {
      if (isLiuhenError(e) || isNetworkError(e)) throw e;
      // No registryVersion(): version 1 if it is a registry at all (else REGISTRY_MISSING / CHAIN_REVERTED from call()).
      const role = await this.call<string>('NOTARY_ROLE', [], this.contractV1);
      if (role !== NOTARY_ROLE)
        throw new LiuhenError('REGISTRY_MISSING', `${this.address} does not answer like an EvidenceRegistry`, { details: { registry: this.address } });
      v = 1;
    }
    this.versionKnown = v;
    const byProvider = knownVersions.get(this.provider as object) ?? new Map<string, RegistryVersion>();
    byProvider.set(this.address, v);
    knownVersions.set(this.provider as object, byProvider);
    return v;
  }

  /** True when the address holds contract code answering `NOTARY_ROLE()` like a registry (either version). */
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

  /** The batch `root` of `agency` (an agency code, or its bytes32); `exists: false` when the agency never anchored it. */
  async batch(agency: string, root: string): Promise<OnChainBatch> {
    const a = agencyArg(agency);
    type Raw = {
      prevRoot: string;
      seq: bigint;
      size: bigint;
      firstCapturedAt: bigint;
      lastCapturedAt: bigint;
      anchoredAt: bigint;
      blockNumber: bigint;
      cosignerCount: bigint;
      notarizedAt: bigint;
    };
    let b: Raw;
    if ((await this.version()) === 1) {
      const v1 = await this.call<Raw & { agency: string }>('batch', [root], this.contractV1);
      // Version 1 keyed by root alone: a root of another agency is not this agency's batch.
      if (v1.seq === 0n || v1.agency.toLowerCase() !== a) return unknownBatch();
      b = v1;
    } else {
      b = await this.call<Raw>('batch', [a, root]);
    }
    if (b.seq === 0n) return unknownBatch();
    return {
      exists: true,
      agency: agencyText(a),
      agencyBytes32: a,
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

  /** The agency's last batch on chain (or its checkpoint, version 2): seq 0 and the zero root before its first. */
  async latest(agency: string): Promise<{ seq: number; root: string }> {
    const [seq, root] = await this.call<[bigint, string]>('latest', [agencyArg(agency)], await this.contractFor());
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

  async isNotarized(agency: string, root: string): Promise<boolean> {
    if ((await this.version()) === 1) {
      const b = await this.batch(agency, root);
      return b.exists && (await this.call<boolean>('isNotarized', [root], this.contractV1));
    }
    return this.call<boolean>('isNotarized', [agencyArg(agency), root]);
  }

  /** `attestedAt` recorded for `notary` on the batch; 0 when it did not co-sign. */
  async attestedAt(agency: string, root: string, notary: string): Promise<number> {
    if ((await this.version()) === 1) {
      if (!(await this.batch(agency, root)).exists) return 0;
      return Number(await this.call<bigint>('attestedAt', [root, notary], this.contractV1));
    }
    return Number(await this.call<bigint>('attestedAt', [agencyArg(agency), root, notary]));
  }

  async cosigners(agency: string, root: string): Promise<string[]> {
    if ((await this.version()) === 1) {
      if (!(await this.batch(agency, root)).exists) return [];
      return [...(await this.call<string[]>('cosigners', [root], this.contractV1))];
    }
    return [...(await this.call<string[]>('cosigners', [agencyArg(agency), root]))];
  }

  verifyInclusion(root: string, leaf: string, index: number, size: number, proof: string[]): Promise<boolean> {
    return this.call<boolean>('verifyInclusion', [root, leaf, index, size, proof]);
  }

  /** The EIP-712 digest the registry computes from its own storage for an attestation of the batch at `attestedAt`. */
  async attestationDigest(agency: string, root: string, attestedAt: number): Promise<string> {
    if ((await this.version()) === 1) {
      // A root of another agency is no batch of this one: answer as version 2 would.
      if (!(await this.batch(agency, root)).exists) {
        const args = { agency: show(agencyArg(agency)), root };
        throw new LiuhenError(
          'CHAIN_REVERTED',
          `the registry reverted attestationDigest with EvidenceRegistryBatchNotAnchored(agency=${args.agency}, root=${root})`,
          { details: { error: 'EvidenceRegistryBatchNotAnchored', args } },
        );
      }
      return this.call<string>('attestationDigest', [root, attestedAt], this.contractV1);
    }
    return this.call<string>('attestationDigest', [agencyArg(agency), root, attestedAt]);
  }

  /** The display name of an agency ('' when none, and always on a version 1 registry, which has no names). */
  async agencyName(agency: string): Promise<string> {
    if ((await this.version()) === 1) return '';
    return this.call<string>('agencyName', [agencyArg(agency)]);
  }

  /** The display name of a notary ('' when none, and always on a version 1 registry). */
  async notaryName(notary: string): Promise<string> {
    if ((await this.version()) === 1) return '';
    return this.call<string>('notaryName', [notary]);
  }

  /** Device `deviceId` of `agency` with its key history; undefined when not enrolled (always, on a version 1 registry). */
  async device(agency: string, deviceId: string): Promise<OnChainDevice | undefined> {
    if ((await this.version()) === 1) return undefined;
    const a = agencyArg(agency);
    const h = deviceHash(deviceId);
    const [d, keys] = await Promise.all([
      this.call<{ kind: bigint; keyCount: bigint; enrolledAt: bigint }>('device', [a, h]),
      this.call<Array<{ publicKey: string; validFrom: bigint; validUntil: bigint; compromisedAt: bigint; revokedAt: bigint }>>('deviceKeys', [a, h]),
    ]);
    const kind = deviceKindOf(Number(d.kind));
    if (kind === undefined) return undefined;
    return {
      agency: agencyText(a),
      deviceId,
      deviceHash: h,
      kind,
      enrolledAt: Number(d.enrolledAt),
      keys: keys.map((k, index) => ({
        index,
        publicKey: k.publicKey.toLowerCase(),
        validFrom: Number(k.validFrom),
        validUntil: Number(k.validUntil),
        compromisedAt: Number(k.compromisedAt),
        revokedAt: Number(k.revokedAt),
      })),
    };
  }

  /**
   * The agency's device events (`DeviceEnrolled`, `DeviceKeyRotated`,
   * `DeviceKeyRevoked`) from `fromBlock`, in chain order: which device ids hold
   * which keys (the contract keys devices by hash; the events carry the id).
   * Empty on a version 1 registry.
   */
  async deviceEvents(agency: string, fromBlock = 0): Promise<DeviceEvent[]> {
    if ((await this.version()) === 1) return [];
    const names = ['DeviceEnrolled', 'DeviceKeyRotated', 'DeviceKeyRevoked'] as const;
    const topics = names.map((n) => registryInterface.getEvent(n)!.topicHash);
    const logs = await this.provider.getLogs({ address: this.address, topics: [topics, agencyArg(agency)], fromBlock, toBlock: this.blockTag?.() ?? 'latest' });
    const out: DeviceEvent[] = [];
    for (const log of logs.filter((l) => !l.removed).sort((x, y) => x.blockNumber - y.blockNumber || x.index - y.index)) {
      let ev;
      try {
        ev = registryInterface.parseLog({ topics: [...log.topics], data: log.data });
      } catch {
        continue; // hostile input: skip what does not decode
      }
      if (!ev) continue;
      const base = {
        deviceId: ev.args.deviceId as string,
        publicKey: (ev.args.publicKey as string).toLowerCase(),
        blockNumber: log.blockNumber,
        txHash: log.transactionHash,
      };
      if (ev.name === 'DeviceEnrolled') out.push({ type: 'enrolled', ...base, kind: deviceKindOf(Number(ev.args.kind)), validFrom: Number(ev.args.validFrom) });
      else if (ev.name === 'DeviceKeyRotated') out.push({ type: 'rotated', ...base, keyIndex: Number(ev.args.keyIndex), validFrom: Number(ev.args.validFrom) });
      else if (ev.name === 'DeviceKeyRevoked')
        out.push({
          type: 'revoked',
          ...base,
          keyIndex: Number(ev.args.keyIndex),
          compromisedAt: Number(ev.args.compromisedAt),
          reason: ev.args.reason as string,
        });
    }
    return out;
  }

  /** Calldata of `anchor(root, size, prevRoot, firstCapturedAt, lastCapturedAt)` (the same in both versions). */
  encodeAnchor(p: { root: string; size: number; prevRoot: string; firstCapturedAt: number; lastCapturedAt: number }): string {
    return registryInterface.encodeFunctionData('anchor', [p.root, p.size, p.prevRoot, p.firstCapturedAt, p.lastCapturedAt]);
  }

  /** Calldata of `cosign(agency, root, [{attestedAt, signature}, …])` (version 1: `cosign(root, …)`). */
  async encodeCosign(agency: string, root: string, attestations: ReadonlyArray<{ attestedAt: number; signature: string }>): Promise<string> {
    const atts = attestations.map((a) => [a.attestedAt, a.signature]);
    if ((await this.version()) === 1) return registryV1Interface.encodeFunctionData('cosign', [root, atts]);
    return registryInterface.encodeFunctionData('cosign', [agencyArg(agency), root, atts]);
  }

  /** The canonical `BatchAnchored` log of the agency's `root` (a node only returns logs of its canonical chain), if any. */
  async findAnchorLog(agency: string, root: string, fromBlock = 0): Promise<AnchorLog | undefined> {
    const logs = await this.provider.getLogs({ address: this.address, topics: [BATCH_ANCHORED, agencyArg(agency), null, root], fromBlock, toBlock: 'latest' });
    const live = logs.filter((l) => !l.removed);
    return live.length > 0 ? parseAnchorLog(live[live.length - 1]!) : undefined;
  }

  /** Every `BatchAnchored` log of an agency in [fromBlock, toBlock], in chain order. */
  async anchorLogs(agency: string, fromBlock: number, toBlock: number | 'latest' = 'latest'): Promise<AnchorLog[]> {
    const logs = await this.provider.getLogs({ address: this.address, topics: [BATCH_ANCHORED, agencyArg(agency)], fromBlock, toBlock });
    return logs.filter((l) => !l.removed).map(parseAnchorLog);
  }

  /** The `BatchCosigned` logs of the agency's batch `root`, in chain order. */
  async cosignLogs(agency: string, root: string, fromBlock = 0): Promise<CosignLog[]> {
    const a = agencyArg(agency);
    if ((await this.version()) === 1) {
      const logs = await this.provider.getLogs({ address: this.address, topics: [BATCH_COSIGNED_V1, root], fromBlock, toBlock: 'latest' });
      return logs.filter((l) => !l.removed).map((l) => ({ ...parseCosignLog(l), agencyBytes32: a }));
    }
    const logs = await this.provider.getLogs({ address: this.address, topics: [BATCH_COSIGNED, a, root], fromBlock, toBlock: 'latest' });
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

  /** Batches `notary` co-signed in [fromBlock, toBlock] (from its `BatchCosigned` logs, paged). */
  async cosignedBatches(notary: string, fromBlock: number, toBlock: number): Promise<CosignedBatches> {
    const version = await this.version();
    const out = new CosignedBatches(version);
    const topics = version === 1 ? [BATCH_COSIGNED_V1, null, zeroPadValue(notary, 32)] : [BATCH_COSIGNED, null, null, zeroPadValue(notary, 32)];
    for await (const page of this.logPages(topics, fromBlock, toBlock)) {
      for (const log of page.logs) {
        if (version === 1 && log.topics.length === 3) out.add(ZERO32, log.topics[1]!);
        if (version === 2 && log.topics.length === 4) out.add(log.topics[1]!, log.topics[2]!);
      }
    }
    return out;
  }

  private async contractFor(): Promise<Contract> {
    return (await this.version()) === 1 ? this.contractV1 : this.contract;
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

function unknownBatch(): OnChainBatch {
  return {
    exists: false,
    agency: '',
    agencyBytes32: ZERO32,
    prevRoot: ZERO32,
    seq: 0,
    size: 0,
    firstCapturedAt: 0,
    lastCapturedAt: 0,
    anchoredAt: 0,
    blockNumber: 0,
    cosignerCount: 0,
    notarizedAt: 0,
  };
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

/** Parses a `BatchCosigned` log of either version (version 1 logs carry no agency: zero). */
export function parseCosignLog(log: Log): CosignLog {
  const v1 = log.topics[0] === BATCH_COSIGNED_V1;
  const ev = (v1 ? registryV1Interface : registryInterface).parseLog({ topics: [...log.topics], data: log.data });
  if (!ev || ev.name !== 'BatchCosigned') throw new Error('not a BatchCosigned log');
  return {
    agencyBytes32: v1 ? ZERO32 : (ev.args.agency as string).toLowerCase(),
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
    const frag = registryInterface.getError(name) ?? registryV1Interface.getError(name);
    args = Object.fromEntries((frag?.inputs ?? []).map((inp, i) => [inp.name || `arg${i}`, show(ethersRevert.args[i])]));
  } else {
    const data = revertData(e);
    if (data) {
      try {
        const parsed = registryInterface.parseError(data) ?? registryV1Interface.parseError(data);
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
  return {
    name,
    args,
    shown: `${name}(${Object.entries(args)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')})`,
  };
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
