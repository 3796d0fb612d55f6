import { z } from 'zod';

/**
 * The manifest of a `liuhen backup` archive (the archive's last entry,
 * `manifest.json`): what each part is, where it goes in a data folder, its
 * size and SHA-256 (FIPS 180-4). Restore refuses an archive whose parts are
 * not exactly these, byte for byte.
 */
export const BACKUP_FORMAT = 'liuhen-backup/1';
export const MANIFEST_NAME = 'manifest.json';

/** A path inside a data folder: relative, forward slashes, no `.`/`..` segments, plain characters. */
export const SAFE_PATH = /^[A-Za-z0-9_@+=,.~-]+(\/[A-Za-z0-9_@+=,.~-]+)*$/;
export const isSafePath = (p: string): boolean => p.length <= 240 && SAFE_PATH.test(p) && !p.split('/').some((s) => s === '.' || s === '..');
const relPath = z.string().refine(isSafePath, 'a relative path of plain characters without . or .. segments');

export const backupPartSchema = z.strictObject({
  /** Entry name in the archive: `data/<path>` for a file, `leveldb/<path with / as ->.ldump` for a LevelDB dump. */
  name: z.string().max(255),
  kind: z.enum(['file', 'leveldb']),
  /** Where it goes, relative to the data folder (a LevelDB dump becomes the database folder at this path). */
  path: relPath,
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** File mode (permission bits) to restore. */
  mode: z.number().int().min(0).max(0o777),
  /** LevelDB dumps: the number of entries. */
  entries: z.number().int().min(0).optional(),
});

export const backupManifestSchema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  createdAt: z.string().max(64),
  /** `running`: taken from a running `liuhen start` (journal and notary log snapshots, chain mining paused); `stopped`: nothing was running. */
  mode: z.enum(['running', 'stopped']),
  /** The data folder it was taken from (for people; restore goes wherever it is told). */
  source: z.string().max(4096),
  /** The embedded chain's state in the archive (null: none — an external chain is its own backup). */
  chain: z
    .strictObject({
      chainId: z.number().int().positive().optional(),
      registry: z.string().max(64).optional(),
      /** Head block of the chain state in the archive. */
      block: z.number().int().min(0),
    })
    .nullable(),
  parts: z.array(backupPartSchema).max(10_000_000),
  /** Files of the folder deliberately left out (dev passphrases unless asked for), relative paths. */
  excluded: z.array(z.string().max(4096)).max(10_000),
});

export type BackupManifest = z.infer<typeof backupManifestSchema>;
export type BackupPart = z.infer<typeof backupPartSchema>;

/** The archive entry name of a part. */
export function partName(kind: BackupPart['kind'], path: string): string {
  return kind === 'file' ? `data/${path}` : `leveldb/${path.replaceAll('/', '-')}.ldump`;
}
