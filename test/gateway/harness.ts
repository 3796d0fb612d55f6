import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { JsonRpcProvider } from 'ethers';
import { aesGcmKeyWrapper, agencyKey, createAnchorer, Liuhen, openEvidenceStore, openKey, staticKeyResolver, type EvidenceStore } from '../../src/index.js';
import {
  createApp,
  createDevTokens,
  drainApp,
  JournalAuditTrail,
  listen,
  silentLogger,
  TokenStore,
  type AuditPage,
  type AuditTrail,
  type GatewayChain,
  type GatewayConfigInput,
  type RunningGateway,
} from '../../gateway/index.js';
import { tempDir } from '../helpers/tmp.js';

/** The agencies of the test world: the gateway's own (A) and another one (B). */
export const AGENCY = 'AG-A';
export const OTHER = 'AG-B';
export const AUDIT_DEVICE = 'gateway-audit';

export interface Harness {
  url: string;
  dir: string;
  liuhen: Liuhen;
  store: EvidenceStore;
  tokens: TokenStore;
  /** admin, supervisor, notary, agency (AG-A), otherAgency (AG-B). */
  t: { admin: string; supervisor: string; notary: string; agency: string; otherAgency: string };
  running: RunningGateway;
  /** Resolves once the audit entries of answered requests are journaled. */
  drain(): Promise<void>;
  /** fetch against the gateway with an optional bearer token. */
  call(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  /** Records of every device but the audit trail's: what a refused request must leave unchanged. */
  recordCount(): Promise<number>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  config?: GatewayConfigInput;
  /** A chain port, or a factory given the opened facade (e.g. the real adapter over the folder's chain config). */
  chain?: GatewayChain | ((liuhen: Liuhen) => GatewayChain);
  /** Runs after `Liuhen.init` and before `Liuhen.open` (e.g. `deploy`). */
  prepare?: (dir: string) => Promise<void>;
  /** The gateway's clock (the journal keeps its own). */
  clock?: () => Date;
  /** Builds the app without a store (uploads → 503). */
  noStore?: boolean;
  /** The gateway's logger (default: silent). */
  logger?: import('../../gateway/index.js').Logger;
  /** Wraps the default audit trail (e.g. to make it fail). */
  audit?: (trail: AuditTrail) => AuditTrail;
  /** Mounts the web pages router (`createPagesRouter()`), for page tests over a real chain. */
  pages?: import('express').Router;
}

/** A gateway on port 0 over a fresh data folder (Liuhen.init/open), a local evidence store, and tokens for every role. */
export async function startGateway(o: HarnessOptions = {}): Promise<Harness> {
  const { dir, cleanup } = tempDir('liuhen-gw-');
  Liuhen.init(dir, { agency: AGENCY, device: 'station-1', officer: 'GW-0001' });
  await o.prepare?.(dir);
  const liuhen = await Liuhen.open(dir);
  const chain = typeof o.chain === 'function' ? o.chain(liuhen) : o.chain;
  // JN-SFJ: the supervision body (its feedback phone numbers are stored under its own KEK).
  const keys = staticKeyResolver([AGENCY, OTHER, 'JN-SFJ'].map((agency) => aesGcmKeyWrapper({ keyId: `kek-${agency}`, agency, kek: randomBytes(32) })));
  const store = await openEvidenceStore({ kind: 'local', dir: join(dir, 'store'), durable: false }, keys);
  const tokens = await TokenStore.open(join(dir, 'gateway'));
  const dev = await createDevTokens(tokens, AGENCY);
  const other = (await tokens.create({ role: 'agency', agency: OTHER, label: 'other agency', createdBy: 'test' })).token;
  const config: GatewayConfigInput = { rateLimit: { requests: 100_000, verify: 100_000, authFailures: 100_000 }, ...o.config };
  const trail = new JournalAuditTrail(liuhen, {
    agency: AGENCY,
    device: AUDIT_DEVICE,
    officer: 'GW-0001',
    clock: o.clock ?? (() => new Date()),
    logger: silentLogger,
  });
  const app = createApp({
    liuhen,
    tokens,
    ...(o.audit ? { audit: o.audit(trail) } : {}),
    ...(o.noStore ? {} : { store }),
    ...(chain ? { chain } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    config,
    logger: o.logger ?? silentLogger,
    ...(o.pages ? { pages: o.pages } : {}),
  });
  const running = await listen(app, { port: 0 });
  const call = (path: string, init: RequestInit & { token?: string } = {}) => {
    const { token, headers, ...rest } = init;
    return fetch(`${running.url}${path}`, {
      ...rest,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(headers as Record<string, string> | undefined) },
    });
  };
  return {
    url: running.url,
    dir,
    liuhen,
    store,
    tokens,
    t: { ...dev, otherAgency: other },
    running,
    drain: () => drainApp(app),
    call,
    async recordCount() {
      let n = 0;
      for (const d of liuhen.journal.devices()) if (d !== AUDIT_DEVICE) n += liuhen.journal.deviceHead(d)?.seq ?? 0;
      return n;
    },
    async close() {
      await running.close(100);
      await store.close();
      await liuhen.close();
      cleanup();
    },
  };
}

/** A multipart upload body: meta first, then the file. */
export function uploadForm(meta: Record<string, unknown>, file: Uint8Array | Blob, filename = 'clip.mp4', type = 'video/mp4'): FormData {
  const form = new FormData();
  form.append('meta', JSON.stringify(meta));
  form.append('file', file instanceof Blob ? file : new Blob([file as BlobPart], { type }), filename);
  return form;
}

export const meta = (over: Record<string, unknown> = {}) => ({
  device: 'cam-1',
  officer: 'OF-1001',
  kind: 'video',
  capturedAt: new Date().toISOString(),
  ...over,
});

/** Every audit entry so far, oldest first (read through the API, which flushes pending entries first). */
export async function auditEntries(h: Harness): Promise<AuditPage['entries']> {
  const out: AuditPage['entries'] = [];
  let after = 0;
  for (;;) {
    const r = await h.call(`/v1/audit?after=${after}&limit=500`, { token: h.t.admin });
    if (r.status !== 200) throw new Error(`GET /v1/audit: ${r.status} ${await r.text()}`);
    const page = (await r.json()) as AuditPage;
    out.push(...page.entries);
    if (!page.next || !('after' in page.next)) return out;
    after = page.next.after;
  }
}

/** Uploads a small file as agency AG-A and returns the 201 body. */
export async function upload(
  h: Harness,
  bytes: Uint8Array,
  over: Record<string, unknown> = {},
  token = h.t.agency,
): Promise<{ id: string; leaf: string; seq: number; sha256: string; cid: string; size: number }> {
  const r = await h.call('/v1/records', { method: 'POST', token, body: uploadForm(meta(over), bytes) });
  if (r.status !== 201) throw new Error(`upload: ${r.status} ${await r.text()}`);
  return (await r.json()) as { id: string; leaf: string; seq: number; sha256: string; cid: string; size: number };
}

export const json = (value: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });

/** Anchors what the harness's folder has sealed, with its agency key, as the gateway's anchoring loop would. */
export async function anchorSealed(h: Harness, chainId: number, provider: JsonRpcProvider): Promise<void> {
  const signer = (await openKey(agencyKey(h.dir), chainId)).connect(provider);
  const anchorer = createAnchorer({ journal: h.liuhen.journal, config: h.liuhen.config, signer, provider });
  try {
    await anchorer.anchorPending({ timeoutMs: 30_000 });
  } finally {
    anchorer.close();
  }
}
