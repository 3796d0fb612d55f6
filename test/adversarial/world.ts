/**
 * The adversarial world: a real chain (Anvil on a free port), a gateway over a
 * deployed data folder with the real chain adapter, two records in two
 * anchored and notarized batches, and the three verifiers a person can use —
 * the SDK (`verifyReceipt` + `createChainVerifier`), the CLI (`liuhen verify`,
 * a child process, judged by its exit code) and the gateway (`POST
 * /v1/verify`, JSON with a SHA-256 or multipart with the file). The page's
 * verifier posts to the same route (test/browser runs the same table).
 */
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonRpcProvider, Network, type Wallet } from 'ethers';
import { createGatewayChain, type ClosableGatewayChain } from '../../gateway/index.js';
import {
  agencyKey,
  createAnchorer,
  createChainVerifier,
  deploy,
  notaryKey,
  openKey,
  startAnvil,
  verifyReceipt,
  type ClosableChainVerifier,
  type EmbeddedChain,
  type Receipt,
  type Verdict,
} from '../../src/index.js';
import { cosign } from '../chain/helpers.js';
import { startGateway, upload, type Harness } from '../gateway/harness.js';

export const BIN = new URL('../../bin/liuhen.js', import.meta.url).pathname;

/** What a verifier is handed: a receipt (any JSON value) and, optionally, content. */
export interface Submission {
  receipt: unknown;
  /** File bytes (the CLI and multipart get the file itself; SDK and JSON get its SHA-256). */
  file?: Uint8Array;
  /** A SHA-256 to give instead of a file (SDK and gateway JSON only; the CLI needs a file). */
  sha256?: string;
}

/** What every verifier answers, normalised: the verdict status, or a refusal of the receipt as input. */
export type Outcome = { status: 'verified' | 'failed' | 'incomplete'; codes: Record<string, string> } | { status: 'refused'; codes: Record<string, string> };

export interface Evidence {
  id: string;
  leaf: string;
  bytes: Uint8Array;
  sha256: string;
  receipt: Receipt;
}

export interface World {
  anvil: EmbeddedChain;
  gateway: Harness;
  provider: JsonRpcProvider;
  registry: string;
  chainId: number;
  notary: Wallet;
  agency: Wallet;
  /** Two records in two different anchored and notarized batches. */
  a: Evidence;
  b: Evidence;
  sdk(s: Submission): Promise<Outcome>;
  cli(s: Submission): Promise<Outcome & { exit: number | null }>;
  gatewayJson(s: Submission): Promise<Outcome>;
  gatewayMultipart(s: Submission): Promise<Outcome>;
  close(): Promise<void>;
}

