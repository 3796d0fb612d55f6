import {
  checkRecordAuthenticity,
  connectChain,
  createChainVerifier,
  chainDataFor,
  RegistryClient,
  trustedRegistries,
  type AnchorState,
  type BatchInfo,
  type ChainConfig,
  type Connection,
  type Journal,
  type Receipt,
} from '../src/index.js';
import { ZeroHash } from 'ethers';
import type { AnchorPhase, BatchChainStatus, GatewayChain, NameSource } from './deps.js';

export interface GatewayChainParameters {
  journal: Journal;
  /** The data folder's chain section (rpc, chainId, registry, confirmations). */
  chain: ChainConfig;
  /** Per-request timeout. @default 5000 */
  timeoutMs?: number;
  /** How long a batch's status is reused (a page shows many records of one batch). @default 2000 ms */
  cacheMs?: number;
  /** How old the verifier's synced chain view may be (src/chain/verifier-cache.ts). @default min(cacheMs, 1000) ms */
  verdictCacheMs?: number;
  /** How long a display name read from the registry is reused (names change rarely; a page shows many). @default 60000 ms */
  namesCacheMs?: number;
}

const MAX_SETTLED = 100_000;

export interface ClosableGatewayChain extends GatewayChain {
  close(): void;
}

/**
 * The gateway's view of the chain, over the SDK's chain module: the
 * anchorer's state in the journal says how far a batch got; the anchor and
 * attestations are what the chain confirms now (`chainDataFor`); notarized
 * is the registry's `isNotarized(agency, root)`.
 */
