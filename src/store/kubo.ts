/**
 * The production backend: a private IPFS node or cluster reached over the
 * Kubo RPC API with `kubo-rpc-client` (the maintained successor of the
 * deprecated `ipfs-http-client`). Objects are added with the same settings as
 * the local backend (`--cid-version=1 --raw-leaves`, 256 KiB chunks) and
 * pinned. See docs/store.md for running Kubo as a private network.
 *
 * Hostile input: every answer of the node. CIDs it returns are re-validated,
 * CARs it exports are re-hashed block by block, and what `cat` returns is
 * authenticated by the object's GCM tags before anyone sees plaintext.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { CarWriter } from '@ipld/car/writer';
import { create, type KuboRPCClient } from 'kubo-rpc-client';
import type { CID } from 'multiformats/cid';
import { fail, isLiuhenError } from '../errors.js';
import type { ObjectBackend } from './backend.js';
import { readCar, writeCar } from './car.js';
import { dagBudget, MAX_CAR_BLOCKS, orderedBlocks, walkDag } from './dag.js';
import { spoolCar, sweepIncoming } from './spool.js';
import { CHUNK_SIZE } from './unixfs.js';
import { parseCid } from './validate.js';

export interface KuboBackendOptions {
  /** RPC endpoint, e.g. `http://127.0.0.1:5001` (never a public gateway). */
  url: string;
  /** Extra request headers, e.g. `{ authorization: 'Bearer …' }` for an authenticating proxy. Never logged. */
  headers?: Record<string, string>;
  /** How long to look for an object's root block in the private network before `STORE_NOT_FOUND`. @default 30000 */
  locateTimeoutMs?: number;
  /** Time allowed to reach the node at open. @default 10000 */
  connectTimeoutMs?: number;
  /**
   * Folder for the spool of a CAR import (checked here before Kubo sees a
   * block; removed after; what a killed process left is removed at the next open).
   * @default `<os tmpdir>/liuhen-kubo-spool`
   */
  spoolDir?: string;
}

/** The URL without user info, query or fragment: safe to put in a message. */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

const NOT_FOUND = /not found|could not find|no link named|does not exist/i;

export class KuboBackend implements ObjectBackend {
  readonly kind = 'kubo' as const;

  private constructor(
    private readonly client: KuboRPCClient,
    private readonly agent: HttpAgent,
    private readonly where: string,
    private readonly locateTimeoutMs: number,
    private readonly spoolDir: string,
  ) {}

