import { getAddress, type JsonRpcProvider, type Log } from 'ethers';
import { isLiuhenError } from '../errors.js';
import type { Receipt } from '../receipt/format.js';
import type { AnchorOutcome, ChainVerifier, CheckOutcome } from '../verify/types.js';
import { authenticityOf } from '../devices/authenticity.js';
import { enrollmentFacts } from '../devices/enrollment.js';
import type { TrustRoot } from './trust.js';
import { recoverAttestationSigner } from './attestation.js';
import { parseAnchorLog, registryInterface, RegistryClient, type AnchorLog } from './registry.js';
import { RegistryView, type CacheStats, type VerifierCacheOptions } from './verifier-cache.js';
import { connect, isNetworkError, redactUrl, type Connection } from './rpc.js';

export interface ChainVerifierParameters {
  /** JSON-RPC endpoint (read access is enough). Either this or `provider`. */
  rpc?: string | undefined;
  provider?: JsonRpcProvider | undefined;
  /**
   * Registry addresses this verifier trusts. Anyone can deploy a registry and
   * grant themselves roles in it, so a receipt naming a registry outside this
   * list fails. Without a list, the anchor check passes with a warning that
   * the registry was not pinned.
   */
  trustedRegistries?: string[] | undefined;
  /** Confirmations (the anchor block counts as the first) below which the anchor is pending. @default 1 */
  minConfirmations?: number | undefined;
  /** Per-request timeout, ms. @default 10000 */
  timeoutMs?: number | undefined;
  /**
   * The verdict cache (src/chain/verifier-cache.ts): how old the synced chain
   * view may be (`headTtlMs`, default 0: synced before every verification —
   * a long-lived public verifier such as the gateway sets e.g. 1000) and the
   * confirmations after which batch facts are final and kept (`finality`,
   * default `minConfirmations`).
   */
  cache?: VerifierCacheOptions | undefined;
  /**
   * A trust root (`liuhen verify --trust FILE`, src/chain/trust.ts): its
   * registries are trusted (unless `trustedRegistries` is given), its chain id
   * is the only one accepted, its agencies (when listed) the only ones
   * expected, and its notaries (when listed) the only co-signers that count,
   * at least its threshold of them.
   */
  trust?: TrustRoot | undefined;
}

export interface ClosableChainVerifier extends ChainVerifier {
  /** Releases the provider it created. */
  close(): void;
  /** Verdict-cache counters, summed over registries (hits, misses, syncs with the chain, full drops). */
  cacheStats(): CacheStats;
}

const out = (status: CheckOutcome['status'], code: string, detail: string): CheckOutcome => ({ status, code, detail });
const short = (h: string) => `${h.slice(0, 10)}…`;
const BATCH_ANCHORED = registryInterface.getEvent('BatchAnchored')!.topicHash;

type StoredBatch = Awaited<ReturnType<RegistryClient['batch']>>;
type BatchFacts = Receipt['batch'];

function sameFacts(ev: AnchorLog | undefined, b: BatchFacts): boolean {
  return !!ev && ev.root === b.root && ev.agency === b.agency && ev.seq === b.seq && ev.size === b.size && ev.prevRoot === b.prevRoot;
}

function parseAnchorLogSafe(l: Log): AnchorLog | undefined {
  try {
    return parseAnchorLog(l);
  } catch {
    return undefined;
  }
}

/** The registry's facts of the batch against the receipt's: the first difference as a `fail`, or undefined. */
function factsMismatch(stored: StoredBatch, b: BatchFacts, what: 'ANCHOR' | 'NOTARY'): CheckOutcome | undefined {
  if (!stored.exists) return out('fail', `${what}_ROOT_UNKNOWN`, `the registry has no batch with root ${short(b.root)}`);
  if (stored.agency !== b.agency)
    return out('fail', `${what}_AGENCY_MISMATCH`, `the registry has the root as a batch of "${stored.agency}", the receipt says "${b.agency}"`);
  if (stored.seq !== b.seq) return out('fail', `${what}_SEQ_MISMATCH`, `the registry has the root as batch #${stored.seq}, the receipt says #${b.seq}`);
  if (stored.size !== b.size) return out('fail', `${what}_SIZE_MISMATCH`, `the registry has ${stored.size} records in the batch, the receipt says ${b.size}`);
  if (stored.prevRoot !== b.prevRoot)
    return out('fail', `${what}_PREV_ROOT_MISMATCH`, `the registry chains the batch to ${short(stored.prevRoot)}, the receipt to ${short(b.prevRoot)}`);
  return undefined;
}

