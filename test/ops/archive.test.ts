import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup, restoreBackup } from '../../src/backup/index.js';
import { readTar, TarWriter, tarHeader } from '../../src/backup/tar.js';
import { isLiuhenError, type ErrorCode } from '../../src/errors.js';
import { Liuhen } from '../../src/liuhen.js';
import { clearFailpoints, enableFailpoint } from '../../src/util/failpoints.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The archive's own checks, without a chain (a stopped folder with a real
 * LevelDB journal): what restore must refuse — every way an archive can be
 * altered, cut short or be hostile (names leaving the folder, links, parts
 * the manifest does not list) — and that a refusal leaves nothing behind.
 */
interface Entry {
  name: string;
  mode: number;
  data: Buffer;
}

async function entries(path: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const fh = await open(path, 'r');
  try {
    await readTar(fh, async (e, chunks) => {
      const bufs: Buffer[] = [];
      for await (const c of chunks) bufs.push(c);
      out.push({ name: e.name, mode: e.mode, data: Buffer.concat(bufs) });
    });
  } finally {
    await fh.close();
  }
  return out;
}

async function write(path: string, list: Entry[]): Promise<string> {
  const fh = await open(path, 'w', 0o600);
  try {
    const tar = new TarWriter(fh);
    for (const e of list) await tar.add(e.name, e.mode, [e.data]);
    await tar.end();
  } finally {
    await fh.close();
  }
  return path;
}

async function refused(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(isLiuhenError(e, code), String(e)).toBe(true);
  if (message) expect((e as Error).message).toMatch(message);
}

