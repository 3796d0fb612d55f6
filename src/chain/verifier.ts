import { getAddress, type JsonRpcProvider } from 'ethers';
import { isLiuhenError } from '../errors.js';
import type { Receipt } from '../receipt/format.js';
import type { ChainVerifier, CheckOutcome } from '../verify/types.js';
import { checkRecordAuthenticity } from '../devices/enrollment.js';
import type { TrustRoot } from './trust.js';
import { recoverAttestationSigner } from './attestation.js';
import { NOTARY_ROLE, parseAnchorLog, registryInterface, RegistryClient } from './registry.js';
import { connect, isNetworkError, redactUrl, type Connection } from './rpc.js';

export interface ChainVerifierParameters {
  /** JSON-RPC endpoint (read access is enough). Either this or `provider`. */
  rpc?: string;
  provider?: JsonRpcProvider;
  /**
   * Registry addresses this verifier trusts. Anyone can deploy a registry and
   * grant themselves roles in it, so a receipt naming a registry outside this
   * list fails. Without a list, the anchor check passes with a warning that
   * the registry was not pinned.
   */
  trustedRegistries?: string[];
  /** Confirmations (the anchor block counts as the first) below which the anchor is pending. @default 1 */
  minConfirmations?: number;
  /** Per-request timeout, ms. @default 10000 */
  timeoutMs?: number;
  /**
   * A trust root (`liuhen verify --trust FILE`, src/chain/trust.ts): its
   * registries are trusted (unless `trustedRegistries` is given), its chain id
   * is the only one accepted, its agencies (when listed) the only ones
   * expected, and its notaries (when listed) the only co-signers that count,
   * at least its threshold of them.
   */
  trust?: TrustRoot;
}

export interface ClosableChainVerifier extends ChainVerifier {
  /** Releases the provider it created. */
  close(): void;
}

const out = (status: CheckOutcome['status'], code: string, detail: string): CheckOutcome => ({ status, code, detail });
const short = (h: string) => `${h.slice(0, 10)}…`;
const BATCH_ANCHORED = registryInterface.getEvent('BatchAnchored')!.topicHash;

/**
 * The chain half of verification (`ChainVerifier`): the anchor check and the
 * notary check of the pipeline in src/verify. The receipt is hostile input;
 * every fact it states is compared with what the chain says:
 *
 * anchor — the registry (trusted, see `trustedRegistries`) holds the root with
 * the receipt's agency, seq, size and prevRoot; the transaction `txHash`
 * succeeded, was sent to the registry and logged `BatchAnchored` for that
 * root; it is in block `blockNumber` whose hash and timestamp are the
 * receipt's; the block has at least `minConfirmations`. A contradiction is
 * `fail`; too few confirmations or an unreachable node is `pending`.
 *
 * notary — each attestation recovers (EIP-712, low s) to its `notary`, the
 * signers are distinct, each holds NOTARY_ROLE or was recorded as co-signer on
 * chain (the registry keeps counting co-signatures of since-revoked
 * notaries), a recorded `attestedAt(root, notary)` equals the receipt's, and
 * at least `notaryThreshold()` of them are on chain. No attestations yet, or
 * valid ones not yet submitted to the chain, is `pending`.
 */