export function createGatewayChain(p: GatewayChainParameters): ClosableGatewayChain {
  const registryAddress = p.chain.registry;
  const timeoutMs = p.timeoutMs ?? 5000;
  // Connected lazily and again after a failure: the gateway starts (degraded) while the chain is down.
  let conn: Promise<Connection> | undefined;
  const connection = (): Promise<Connection> => {
    conn ??= connectChain({ rpc: p.chain.rpc, expectedChainId: p.chain.chainId, timeoutMs }).catch((e: unknown) => {
      conn = undefined;
      throw e;
    });
    return conn;
  };
  // Receipts of registries the folder moved away from (liuhen registry migrate) stay verifiable.
  const trusted = trustedRegistries(p.chain);
  const verifier = createChainVerifier({
    rpc: p.chain.rpc,
    timeoutMs,
    ...(registryAddress ? { trustedRegistries: trusted } : {}),
    minConfirmations: Math.max(1, p.chain.confirmations),
    cache: { headTtlMs: p.verdictCacheMs ?? Math.min(p.cacheMs ?? 1000, 1000) },
  });
  const cacheMs = p.cacheMs ?? 2000;
  const cache = new Map<string, { at: number; value: Promise<BatchChainStatus> }>();
  /** Final and notarized batches: reused while the anchorer's state still says final at the same block. */
  const settled = new Map<string, { value: Promise<BatchChainStatus> }>();

  const phaseOf = (state: AnchorState | undefined): AnchorPhase => {
    if (!state || state.chainId !== p.chain.chainId || !registryAddress || !trusted.some((r) => r.toLowerCase() === state.registry.toLowerCase()))
      return 'sealed';
    return state.status === 'pending' ? 'sealed' : state.status;
  };

  const load = async (batch: BatchInfo): Promise<BatchChainStatus> => {
    const state = await p.journal.getAnchorState<AnchorState>(batch.root);
    const phase = phaseOf(state);
    if (!registryAddress || (phase !== 'anchored' && phase !== 'final')) return { phase, anchor: null, attestations: [], notarized: false };
    const { provider } = await connection();
    let data = await chainDataFor({ journal: p.journal, chain: p.chain, provider, batch });
    const registry = new RegistryClient(data.anchor?.registry ?? registryAddress, provider);
    const notarized = data.anchor ? await registry.isNotarized(batch.agency, batch.root) : false;
    // Read the co-signatures again once it is notarized: one that landed between the two reads would
    // otherwise leave a notarized batch without its attestations — and a final, notarized status is
    // kept for good (test/gateway/chain-status-race.test.ts). Once per batch: then it is settled.
    if (notarized) data = await chainDataFor({ journal: p.journal, chain: p.chain, provider, batch });
    // The journal may say anchored while the chain no longer has it (reorg not yet handled): report what the chain says.
    return { phase: data.anchor ? phase : 'submitted', anchor: data.anchor, attestations: data.attestations, notarized };
  };

  // One client per connection: it remembers the registry's version, so an ingest-time check costs the device reads only.
  let enrollmentClient: { provider: unknown; client: RegistryClient } | undefined;
  const enrollments = async (address: string): Promise<RegistryClient> => {
    const { provider } = await connection();
    if (enrollmentClient?.provider !== provider) enrollmentClient = { provider, client: new RegistryClient(address, provider) };
    return enrollmentClient.client;
  };

  // Display names (issue 14) from the current registry, cached: every verdict and page asks for the same few.
  const namesCacheMs = p.namesCacheMs ?? 60_000;
  const nameCache = new Map<string, { at: number; stamp: string | undefined; value: Promise<string | undefined> }>();
  // A name is also kept only while the verifier's view of the trusted registries is unchanged (its
  // stamp; AgencyNamed/NotaryNamed are registry events that change it). Memoised public verdicts
  // carry names and are recomputed when that stamp changes: a name taken from this cache by the
  // TTL alone would be the old one, memoised again and served until the next registry event.
  const namesStamp = async (): Promise<string | undefined> => {
    try {
      return await verifier.verdictStamp?.({ batch: { root: ZeroHash } as Receipt['batch'] });
    } catch {
      return undefined;
    }
  };
  const cachedName = async (key: string, read: (r: RegistryClient) => Promise<string>): Promise<string | undefined> => {
    const stamp = registryAddress ? await namesStamp() : undefined;
    const now = Date.now();
    const hit = nameCache.get(key);
    // No stamp (the chain unreachable): the TTL alone, as before — no verdict is memoised without a stamp.
    if (hit && now - hit.at < namesCacheMs && (stamp === undefined || hit.stamp === stamp)) return hit.value;
    const value = (async () => {
      if (!registryAddress) return undefined;
      const name = await read(await enrollments(registryAddress));
      return name === '' ? undefined : name;
    })();
    nameCache.set(key, { at: now, stamp, value });
    // A chain that does not answer is asked again after 10 s, not on every verdict (the caller falls back to configured names).
    value.catch(() => nameCache.set(key, { at: Date.now() - Math.max(0, namesCacheMs - 10_000), stamp, value: Promise.resolve(undefined) }));
    if (nameCache.size > 10_000) for (const [k, v] of nameCache) if (now - v.at >= namesCacheMs) nameCache.delete(k);
    return value;
  };
  const names: NameSource = {
    agencyName: (agency) => cachedName(`a:${agency}`, (r) => r.agencyName(agency)),
    notaryName: (address) => cachedName(`n:${address.toLowerCase()}`, (r) => r.notaryName(address)),
  };

  return {
    verifier,
    names,
    async batchStatus(batch) {
      const now = Date.now();
      const kept = settled.get(batch.root);
      if (kept) {
        // Still final at the same block in the anchorer's state (a reorg or a chain reset would have changed it)?
        const [state, old] = await Promise.all([p.journal.getAnchorState<AnchorState>(batch.root), kept.value]);
        if (phaseOf(state) === 'final' && state?.anchor?.blockHash === old.anchor?.blockHash) return old;
        settled.delete(batch.root);
      }
      const hit = cache.get(batch.root);
      if (hit && now - hit.at < cacheMs) return hit.value;
      const value = load(batch);
      cache.set(batch.root, { at: now, value });
      value.then(
        (s) => {
          // Final and notarized does not change any more: keep it (bounded), so scans of old batches cost no RPC.
          if (s.phase === 'final' && s.notarized) {
            settled.set(batch.root, { value });
            if (settled.size > MAX_SETTLED) settled.delete(settled.keys().next().value!);
          }
        },
        () => cache.delete(batch.root),
      );
      if (cache.size > 10_000) for (const [k, v] of cache) if (now - v.at >= cacheMs) cache.delete(k);
      return value;
    },
    async ping() {
      await (await connection()).provider.getBlockNumber();
    },
    // Device enrollments are read from the folder's own (current) registry: the one its agencies enroll their devices on.
    async deviceHistory(agency, device) {
      if (!registryAddress) return null;
      const client = await enrollments(registryAddress);
      if ((await client.version()) !== 2) return null;
      return client.device(agency, device);
    },
    async recordAuthenticity(q) {
      if (!registryAddress) return undefined;
      const client = await enrollments(registryAddress);
      if ((await client.version()) !== 2) return undefined;
      return checkRecordAuthenticity(client, q);
    },
    close() {
      verifier.close();
      void conn?.then(
        (c) => c.provider.destroy(),
        () => undefined,
      );
    },
  };
}
