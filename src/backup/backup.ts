import { createHash } from 'node:crypto';
import { createReadStream, existsSync, realpathSync } from 'node:fs';
import { lstat, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { Level } from 'level';
import { checkStateFile, exitStatePath, rpcCall } from '../chain/anvil.js';
import { paths, readConfig } from '../config.js';
import { fail } from '../errors.js';
import { fsyncDir } from '../util/atomic-write.js';
import { snapshotLevel, type LevelSnapshot } from './level-dump.js';
import { BACKUP_FORMAT, isSafePath, MANIFEST_NAME, partName, type BackupManifest, type BackupPart } from './manifest.js';
import { TarWriter } from './tar.js';

const gunzipAsync = promisify(gunzip);

/**
 * `liuhen backup`: one archive (ustar, tar.ts) of everything a station must
 * not lose — the journal, the notary's log, the embedded chain's state, the
 * keys and keystores (copied as they are: encrypted ones stay encrypted), the
 * evidence store and its keyring, the gateway's tokens and settings — with a
 * manifest holding each part's SHA-256.
 *
 * Consistent while running. The journal and the notary log are LevelDBs
 * read from snapshots; the chain is Anvil's `anvil_dumpState`. Between them
 * the references run one way: the journal and the notary log name blocks
 * and transactions of the chain. So the chain is frozen first (automine
 * off: transactions sent meanwhile wait in the pool), its state is dumped,
 * the two LevelDB snapshots are taken, and mining resumes — a pause of one
 * dump. Every anchor and co-signature the snapshots call mined is in the
 * dumped chain; a transaction they hold as sent but not mined is in their
 * outboxes (raw bytes, written before sending) and is sent again after a
 * restore, as after a crash. Taking the chain after the journal instead
 * could hold a batch the restored journal never sealed, and the registry
 * would then refuse the journal's own next batch (prevRoot); before it,
 * receipts served in between would name blocks the restored chain lacks.
 * The evidence store is copied after the journal snapshot: its objects are
 * written before a record naming them is journaled, and never changed.
 */
export interface BackupParameters {
  dataDir: string;
  /** The archive to write (must not exist; written as `<out>.partial`, renamed when complete). */
  out: string;
  /** Also copy the dev passphrase files (dev chains only; never for production keys). @default false */
  withDevPassphrases?: boolean | undefined;
  /** A running system's own handles (`liuhen start`): snapshots are taken from them instead of opening the folder. */
  running?: RunningSources | undefined;
}

export interface RunningSources {
  journal: { backupSnapshot(): LevelSnapshot };
  notary?: { backupSnapshot(): LevelSnapshot } | undefined;
  /** The embedded chain (its JSON-RPC). */
  chain?: { rpc: string } | undefined;
}

export interface BackupResult {
  path: string;
  bytes: number;
  /** SHA-256 of the manifest: keep it apart from the archive; `liuhen restore --sha256` checks it. */
  manifestSha256: string;
  manifest: BackupManifest;
  /** How long the embedded chain was frozen (no block mined) for the snapshots, ms; null when no running chain was frozen. */
  chainFrozenMs: number | null;
}

/** Top-level entries that are not copied as files (LevelDBs are dumped, the chain state is taken apart, runtime files are not state). */
const RUNTIME = new Set(['run.json', 'control.sock']);

const isDevPassphrase = (rel: string): boolean => /(^|[/.])dev-passphrase$/.test(rel);

export async function createBackup(p: BackupParameters): Promise<BackupResult> {
  const dir = paths(p.dataDir);
  const out = resolve(p.out);
  const config = readConfig(p.dataDir);
  if (existsSync(out)) fail('INVALID_INPUT', `${out} exists already; choose a new file name for the backup`);
  if (!existsSync(dirname(out))) fail('INVALID_INPUT', `the folder of ${out} does not exist`);
  // Compared as real paths: through a symbolic link (to the folder, or given as the folder) the
  // archive landed inside the data folder, and every later backup carried the earlier ones.
  const realRoot = existsSync(dir.root) ? realpathSync(dir.root) : dir.root;
  const realOut = join(realpathSync(dirname(out)), basename(out));
  if (out === dir.root || out.startsWith(dir.root + sep) || realOut === realRoot || realOut.startsWith(realRoot + sep))
    fail('INVALID_INPUT', `write the backup outside the data folder ${dir.root}`);

  const opened: Array<Level<string, string>> = [];
  const snapshots: LevelSnapshot[] = [];
  let chainState: { json: Buffer; block: number } | undefined;
  let chainFrozenMs: number | null = null;
  const partial = `${out}.partial`;
  try {
    let journal: LevelSnapshot;
    let notary: LevelSnapshot | undefined;
    if (p.running) {
      const r = p.running;
      const take = () => {
        journal = r.journal.backupSnapshot();
        snapshots.push(journal);
        notary = r.notary?.backupSnapshot();
        if (notary) snapshots.push(notary);
      };
      if (r.chain) ({ chainState, frozenMs: chainFrozenMs } = await frozen(r.chain.rpc, take));
      else take();
    } else {
      const jdb = await openIdle(dir.journal, 'JOURNAL_LOCKED', `the data folder ${dir.root} is in use`);
      opened.push(jdb);
      journal = snapshotLevel(jdb);
      snapshots.push(journal);
      const logDir = join(dir.notary, 'log');
      if (existsSync(logDir)) {
        const ndb = await openIdle(logDir, 'BACKUP_UNAVAILABLE', `the notary log ${logDir} is in use (\`liuhen notary serve\`?); stop it for the backup`);
        opened.push(ndb);
        notary = snapshotLevel(ndb);
        snapshots.push(notary);
      }
      chainState = await stoppedChainState(join(dir.chain, 'state.json'));
    }

    // A `.partial` left by a backup that was killed is incomplete by definition (the rename makes an archive).
    await rm(partial, { force: true });
    const fh = await open(partial, 'wx', 0o600);
    const parts: BackupPart[] = [];
    const excluded: string[] = [];
    try {
      const tar = new TarWriter(fh);
      const addLevel = async (path: string, snap: LevelSnapshot) => {
        const name = partName('leveldb', path);
        const w = await tar.add(name, 0o600, snap.chunks());
        parts.push({ name, kind: 'leveldb', path, bytes: w.bytes, sha256: w.sha256, mode: 0o700, entries: snap.entries() });
      };
      await addLevel('journal', journal!);
      if (notary) await addLevel('notary/log', notary);
      if (chainState) {
        const name = partName('file', 'chain/state.json');
        const w = await tar.add(name, 0o600, [chainState.json]);
        parts.push({ name, kind: 'file', path: 'chain/state.json', bytes: w.bytes, sha256: w.sha256, mode: 0o600 });
      }
      for await (const f of walk(dir.root, dir.root)) {
        const top = f.rel.split('/')[0]!;
        if (top === 'journal' || top === 'chain' || f.rel.startsWith('notary/log/') || RUNTIME.has(f.rel)) continue;
        if (f.rel.startsWith('store/incoming/') || f.rel.endsWith('.tmp') || f.rel.endsWith('.partial')) continue;
        // A name restore would refuse (odd characters, too long) is left out and listed, not silently dropped.
        if ((isDevPassphrase(f.rel) && !p.withDevPassphrases) || !isSafePath(f.rel)) {
          excluded.push(f.rel);
          continue;
        }
        const name = partName('file', f.rel);
        const w = await tar.add(name, f.mode, createReadStream(f.abs));
        parts.push({ name, kind: 'file', path: f.rel, bytes: w.bytes, sha256: w.sha256, mode: f.mode & 0o777 });
      }
      const manifest: BackupManifest = {
        format: BACKUP_FORMAT,
        createdAt: new Date().toISOString(),
        mode: p.running ? 'running' : 'stopped',
        source: dir.root,
        chain: chainState ? { chainId: config.chain?.chainId, registry: config.chain?.registry, block: chainState.block } : null,
        parts,
        excluded,
      };
      const text = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
      await tar.add(MANIFEST_NAME, 0o600, [text]);
      await tar.end();
      await fh.sync();
      const { size } = await fh.stat();
      await fh.close();
      await rename(partial, out);
      await fsyncDir(dirname(out));
      return { path: out, bytes: size, manifestSha256: createHash('sha256').update(text).digest('hex'), manifest, chainFrozenMs };
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  } finally {
    for (const s of snapshots) await s.close().catch(() => {});
    for (const db of opened) await db.close().catch(() => {});
  }
}

/**
 * Runs `take` with the embedded chain frozen and returns the chain's state
 * as of that moment. Automine off (Anvil's `evm_setAutomine`): nothing is
 * mined until it is on again, and transactions sent meanwhile are mined then.
 */
async function frozen(rpc: string, take: () => void): Promise<{ chainState: { json: Buffer; block: number }; frozenMs: number }> {
  await rpcCall(rpc, 'evm_setAutomine', [false]);
  const t0 = performance.now();
  let dump: string;
  try {
    dump = await rpcCall<string>(rpc, 'anvil_dumpState', []);
    take();
  } finally {
    await rpcCall(rpc, 'evm_setAutomine', [true]);
    // What was sent while frozen is mined now, not at the next transaction.
    const pool = await rpcCall<{ pending: string }>(rpc, 'txpool_status', []).catch(() => ({ pending: '0x0' }));
    if (Number(pool.pending) > 0) await rpcCall(rpc, 'evm_mine', []);
  }
  const frozenMs = Math.round(performance.now() - t0);
  const json = await gunzipAsync(Buffer.from(dump.replace(/^0x/, ''), 'hex'));
  const block = Number((JSON.parse(json.toString('utf8')) as { best_block_number?: string | number }).best_block_number);
  if (!Number.isSafeInteger(block)) fail('BACKUP_UNAVAILABLE', 'the embedded chain answered anvil_dumpState without a head block');
  return { chainState: { json, block }, frozenMs };
}

/** The chain state of a stopped system: the newer complete one of `state.json` and Anvil's own exit dump. */
async function stoppedChainState(statePath: string): Promise<{ json: Buffer; block: number } | undefined> {
  let best: { path: string; block: number } | undefined;
  for (const path of [statePath, exitStatePath(statePath)]) {
    if (!existsSync(path)) continue;
    const c = await checkStateFile(path);
    if (c.ok && (!best || c.block > best.block)) best = { path, block: c.block };
  }
  if (!best) {
    if (existsSync(statePath))
      fail('BACKUP_UNAVAILABLE', `the chain state ${statePath} is damaged; start the system once (it falls back to the previous snapshot)`);
    return undefined;
  }
  const fh = await open(best.path, 'r');
  try {
    return { json: await fh.readFile(), block: best.block };
  } finally {
    await fh.close();
  }
}

/** Opens a LevelDB that no process holds; a held one fails with `code`. */
async function openIdle(dir: string, code: 'JOURNAL_LOCKED' | 'BACKUP_UNAVAILABLE', message: string): Promise<Level<string, string>> {
  const db = new Level<string, string>(dir, { valueEncoding: 'utf8', createIfMissing: false });
  try {
    await db.open();
  } catch (cause) {
    const locked = (cause as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED';
    if (locked) fail(code, message, { cause, details: { dir } });
    fail('JOURNAL_IO', `cannot open ${dir}: ${(cause as Error).message}`, { cause, details: { dir } });
  }
  return db;
}

async function* walk(root: string, dir: string): AsyncGenerator<{ abs: string; rel: string; mode: number }> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const abs = join(dir, e.name);
    const rel = relative(root, abs).split(sep).join('/');
    if (e.isDirectory()) yield* walk(root, abs);
    else if (e.isFile()) yield { abs, rel, mode: (await lstat(abs)).mode & 0o777 };
    // symlinks, sockets, fifos: not state
  }
}
