import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, realpath, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Level } from 'level';
import { fail, isLiuhenError, LiuhenError } from '../errors.js';
import { fsyncDir } from '../util/atomic-write.js';
import { failpoint } from '../util/failpoints.js';
import { loadLevelDump } from './level-dump.js';
import { backupManifestSchema, isSafePath, MANIFEST_NAME, partName, type BackupManifest } from './manifest.js';
import { readTar } from './tar.js';

export interface RestoreParameters {
  /** The archive written by `liuhen backup`. */
  archive: string;
  /** The data folder to restore into: absent or empty, unless `force`. */
  dataDir: string;
  /** Replace a non-empty folder: it is moved aside to `<dir>.replaced-<time>` (never deleted), and only once the restore is complete. */
  force?: boolean | undefined;
  /** The manifest's SHA-256 as `liuhen backup` printed it: an archive with another manifest is refused. */
  expectSha256?: string | undefined;
  /** Only check the archive (every part against the manifest); write nothing. */
  checkOnly?: boolean | undefined;
}

export interface RestoreResult {
  dataDir: string;
  manifest: BackupManifest;
  manifestSha256: string;
  /** Where the folder that was replaced (--force) now is. */
  replaced?: string | undefined;
  checkOnly: boolean;
}

const DISK_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO']);
const MAX_MANIFEST_BYTES = 512 * 1024 * 1024;
const ENTRY_NAME = /^(data\/.+|leveldb\/[A-Za-z0-9_@+=,.~-]+\.ldump|manifest\.json)$/;

/**
 * `liuhen restore`: checks the whole archive first — every entry present in
 * the manifest and nothing else, each of the manifest's size and SHA-256, the
 * archive complete — into a staging folder next to the target, builds the
 * LevelDBs from their dumps there, and only then puts the folder in place
 * (one rename). A tampered or partial archive is BACKUP_INVALID and leaves
 * nothing behind; a non-empty target is RESTORE_TARGET_NOT_EMPTY unless
 * `force`, and a folder a running Liuhen holds is never replaced.
 */
