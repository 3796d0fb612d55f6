import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Contract, JsonRpcProvider, id } from 'ethers';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonLines, liuhen } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { api, start, stop, stopOrKill, until, upload, type Started } from './helpers.js';

const ABI = [
  'function agencyOf(address) view returns (bytes32)',
  'function hasRole(bytes32,address) view returns (bool)',
  'function notaryName(address) view returns (string)',
];
const keystoreAddress = (path: string): string =>
  `0x${(JSON.parse(readFileSync(path, 'utf8')) as { address: string }).address.replace(/^0x/, '')}`.toLowerCase();

/**
 * Issue 14: rotating an agency's anchoring key and the notary key on a real
 * chain (the embedded Anvil of `liuhen start`, registry v2) without breaking
 * old receipts: receipts made before both rotations verify after them with
 * `liuhen verify` (exit 0), new records are anchored by the new key and
 * co-signed by the new notary key, the old keys lose their roles.
 */
describe('key rotation (liuhen keys rotate, liuhen notary rotate)', () => {
  const t = tempDir('liuhen-rotate-');
  const running: Started[] = [];
  afterAll(async () => {
    for (const s of running) await stopOrKill(s);
    t.cleanup();
  }, 90_000);

  it('rotates both keys; every receipt from before keeps verifying and new records use the new keys', { timeout: 480_000 }, async () => {
    const data = join(t.dir, 'station');
    const first = await start(data);
    running.push(first);
    const sup = api(first.info.url, first.info.tokens.supervisor);
    const before: Array<{ id: string; file: string; receipt: string }> = [];
    for (let i = 0; i < 2; i++) {
      const { id, bytes } = await upload(first.info.url, first.info.tokens.agency, 'BWC-1', i);
      const file = join(t.dir, `before-${i}.jpg`);
      writeFileSync(file, bytes);
      before.push({ id, file, receipt: join(t.dir, `before-${i}.receipt.json`) });
    }
    for (const r of before) {
      await until('notarization', async () => ((await (await sup(`/v1/records/${r.id}`)).json()).chain?.notarized ? true : undefined));
      writeFileSync(r.receipt, await (await sup(`/v1/records/${r.id}/receipt`)).text());
    }
    // Refused while the system runs: a running anchorer would go on with the old key.
    const busy = liuhen(['--data', data, 'keys', 'rotate']);
    expect(busy.status).toBe(2);
    expect(busy.stderr).toContain('[JOURNAL_LOCKED]');
    expect(await stop(first)).toBe(0);

    const oldAgency = keystoreAddress(join(data, 'keys', 'agency.json'));
    const oldNotary = keystoreAddress(join(data, 'notary', 'keystore.json'));
    const rotatedAgency = liuhen(['--data', data, '--json', 'keys', 'rotate', '--agency', 'JN-CGJ']);
    expect(rotatedAgency.status, rotatedAgency.stderr).toBe(0);
    const ra = jsonLines(rotatedAgency.stdout).at(-1);
    expect(ra.previous.toLowerCase()).toBe(oldAgency);
    expect(ra.current.toLowerCase()).not.toBe(oldAgency);
    expect(keystoreAddress(join(data, 'keys', 'agency.json'))).toBe(ra.current.toLowerCase());
    expect(existsSync(ra.retired)).toBe(true);
    const rotatedNotary = liuhen(['--data', data, '--json', 'notary', 'rotate']);
    expect(rotatedNotary.status, rotatedNotary.stderr).toBe(0);
    const rn = jsonLines(rotatedNotary.stdout).at(-1);
    expect(rn.previous.toLowerCase()).toBe(oldNotary);
    expect(keystoreAddress(join(data, 'notary', 'keystore.json'))).toBe(rn.current.toLowerCase());
    expect(readdirSync(join(data, 'notary', 'retired', rn.previous))).toEqual(expect.arrayContaining([expect.stringMatching(/^log\./)]));
    // No secret in what the commands print.
    for (const f of ['keys/agency.dev-passphrase', 'notary/dev-passphrase']) {
      const secret = readFileSync(join(data, f), 'utf8').trim();
      expect(rotatedAgency.stdout + rotatedAgency.stderr + rotatedNotary.stdout + rotatedNotary.stderr).not.toContain(secret);
    }

    // Started again with the new keys.
    const second = await start(data);
    running.push(second);
    const provider = new JsonRpcProvider(second.info.rpc, undefined, { staticNetwork: true });
    try {
      const registry = new Contract(second.info.registry, ABI, provider);
      const NOTARY_ROLE = id('NOTARY_ROLE');
      expect(await registry.agencyOf(ra.previous)).toBe(`0x${'0'.repeat(64)}`);
      expect(await registry.agencyOf(ra.current)).not.toBe(`0x${'0'.repeat(64)}`);
      expect(await registry.hasRole(NOTARY_ROLE, rn.previous)).toBe(false);
      expect(await registry.hasRole(NOTARY_ROLE, rn.current)).toBe(true);
    } finally {
      provider.destroy();
    }
    // Every receipt from before verifies (old anchoring key unbound, old notary revoked).
    for (const r of before) {
      const v = liuhen(['--data', data, '--json', 'verify', r.file, '--receipt', r.receipt, '--rpc', second.info.rpc]);
      expect(v.status, `${r.id}: ${v.stdout}${v.stderr}`).toBe(0);
      expect(jsonLines(v.stdout).at(-1).status).toBe('verified');
      expect(JSON.parse(readFileSync(r.receipt, 'utf8')).attestations[0].notary.toLowerCase()).toBe(rn.previous.toLowerCase());
    }
    // A new record: anchored with the new key, co-signed by the new notary key; its receipt verifies too.
    const sup2 = api(second.info.url, second.info.tokens.supervisor);
    const after = await upload(second.info.url, second.info.tokens.agency, 'BWC-1', 9);
    await until('notarization with the new keys', async () => ((await (await sup2(`/v1/records/${after.id}`)).json()).chain?.notarized ? true : undefined));
    const receipt = await (await sup2(`/v1/records/${after.id}/receipt`)).json();
    expect(receipt.attestations.map((a: { notary: string }) => a.notary.toLowerCase())).toEqual([rn.current.toLowerCase()]);
    const file = join(t.dir, 'after.jpg');
    writeFileSync(file, after.bytes);
    writeFileSync(join(t.dir, 'after.receipt.json'), JSON.stringify(receipt));
    const v = liuhen(['--data', data, '--json', 'verify', file, '--receipt', join(t.dir, 'after.receipt.json'), '--rpc', second.info.rpc]);
    expect(v.status, v.stdout + v.stderr).toBe(0);
    // The new notary key does not list the batches its predecessor co-signed as waiting for it.
    const health = await until('a healthy notary', async () => {
      const h = await (await api(second.info.url)('/healthz')).json();
      const n = h.checks?.components?.find((c: { name: string }) => c.name === 'notary');
      return n?.status === 'ok' && n.data?.pending === 0 ? n : undefined;
    });
    expect(health.status).toBe('ok');
    expect(await stop(second)).toBe(0);
  });
});
