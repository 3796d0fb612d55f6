import type { ChainVerifier } from '../../../src/index.js';

/**
 * Memoised public verdicts (issue 11, goal 1; docs/gateway.md "Verdict
 * cache"). A QR code gone viral asks for the same verdict thousands of times
 * a second; recomputing it means journal reads, an inclusion proof, an
 * Ed25519 and several secp256k1 recoveries and registry reads. Here the
 * answer (its serialised body) is kept, keyed by what was asked — the leaf of
 * `GET /v1/verify/:leaf`, the SHA-256 of the exact body of `POST /v1/verify`
 * — and served again only while the chain verifier's `verdictStamp` for the
 * receipt is the one it was computed under. The stamp changes whenever a
 * chain fact such a verdict relies on may have changed (a reorganisation or
 * rollback below what was seen, roles, threshold, device enrollments, any
 * unknown registry event, a co-signature of that batch; src/chain/verifier-cache.ts),
 * and the view behind it is synced at most `verdictCacheMs` old — exactly the
 * rule of the uncached verifier's own cache. Everything else a verdict
 * depends on is fixed once a batch is sealed (the journal's record, batch and
 * proof) or fixed per gateway (policy, trusted registries).
 *
 * Only `verified` verdicts are kept: a pending one changes as the chain
 * catches up, and a failed one is not what crowds ask for (and must not let
 * forged receipts fill the memory — those are bounded by the rate limits).
 * The stamp is taken BEFORE the verdict is computed, so anything that
 * happens while it is computed makes the entry stale, never wrongly fresh.
 */
/** What a stamp is taken for: the batch, and the anchor when known. */
type Stampable = Parameters<NonNullable<ChainVerifier['verdictStamp']>>[0];

export interface VerdictMemo {
  /** The body kept for `key` when its stamp is still current, else undefined (and the entry is dropped). */
  lookup(key: string): Promise<Memoised | undefined>;
  /** The stamp to compute a verdict under (undefined: do not memoise it). */
  stamp(receipt: Stampable): Promise<string | undefined>;
  /** Keeps `body` for `key`, computed under `stamp`. */
  keep(key: string, entry: Memoised & { stamp: string; receipt: Stampable }): void;
}

export interface Memoised {
  /** The serialised response body. */
  body: string;
  /** The leaf the verdict is about (public reads are counted per leaf). */
  leaf: string;
}

interface Entry extends Memoised {
  stamp: string;
  receipt: Stampable;
}

/** @param max entries kept (the least recently served dropped first); a verdict body is 2–4 kB. */
export function createVerdictMemo(chain: ChainVerifier | undefined, count: (result: 'hit' | 'miss' | 'stale') => void, max = 20_000): VerdictMemo {
  const entries = new Map<string, Entry>();
  const stampOf = async (receipt: Stampable) => (chain?.verdictStamp ? chain.verdictStamp(receipt) : undefined);
  return {
    async lookup(key) {
      const e = entries.get(key);
      if (!e) {
        count('miss');
        return undefined;
      }
      if ((await stampOf(e.receipt)) !== e.stamp) {
        count('stale');
        if (entries.get(key) === e) entries.delete(key);
        return undefined;
      }
      count('hit');
      // Least recently used goes first: a verdict the crowd keeps asking for stays, however many
      // one-off bodies (the same receipt re-spaced, say) are kept after it.
      if (entries.get(key) === e) {
        entries.delete(key);
        entries.set(key, e);
      }
      return e;
    },
    stamp: stampOf,
    keep(key, entry) {
      entries.delete(key);
      entries.set(key, { body: entry.body, leaf: entry.leaf, stamp: entry.stamp, receipt: { anchor: entry.receipt.anchor, batch: entry.receipt.batch } });
      if (entries.size > max) entries.delete(entries.keys().next().value!);
    },
  };
}
