import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, describe, expect, it } from 'vitest';
import { isAnchored, type AnchorState } from '../../src/chain/state.js';
import { Liuhen } from '../../src/liuhen.js';
import { jsonLines, liuhen } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { api, liuhenAsync, start, stop, stopOrKill, until, upload, type Started } from './helpers.js';

/**
 * Issue 14: `liuhen backup` of a RUNNING system (real processes: `liuhen
 * start` with its Anvil, notary and gateway, uploads going on during the
 * backup), restored into a fresh folder, started from there, and every
 * receipt served before the backup verified against the restored chain with
 * `liuhen verify` (exit 0). The restored system must also go on anchoring
 * (its journal and the registry on its chain agree) — what a backup taken in
 * the wrong order breaks.
 */
describe('liuhen backup / restore of a running system', () => {
  const t = tempDir('liuhen-backup-');
  const running: Started[] = [];
  afterAll(async () => {
    for (const s of running) await stopOrKill(s);
    t.cleanup();
  }, 90_000);

  it('backs up while running, restores into a fresh folder, starts from it and verifies every receipt served before', { timeout: 480_000 }, async () => {
    const data = join(t.dir, 'station');
    const first = await start(data);
    running.push(first);
    const { url, tokens } = first.info;
    const sup = api(url, tokens.supervisor);

    // Records, anchored and notarized, with the receipts the gateway serves.
    const served: Array<{ id: string; file: string; receipt: string }> = [];
    for (let i = 0; i < 3; i++) {
      const { id, bytes } = await upload(url, tokens.agency, `BWC-${i % 2}`, i);
      const file = join(t.dir, `evidence-${i}.jpg`);
      writeFileSync(file, bytes);
      served.push({ id, file, receipt: join(t.dir, `evidence-${i}.receipt.json`) });
    }
    for (const s of served) {
      await until('notarization', async () => ((await (await sup(`/v1/records/${s.id}`)).json()).chain?.notarized ? true : undefined));
      writeFileSync(s.receipt, await (await sup(`/v1/records/${s.id}/receipt`)).text());
    }

    // The backup, while uploads keep coming (they are acknowledged; each is in the backup or after it).
    const archive = join(t.dir, 'station.tar');
    let uploading = true;
    const during: string[] = [];
    const uploads = (async () => {
      for (let n = 100; uploading; n++) during.push((await upload(url, tokens.agency, 'BWC-9', n)).id);
    })();
    const backup = await liuhenAsync(['--data', data, '--json', 'backup', '--out', archive, '--with-dev-passphrases']);
    uploading = false;
    await uploads;
    expect(backup.status, backup.stderr).toBe(0);
    const made = jsonLines(backup.stdout)[0];
    expect(made.manifest.mode).toBe('running');
    expect(made.manifest.parts.map((p: { path: string }) => p.path)).toEqual(
      expect.arrayContaining(['journal', 'notary/log', 'chain/state.json', 'config.json', 'store/keyring.json', 'notary/keystore.json', 'keys/agency.json']),
    );
    expect(statSync(archive).mode & 0o777).toBe(0o600);
    expect(existsSync(`${archive}.partial`)).toBe(false);
    // The running system is unharmed: it goes on anchoring after the chain was frozen for the dump.
    const after = await upload(url, tokens.agency, 'BWC-0', 999);
    await until('notarization after the backup', async () => ((await (await sup(`/v1/records/${after.id}`)).json()).chain?.notarized ? true : undefined));
    expect(await stop(first)).toBe(0);

    // A tampered archive (one byte of a part) and a partial copy are refused with a code; nothing is written.
    const tampered = join(t.dir, 'tampered.tar');
    copyFileSync(archive, tampered);
    const bytes = readFileSync(tampered);
    bytes[2048] ^= 0x01; // inside the first part (the journal dump)
    writeFileSync(tampered, bytes);
    const bad = liuhen(['--data', join(t.dir, 'from-tampered'), 'restore', tampered]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('[BACKUP_INVALID]');
    expect(existsSync(join(t.dir, 'from-tampered'))).toBe(false);
    const partial = join(t.dir, 'partial.tar');
    copyFileSync(archive, partial);
    truncateSync(partial, Math.floor(statSync(partial).size / 2));
    const cut = liuhen(['--data', join(t.dir, 'from-partial'), 'restore', partial]);
    expect(cut.status).toBe(2);
    expect(cut.stderr).toContain('[BACKUP_INVALID]');
    expect(existsSync(join(t.dir, 'from-partial'))).toBe(false);
    // Another manifest than the one printed at backup time.
    const other = liuhen(['--data', join(t.dir, 'from-other'), 'restore', archive, '--sha256', '0'.repeat(64)]);
    expect(other.stderr).toContain('[BACKUP_INVALID]');
    // A non-empty folder is not overwritten unless told.
    const busy = join(t.dir, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'something'), 'x');
    const refused = liuhen(['--data', busy, 'restore', archive]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('[RESTORE_TARGET_NOT_EMPTY]');
    expect(readFileSync(join(busy, 'something'), 'utf8')).toBe('x');

    // Restore into a fresh folder, checked against the digest printed at backup time.
    const restoredDir = join(t.dir, 'restored');
    const restored = liuhen(['--data', restoredDir, '--json', 'restore', archive, '--sha256', made.manifestSha256]);
    expect(restored.status, restored.stderr).toBe(0);
    expect(statSync(join(restoredDir, 'keys', 'agency.json')).mode & 0o777).toBe(0o600);

    // Consistent: nothing in the restored journal or notary log names a block the restored chain lacks …
    const chainBlock: number = made.manifest.chain.block;
    expect(made.chainFrozenMs).toEqual(expect.any(Number));
    {
      const l = await Liuhen.open(restoredDir);
      try {
        for await (const [, s] of l.journal.anchorStates<AnchorState>()) if (isAnchored(s)) expect(s.anchor.blockNumber).toBeLessThanOrEqual(chainBlock);
      } finally {
        await l.close();
      }
      const log = new Level<string, string>(join(restoredDir, 'notary', 'log'), { valueEncoding: 'utf8' });
      try {
        for await (const [k, v] of log.iterator({ gte: 'dec:', lt: 'dec;' })) {
          const block = (JSON.parse(v) as { cosigned?: { blockNumber?: number } }).cosigned?.blockNumber;
          if (block !== undefined) expect(block, k).toBeLessThanOrEqual(chainBlock);
        }
      } finally {
        await log.close();
      }
    }

    // Started from the restored folder alone (the original is stopped).
    const second = await start(restoredDir);
    running.push(second);
    expect(second.info.registry).toBe(first.info.registry);
    for (const s of served) {
      const v = liuhen(['--data', restoredDir, '--json', 'verify', s.file, '--receipt', s.receipt, '--rpc', second.info.rpc]);
      expect(v.status, `${s.id}: ${v.stdout}${v.stderr}`).toBe(0);
      expect(jsonLines(v.stdout).at(-1).status).toBe('verified');
    }
    // Every record acknowledged before the backup is there; the ones uploaded during it are there or not, never half.
    const sup2 = api(second.info.url, second.info.tokens.supervisor);
    for (const s of served) expect((await sup2(`/v1/records/${s.id}`)).status).toBe(200);
    const kept: string[] = [];
    for (const id of during) {
      const st = (await sup2(`/v1/records/${id}`)).status;
      expect([200, 404]).toContain(st);
      if (st === 200) kept.push(id);
    }
    // The restored journal and chain agree: what it holds gets anchored and notarized, and so does a new record
    // (a chain holding a batch the journal never sealed would refuse the journal's next one: prevRoot).
    const fresh = await upload(second.info.url, second.info.tokens.agency, 'BWC-0', 1000);
    for (const id of [...kept, fresh.id])
      await until(`notarization of ${id} on the restored system`, async () =>
        (await (await sup2(`/v1/records/${id}`)).json()).chain?.notarized ? true : undefined,
      );
    expect(await stop(second)).toBe(0);

    // A stopped folder is backed up too (no process holds it) and the archive checks out.
    const offline = join(t.dir, 'stopped.tar');
    const off = liuhen(['--data', restoredDir, '--json', 'backup', '--out', offline]);
    expect(off.status, off.stderr).toBe(0);
    const offMade = jsonLines(off.stdout)[0];
    expect(offMade.manifest.mode).toBe('stopped');
    expect(offMade.manifest.excluded).toEqual(expect.arrayContaining(['store/keyring.dev-passphrase', 'notary/dev-passphrase']));
    const check = liuhen(['--data', join(t.dir, 'unused'), 'restore', offline, '--check']);
    expect(check.status, check.stderr).toBe(0);
    expect(existsSync(join(t.dir, 'unused'))).toBe(false);
    // Restored without its dev passphrases: `liuhen start` says which one to put back (it used to write a new
    // random keyring passphrase that could never open the restored keyring).
    const bare = join(t.dir, 'bare');
    expect(liuhen(['--data', bare, 'restore', offline]).status).toBe(0);
    const noPass = await liuhenAsync(['--data', bare, 'start', '--port', '0', '--chain-port', '0']);
    expect(noPass.status, noPass.stderr).toBe(2);
    expect(noPass.stderr).toContain('[KEY_MISSING]');
    expect(noPass.stderr).toContain('keyring.dev-passphrase');
    expect(existsSync(join(bare, 'store', 'keyring.dev-passphrase'))).toBe(false);
  });
});