/** At most `n` at once: CLI children are heavy on a shared 2-core machine, and the gateway bounds file verifications in flight (429 beyond). */
function limiter(n: number): <T>(run: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  return async (run) => {
    while (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await run();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const codesOf = (v: Verdict) => Object.fromEntries(v.checks.map((c) => [c.name, `${c.status}:${c.code}`]));

/** Seals, anchors with the agency's key and co-signs as the folder's notary: the record's receipt, complete. */
async function settle(w: Pick<World, 'gateway' | 'provider' | 'chainId' | 'registry' | 'notary' | 'agency'>, text: string): Promise<Evidence> {
  const bytes = new TextEncoder().encode(text);
  const rec = await upload(w.gateway, bytes, { case: 'C-ADV', stage: 'filing' });
  const batches = (await w.gateway.liuhen.seal()).filter((b) => b.agency === w.gateway.liuhen.config.agency);
  const anchorer = createAnchorer({ journal: w.gateway.liuhen.journal, config: w.gateway.liuhen.config, signer: w.agency, provider: w.provider });
  try {
    await anchorer.anchorPending({ timeoutMs: 30_000 });
  } finally {
    anchorer.close();
  }
  for (const b of batches) await cosign(w.notary, w.chainId, w.registry, b);
  const r = await w.gateway.call(`/v1/records/${rec.id}/receipt`, { token: w.gateway.t.supervisor });
  if (r.status !== 200) throw new Error(`receipt: ${r.status} ${await r.text()}`);
  const receipt = (await r.json()) as Receipt;
  if (!receipt.anchor || receipt.attestations.length === 0) throw new Error(`the receipt of ${rec.id} is not complete: ${JSON.stringify(receipt)}`);
  return { id: rec.id, leaf: rec.leaf, bytes, sha256: sha(bytes), receipt };
}

/** `verdictCacheMs`: the gateway verifier's cache TTL (default 0: synced before every verdict, as the tests want). */
export async function startWorld(o: { verdictCacheMs?: number } = {}): Promise<World> {
  const anvil = await startAnvil({ port: 0 });
  let adapter: ClosableGatewayChain | undefined;
  let gateway: Harness;
  try {
    gateway = await startGateway({
      prepare: async (dir) => void (await deploy({ dataDir: dir, rpc: anvil.rpc })),
      chain: (liuhen) =>
        (adapter = createGatewayChain({ journal: liuhen.journal, chain: liuhen.config.chain!, cacheMs: 0, verdictCacheMs: o.verdictCacheMs ?? 0 })),
    });
  } catch (e) {
    await anvil.stop();
    throw e;
  }
  const provider = new JsonRpcProvider(anvil.rpc, Network.from(anvil.chainId), { staticNetwork: true, cacheTimeout: -1 });
  const registry = gateway.liuhen.config.chain!.registry!;
  const notary = (await openKey(notaryKey(gateway.dir), anvil.chainId)).connect(provider);
  const agency = (await openKey(agencyKey(gateway.dir), anvil.chainId)).connect(provider);
  const base = { gateway, provider, chainId: anvil.chainId, registry, notary, agency };
  const a = await settle(base, 'adversarial evidence A');
  const b = await settle(base, 'adversarial evidence B');
  const verifier: ClosableChainVerifier = createChainVerifier({ provider, trustedRegistries: [registry] });
  const work = mkdtempSync(join(tmpdir(), 'liuhen-adv-'));
  let n = 0;
  const cliSlot = limiter(2);
  const uploadSlot = limiter(1);

  const outcomeOfJson = async (r: Response): Promise<Outcome> => {
    const body = (await r.json()) as Verdict & { error?: { code: string } };
    // A receipt that is no receipt is a 400 here, a failed format check in the SDK and the CLI (exit 1): the same verdict.
    if (r.status === 400 && (body.error?.code === 'INVALID_RECEIPT' || body.error?.code === 'RECEIPT_FORMAT_UNKNOWN'))
      return { status: 'failed', codes: { format: `fail:${body.error.code}` } };
    if (r.status !== 200) throw new Error(`POST /v1/verify: ${r.status} ${JSON.stringify(body)}`);
    return { status: body.status, codes: codesOf(body) };
  };

  const runCli = (s: Submission): Promise<Outcome & { exit: number | null }> => {
    if (!s.file) throw new Error('the CLI verifies a file: give `file`');
    const i = n++;
    const file = join(work, `file-${i}`);
    const receiptFile = join(work, `receipt-${i}.json`);
    writeFileSync(file, s.file);
    writeFileSync(receiptFile, typeof s.receipt === 'string' ? s.receipt : JSON.stringify(s.receipt));
    const args = [BIN, '--json', '--data', join(work, 'no-data'), 'verify', file, '--receipt', receiptFile, '--rpc', anvil.rpc, '--registry', registry];
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.once('error', reject);
      child.once('close', (exit) => {
        const line = stdout.trim().split('\n').filter(Boolean).pop();
        let verdict: Verdict | undefined;
        try {
          verdict = line ? (JSON.parse(line) as Verdict) : undefined;
        } catch {
          verdict = undefined;
        }
        if (verdict?.format === 'liuhen-verdict/1') resolve({ exit, status: verdict.status, codes: codesOf(verdict) });
        else if (exit === 2) resolve({ exit, status: 'refused', codes: { format: `fail:${/"code":"([A-Z_]+)"/.exec(stdout + stderr)?.[1] ?? 'USAGE'}` } });
        else reject(new Error(`liuhen verify exited ${exit}: ${stdout} ${stderr}`));
      });
    });
  };

  const multipart = async (s: Submission): Promise<Outcome> => {
    const form = new FormData();
    form.append('receipt', typeof s.receipt === 'string' ? s.receipt : JSON.stringify(s.receipt));
    if (s.file) form.append('file', new Blob([s.file as BlobPart]), 'evidence.bin');
    else if (s.sha256) form.append('sha256', s.sha256);
    return outcomeOfJson(await gateway.call('/v1/verify', { method: 'POST', body: form }));
  };

  return {
    anvil,
    gateway,
    provider,
    registry,
    chainId: anvil.chainId,
    notary,
    agency,
    a,
    b,
    async sdk(s) {
      const content = s.file ? { sha256: sha(s.file) } : s.sha256 ? { sha256: s.sha256 } : undefined;
      const v = await verifyReceipt({ receipt: s.receipt, ...(content ? { content } : {}), chain: verifier });
      return { status: v.status, codes: codesOf(v) };
    },
    cli(s) {
      return cliSlot(() => runCli(s));
    },
    async gatewayJson(s) {
      const body: Record<string, unknown> = { receipt: s.receipt };
      if (s.file) body.sha256 = sha(s.file);
      else if (s.sha256) body.sha256 = s.sha256;
      return outcomeOfJson(await gateway.call('/v1/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));
    },
    gatewayMultipart(s) {
      return uploadSlot(() => multipart(s));
    },
    async close() {
      verifier.close();
      provider.destroy();
      adapter?.close();
      await gateway.close();
      await anvil.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** The exit code `liuhen verify` must give for a verdict status (2: the input was refused before verifying). */
export const EXIT: Record<Outcome['status'], number> = { verified: 0, failed: 1, incomplete: 3, refused: 2 };
