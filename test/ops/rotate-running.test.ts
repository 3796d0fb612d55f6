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
      await (await registry.getFunction('grantRole')(id('NOTARY_ROLE'), Wallet.createRandom().address, { nonce: await provider.getTransactionCount(admin.address, 'pending') })).wait();
      await (await registry.getFunction('revokeRole')(id('NOTARY_ROLE'), notary, { nonce: await provider.getTransactionCount(admin.address, 'pending') })).wait();
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
