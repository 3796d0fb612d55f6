import { verifyReceipt } from '../verify/verify.js';
import type { ChainVerifier, Verdict } from '../verify/types.js';

export interface VerifyFileParameters {
  file: string;
  receiptText: string;
  /** JSON-RPC endpoint; without it the anchor and notary checks stay pending. */
  rpc?: string;
  dataDir: string;
}

/** Resolves the chain verifier for `--rpc` (filled in by the chain module). */
export type ChainVerifierFactory = (rpc: string) => Promise<ChainVerifier>;

export async function verifyFileWithReceipt(p: VerifyFileParameters, chainFactory?: ChainVerifierFactory): Promise<Verdict> {
  const chain = p.rpc && chainFactory ? await chainFactory(p.rpc) : undefined;
  return verifyReceipt({ receipt: p.receiptText, content: { path: p.file }, chain });
}