/**
 * The chain half of verification (`ChainVerifier`): the anchor check and the
 * notary check of the pipeline in src/verify. The receipt is hostile input;
 * every fact it states is compared with what the chain says:
 *
 * anchor — the registry (trusted, see `trustedRegistries`) holds the root
 * with the receipt's agency, seq, size and prevRoot (the batch facts); the
 * block the registry holds it in has at least `minConfirmations`; the
 * receipt's `txHash`, when the chain knows it, is a transaction to the
 * registry that logged `BatchAnchored` with those facts. Where the receipt
 * says the anchor is (transaction, block number and hash, time) is
 * information, not pass/fail (issue 10.1): a chain rolled back and the same
 * facts anchored again gives `warn ANCHOR_REANCHORED`, and the outcome's
 * `anchoredAt` is the chain's time, which the policy check judges. A
 * contradiction of the facts is `fail`; too few confirmations or an
 * unreachable node is `pending`. docs/threat-model.md says why this does not
 * weaken the check.
 *
 * notary — the batch facts are the registry's; each attestation recovers
 * (EIP-712, low s) over them to its `notary`, the signers are distinct, each
 * holds NOTARY_ROLE or was recorded as co-signer on chain (the registry keeps
 * counting co-signatures of since-revoked notaries); a recorded
 * `attestedAt(root, notary)` other than the receipt's is accepted only from a
 * current notary (it co-signed the same facts again, e.g. after a rollback);
 * at least `notaryThreshold()` of the signers are on chain. No attestations
 * yet, or valid ones not yet submitted to the chain, is `pending`.
 */
