import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Contract, id, JsonRpcProvider, Wallet } from 'ethers';
import { afterAll, describe, expect, it } from 'vitest';
import { liuhenAsync, start, stop, stopOrKill, type Started } from './helpers.js';
import { tempDir } from '../helpers/tmp.js';

const keystoreAddress = (path: string): string =>
  `0x${(JSON.parse(readFileSync(path, 'utf8')) as { address: string }).address.replace(/^0x/, '')}`.toLowerCase();

/**
 * Red team (issue 14): `liuhen notary rotate` must refuse a folder in use whatever the
 * chain says — also when it skips draining the old key because that key no longer holds
 * the notary role (a compromised key, revoked by the registry's admin first). Holds:
 * reading the old log's cursor takes its lock before anything is created or sent.
 */
describe('liuhen notary rotate while liuhen start runs', () => {
  const t = tempDir('liuhen-rotate-run-');
  const running: Started[] = [];
  afterAll(async () => {
    for (const s of running) await stopOrKill(s);
    t.cleanup();
  }, 90_000);

  it('is refused (JOURNAL_LOCKED) even when the old notary key was revoked first; nothing is changed', { timeout: 240_000 }, async () => {
    const data = join(t.dir, 'station');
    const s = await start(data);
    running.push(s);
    const notaryKeystore = join(data, 'notary', 'keystore.json');
    const notary = keystoreAddress(notaryKeystore);
    // The admin revokes the (compromised) notary key on the registry first. Anvil's first dev account deployed it.
    const provider = new JsonRpcProvider(s.info.rpc, undefined, { cacheTimeout: -1 });
    try {
      const admin = new Wallet('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80', provider);
      const registry = new Contract(
        s.info.registry,
        ['function grantRole(bytes32,address)', 'function revokeRole(bytes32,address)', 'function hasRole(bytes32,address) view returns (bool)'],
        admin,
      );
      // (the registry keeps at least one notary: a stand-in office's key first)
      await (
        await registry.getFunction('grantRole')(id('NOTARY_ROLE'), Wallet.createRandom().address, {
          nonce: await provider.getTransactionCount(admin.address, 'pending'),
        })
      ).wait();
      await (
        await registry.getFunction('revokeRole')(id('NOTARY_ROLE'), notary, { nonce: await provider.getTransactionCount(admin.address, 'pending') })
      ).wait();
      expect(await registry.getFunction('hasRole')(id('NOTARY_ROLE'), notary)).toBe(false);
    } finally {
      provider.destroy();
    }
    const r = await liuhenAsync(['--data', data, 'notary', 'rotate']);
    expect(r.stderr).toContain('[JOURNAL_LOCKED]');
    expect(r.status).toBe(2);
    expect(keystoreAddress(notaryKeystore)).toBe(notary);
    expect(await stop(s)).toBe(0);
  });
});

/** Anvils a killed command left running for `data` (their state file is in it): stopped, so their state is saved. */
async function stopOrphanAnvils(data: string): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const pids = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes('anvil') && l.includes(`${data}/chain/`))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
  for (const pid of pids) process.kill(pid, 'SIGINT');
  for (const pid of pids)
    for (let i = 0; i < 200; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
}

/**
 * Red team (issue 14): `liuhen notary rotate` killed between its file steps must be finished by
 * running it again. It swapped the keystores first: killed before the old log was moved aside,
 * the folder held the new key with the old key's log — the rerun and `liuhen start` then both
 * refused it (NOTARY_LOG_MISMATCH). Now the duty file and the old log go first, the keystore last.
 */
describe('liuhen notary rotate killed between its file steps', () => {
  const t = tempDir('liuhen-rotate-crash-');
  const running: Started[] = [];
  afterAll(async () => {
    for (const s of running) await stopOrKill(s);
    for (const fp of ['files-1', 'files-2']) await stopOrphanAnvils(join(t.dir, fp));
    t.cleanup();
  }, 90_000);

  for (const fp of ['files-1', 'files-2'] as const)
    it(`killed at notary-rotate.${fp}: running it again finishes the rotation, and the system co-signs with the new key`, { timeout: 300_000 }, async () => {
      const { jsonLines } = await import('../helpers/cli.js');
      const { api, until, upload } = await import('./helpers.js');
      const data = join(t.dir, fp);
      const first = await start(data);
      running.push(first);
      expect(await stop(first)).toBe(0);
      const notaryKeystore = join(data, 'notary', 'keystore.json');
      const old = keystoreAddress(notaryKeystore);
      const killed = await liuhenAsync(['--data', data, '--json', 'notary', 'rotate'], { LIUHEN_FAILPOINTS: `notary-rotate.${fp}=kill` });
      expect(killed.status, killed.stderr).toBe(-1);
      const again = await liuhenAsync(['--data', data, '--json', 'notary', 'rotate']);
      await stopOrphanAnvils(data);
      expect(again.status, again.stderr).toBe(0);
      const r = jsonLines(again.stdout).at(-1);
      expect(r.previous.toLowerCase()).toBe(old);
      expect(keystoreAddress(notaryKeystore)).toBe(r.current.toLowerCase());
      const second = await start(data);
      running.push(second);
      const { id } = await upload(second.info.url, second.info.tokens.agency, 'BWC-R', 1);
      const sup = api(second.info.url, second.info.tokens.supervisor);
      await until('notarization', async () => ((await (await sup(`/v1/records/${id}`)).json()).chain?.notarized ? true : undefined), 120_000);
      expect(await stop(second)).toBe(0);
    });
});

/**
 * Red team (issue 14): `liuhen keys rotate` killed inside its keystore swap (the old keystore
 * moved to keys/retired/, the new one not yet in place) left no keystore at keys/agency.json:
 * the rerun said KEY_MISSING "run `liuhen deploy` first". The old keystore now stays in place
 * until the new one replaces it in one rename.
 */
describe('liuhen keys rotate killed inside its keystore swap', () => {
  const t = tempDir('liuhen-rotate-swap-');
  const running: Started[] = [];
  afterAll(async () => {
    for (const s of running) await stopOrKill(s);
    await stopOrphanAnvils(join(t.dir, 'station'));
    t.cleanup();
  }, 90_000);

  it('running it again finishes the rotation', { timeout: 300_000 }, async () => {
    const { jsonLines } = await import('../helpers/cli.js');
    const data = join(t.dir, 'station');
    const first = await start(data);
    running.push(first);
    expect(await stop(first)).toBe(0);
    const keystore = join(data, 'keys', 'agency.json');
    const old = keystoreAddress(keystore);
    const killed = await liuhenAsync(['--data', data, '--json', 'keys', 'rotate'], { LIUHEN_FAILPOINTS: 'rotate.swap=kill' });
    expect(killed.status, killed.stderr).toBe(-1);
    const again = await liuhenAsync(['--data', data, '--json', 'keys', 'rotate']);
    await stopOrphanAnvils(data);
    expect(again.status, again.stderr).toBe(0);
    const r = jsonLines(again.stdout).at(-1);
    expect(r.previous.toLowerCase()).toBe(old);
    expect(keystoreAddress(keystore)).toBe(r.current.toLowerCase());
  });
});
