import { existsSync } from 'node:fs';
import { paths, readConfig } from '../src/config.js';
import { parseReceipt } from '../src/receipt/format.js';
import { type ChainVerifier, type Verdict, verifyReceipt } from '../src/verify/index.js';

export interface VerifyFileParameters {
  file: string;
  receiptText: string;
  /** JSON-RPC endpoint; default the data folder's `chain.rpc`. Without either, the anchor and notary checks stay pending. */
  rpc?: string | undefined;
  dataDir: string;
  /** Trusted registry address; default the data folder's `chain.registry` (when the receipt names that chain). */
  registry?: string | undefined;
  /** Confirmations the anchor needs. @default 1 */
  minConfirmations?: number | undefined;
  /** A trust-root file (src/chain/trust.ts): chain id, registries, notary set and threshold, agencies, names. */
  trust?: string | undefined;
}

/** Resolves the chain verifier for an RPC endpoint (tests inject one). */
export type ChainVerifierFactory = (rpc: string) => Promise<ChainVerifier & { close?: () => void }>;

/**
 * `liuhen verify FILE --receipt R [--rpc URL] [--registry ADDR]`: the whole
 * pipeline, with the chain checks when an endpoint is known. The registry is
 * pinned to `--registry`, else to the data folder's registry when the receipt
 * names the folder's chain; otherwise the anchor check warns that it was not.
 */
/** Display names (issue 14) of the receipt's agency and co-signers, as the gateway's verdict carries them. */
export interface VerdictNames {
  agencies: Record<string, string>;
  notaries: Record<string, string>;
}

export async function verifyFileWithReceipt(p: VerifyFileParameters, chainFactory?: ChainVerifierFactory): Promise<Verdict & { names?: VerdictNames }> {
  const config = existsSync(paths(p.dataDir).config) ? readConfig(p.dataDir) : undefined;
  const trust = p.trust === undefined ? undefined : (await import('../src/chain/trust.js')).readTrustRoot(p.trust);
  // The endpoint: --rpc, else LIUHEN_RPC_URL, else the trust root's, else the data folder's.
  const rpc = p.rpc ?? (process.env.LIUHEN_RPC_URL || undefined) ?? trust?.rpc ?? config?.chain?.rpc;
  let chain: (ChainVerifier & { close?: () => void }) | undefined;
  if (rpc) {
    if (chainFactory) chain = await chainFactory(rpc);
    else {
      // The chain client (ethers) is loaded only when there is a chain to ask.
      const { createChainVerifier } = await import('../src/chain/verifier.js');
      const { trustedRegistries } = await import('../src/chain/deploy.js');
      // The folder's registry and the ones it moved away from (liuhen registry migrate) are trusted.
      // A trust root pins its own registries (and notaries, agencies); --registry still wins.
      const trusted = p.registry
        ? [p.registry]
        : trust
          ? undefined
          : config?.chain?.registry && receiptChainId(p.receiptText) === config.chain.chainId
            ? trustedRegistries(config.chain)
            : undefined;
      chain = createChainVerifier({ rpc, trustedRegistries: trusted, minConfirmations: p.minConfirmations, ...(trust && { trust }) });
    }
  }
  try {
    const verdict = await verifyReceipt({ receipt: p.receiptText, content: { path: p.file }, chain });
    // Names from the trust file (no network: the names are for display, the checks above are what count).
    const names = trust ? trustNames(trust, p.receiptText, (await import('../src/chain/trust.js')).trustName) : undefined;
    return names ? { ...verdict, names } : verdict;
  } finally {
    chain?.close?.();
  }
}

function trustNames(
  trust: import('../src/chain/trust.js').TrustRoot,
  text: string,
  trustName: typeof import('../src/chain/trust.js').trustName,
): VerdictNames | undefined {
  let receipt;
  try {
    receipt = parseReceipt(text);
  } catch {
    return undefined;
  }
  const names: VerdictNames = { agencies: {}, notaries: {} };
  for (const code of new Set([receipt.batch.agency, ...(receipt.record ? [receipt.record.agency] : [])])) {
    const n = trustName(trust, code);
    if (n) names.agencies[code] = n;
  }
  for (const a of receipt.attestations) {
    const n = trustName(trust, a.notary);
    if (n) names.notaries[a.notary] = n;
  }
  return names;
}

function receiptChainId(text: string): number | undefined {
  try {
    return parseReceipt(text).anchor?.chainId;
  } catch {
    return undefined; // the pipeline reports the format error
  }
}
