import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { DeviceKind, OnChainDevice } from '../src/index.js';
import { fail } from '../src/errors.js';
import { sdk, sdkConfig } from './sdk.js';
import { intOption } from './args.js';
import { printJson, printLine, type GlobalOptions, type Run } from './output.js';

/**
 * `liuhen device init|enroll|rotate|revoke|list` (issue 13, docs/devices.md):
 * a device-side reference. `init` makes a device's Ed25519 key, encrypted at
 * rest (LIUHEN_DEVICE_PASSPHRASE; on a dev chain a generated dev passphrase
 * file, as the other dev keys); `enroll`, `rotate` and `revoke` change the
 * registry with the folder's agency anchoring key (bound to the agency);
 * `list` reads the agency's devices from the registry.
 */
const KINDS: readonly DeviceKind[] = ['body-camera', 'terminal', 'station'];
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

interface DeviceFiles {
  pem: string;
  pub: string;
  devPassphrase: string;
}

function deviceFiles(data: string, id: string): DeviceFiles {
  if (!DEVICE_ID.test(id)) fail('INVALID_INPUT', 'a device id is 1-64 ASCII letters, digits, ".", "_", ":" or "-"');
  const dir = join(sdk.paths(data).keys, 'devices');
  return { pem: join(dir, `${id}.pem`), pub: join(dir, `${id}.pub`), devPassphrase: join(dir, `${id}.dev-passphrase`) };
}

/** Unix seconds from an ISO 8601 time or a number of seconds; `now` when absent. */
function timeOption(flag: string, value: string | undefined): number {
  if (value === undefined) return Math.floor(Date.now() / 1000);
  if (/^\d{1,12}$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) fail('INVALID_INPUT', `${flag} must be an ISO 8601 time or unix seconds, got ${value}`);
  return Math.floor(ms / 1000);
}

/** Makes a new device key file (encrypted) and its public key file; returns the public key. */
function writeDeviceKey(files: DeviceFiles, devChain: boolean): string {
  const key = sdk.DeviceKey.generate();
  let passphrase = process.env[sdk.DEVICE_PASSPHRASE_ENV];
  if (!passphrase) {
    if (!devChain) fail('KEY_MISSING', `set ${sdk.DEVICE_PASSPHRASE_ENV} to a passphrase for the device key (it is encrypted at rest)`);
    passphrase = existsSync(files.devPassphrase) ? readFileSync(files.devPassphrase, 'utf8').trim() : randomBytes(24).toString('base64url');
    if (!existsSync(files.devPassphrase)) sdkConfig.writeSecretFile(files.devPassphrase, `${passphrase}\n`);
  }
  mkdirSync(join(files.pem, '..'), { recursive: true, mode: 0o700 });
  sdkConfig.writeSecretFile(files.pem, key.toPem(passphrase));
  sdkConfig.writeSecretFile(files.pub, `${key.publicKey}\n`);
  return key.publicKey;
}

async function withRegistry<T>(
  g: GlobalOptions,
  fn: (x: {
    registry: string;
    signer: Awaited<ReturnType<typeof sdk.openKey>>;
    client: InstanceType<typeof sdk.RegistryClient>;
    agency: string;
    chainId: number;
  }) => Promise<T>,
): Promise<T> {
  const config = sdk.readConfig(g.data);
  const chain = config.chain;
  if (!chain?.registry) fail('REGISTRY_MISSING', 'no registry in the config; run `liuhen deploy` first');
  const { provider, chainId } = await sdk.connectChain({ rpc: chain.rpc, expectedChainId: chain.chainId });
  try {
    const signer = (await sdk.openKey(sdk.agencyKey(g.data), chainId)).connect(provider);
    return await fn({ registry: chain.registry, signer, client: new sdk.RegistryClient(chain.registry, provider), agency: config.agency, chainId });
  } finally {
    provider.destroy();
  }
}

function publicKeyOf(g: GlobalOptions, id: string, given: string | undefined): string {
  if (given !== undefined) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(given)) fail('INVALID_INPUT', '--key must be a 32-byte Ed25519 public key in 0x hex');
    return given.toLowerCase();
  }
  const files = deviceFiles(g.data, id);
  if (!existsSync(files.pub)) fail('KEY_MISSING', `no key for device ${id} in ${files.pub}: run \`liuhen device init ${id}\` or pass --key`);
  return readFileSync(files.pub, 'utf8').trim();
}

function describe(d: OnChainDevice): string[] {
  const lines = [`${d.deviceId} (${d.kind}), enrolled ${new Date(d.enrolledAt * 1000).toISOString()}`];
  for (const k of d.keys) {
    const until = k.validUntil ? ` until ${new Date(k.validUntil * 1000).toISOString()}` : ' (current)';
    const revoked = k.revokedAt ? `, REVOKED: compromised from ${new Date(k.compromisedAt * 1000).toISOString()}` : '';
    lines.push(`  key #${k.index} ${k.publicKey} valid from ${new Date(k.validFrom * 1000).toISOString()}${until}${revoked}`);
  }
  return lines;
}

