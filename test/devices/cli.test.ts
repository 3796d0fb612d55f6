/**
 * `liuhen device init|enroll|rotate|revoke|list` on the embedded dev chain:
 * the key is encrypted at rest (dev passphrase file on a dev chain), enrolled
 * with the folder's agency key, rotated, revoked with a compromise time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { paths } from '../../src/config.js';
import { chainFor, cli, deployedFolder, jsonLines, stopAll } from '../chain/helpers.js';

afterAll(stopAll);

it('device init, enroll, list, rotate --generate, revoke', async () => {
  const chain = await chainFor();
  const { dataDir } = await deployedFolder(chain.rpc, 'JN-CGJ');
  const ok = async (args: string[]) => {
    const r = await cli(['--data', dataDir, '--json', 'device', ...args], {}, 120_000);
    expect(r.status, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
    return jsonLines(r.stdout);
  };
  const [init] = await ok(['init', 'BC-1']);
  const pem = readFileSync(join(paths(dataDir).keys, 'devices', 'BC-1.pem'), 'utf8');
  expect(pem).toContain('ENCRYPTED PRIVATE KEY');
  expect(init.publicKey).toMatch(/^0x[0-9a-f]{64}$/);

  await ok(['enroll', 'BC-1', '--kind', 'body-camera', '--valid-from', '2026-01-01T00:00:00Z']);
  let [listed] = await ok(['list']);
  expect(listed).toMatchObject({
    agency: 'JN-CGJ',
    deviceId: 'BC-1',
    kind: 'body-camera',
    keys: [{ index: 0, publicKey: init.publicKey, validFrom: 1_767_225_600 }],
  });

  const [rotated] = await ok(['rotate', 'BC-1', '--generate', '--valid-from', '2026-02-01T00:00:00Z']);
  expect(rotated.publicKey).not.toBe(init.publicKey);
  await ok(['revoke', 'BC-1', '--key-index', '0', '--compromised-at', '2026-01-15T00:00:00Z', '--reason', 'lost on patrol']);
  [listed] = await ok(['list', 'BC-1']);
  expect(listed.keys).toMatchObject([
    { index: 0, publicKey: init.publicKey, validUntil: 1_769_904_000, compromisedAt: 1_768_435_200 },
    { index: 1, publicKey: rotated.publicKey, validFrom: 1_769_904_000, validUntil: 0, compromisedAt: 0 },
  ]);

  // A bad kind is a coded error.
  const bad = await cli(['--data', dataDir, 'device', 'enroll', 'BC-2', '--kind', 'drone', '--key', init.publicKey]);
  expect(bad.status).not.toBe(0);
  expect(bad.stderr).toMatch(/INVALID_INPUT/);
}, 600_000);
