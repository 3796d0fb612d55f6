import type { Command } from 'commander';
import { isLiuhenError } from '../src/errors.js';
import type { BackupResult, RestoreResult } from '../src/index.js';
import { humanBytes, printable, printJson, printLine, type Run } from './output.js';
import { sdk } from './sdk.js';

/** Which passphrase a left-out dev passphrase file stands for (the restored folder needs it back, or the variable). */
function passphraseHint(rel: string): string {
  if (rel.startsWith('store/')) return 'LIUHEN_KEYRING_PASSPHRASE';
  if (rel.startsWith('notary/')) return 'LIUHEN_NOTARY_PASSPHRASE';
  if (rel.startsWith('keys/agency')) return 'LIUHEN_AGENCY_PASSPHRASE';
  return 'its passphrase variable';
}

function describeBackup(r: BackupResult): string[] {
  const m = r.manifest;
  const lines = [
    `backup written: ${r.path} (${humanBytes(r.bytes)}, ${m.parts.length} parts, taken from a ${m.mode} system)`,
    ...m.parts.filter((x) => x.kind === 'leveldb').map((x) => `  ${x.path.padEnd(12)} ${x.entries} entries (LevelDB snapshot)`),
    m.chain
      ? `  chain state  block ${m.chain.block}${m.chain.registry ? ` (registry ${m.chain.registry})` : ''}${r.chainFrozenMs !== null ? `; mining paused ${r.chainFrozenMs} ms for the snapshots` : ''}`
      : '  chain state  none (not an embedded chain)',
    `manifest SHA-256 ${r.manifestSha256}`,
    '  keep this digest apart from the archive: `liuhen restore --sha256 <digest>` refuses any other manifest',
  ];
  if (m.excluded.length > 0) {
    lines.push('left out (keep these passphrases apart from the backup; a restored folder needs them back or the variable set):');
    for (const x of m.excluded) lines.push(`  ${printable(x)}  (${passphraseHint(x)})`);
  }
  return lines;
}

function describeRestore(r: RestoreResult): string[] {
  const m = r.manifest;
  const lines = r.checkOnly
    ? [`the archive is complete and matches its manifest (${m.parts.length} parts, SHA-256 ${r.manifestSha256}); nothing written`]
    : [`restored ${m.parts.length} parts of the backup of ${printable(m.createdAt)} into ${printable(r.dataDir)}`];
  if (r.replaced) lines.push(`the folder that was there is kept at ${printable(r.replaced)}`);
  if (m.excluded.length > 0 && !r.checkOnly) {
    lines.push('not in the backup (copy them back from where you keep them, or set the variable):');
    for (const x of m.excluded) lines.push(`  ${printable(x)}  (${passphraseHint(x)})`);
  }
  if (!r.checkOnly) lines.push(`next: liuhen --data ${r.dataDir} start`);
  return lines;
}

/** `liuhen backup` and `liuhen restore` (docs/operations.md#backup-and-restore). */
export function registerBackupCommands(program: Command, run: Run): void {
  program
    .command('backup')
    .description(
      'write one archive (tar) of the data folder — journal, notary log, embedded chain state, keys, keyring, evidence store, gateway tokens — with a manifest of SHA-256s; consistent while `liuhen start` runs (it writes the archive itself), or of a stopped folder',
    )
    .requiredOption('--out <file>', 'the archive to write (must not exist; outside the data folder)')
    .option('--with-dev-passphrases', 'also copy the dev passphrase files (dev chains; by default they are left out and listed)')
    .addHelpText(
      'after',
      `
The archive holds keystores and the keyring as they are on disk (encrypted);
their passphrases are not in it unless --with-dev-passphrases. It is written
as <file>.partial and renamed when complete (mode 0600).`,
    )
    .action((o: { out: string; withDevPassphrases?: boolean }) =>
      run(async (g) => {
        const withDev = o.withDevPassphrases === true;
        let r: BackupResult;
        try {
          r = await sdk.createBackup({ dataDir: g.data, out: o.out, withDevPassphrases: withDev });
        } catch (e) {
          // The folder is held by a running system: it takes the backup itself, consistently.
          if (!isLiuhenError(e, 'JOURNAL_LOCKED')) throw e;
          const { resolve } = await import('node:path');
          r = await sdk.requestBackup(g.data, resolve(o.out), withDev);
        }
        if (g.json) printJson({ path: r.path, bytes: r.bytes, manifestSha256: r.manifestSha256, chainFrozenMs: r.chainFrozenMs, manifest: r.manifest });
        else describeBackup(r).forEach((l) => printLine(l));
      }),
    );

  program
    .command('restore')
    .description(
      'restore an archive of `liuhen backup` into a fresh data folder (--data): every part is checked against the manifest first; a tampered or partial archive is refused (BACKUP_INVALID) and nothing is written',
    )
    .argument('<archive>', 'the archive written by liuhen backup')
    .option('--sha256 <digest>', 'the manifest SHA-256 printed by liuhen backup: refuse any other')
    .option('--force', 'replace a non-empty data folder (it is moved aside to <dir>.replaced-<time>, not deleted)')
    .option('--check', 'only check the archive; write nothing')
    .action((archive: string, o: { sha256?: string; force?: boolean; check?: boolean }) =>
      run(async (g) => {
        const r = await sdk.restoreBackup({ archive, dataDir: g.data, force: o.force, expectSha256: o.sha256, checkOnly: o.check });
        if (g.json)
          printJson({ dataDir: r.dataDir, checkOnly: r.checkOnly, manifestSha256: r.manifestSha256, replaced: r.replaced, excluded: r.manifest.excluded });
        else describeRestore(r).forEach((l) => printLine(l));
      }),
    );
}