export function registerDeviceCommands(program: Command, run: Run): void {
  const device = program.command('device').description('capture devices of the agency: keys kept on the device, enrolled on the registry (docs/devices.md)');

  device
    .command('init <id>')
    .description(
      'make an Ed25519 key for device <id> in <data>/keys/devices/<id>.pem, encrypted (LIUHEN_DEVICE_PASSPHRASE; on a dev chain a generated dev passphrase file)',
    )
    .action((id: string) =>
      run(async (g) => {
        const files = deviceFiles(g.data, id);
        if (existsSync(files.pem))
          fail('INVALID_INPUT', `device ${id} already has a key in ${files.pem}; rotate it with \`liuhen device rotate ${id} --generate\``);
        const chainId = sdk.readConfig(g.data).chain?.chainId;
        const publicKey = writeDeviceKey(files, chainId === undefined || sdk.EMBEDDED_CHAIN_ID === chainId || chainId === 31337);
        if (g.json) printJson({ device: id, publicKey, keyFile: files.pem });
        else printLine(`device ${id}: key ${files.pem}, public key ${publicKey}; enroll it with \`liuhen device enroll ${id} --kind body-camera\``);
      }),
    );

  device
    .command('enroll <id>')
    .description("enroll device <id> of the folder's agency on the registry with its public key")
    .requiredOption('--kind <kind>', `one of ${KINDS.join(', ')}`)
    .option('--key <hex>', 'Ed25519 public key (default: the one `device init` made)')
    .option('--valid-from <time>', 'ISO 8601 or unix seconds (default now)')
    .action((id: string, o: { kind: string; key?: string; validFrom?: string }) =>
      run(async (g) => {
        if (!KINDS.includes(o.kind as DeviceKind)) fail('INVALID_INPUT', `--kind must be one of ${KINDS.join(', ')}`);
        const publicKey = publicKeyOf(g, id, o.key);
        const validFrom = timeOption('--valid-from', o.validFrom);
        const tx = await withRegistry(g, ({ registry, signer, agency }) =>
          sdk.enrollDevice(registry, signer, { agency, deviceId: id, kind: o.kind as DeviceKind, publicKey, validFrom }),
        );
        if (g.json) printJson({ device: id, kind: o.kind, publicKey, validFrom, ...tx });
        else printLine(`enrolled ${o.kind} ${id} with key ${publicKey} (tx ${tx.txHash}, block ${tx.blockNumber})`);
      }),
    );

  device
    .command('rotate <id>')
    .description('give device <id> a new key from --valid-from on (the previous key stops then)')
    .option('--key <hex>', 'the new Ed25519 public key')
    .option('--generate', 'make the new key here (the old key file is kept as <id>.pem.retired-<time>)')
    .option('--valid-from <time>', 'ISO 8601 or unix seconds (default now)')
    .action((id: string, o: { key?: string; generate?: boolean; validFrom?: string }) =>
      run(async (g) => {
        if (!o.key === !o.generate) fail('INVALID_INPUT', 'give exactly one of --key HEX or --generate');
        const validFrom = timeOption('--valid-from', o.validFrom);
        const tx = await withRegistry(g, async ({ registry, signer, agency, chainId }) => {
          let publicKey = o.key?.toLowerCase();
          const files = deviceFiles(g.data, id);
          if (o.generate) {
            const stamp = new Date().toISOString().replace(/[:.]/g, '-');
            for (const f of [files.pem, files.pub]) if (existsSync(f)) renameSync(f, `${f}.retired-${stamp}`);
            publicKey = writeDeviceKey(files, chainId === sdk.EMBEDDED_CHAIN_ID || chainId === 31337);
          }
          return {
            publicKey: publicKey!,
            ...(await sdk.rotateDeviceKey(registry, signer, { agency, deviceId: id, publicKey: publicKeyOf(g, id, publicKey), validFrom })),
          };
        });
        if (g.json) printJson({ device: id, validFrom, ...tx });
        else printLine(`device ${id} now signs with ${tx.publicKey} from ${new Date(validFrom * 1000).toISOString()} (tx ${tx.txHash})`);
      }),
    );

  device
    .command('revoke <id>')
    .description('revoke a key of device <id>: records anchored or journaled after --compromised-at no longer count as signed by the device')
    .requiredOption('--compromised-at <time>', 'ISO 8601 or unix seconds from which the key must be considered compromised (not in the future)')
    .requiredOption('--reason <text>', 'why (at most 256 bytes), e.g. "lost on patrol"')
    .option('--key-index <n>', 'index of the key (default: the current one)')
    .action((id: string, o: { compromisedAt: string; reason: string; keyIndex?: string }) =>
      run(async (g) => {
        const compromisedAt = timeOption('--compromised-at', o.compromisedAt);
        const r = await withRegistry(g, async ({ registry, signer, agency, client }) => {
          const d = await client.device(agency, id);
          if (!d) fail('INVALID_INPUT', `device ${id} is not enrolled by ${agency}`);
          const keyIndex = intOption('--key-index', o.keyIndex, 0, d.keys.length - 1) ?? d.keys.length - 1;
          return { keyIndex, ...(await sdk.revokeDeviceKey(registry, signer, { agency, deviceId: id, keyIndex, compromisedAt, reason: o.reason })) };
        });
        if (g.json) printJson({ device: id, compromisedAt, ...r });
        else printLine(`revoked key #${r.keyIndex} of device ${id}, compromised from ${new Date(compromisedAt * 1000).toISOString()} (tx ${r.txHash})`);
      }),
    );

  device
    .command('list [id]')
    .description("the agency's enrolled devices and their key history (from the registry)")
    .action((id: string | undefined) =>
      run(async (g) => {
        const devices = await withRegistry(g, async ({ client, agency }) => {
          if (id !== undefined) {
            const d = await client.device(agency, id);
            return d ? [d] : [];
          }
          return sdk.listDevices(client, agency, sdk.readConfig(g.data).chain?.deployBlock ?? 0);
        });
        if (g.json) for (const d of devices) printJson(d);
        else if (devices.length === 0) printLine('no enrolled devices');
        else for (const d of devices) for (const line of describe(d)) printLine(line);
      }),
    );
}