export async function restoreBackup(p: RestoreParameters): Promise<RestoreResult> {
  const archive = resolve(p.archive);
  // A data folder that is a symbolic link (to a mounted volume, say) is restored into the folder it
  // names: staging next to the link and renaming onto it failed (ENOTDIR, reported as a damaged
  // archive), and with --force it put the restored data on the link's disk, not the volume.
  const given = resolve(p.dataDir);
  const target = (await lstat(given).catch(() => undefined))?.isSymbolicLink() ? await realpath(given).catch(() => given) : given;
  if (!existsSync(archive)) fail('FILE_UNREADABLE', `no backup archive at ${archive}`);
  const checkOnly = p.checkOnly ?? false;
  const expect = p.expectSha256?.toLowerCase();
  if (expect !== undefined && !/^[0-9a-f]{64}$/.test(expect))
    fail('INVALID_INPUT', '--sha256 must be 64 hex digits (the manifest digest `liuhen backup` printed)');

  // The replaced folder's LevelDBs stay open (locked) from the check to the rename: checked once
  // and released, a `liuhen start` opening the folder while the restore was staged had it renamed
  // away under it — LevelDB goes on creating its files by path, in the restored journal.
  const held: Array<Level<string, string>> = [];
  const release = async () => {
    for (const db of held.splice(0)) await db.close().catch(() => {});
  };
  let occupied = false;
  if (!checkOnly)
    occupied = await checkTarget(target, p.force ?? false, held).catch(async (e: unknown) => {
      await release();
      throw e;
    });

  const staging = join(dirname(target), `.${basename(target)}.restoring-${randomBytes(6).toString('hex')}`);
  const dumps = join(staging, '.restore-dumps');
  try {
    if (!checkOnly) {
      await mkdir(dirname(target), { recursive: true });
      await mkdir(dumps, { recursive: true, mode: 0o700 });
    }
    const seen = new Map<string, { bytes: number; sha256: string }>();
    let manifestText: Buffer | undefined;
    const fh = await open(archive, 'r');
    try {
      await readTar(fh, async (entry, chunks) => {
        if (manifestText) fail('BACKUP_INVALID', `the archive has an entry after its manifest (${entry.name.slice(0, 120)}): it was altered`);
        if (!ENTRY_NAME.test(entry.name) || (entry.name.startsWith('data/') && !isSafePath(entry.name.slice(5))))
          fail('BACKUP_INVALID', `the archive holds an entry no Liuhen backup writes: ${entry.name.slice(0, 120)}`);
        if (seen.has(entry.name)) fail('BACKUP_INVALID', `the archive holds ${entry.name} twice: it was altered`);
        if (entry.name === MANIFEST_NAME) {
          if (entry.size > MAX_MANIFEST_BYTES) fail('BACKUP_INVALID', 'the manifest is implausibly large');
          const bufs: Buffer[] = [];
          for await (const c of chunks) bufs.push(c);
          manifestText = Buffer.concat(bufs);
          return;
        }
        const hash = createHash('sha256');
        const dest = checkOnly
          ? undefined
          : entry.name.startsWith('data/')
            ? join(staging, entry.name.slice(5))
            : join(dumps, entry.name.slice('leveldb/'.length));
        if (dest) await mkdir(dirname(dest), { recursive: true, mode: 0o700 });
        const out = dest ? await open(dest, 'wx', 0o600) : undefined;
        let bytes = 0;
        try {
          for await (const c of chunks) {
            hash.update(c);
            bytes += c.length;
            if (out) await out.write(c);
          }
          await out?.sync();
        } finally {
          await out?.close();
        }
        seen.set(entry.name, { bytes, sha256: hash.digest('hex') });
      });
    } finally {
      await fh.close();
    }
    if (!manifestText) fail('BACKUP_INVALID', 'the archive has no manifest: it is incomplete (the manifest is its last entry)');
    const manifestSha256 = createHash('sha256').update(manifestText).digest('hex');
    if (expect !== undefined && expect !== manifestSha256)
      fail('BACKUP_INVALID', `the archive's manifest has SHA-256 ${manifestSha256}, not the ${expect} given: it is another backup, or it was altered`);
    const manifest = parseManifest(manifestText);
    for (const part of manifest.parts) {
      if (part.name !== partName(part.kind, part.path))
        fail('BACKUP_INVALID', `the manifest names part ${part.name.slice(0, 120)} for ${part.path}: it was altered`);
      const got = seen.get(part.name);
      if (!got) fail('BACKUP_INVALID', `the archive lacks ${part.name}: it is incomplete`, { details: { part: part.name } });
      if (got.bytes !== part.bytes || got.sha256 !== part.sha256)
        fail('BACKUP_INVALID', `${part.name} does not match its SHA-256 in the manifest: it was altered or damaged`, {
          details: { part: part.name, expected: part.sha256, actual: got.sha256 },
        });
      seen.delete(part.name);
    }
    const extra = [...seen.keys()];
    if (extra.length > 0) fail('BACKUP_INVALID', `the archive holds ${extra.length} entr(ies) its manifest does not list, e.g. ${extra[0]!.slice(0, 120)}`);
    if (!manifest.parts.some((x) => x.kind === 'leveldb' && x.path === 'journal') || !manifest.parts.some((x) => x.path === 'config.json'))
      fail('BACKUP_INVALID', 'the archive has no journal or no config.json: not a backup of a Liuhen data folder');
    if (checkOnly) return { dataDir: target, manifest, manifestSha256, checkOnly };

    // The LevelDBs, rebuilt from their dumps.
    for (const part of manifest.parts) {
      const at = join(staging, part.path);
      if (part.kind === 'leveldb') {
        await mkdir(dirname(at), { recursive: true, mode: 0o700 });
        const db = new Level<string, string>(at, { createIfMissing: true, errorIfExists: true });
        await db.open();
        try {
          const n = await loadLevelDump(db, createReadStream(join(dumps, part.name.slice('leveldb/'.length))), part.name);
          if (part.entries !== undefined && n !== part.entries) fail('BACKUP_INVALID', `${part.name} holds ${n} entries, the manifest says ${part.entries}`);
        } finally {
          await db.close();
        }
        await chmod(at, 0o700);
      } else {
        await chmod(at, part.mode & 0o777);
      }
    }
    await rm(dumps, { recursive: true, force: true });
    await fsyncDir(staging);

    let replaced: string | undefined;
    if (occupied) {
      replaced = `${target}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await rename(target, replaced);
    } else if (existsSync(target)) {
      await rmdir(target);
    }
    try {
      failpoint('restore.put-in-place');
      await rename(staging, target);
    } catch (cause) {
      if (!replaced) throw cause;
      // The old folder was moved aside and the new one cannot take its place: put the old one back,
      // so the operator is left where they started — and told where it is if even that fails.
      const back = await rename(replaced, target).then(
        () => true,
        () => false,
      );
      throw new LiuhenError(
        'JOURNAL_IO',
        back
          ? `could not put the restored folder in place at ${target} (${(cause as Error).message}); the old folder is back there, unchanged: fix the cause and restore again`
          : `could not put the restored folder in place at ${target} (${(cause as Error).message}); the old folder is at ${replaced}: move it back to ${target}`,
        { cause },
      );
    }
    await fsyncDir(dirname(target));
    await release();
    return { dataDir: target, manifest, manifestSha256, replaced, checkOnly };
  } catch (e) {
    await release();
    if (!checkOnly) await rm(staging, { recursive: true, force: true });
    if (isLiuhenError(e)) throw e;
    // A disk that fills (or refuses writes) is not a damaged archive: BACKUP_INVALID ("altered or
    // damaged", exit 2) would tell the operator to throw a good backup away.
    const errno = (e as NodeJS.ErrnoException).code;
    const message = (e as Error).message;
    if ((errno && DISK_ERRORS.has(errno)) || /no space left|disk quota|read-only file system|IO error/i.test(message))
      throw new LiuhenError(
        'JOURNAL_IO',
        `could not write the restored folder next to ${target}: ${message}; nothing was put in place (the archive is not at fault: free space and restore again)`,
        { cause: e },
      );
    throw new LiuhenError('BACKUP_INVALID', `the archive could not be restored: ${message}`, { cause: e });
  }
}

function parseManifest(text: Buffer): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text.toString('utf8'));
  } catch {
    return fail('BACKUP_INVALID', 'the manifest is not JSON: the archive was altered or damaged');
  }
  const r = backupManifestSchema.safeParse(raw);
  if (!r.success) {
    const format = (raw as { format?: unknown } | null)?.format;
    if (typeof format === 'string' && format.startsWith('liuhen-backup/') && format !== 'liuhen-backup/1')
      fail('BACKUP_INVALID', `the archive is of format ${format}, which this version of Liuhen does not know; restore it with a newer Liuhen`);
    fail('BACKUP_INVALID', `the manifest is not one of a Liuhen backup: ${r.error.issues[0]?.message ?? 'invalid'}`);
  }
  return r.data;
}

/** True when the target holds something (then `force` is needed, and no running Liuhen may hold it). */
async function checkTarget(target: string, force: boolean, held: Array<Level<string, string>>): Promise<boolean> {
  const st = await stat(target).catch(() => undefined);
  if (!st) return false;
  if (!st.isDirectory()) fail('RESTORE_TARGET_NOT_EMPTY', `${target} exists and is not a folder`);
  if ((await readdir(target)).length === 0) return false;
  if (!force)
    fail('RESTORE_TARGET_NOT_EMPTY', `${target} is not empty; restore into a fresh folder, or give --force to replace it (it is moved aside, not deleted)`, {
      details: { dir: target },
    });
  for (const db of [join(target, 'journal'), join(target, 'notary', 'log')]) {
    if (!existsSync(db)) continue;
    const level = new Level<string, string>(db, { createIfMissing: false });
    try {
      await level.open();
    } catch (cause) {
      if ((cause as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED')
        fail('JOURNAL_LOCKED', `${target} is in use by a running Liuhen; stop it before replacing its data folder`, { details: { dir: target } });
      continue; // a damaged folder may be replaced
    }
    held.push(level);
  }
  return true;
}
