import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { aesGcmKeyWrapper, Liuhen, openEvidenceStore, staticKeyResolver, type EvidenceStore } from '../../src/index.js';
import { createApp, createDevTokens, listen, silentLogger, TokenStore, type GatewayChain, type GatewayConfigInput, type RunningGateway } from '../../gateway/index.js';
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
  /** fetch against the gateway with an optional bearer token. */
  call(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  /** Records of every device but the audit trail's: what a refused request must leave unchanged. */
  recordCount(): Promise<number>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  config?: GatewayConfigInput;
  chain?: GatewayChain;
  /** Builds the app without a store (uploads → 503). */
  noStore?: boolean;
}

/** A gateway on port 0 over a fresh data folder (Liuhen.init/open), a local evidence store, and tokens for every role. */
export async function startGateway(o: HarnessOptions = {}): Promise<Harness> {
  const { dir, cleanup } = tempDir('liuhen-gw-');
  Liuhen.init(dir, { agency: AGENCY, device: 'station-1', officer: 'GW-0001' });
  const liuhen = await Liuhen.open(dir);
  const keys = staticKeyResolver([AGENCY, OTHER].map((agency) => aesGcmKeyWrapper({ keyId: `kek-${agency}`, agency, kek: randomBytes(32) })));
  const store = await openEvidenceStore({ kind: 'local', dir: join(dir, 'store'), durable: false }, keys);
  const tokens = await TokenStore.open(join(dir, 'gateway'));
  const dev = await createDevTokens(tokens, AGENCY);
  const other = (await tokens.create({ role: 'agency', agency: OTHER, label: 'other agency', createdBy: 'test' })).token;
  const config: GatewayConfigInput = { rateLimit: { requests: 100_000, verify: 100_000, authFailures: 100_000 }, ...o.config };
  const app = createApp({ liuhen, tokens, ...(o.noStore ? {} : { store }), ...(o.chain ? { chain: o.chain } : {}), config, logger: silentLogger });
  const running = await listen(app, { port: 0 });
  const call = (path: string, init: RequestInit & { token?: string } = {}) => {
    const { token, headers, ...rest } = init;
    return fetch(`${running.url}${path}`, { ...rest, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(headers as Record<string, string> | undefined) } });
  };
  return {
    url: running.url,
    dir,
    liuhen,
    store,
    tokens,
    t: { ...dev, otherAgency: other },
    running,
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

export const meta = (over: Record<string, unknown> = {}) => ({ device: 'cam-1', officer: 'OF-1001', kind: 'video', capturedAt: new Date().toISOString(), ...over });