export function createChainVerifier(p: ChainVerifierParameters): ClosableChainVerifier {
  if (!p.rpc && !p.provider) throw new TypeError('createChainVerifier needs rpc or provider');
  const minConfirmations = p.minConfirmations ?? 1;
  const trusted = (p.trustedRegistries ?? p.trust?.registries)?.map((a) => getAddress(a));
  const trustedNotaries = p.trust?.notaries?.members.map((m) => getAddress(m.address));
  let conn: Promise<Connection> | undefined;
  // The chain id is learnt once, when connecting. A node restarted as another chain (another
  // chain id and genesis, the registry deployed again at the same address — e.g. a dev chain)
  // would keep the old id here, and a receipt naming the old chain would verify against the
  // new one, where a verifier made after the restart says CHAIN_MISMATCH. A view that sees the
  // blocks it had seen replaced or gone (RegistryView's reset) makes the id read again.
  let chainIdSuspect = false;
  const connection = async (): Promise<Connection> => {
    conn ??= p.provider
      ? p.provider.getNetwork().then((n) => ({ provider: p.provider!, chainId: Number(n.chainId), label: 'the given provider' }))
      : connect({ rpc: p.rpc!, timeoutMs: p.timeoutMs });
    // A failed connection is not remembered: a long-lived verifier (the gateway) tries again next time.
    conn.catch(() => (conn = undefined));
    const c = await conn;
    if (!chainIdSuspect) return c;
    const chainId = Number(BigInt((await c.provider.send('eth_chainId', [])) as string));
    chainIdSuspect = false;
    if (chainId === c.chainId) return c;
    const now = { ...c, chainId };
    conn = Promise.resolve(now);
    return now;
  };

  /** Network trouble → pending; a registry call that reverts → the address is no registry → fail. */
  const guard = async (what: 'anchor' | 'notary', run: () => Promise<AnchorOutcome>): Promise<AnchorOutcome> => {
    try {
      return await run();
    } catch (e) {
      if (isNetworkError(e))
        return out(
          'pending',
          'CHAIN_UNREACHABLE',
          isLiuhenError(e) ? e.message : `the chain at ${p.rpc ? redactUrl(p.rpc) : 'the provider'} cannot be reached`,
        );
      if (isLiuhenError(e, 'CHAIN_REVERTED') || isLiuhenError(e, 'REGISTRY_MISSING'))
        return out(
          'fail',
          `${what === 'anchor' ? 'ANCHOR' : 'NOTARY'}_REGISTRY_INVALID`,
          `the receipt's registry does not answer like an EvidenceRegistry: ${e.message}`,
        );
      return out('pending', 'CHAIN_ERROR', `the node could not answer: ${((e as Error)?.message ?? String(e)).slice(0, 160)}`);
    }
  };

  // EIP-55 checksumming is a keccak per call: the few registry addresses a gateway sees are remembered.
  const checksums = new Map<string, string>();
  const checksummed = (address: string): string => {
    let c = checksums.get(address);
    if (c === undefined) {
      c = getAddress(address);
      if (checksums.size < 1024) checksums.set(address, c);
    }
    return c;
  };

  // One cached view of the chain per registry address (nothing shared between registries).
  const views = new Map<string, RegistryView>();
  const viewOf = (provider: JsonRpcProvider, address: string): RegistryView => {
    let v = views.get(address);
    if (!v) {
      // The view's reads are pinned to the block it synced (RegistryView.syncedBlock says why).
      let view: RegistryView | undefined;
      const client = new RegistryClient(address, provider, { blockTag: () => view?.syncedBlock });
      v = view = new RegistryView(client, provider, { finality: minConfirmations, ...p.cache }, () => (chainIdSuspect = true));
      views.set(address, v);
      if (views.size > 64) views.delete(views.keys().next().value!);
    }
    return v;
  };

  /** Common to both checks: the node serves the receipt's chain and the registry is trusted and deployed. */
  const openRegistry = async (receipt: Receipt, what: 'ANCHOR' | 'NOTARY'): Promise<CheckOutcome | { registry: RegistryClient; view: RegistryView }> => {
    const a = receipt.anchor!;
    const { provider, chainId } = await connection();
    if (chainId !== a.chainId) return out('fail', 'CHAIN_MISMATCH', `the receipt names chain ${a.chainId}, the node serves chain ${chainId}`);
    const address = getAddress(a.registry);
    if (trusted && !trusted.includes(address))
      return out('fail', `${what}_REGISTRY_UNTRUSTED`, `registry ${address} is not a trusted registry (${trusted.join(', ')})`);
    const view = viewOf(provider, address);
    if (!(await view.isDeployed())) return out('fail', `${what}_REGISTRY_MISSING`, `there is no contract at ${address} on chain ${chainId}`);
    return { registry: view.registry, view };
  };

  return {
    cacheStats() {
      const total: CacheStats = { hits: 0, misses: 0, syncs: 0, flushes: 0 };
      for (const v of views.values()) for (const k of Object.keys(total) as (keyof CacheStats)[]) total[k] += v.stats[k];
      return total;
    },
    // Every registry a verdict about the receipt may read: the trusted ones (device enrollments
    // may live on the first trusted one). A receipt naming any other registry cannot be
    // verified, so it gets no stamp: a view made for it here (anyone can POST such receipts)
    // would push the trusted registries' views out of the 64 kept, and each view made anew has
    // a new id — no memoised verdict would ever be served again. The order is always the
    // trusted list's, so a stamp taken without the anchor (GET, before the receipt is
    // completed) equals one taken with it. Each view is synced as for a verification
    // (at most `headTtlMs` old); the token is their stamps for the batch's root.
    async verdictStamp(receipt) {
      const a = receipt.anchor;
      if (!trusted) return undefined;
      try {
        const { provider, chainId } = await connection();
        if (a && chainId !== a.chainId) return undefined;
        if (a && !trusted.includes(checksummed(a.registry))) return undefined;
        const stamps = await Promise.all(
          trusted.map(async (address) => {
            const view = viewOf(provider, address);
            await view.head();
            return view.stamp(receipt.batch.root);
          }),
        );
        return stamps.join(',');
      } catch {
        return undefined;
      }
    },
    close() {
      if (!p.provider && conn) void conn.then((c) => c.provider.destroy()).catch(() => undefined);
    },

    // Device enrollments (issue 13): on the receipt's registry when trusted and version 2, else on the
    // first trusted one (a folder that moved from a version 1 registry enrolls its devices on the new one).
    async deviceAuthenticity(receipt, existedBy) {
      const rec = receipt.record;
      // Anyone can deploy a registry and enroll any key in it: only a pinned registry's enrollments count.
      if (!rec || !trusted) return undefined;
      const { provider, chainId } = await connection();
      const candidates = [...(receipt.anchor && receipt.anchor.chainId === chainId ? [getAddress(receipt.anchor.registry)] : []), ...trusted].filter(
        (r, i, all) => all.indexOf(r) === i && trusted.includes(r),
      );
      for (const address of candidates) {
        const view = viewOf(provider, address);
        if (!(await view.isDeployed())) continue;
        if ((await view.registry.version()) !== 2) continue;
        // The enrollment reads are latest state, kept by the view until a registry event
        // other than an anchor or a co-signature (verifier-cache.ts); the judgement is pure.
        await view.head();
        const who = { agency: rec.agency, device: rec.device, signingKey: rec.sig?.key };
        const facts = await view.latestState(`device|${who.agency}|${who.device}|${who.signingKey ?? ''}`, () => enrollmentFacts(view.registry, who));
        return authenticityOf({ ...who, ...facts, capturedAt: Math.floor(Date.parse(rec.capturedAt) / 1000), ...(existedBy && { existedBy }) });
      }
      return candidates.length > 0 ? { level: 'enrollment-unknown', detail: 'the trusted registry keeps no device enrollments (version 1)' } : undefined;
    },

    checkAnchor: (receipt) =>
      guard('anchor', async () => {
        const a = receipt.anchor;
        if (!a) return out('pending', 'ANCHOR_ABSENT', 'the receipt carries no anchor: the batch is not anchored yet');
        if (p.trust && a.chainId !== p.trust.chainId)
          return out('fail', 'CHAIN_MISMATCH', `the receipt names chain ${a.chainId}, the trust root chain ${p.trust.chainId}`);
        if (p.trust?.agencies && !p.trust.agencies.some((x) => x.code === receipt.batch.agency)) {
          return out(
            'fail',
            'ANCHOR_AGENCY_UNTRUSTED',
            `agency "${receipt.batch.agency}" is not one of the trust root's agencies (${p.trust.agencies.map((x) => x.code).join(', ')})`,
          );
        }
        const opened = await openRegistry(receipt, 'ANCHOR');
        if ('status' in opened) return opened;
        const { registry, view } = opened;
        const b = receipt.batch;

        // The view is synced first (its head decides what may be cached); then the
        // independent reads go out together.
        const head = await view.head();
        const [stored, tx] = await Promise.all([view.batch(b.agency, b.root, head), view.transaction(a.txHash, head)]);
        if (!stored.exists) {
          // Batches are keyed by (agency, root): a root the receipt's transaction anchored for another agency is an agency mismatch.
          const other = tx?.logs
            .map((l) => (getAddress(l.address) === registry.address && l.topics[0] === BATCH_ANCHORED ? parseAnchorLogSafe(l) : undefined))
            .find((ev) => ev?.root === b.root);
          if (other) return out('fail', 'ANCHOR_AGENCY_MISMATCH', `the registry has the root as a batch of "${other.agency}", the receipt says "${b.agency}"`);
        }
        // The batch facts the registry holds are what the receipt must match: they are
        // what the agency committed to and the notaries signed (issue 10.1, route b).
        const facts = factsMismatch(stored, b, 'ANCHOR');
        if (facts) return facts;

        // Where the receipt says the anchor is: a transaction hash commits to the
        // transaction's content, so a transaction found under it must be this batch's
        // anchor. A chain rollback can only make it vanish or (replayed after the
        // batch was anchored again) revert — never make it another transaction.
        if (tx) {
          if (!tx.to || getAddress(tx.to) !== registry.address)
            return out('fail', 'ANCHOR_TX_WRONG_CONTRACT', `transaction ${short(a.txHash)} was sent to ${tx.to ?? '(contract creation)'}, not to the registry`);
          if (
            tx.status === 1 &&
            !tx.logs.some((l) => getAddress(l.address) === registry.address && l.topics[0] === BATCH_ANCHORED && sameFacts(parseAnchorLogSafe(l), b))
          ) {
            return out('fail', 'ANCHOR_TX_NO_EVENT', `transaction ${short(a.txHash)} did not log BatchAnchored for root ${short(b.root)}`);
          }
        }

        // Finality is judged where the registry holds the batch now.
        const confirmations = head - stored.blockNumber + 1;
        if (confirmations < minConfirmations)
          return out('pending', 'ANCHOR_UNCONFIRMED', `${confirmations} confirmation(s) of block ${stored.blockNumber}; policy asks for ${minConfirmations}`);
        const proven = { anchoredAt: stored.anchoredAt };
        const where = `batch ${b.agency}#${b.seq} anchored in block ${stored.blockNumber} at ${new Date(stored.anchoredAt * 1000).toISOString()} (${confirmations} confirmation(s))`;
        // Anyone can deploy a registry and make themselves its notary: an anchor in a
        // registry nobody vouched for proves nothing, so it cannot verify.
        if (!trusted)
          return out(
            'pending',
            'ANCHOR_REGISTRY_NOT_PINNED',
            `${where}, but registry ${registry.address} is not pinned: give --registry with the consortium's published registry address (or verify from a data folder configured for this chain)`,
          );
        // Block number, block hash, transaction and time in the receipt are information:
        // after a rollback the same facts are anchored again elsewhere. A shift is told,
        // and the time the policy judges is the chain's (`anchoredAt`), never the claim.
        const asStated =
          tx?.status === 1 &&
          tx.blockNumber === a.blockNumber &&
          tx.blockHash === a.blockHash &&
          stored.blockNumber === a.blockNumber &&
          stored.anchoredAt === a.timestamp;
        if (!asStated) {
          const shift = stored.anchoredAt - a.timestamp;
          const moved = [
            stored.blockNumber !== a.blockNumber ? `block ${a.blockNumber} → ${stored.blockNumber}` : '',
            shift !== 0 ? `time ${shift > 0 ? '+' : ''}${shift} s` : '',
            !tx
              ? `transaction ${short(a.txHash)} no longer on chain`
              : tx.status !== 1
                ? `transaction ${short(a.txHash)} reverted (replayed after the re-anchoring)`
                : tx.blockHash !== a.blockHash
                  ? `block hash ${short(a.blockHash)} → ${short(tx.blockHash)}`
                  : '',
          ].filter(Boolean);
          return {
            ...out(
              'warn',
              'ANCHOR_REANCHORED',
              `${where}; the same batch facts as the receipt, anchored again since it was issued (${moved.join(', ') || 'block hash changed'}): the chain's time is used`,
            ),
            ...proven,
          };
        }
        return { ...out('pass', 'ANCHOR_VALID', where), ...proven };
      }),

    checkNotary: (receipt) =>
      guard('notary', async () => {
        const a = receipt.anchor;
        if (!a) return out('pending', 'NOTARY_NOT_ANCHORED', 'notaries attest anchored batches; the batch is not anchored yet');
        if (receipt.attestations.length === 0) return out('pending', 'NOTARY_ABSENT', 'no notary has attested the batch yet');
        const opened = await openRegistry(receipt, 'NOTARY');
        if ('status' in opened) return opened;
        const { registry, view } = opened;
        const b = receipt.batch;
        const head = await view.head();
        // The attestations must be over the batch facts the registry holds (a receipt
        // whose facts differ fails here too, even when its anchor check is not run).
        const differs = factsMismatch(await view.batch(b.agency, b.root, head), b, 'NOTARY');
        if (differs) return differs;
        // The EIP-712 domain version is the registry's (a version 1 registry's receipts stay verifiable).
        const version = await registry.version();
        // Recover every signer first (pure), then ask the chain about all of them at once.
        const signers: string[] = [];
        for (const [i, att] of receipt.attestations.entries()) {
          try {
            signers.push(
              recoverAttestationSigner(
                a.chainId,
                registry.address,
                { root: b.root, agency: b.agency, seq: b.seq, size: b.size, prevRoot: b.prevRoot, attestedAt: att.attestedAt },
                att.signature,
                version,
              ),
            );
          } catch (e) {
            return out('fail', 'NOTARY_SIGNATURE_INVALID', `attestation ${i}: ${(e as Error).message.slice(0, 120)}`);
          }
        }
        const [threshold, facts] = await Promise.all([
          view.notaryThreshold(),
          Promise.all(
            signers.map(async (s) => {
              const [recorded, isNotary] = await Promise.all([view.attestedAt(b.agency, b.root, s), view.isNotary(s)]);
              return { recorded, isNotary };
            }),
          ),
        ]);
        const seen = new Set<string>();
        // A trust root's notary set: only its members count, and at least its threshold of them.
        const required = Math.max(threshold, p.trust?.notaries?.threshold ?? 0);
        let outsiders = 0;
        let onChain = 0;
        let offChain = 0;
        let revoked = 0;
        let renotarized = 0;
        for (const [i, att] of receipt.attestations.entries()) {
          const signer = signers[i]!;
          if (signer !== getAddress(att.notary))
            return out(
              'fail',
              'NOTARY_SIGNER_MISMATCH',
              `attestation ${i} names ${getAddress(att.notary)} but was signed by ${signer} (or over other batch data)`,
            );
          if (seen.has(signer)) return out('fail', 'NOTARY_DUPLICATE', `attestation ${i}: ${signer} attests twice`);
          seen.add(signer);
          const { recorded, isNotary } = facts[i]!;
          if (recorded !== 0 && recorded !== att.attestedAt) {
            // After a chain rollback the notary co-signs the same facts again at a new
            // time (issue 10.1): the receipt's attestation is still that notary's valid
            // signature over the facts the chain holds, and the chain shows the notary
            // co-signed them. Accepted from a CURRENT notary only: a revoked key's
            // signature must be exactly the one the chain recorded while it was trusted.
            if (!isNotary)
              return out(
                'fail',
                'NOTARY_ATTESTED_AT_MISMATCH',
                `attestation ${i}: the chain records ${signer} at ${recorded}, the receipt says ${att.attestedAt}, and ${signer} no longer holds NOTARY_ROLE`,
              );
            renotarized++;
          }
          if (!isNotary && recorded === 0)
            return out('fail', 'NOTARY_NOT_NOTARY', `attestation ${i}: ${signer} does not hold NOTARY_ROLE on registry ${registry.address}`);
          if (trustedNotaries && !trustedNotaries.includes(signer)) {
            outsiders++;
            continue;
          }
          if (!isNotary) revoked++;
          if (recorded !== 0) onChain++;
          else offChain++;
        }
        if (!trusted)
          return out(
            'pending',
            'NOTARY_REGISTRY_NOT_PINNED',
            `notary roles are those of registry ${registry.address}, which is not pinned: give --registry with the consortium's published registry address`,
          );
        const outside = outsiders ? `; ${outsiders} by notaries outside the trust root, not counted` : '';
        if (onChain >= required) {
          const note = `${revoked ? ` (${revoked} since revoked; counted as recorded)` : ''}${renotarized ? ` (${renotarized} co-signed again on chain at another time than the receipt's attestation, e.g. after a chain rollback)` : ''}`;
          return out('pass', 'NOTARY_VALID', `${onChain} notary co-signature(s) on chain, threshold ${required}${note}${outside}`);
        }
        if (onChain + offChain >= required)
          return out(
            'pending',
            'NOTARY_NOT_ON_CHAIN',
            `${offChain} valid attestation(s) not yet co-signed on chain; ${onChain} of ${required} recorded${outside}`,
          );
        return out('pending', 'NOTARY_BELOW_THRESHOLD', `${onChain} of ${required} required notary co-signature(s)${outside}`);
      }),
  };
}
