import { decodeBytes32String, encodeBytes32String } from 'ethers';
import { chainError, type AnchorLog, type OnChainBatch, type RegistryClient } from '../chain/registry.js';
import { fail } from '../errors.js';
import { ZERO32 } from '../util/hex.js';
import type { AnchoredBatch } from './policy.js';

/**
 * What the notary believes of the registry (read through the chain module's
 * `RegistryClient`). Everything that comes back from the RPC endpoint is
 * hostile input: logs are checked for address and topic, decoded strictly,
 * and a batch is believed only when `batch(root)` agrees with its event.
 */

/** The registry's `BatchAnchored` logs in [from, to], page by page; a failure is a coded error (`chainError`). */
export async function* anchorLogPages(client: RegistryClient, from: number, to: number): AsyncGenerator<{ logs: AnchorLog[]; toBlock: number }> {
  try {
    yield* client.anchorLogPages(from, to);
  } catch (e) {
    throw chainError(e, `reading registry logs of blocks ${from}..${to}`);
  }
}

/** The facts of a `BatchAnchored` event that `batch(root)` must confirm. */
export type AnchoredEventFacts = Pick<
  AnchorLog,
  'root' | 'agencyBytes32' | 'seq' | 'size' | 'prevRoot' | 'firstCapturedAt' | 'lastCapturedAt' | 'blockNumber' | 'txHash'
>;

/**
 * The notary's view of an anchored batch, or a reason it cannot be believed:
 * the registry must hold `root` with exactly the event's fields.
 */
export function reconcile(event: AnchoredEventFacts, stored: OnChainBatch | undefined): { batch: AnchoredBatch } | { mismatch: string } {
  if (stored === undefined) return { mismatch: `the registry does not hold root ${event.root} (the block was reorganised away, or the chain was reset)` };
  const diffs: string[] = [];
  const same = (name: string, a: unknown, b: unknown): void => {
    if (String(a).toLowerCase() !== String(b).toLowerCase()) diffs.push(`${name} ${String(a)} ≠ ${String(b)}`);
  };
  same('agency', event.agencyBytes32, stored.agencyBytes32);
  same('seq', event.seq, stored.seq);
  same('size', event.size, stored.size);
  same('prevRoot', event.prevRoot, stored.prevRoot);
  same('firstCapturedAt', event.firstCapturedAt, stored.firstCapturedAt);
  same('lastCapturedAt', event.lastCapturedAt, stored.lastCapturedAt);
  same('blockNumber', event.blockNumber, stored.blockNumber);
  if (diffs.length > 0) return { mismatch: `the event and the registry disagree: ${diffs.join(', ')}` };
  return { batch: toAnchoredBatch(event.root, stored, event.txHash) };
}

export function toAnchoredBatch(root: string, stored: OnChainBatch, txHash?: string): AnchoredBatch {
  return {
    agency: stored.agencyBytes32.toLowerCase(),
    agencyCode: agencyCodeOf(stored.agencyBytes32),
    seq: stored.seq,
    root: root.toLowerCase(),
    size: stored.size,
    prevRoot: stored.prevRoot.toLowerCase(),
    firstCapturedAt: stored.firstCapturedAt,
    lastCapturedAt: stored.lastCapturedAt,
    anchoredAt: stored.anchoredAt,
    blockNumber: stored.blockNumber,
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

export function requireAddress(address: string, what: string): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) fail('INVALID_INPUT', `${what} must be a 0x-prefixed 20-byte address`);
  return address;
}