  /** Connect (checks the node answers `version`) or fail with `STORE_UNAVAILABLE`. */
  static async open(options: KuboBackendOptions): Promise<KuboBackend> {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      fail('CONFIG_INVALID', 'the Kubo RPC url is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('CONFIG_INVALID', 'the Kubo RPC url must be http(s)');
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    for (const [k, v] of Object.entries(headers)) {
      if (typeof v !== 'string' || !/^[A-Za-z0-9-]+$/.test(k)) fail('CONFIG_INVALID', 'Kubo RPC headers must be a map of header names to strings');
    }
    // fetch refuses URLs with credentials: move `user:pass@` into a Basic header (an explicit one wins).
    if (url.username !== '' || url.password !== '') {
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'authorization')) {
        let user: string;
        let pass: string;
        try {
          user = decodeURIComponent(url.username);
          pass = decodeURIComponent(url.password);
        } catch {
          fail('CONFIG_INVALID', 'the credentials in the Kubo RPC url are not valid percent-encoding');
        }
        const basic = Buffer.from(`${user}:${pass}`, 'utf8').toString('base64');
        headers.authorization = `Basic ${basic}`;
      }
      url.username = '';
      url.password = '';
    }
    const where = redactUrl(url);
    const locateTimeoutMs = options.locateTimeoutMs ?? 30_000;
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const agent = url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, maxSockets: 6 }) : new HttpAgent({ keepAlive: true, maxSockets: 6 });
    const client = create({ url, headers, agent });
    const spoolDir = options.spoolDir ?? join(tmpdir(), 'liuhen-kubo-spool');
    await sweepIncoming(spoolDir);
    const backend = new KuboBackend(client, agent, where, locateTimeoutMs, spoolDir);
    try {
      await client.version({ signal: AbortSignal.timeout(connectTimeoutMs) });
    } catch (e) {
      agent.destroy();
      backend.rethrow(e, 'connect');
    }
    return backend;
  }

  /** Map a client failure to a coded error; the URL is redacted and headers never appear. */
  private rethrow(e: unknown, action: string, cid?: CID): never {
    if (isLiuhenError(e)) throw e;
    const details: Record<string, unknown> = { url: this.where, action };
    if (cid) details.cid = cid.toString();
    const err = e as Error & { response?: { status?: number }; cause?: { code?: string } };
    const status = err?.response?.status;
    if (status === 401 || status === 403) {
      fail('STORE_UNAVAILABLE', `the Kubo RPC at ${this.where} refused the request (HTTP ${status}): check the auth header`, { details });
    }
    if (err instanceof Error && err.name === 'HTTPError' && NOT_FOUND.test(err.message)) {
      fail('STORE_NOT_FOUND', `no evidence object ${cid?.toString() ?? ''} on the Kubo node`, { details });
    }
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
      fail('STORE_UNAVAILABLE', `the Kubo RPC at ${this.where} did not answer in time (${action})`, { details });
    }
    if (err instanceof Error && err.name === 'HTTPError') {
      fail('STORE_UNAVAILABLE', `the Kubo RPC at ${this.where} failed to ${action}: ${err.message.slice(0, 200)}`, { details: { ...details, status } });
    }
    // Only the error code: a client message may quote the request URL.
    fail('STORE_UNAVAILABLE', `cannot reach the Kubo RPC at ${this.where} (${err?.cause?.code ?? err?.name ?? 'error'}); is the daemon running?`, { details });
  }

  async add(content: AsyncIterable<Uint8Array>): Promise<CID> {
    // The client swallows a source error and aborts the upload; keep it to rethrow as is.
    let sourceError: unknown;
    const watched = (async function* () {
      try {
        yield* content;
      } catch (e) {
        sourceError = e;
        throw e;
      }
    })();
    let result: { cid: CID };
    try {
      result = await this.client.add(
        { content: watched },
        { cidVersion: 1, rawLeaves: true, chunker: `size-${CHUNK_SIZE}`, hashAlg: 'sha2-256', trickle: false, pin: true, wrapWithDirectory: false },
      );
    } catch (e) {
      if (sourceError !== undefined) throw sourceError;
      this.rethrow(e, 'add');
    }
    const cid = parseCid(result.cid.toString(), 'cid returned by Kubo');
    if (sourceError !== undefined) {
      await this.unpin(cid);
      throw sourceError;
    }
    return cid;
  }

  private async unpin(cid: CID): Promise<void> {
    try {
      await this.client.pin.rm(cid);
    } catch {
      // best effort: a partial object is unreadable anyway (its last segment is missing)
    }
  }

  /** Find the root block in the private network, or `STORE_NOT_FOUND` after `locateTimeoutMs`. */
  private async locate(cid: CID): Promise<void> {
    try {
      await this.client.block.stat(cid, { timeout: this.locateTimeoutMs, signal: AbortSignal.timeout(this.locateTimeoutMs + 5_000) });
    } catch (e) {
      const name = (e as Error)?.name;
      if (name === 'TimeoutError' || ((e as Error)?.message ?? '').includes('context deadline exceeded')) {
        fail('STORE_NOT_FOUND', `evidence object ${cid.toString()} was not found in the private network within ${this.locateTimeoutMs} ms`, {
          details: { cid: cid.toString(), url: this.where },
        });
      }
      this.rethrow(e, 'locate', cid);
    }
  }

  async *cat(cid: CID): AsyncGenerator<Uint8Array, void, undefined> {
    await this.locate(cid);
    try {
      for await (const chunk of this.client.cat(cid)) yield chunk;
    } catch (e) {
      this.rethrow(e, 'cat', cid);
    }
  }

  async has(cid: CID): Promise<boolean> {
    try {
      // `offline` is a Kubo global option (cmdenv.GetApi): look in this node's repo only.
      await this.client.block.stat(cid, { offline: true, timeout: 10_000 } as Parameters<KuboRPCClient['block']['stat']>[1]);
      return true;
    } catch (e) {
      const err = e as Error;
      if (err?.name === 'HTTPError' && NOT_FOUND.test(err.message)) return false;
      this.rethrow(e, 'has', cid);
    }
  }

  /**
   * `dag export` of each root, checked as it streams: the node's blocks must
   * come in the order of the bounded walk (dag.ts; Kubo exports depth first,
   * root first, each block once), each re-hashed, within the CAR limits, with
   * nothing the DAG does not link. A node sending a DAG bomb, an endless
   * stream or a deep chain is refused within the limits.
   */
  exportCar(cids: readonly CID[], sink: Writable): Promise<void> {
    const self = this;
    return writeCar(cids, sink, async function* (root) {
      await self.locate(root);
      try {
        const { blocks } = await readCar(self.client.dag.export(root));
        const ordered = orderedBlocks(blocks, root.toString());
        yield* walkDag(root, ordered.get, dagBudget(MAX_CAR_BLOCKS));
        await ordered.finish();
      } catch (e) {
        self.rethrow(e, 'export', root);
      }
    });
  }

  /**
   * Import a CARv1: spooled and walked within the limits of dag.ts first (the
   * same checks as the local store), so that Kubo receives only complete,
   * bounded DAGs, each block once; then handed to Kubo, which pins the roots.
   */
  async importCar(source: AsyncIterable<Uint8Array>): Promise<CID[]> {
    const spool = await spoolCar(source, this.spoolDir, this.spoolDir);
    try {
      const roots = spool.roots;
      const budget = dagBudget(spool.blocks);
      for (const root of roots) {
        if (!spool.reader.has(root)) fail('STORE_INTEGRITY', `the CAR does not hold its root ${root.toString()}`, { details: { cid: root.toString() } });
        for await (const _block of walkDag(root, (c) => spool.reader.get(c), budget)) {
          // checked only: the blocks are sent below
        }
      }
      const { writer, out } = CarWriter.create(roots);
      const feed = (async () => {
        const sent = new Set<string>();
        try {
          for (const root of roots) {
            for await (const block of walkDag(root, (c) => spool.reader.get(c), dagBudget(spool.blocks))) {
              const key = block.cid.toString();
              if (sent.has(key)) continue;
              sent.add(key);
              await writer.put(block);
            }
          }
        } finally {
          await writer.close();
        }
      })();
      const pinned: CID[] = [];
      const upload = (async () => {
        try {
          for await (const r of this.client.dag.import(out, { pinRoots: true })) {
            if (r.root.pinErrorMsg) {
              fail('STORE_INTEGRITY', `the CAR is incomplete: Kubo could not pin ${r.root.cid.toString()}`, { details: { cid: r.root.cid.toString() } });
            }
            pinned.push(r.root.cid);
          }
        } catch (e) {
          this.rethrow(e, 'import');
        }
      })();
      await Promise.all([feed, upload]);
      const done = new Set(pinned.map((c) => c.toString()));
      const missing = roots.find((r) => !done.has(r.toString()));
      if (missing) fail('STORE_INTEGRITY', `Kubo did not import CAR root ${missing.toString()}`, { details: { cid: missing.toString() } });
      return roots;
    } finally {
      await spool.discard();
    }
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}