describe('backup archive checks', () => {
  const t = tempDir('liuhen-archive-');
  const data = join(t.dir, 'station');
  const archive = join(t.dir, 'station.tar');
  const ids: string[] = [];
  let original: Entry[] = [];
  let manifestSha256 = '';
  beforeAll(async () => {
    Liuhen.init(data, { agency: 'JN-CGJ', device: 'station-01', officer: 'system' });
    const l = await Liuhen.open(data);
    for (let i = 0; i < 5; i++) ids.push((await l.recordBody({ n: i, note: `记录 ${i}` })).record.id);
    await l.seal();
    await l.close();
    mkdirSync(join(data, 'store'), { recursive: true });
    writeFileSync(join(data, 'store', 'keyring.dev-passphrase'), 'not-in-the-backup\n', { mode: 0o600 });
    const r = await createBackup({ dataDir: data, out: archive });
    manifestSha256 = r.manifestSha256;
    original = await entries(archive);
  });
  afterAll(() => t.cleanup());

  it('a stopped folder round-trips: same records, modes kept, dev passphrases left out and listed', async () => {
    const target = join(t.dir, 'restored');
    const r = await restoreBackup({ archive, dataDir: target, expectSha256: manifestSha256 });
    expect(r.manifest.mode).toBe('stopped');
    expect(r.manifest.excluded).toEqual(['store/keyring.dev-passphrase']);
    expect(existsSync(join(target, 'store', 'keyring.dev-passphrase'))).toBe(false);
    expect(readFileSync(join(target, 'config.json'), 'utf8')).toBe(readFileSync(join(data, 'config.json'), 'utf8'));
    const l = await Liuhen.open(target);
    try {
      for (const id of ids) expect((await l.journal.getRecord(id))?.record.id).toBe(id);
      expect((await l.journal.agencyHead('JN-CGJ'))?.seq).toBe(1);
    } finally {
      await l.close();
    }
    expect(readdirSync(t.dir).filter((n) => n.includes('.restoring-'))).toEqual([]);
  });

  const bad: Array<[string, (list: Entry[]) => Entry[], RegExp]> = [
    ['a flipped byte in a part', (l) => l.map((e, i) => (i === 0 ? { ...e, data: Buffer.from(e.data.map((b, j) => (j === 40 ? b ^ 1 : b))) } : e)), /SHA-256/],
    ['a part removed', (l) => l.filter((e) => e.name !== 'data/config.json'), /lacks data\/config\.json/],
    ['a part the manifest does not list', (l) => [{ name: 'data/keys/extra.pem', mode: 0o600, data: Buffer.from('x') }, ...l], /does not list/],
    ['a part twice', (l) => [l[0]!, ...l], /twice/],
    ['an entry after the manifest', (l) => [...l, { name: 'data/late', mode: 0o600, data: Buffer.from('x') }], /after its manifest/],
    ['no manifest (cut before it)', (l) => l.slice(0, -1), /no manifest/],
    ['a name leaving the folder', (l) => [{ name: 'data/../../escaped', mode: 0o600, data: Buffer.from('x') }, ...l], /no Liuhen backup writes/],
    [
      'a manifest from a newer format',
      (l) => l.map((e) => (e.name === 'manifest.json' ? { ...e, data: Buffer.from(e.data.toString().replace('liuhen-backup/1', 'liuhen-backup/9')) } : e)),
      /format liuhen-backup\/9/,
    ],
    [
      'a manifest path with ..',
      (l) =>
        l.map((e) =>
          e.name === 'manifest.json' ? { ...e, data: Buffer.from(e.data.toString().replace('"path": "config.json"', '"path": "../config.json"')) } : e,
        ),
      /manifest/,
    ],
  ];
  for (const [what, change, message] of bad) {
    it(`refuses ${what} (BACKUP_INVALID) and writes nothing`, async () => {
      const path = await write(join(t.dir, `bad-${what.replace(/\W+/g, '-')}.tar`), change(original.map((e) => ({ ...e }))));
      const target = join(t.dir, `from-${what.replace(/\W+/g, '-')}`);
      await refused(restoreBackup({ archive: path, dataDir: target }), 'BACKUP_INVALID', message);
      expect(existsSync(target)).toBe(false);
      expect(existsSync(join(t.dir, 'escaped'))).toBe(false);
      expect(readdirSync(t.dir).filter((n) => n.includes('.restoring-'))).toEqual([]);
    });
  }

  it('refuses a symbolic link, a damaged header and a truncated copy', async () => {
    const link = tarHeader({ name: 'data/keys/link', size: 0, mode: 0o777 }, Date.now());
    link.write('2', 156, 'ascii'); // typeflag symlink
    let sum = 0;
    link.fill(' ', 148, 156);
    for (const b of link) sum += b;
    link.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    const withLink = Buffer.concat([link, readFileSync(archive)]);
    writeFileSync(join(t.dir, 'link.tar'), withLink);
    await refused(restoreBackup({ archive: join(t.dir, 'link.tar'), dataDir: join(t.dir, 'from-link') }), 'BACKUP_INVALID', /not a regular file/);
    const damaged = readFileSync(archive);
    damaged[10] ^= 0x20; // inside the first header's name
    writeFileSync(join(t.dir, 'damaged.tar'), damaged);
    await refused(restoreBackup({ archive: join(t.dir, 'damaged.tar'), dataDir: join(t.dir, 'from-damaged') }), 'BACKUP_INVALID', /checksum/);
    const whole = readFileSync(archive);
    writeFileSync(join(t.dir, 'cut.tar'), whole.subarray(0, whole.length - 700));
    await refused(restoreBackup({ archive: join(t.dir, 'cut.tar'), dataDir: join(t.dir, 'from-cut') }), 'BACKUP_INVALID', /incomplete|manifest/);
    expect(existsSync(join(t.dir, 'from-cut'))).toBe(false);
  });

  it('refuses another manifest than the digest given', async () => {
    await refused(restoreBackup({ archive, dataDir: join(t.dir, 'x'), expectSha256: 'ab'.repeat(32) }), 'BACKUP_INVALID', /not the/);
  });

  it('never overwrites a non-empty folder unless told; with --force the old one is moved aside; a folder in use is never replaced', async () => {
    const target = join(t.dir, 'occupied');
    mkdirSync(target);
    writeFileSync(join(target, 'notes.txt'), 'mine');
    await refused(restoreBackup({ archive, dataDir: target }), 'RESTORE_TARGET_NOT_EMPTY');
    expect(readFileSync(join(target, 'notes.txt'), 'utf8')).toBe('mine');
    const r = await restoreBackup({ archive, dataDir: target, force: true });
    expect(readFileSync(join(r.replaced!, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(join(target, 'config.json'))).toBe(true);
    // Held by a running Liuhen (its journal's lock): refused even with force.
    const held = await Liuhen.open(target);
    try {
      await refused(restoreBackup({ archive, dataDir: target, force: true }), 'JOURNAL_LOCKED');
    } finally {
      await held.close();
    }
  });

  it("--force: when the restored folder cannot take the old one's place, the old one is put back, unchanged, and the error says so", async () => {
    const target = join(t.dir, 'occupied-put-back');
    mkdirSync(target);
    writeFileSync(join(target, 'notes.txt'), 'mine');
    enableFailpoint('restore.put-in-place', 'throw');
    try {
      await refused(restoreBackup({ archive, dataDir: target, force: true }), 'JOURNAL_IO', /the old folder is back there, unchanged/);
    } finally {
      clearFailpoints();
    }
    expect(readdirSync(target)).toEqual(['notes.txt']);
    expect(readFileSync(join(target, 'notes.txt'), 'utf8')).toBe('mine');
    // Nothing left beside it: neither the staged restore nor a moved-aside copy.
    expect(readdirSync(t.dir).filter((n) => n.startsWith('occupied-put-back'))).toEqual(['occupied-put-back']);
  });

  it('a backup refuses an existing file, a place inside the data folder, and a folder held by a process that does not serve backups', async () => {
    await refused(createBackup({ dataDir: data, out: archive }), 'INVALID_INPUT', /exists/);
    await refused(createBackup({ dataDir: data, out: join(data, 'b.tar') }), 'INVALID_INPUT', /outside/);
    // Also through a symbolic link, either way (the archive would land in the folder, and every
    // later backup would carry the earlier ones).
    const { symlinkSync } = await import('node:fs');
    symlinkSync(data, join(t.dir, 'station-link'));
    await refused(createBackup({ dataDir: join(t.dir, 'station-link'), out: join(data, 'c.tar') }), 'INVALID_INPUT', /outside/);
    await refused(createBackup({ dataDir: data, out: join(t.dir, 'station-link', 'd.tar') }), 'INVALID_INPUT', /outside/);
    const held = await Liuhen.open(data);
    try {
      await refused(createBackup({ dataDir: data, out: join(t.dir, 'held.tar') }), 'JOURNAL_LOCKED');
      const { requestBackup } = await import('../../src/backup/index.js');
      await refused(requestBackup(data, join(t.dir, 'held.tar'), false), 'BACKUP_UNAVAILABLE', /does not serve backups/);
    } finally {
      await held.close();
    }
    expect(existsSync(join(t.dir, 'held.tar'))).toBe(false);
    expect(existsSync(join(t.dir, 'held.tar.partial'))).toBe(false);
  });

  it('restores into a data folder that is a symbolic link (to a mounted volume): into the folder it names, the link kept', async () => {
    const { lstatSync, symlinkSync } = await import('node:fs');
    const volume = join(t.dir, 'volume');
    mkdirSync(volume);
    const link = join(t.dir, 'linked-station');
    symlinkSync(volume, link);
    const r = await restoreBackup({ archive, dataDir: link });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(existsSync(join(volume, 'config.json'))).toBe(true);
    expect(r.dataDir).toBe(volume);
    // --force on the link: the folder on the volume is moved aside next to itself, the new one is on the volume too.
    const again = await restoreBackup({ archive, dataDir: link, force: true });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(existsSync(join(volume, 'config.json'))).toBe(true);
    expect(again.replaced!.startsWith(`${volume}.replaced-`)).toBe(true);
  });

  it('prints nothing of a hostile manifest raw: control characters in its names and dates are escaped (no terminal escapes)', async () => {
    const { liuhen } = await import('../helpers/cli.js');
    const list = original.map((e) => ({ ...e }));
    const m = list.at(-1)!;
    const manifest = JSON.parse(m.data.toString('utf8'));
    manifest.createdAt = '2026\u001b]52;c;ZXZpbA==\u0007';
    manifest.excluded = ['store/keyring.dev-passphrase\u001b[2K\u001b[1Aall good\r'];
    m.data = Buffer.from(JSON.stringify(manifest));
    const hostile = await write(join(t.dir, 'escapes.tar'), list);
    const r = liuhen(['--data', join(t.dir, 'escapes'), 'restore', hostile]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain('\\u001b');
  });

  it('--force: a Liuhen that opens the folder while the restore is being staged cannot have it moved away under it', { timeout: 120_000 }, async () => {
    // The lock was checked once, before staging; `liuhen start` opening the folder meanwhile then had its
    // journal renamed to <dir>.replaced-… under it, while LevelDB goes on creating files by path — in the
    // restored journal. The restore holds the folder's locks from the check to the rename.
    const { randomBytes } = await import('node:crypto');
    const big = join(t.dir, 'big-src');
    Liuhen.init(big, { agency: 'JN-CGJ', device: 'station-01', officer: 'system' });
    await (await Liuhen.open(big)).close();
    mkdirSync(join(big, 'store', 'objects'), { recursive: true });
    for (let i = 0; i < 4; i++) writeFileSync(join(big, 'store', 'objects', `o${i}`), randomBytes(48 * 1024 * 1024));
    const bigArchive = join(t.dir, 'big.tar');
    await createBackup({ dataDir: big, out: bigArchive });
    const target = join(t.dir, 'busy');
    Liuhen.init(target, { agency: 'JN-CGJ', device: 'station-01', officer: 'system' });
    await (await Liuhen.open(target)).close();
    const restoring = restoreBackup({ archive: bigArchive, dataDir: target, force: true }).then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    let done = false;
    void restoring.then(() => (done = true));
    while (!done && !readdirSync(t.dir).some((n) => n.startsWith('.busy.restoring-'))) await new Promise((r) => setTimeout(r, 2));
    // `liuhen start` comes along while the restore is staged.
    const opened = await Liuhen.open(target).then(
      (l) => ({ l, before: !done }),
      (e: unknown) => ({ e }),
    );
    const result = await restoring;
    if ('l' in opened) {
      await opened.l.close();
      // Opened before the restore put its folder in place: the restore must not have moved it away.
      if (opened.before) expect(result.ok, 'the restore moved a folder in use aside').toBe(false);
    } else {
      expect(isLiuhenError(opened.e, 'JOURNAL_LOCKED'), String(opened.e)).toBe(true);
      expect(result.ok, String((result as { e?: unknown }).e)).toBe(true);
    }
  });

  it('an error about a hostile entry name reaches the terminal with its control characters escaped', async () => {
    const { liuhen } = await import('../helpers/cli.js');
    const hostile = await write(join(t.dir, 'escape-name.tar'), [
      { name: 'data/\u001b]52;c;ZXZpbA==\u0007\u001b[2Kx', mode: 0o600, data: Buffer.from('x') },
      ...original,
    ]);
    const r = liuhen(['--data', join(t.dir, 'escape-name'), 'restore', '--check', hostile]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('[BACKUP_INVALID]');
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });

  it('keeps file modes (keys stay 0600)', async () => {
    mkdirSync(join(data, 'keys'), { recursive: true });
    writeFileSync(join(data, 'keys', 'agency.json'), '{"crypto":{}}', { mode: 0o600 });
    chmodSync(join(data, 'keys', 'agency.json'), 0o600);
    const out = join(t.dir, 'modes.tar');
    await createBackup({ dataDir: data, out });
    const target = join(t.dir, 'modes');
    await restoreBackup({ archive: out, dataDir: target });
    const { statSync } = await import('node:fs');
    expect(statSync(join(target, 'keys', 'agency.json')).mode & 0o777).toBe(0o600);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });
});