export function createChainVerifier(p: ChainVerifierParameters): ClosableChainVerifier {
  if (!p.rpc && !p.provider) throw new TypeError('createChainVerifier needs rpc or provider');
  const minConfirmations = p.minConfirmations ?? 1;
  const trusted = (p.trustedRegistries ?? p.trust?.registries)?.map((a) => getAddress(a));
  const trustedNotaries = p.trust?.notaries?.members.map((m) => getAddress(m.address));
  let conn: Promise<Connection> | undefined;
  const connection = (): Promise<Connection> => {
    conn ??= p.provider
      ? p.provider.getNetwork().then((n) => ({ provider: p.provider!, chainId: Number(n.chainId), label: 'the given provider' }))
      : connect({ rpc: p.rpc!, timeoutMs: p.timeoutMs });
    // A failed connection is not remembered: a long-lived verifier (the gateway) tries again next time.
    conn.catch(() => (conn = undefined));
    return conn;
  };

  /** Network trouble → pending; a registry call that reverts → the address is no registry → fail. */
  const guard = async (what: 'anchor' | 'notary', run: () => Promise<CheckOutcome>): Promise<CheckOutcome> => {
    try {
      return await run();
    } catch (e) {
      if (isNetworkError(e)) return out('pending', 'CHAIN_UNREACHABLE', isLiuhenError(e) ? e.message : `the chain at ${p.rpc ? redactUrl(p.rpc) : 'the provider'} cannot be reached`);
      if (isLiuhenError(e, 'CHAIN_REVERTED') || isLiuhenError(e, 'REGISTRY_MISSING')) return out('fail', `${what === 'anchor' ? 'ANCHOR' : 'NOTARY'}_REGISTRY_INVALID`, `the receipt's registry does not answer like an EvidenceRegistry: ${e.message}`);
      return out('pending', 'CHAIN_ERROR', `the node could not answer: ${((e as Error)?.message ?? String(e)).slice(0, 160)}`);
    }
  };

  // A registry seen deployed is remembered for a few seconds: both checks of one
  // verification (and a burst of verifications) share one eth_getCode.
  const deployedUntil = new Map<string, number>();
  const hasCode = async (provider: JsonRpcProvider, address: string): Promise<boolean> => {
    if ((deployedUntil.get(address) ?? 0) > Date.now()) return true;
    const deployed = (await provider.getCode(address)) !== '0x';
    if (deployed) deployedUntil.set(address, Date.now() + 5_000);
    return deployed;
  };

  /** Common to both checks: the node serves the receipt's chain and the registry is trusted and deployed. */
  const openRegistry = async (receipt: Receipt, what: 'ANCHOR' | 'NOTARY'): Promise<CheckOutcome | { registry: RegistryClient; provider: JsonRpcProvider }> => {
    const a = receipt.anchor!;
    const { provider, chainId } = await connection();
    if (chainId !== a.chainId) return out('fail', 'CHAIN_MISMATCH', `the receipt names chain ${a.chainId}, the node serves chain ${chainId}`);
    const address = getAddress(a.registry);
    if (trusted && !trusted.includes(address)) return out('fail', `${what}_REGISTRY_UNTRUSTED`, `registry ${address} is not a trusted registry (${trusted.join(', ')})`);
    if (!(await hasCode(provider, address))) return out('fail', `${what}_REGISTRY_MISSING`, `there is no contract at ${address} on chain ${chainId}`);
    return { registry: new RegistryClient(address, provider), provider };
  };

  return {
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
      const candidates = [
        ...(receipt.anchor && receipt.anchor.chainId === chainId ? [getAddress(receipt.anchor.registry)] : []),
        ...trusted,
      ].filter((r, i, all) => all.indexOf(r) === i && trusted.includes(r));
      for (const address of candidates) {
        if (!(await hasCode(provider, address))) continue;
        const client = new RegistryClient(address, provider);
        if ((await client.version()) !== 2) continue;
        return checkRecordAuthenticity(client, { agency: rec.agency, device: rec.device, capturedAt: Math.floor(Date.parse(rec.capturedAt) / 1000), signingKey: rec.sig?.key, ...(existedBy && { existedBy }) });
      }
      return candidates.length > 0 ? { level: 'enrollment-unknown', detail: 'the trusted registry keeps no device enrollments (version 1)' } : undefined;
    },

    checkAnchor: (receipt) =>
      guard('anchor', async () => {
        const a = receipt.anchor;
        if (!a) return out('pending', 'ANCHOR_ABSENT', 'the receipt carries no anchor: the batch is not anchored yet');
        if (p.trust && a.chainId !== p.trust.chainId) return out('fail', 'CHAIN_MISMATCH', `the receipt names chain ${a.chainId}, the trust root chain ${p.trust.chainId}`);
        if (p.trust?.agencies && !p.trust.agencies.some((x) => x.code === receipt.batch.agency)) {
          return out('fail', 'ANCHOR_AGENCY_UNTRUSTED', `agency "${receipt.batch.agency}" is not one of the trust root's agencies (${p.trust.agencies.map((x) => x.code).join(', ')})`);
        }
        const opened = await openRegistry(receipt, 'ANCHOR');
        if ('status' in opened) return opened;
        const { registry, provider } = opened;
        const b = receipt.batch;

        // Independent reads go out together: one round trip instead of four.
        const [stored, tx, block, head] = await Promise.all([registry.batch(b.agency, b.root), provider.getTransactionReceipt(a.txHash), provider.getBlock(a.blockNumber), provider.getBlockNumber()]);
        if (!stored.exists) {
          // Batches are keyed by (agency, root): a root the receipt's transaction anchored for another agency is an agency mismatch.
          const other = tx?.logs.find((l) => getAddress(l.address) === registry.address && l.topics[0] === BATCH_ANCHORED && l.topics[3] === b.root);
          if (other) return out('fail', 'ANCHOR_AGENCY_MISMATCH', `the registry has the root as a batch of "${parseAnchorLog(other).agency}", the receipt says "${b.agency}"`);
          return out('fail', 'ANCHOR_ROOT_UNKNOWN', `registry ${registry.address} has no batch of "${b.agency}" with root ${short(b.root)}`);
        }
        if (stored.agency !== b.agency) return out('fail', 'ANCHOR_AGENCY_MISMATCH', `the registry has the root as a batch of "${stored.agency}", the receipt says "${b.agency}"`);
        if (stored.seq !== b.seq) return out('fail', 'ANCHOR_SEQ_MISMATCH', `the registry has the root as batch #${stored.seq}, the receipt says #${b.seq}`);
        if (stored.size !== b.size) return out('fail', 'ANCHOR_SIZE_MISMATCH', `the registry has ${stored.size} records in the batch, the receipt says ${b.size}`);
        if (stored.prevRoot !== b.prevRoot) return out('fail', 'ANCHOR_PREV_ROOT_MISMATCH', `the registry chains the batch to ${short(stored.prevRoot)}, the receipt to ${short(b.prevRoot)}`);
        if (stored.blockNumber !== a.blockNumber) return out('fail', 'ANCHOR_BLOCK_MISMATCH', `the registry anchored the batch in block ${stored.blockNumber}, the receipt says ${a.blockNumber}`);

        if (!tx) return out('fail', 'ANCHOR_TX_NOT_FOUND', `transaction ${short(a.txHash)} is not on chain ${a.chainId}`);
        if (tx.status !== 1) return out('fail', 'ANCHOR_TX_FAILED', `transaction ${short(a.txHash)} reverted`);
        if (!tx.to || getAddress(tx.to) !== registry.address) return out('fail', 'ANCHOR_TX_WRONG_CONTRACT', `transaction ${short(a.txHash)} was sent to ${tx.to ?? '(contract creation)'}, not to the registry`);
        const logged = tx.logs.some((l) => {
          if (getAddress(l.address) !== registry.address || l.topics[0] !== BATCH_ANCHORED || l.topics[3] !== b.root) return false;
          const ev = parseAnchorLog(l);
          return ev.agency === b.agency && ev.seq === b.seq && ev.size === b.size && ev.prevRoot === b.prevRoot;
        });
        if (!logged) return out('fail', 'ANCHOR_TX_NO_EVENT', `transaction ${short(a.txHash)} did not log BatchAnchored for root ${short(b.root)}`);
        if (tx.blockNumber !== a.blockNumber) return out('fail', 'ANCHOR_BLOCK_MISMATCH', `transaction ${short(a.txHash)} is in block ${tx.blockNumber}, the receipt says ${a.blockNumber}`);
        if (tx.blockHash !== a.blockHash) return out('fail', 'ANCHOR_BLOCK_HASH_MISMATCH', `transaction ${short(a.txHash)} is in block ${short(tx.blockHash)}, the receipt says ${short(a.blockHash)} (reorganised?)`);

        if (!block) return out('fail', 'ANCHOR_BLOCK_MISSING', `block ${a.blockNumber} does not exist on chain ${a.chainId}`);
        if (block.hash !== a.blockHash) return out('fail', 'ANCHOR_BLOCK_HASH_MISMATCH', `block ${a.blockNumber} is ${short(block.hash ?? '')}, the receipt says ${short(a.blockHash)} (reorganised?)`);
        if (block.timestamp !== a.timestamp || stored.anchoredAt !== a.timestamp) {
          return out('fail', 'ANCHOR_TIMESTAMP_MISMATCH', `block ${a.blockNumber} has timestamp ${block.timestamp}, the receipt says ${a.timestamp}`);
        }
        const confirmations = head - a.blockNumber + 1;
        if (confirmations < minConfirmations) return out('pending', 'ANCHOR_UNCONFIRMED', `${confirmations} confirmation(s) of block ${a.blockNumber}; policy asks for ${minConfirmations}`);
        const where = `batch ${b.agency}#${b.seq} anchored in block ${a.blockNumber} at ${new Date(a.timestamp * 1000).toISOString()} (${confirmations} confirmation(s))`;
        // Anyone can deploy a registry and make themselves its notary: an anchor in a
        // registry nobody vouched for proves nothing, so it cannot verify.
        if (!trusted) return out('pending', 'ANCHOR_REGISTRY_NOT_PINNED', `${where}, but registry ${registry.address} is not pinned: give --registry with the consortium's published registry address (or verify from a data folder configured for this chain)`);
        return out('pass', 'ANCHOR_VALID', where);
      }),

    checkNotary: (receipt) =>
      guard('notary', async () => {
        const a = receipt.anchor;
        if (!a) return out('pending', 'NOTARY_NOT_ANCHORED', 'notaries attest anchored batches; the batch is not anchored yet');
        if (receipt.attestations.length === 0) return out('pending', 'NOTARY_ABSENT', 'no notary has attested the batch yet');
        const opened = await openRegistry(receipt, 'NOTARY');
        if ('status' in opened) return opened;
        const { registry } = opened;
        const b = receipt.batch;
        // The EIP-712 domain version is the registry's (a version 1 registry's receipts stay verifiable).
        const version = await registry.version();
        // Recover every signer first (pure), then ask the chain about all of them at once.
        const signers: string[] = [];
        for (const [i, att] of receipt.attestations.entries()) {
          try {
            signers.push(recoverAttestationSigner(a.chainId, registry.address, { root: b.root, agency: b.agency, seq: b.seq, size: b.size, prevRoot: b.prevRoot, attestedAt: att.attestedAt }, att.signature, version));
          } catch (e) {
            return out('fail', 'NOTARY_SIGNATURE_INVALID', `attestation ${i}: ${(e as Error).message.slice(0, 120)}`);
          }
        }
        const [threshold, facts] = await Promise.all([
          registry.notaryThreshold(),
          Promise.all(signers.map(async (s) => {
            const [recorded, isNotary] = await Promise.all([registry.attestedAt(b.agency, b.root, s), registry.hasRole(NOTARY_ROLE, s)]);
            return { recorded, isNotary };
          })),
        ]);
        const seen = new Set<string>();
        // A trust root's notary set: only its members count, and at least its threshold of them.
        const required = Math.max(threshold, p.trust?.notaries?.threshold ?? 0);
        let outsiders = 0;
        let onChain = 0;
        let offChain = 0;
        let revoked = 0;
        for (const [i, att] of receipt.attestations.entries()) {
          const signer = signers[i]!;
          if (signer !== getAddress(att.notary)) return out('fail', 'NOTARY_SIGNER_MISMATCH', `attestation ${i} names ${getAddress(att.notary)} but was signed by ${signer} (or over other batch data)`);
          if (seen.has(signer)) return out('fail', 'NOTARY_DUPLICATE', `attestation ${i}: ${signer} attests twice`);
          seen.add(signer);
          const { recorded, isNotary } = facts[i]!;
          if (recorded !== 0 && recorded !== att.attestedAt) {
            return out('fail', 'NOTARY_ATTESTED_AT_MISMATCH', `attestation ${i}: the chain records ${signer} at ${recorded}, the receipt says ${att.attestedAt}`);
          }
          if (!isNotary && recorded === 0) return out('fail', 'NOTARY_NOT_NOTARY', `attestation ${i}: ${signer} does not hold NOTARY_ROLE on registry ${registry.address}`);
          if (trustedNotaries && !trustedNotaries.includes(signer)) {
            outsiders++;
            continue;
          }
          if (!isNotary) revoked++;
          if (recorded !== 0) onChain++;
          else offChain++;
        }
        if (!trusted) return out('pending', 'NOTARY_REGISTRY_NOT_PINNED', `notary roles are those of registry ${registry.address}, which is not pinned: give --registry with the consortium's published registry address`);
        const outside = outsiders ? `; ${outsiders} by notaries outside the trust root, not counted` : '';
        if (onChain >= required) {
          const note = revoked ? ` (${revoked} since revoked; counted as recorded)` : '';
          return out('pass', 'NOTARY_VALID', `${onChain} notary co-signature(s) on chain, threshold ${required}${note}${outside}`);
        }
        if (onChain + offChain >= required) return out('pending', 'NOTARY_NOT_ON_CHAIN', `${offChain} valid attestation(s) not yet co-signed on chain; ${onChain} of ${required} recorded${outside}`);
        return out('pending', 'NOTARY_BELOW_THRESHOLD', `${onChain} of ${required} required notary co-signature(s)${outside}`);
      }),
  };
}
