import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { fail } from './errors.js';
import { describeIssues } from './record/parse.js';
import { agencySchema, deviceSchema, officerSchema } from './record/schema.js';
import { writeFileAtomicSync } from './util/atomic-write.js';

/**
 * The data folder (default ./.liuhen):
 *   config.json      this file's schema
 *   keys/device.pem  the device's Ed25519 key (mode 0600)
 *   journal/         LevelDB journal
 *   store/           encrypted evidence (IPFS blocks) and its keyring
 *   chain/           the embedded chain's state
 *   notary/          a notary's keystore and log (when this folder is a notary's)
 */
export const DEFAULT_DATA_DIR = '.liuhen';

/**
 * A registry this folder anchored on before a deliberate move (`liuhen registry
 * migrate`, docs/chain.md): still trusted for verification, never anchored on
 * again. `lastBatches` is where each agency's batch chain stopped there; the
 * new registry continues it from that checkpoint.
 */
export const previousRegistrySchema = z.strictObject({
  registry: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  chainId: z.number().int().positive(),
  deployBlock: z.number().int().min(0).optional(),
  /** When the folder moved away from it (ISO 8601). */
  movedAt: z.string().max(64),
  lastBatches: z.record(z.string().max(64), z.strictObject({ seq: z.number().int().min(1), root: z.string().regex(/^0x[0-9a-f]{64}$/) })),
});

export const chainConfigSchema = z.strictObject({
  rpc: z.string().url().max(2048),
  chainId: z.number().int().positive(),
  registry: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/)
    .optional(),
  /** Blocks on top of the anchor block before a batch counts as final. */
  confirmations: z.number().int().min(0).max(1000).default(1),
  /** Block at which the registry was deployed: where log scans start. */
  deployBlock: z.number().int().min(0).optional(),
  /** Registries this folder moved away from, oldest first (see `previousRegistrySchema`). */
  previousRegistries: z.array(previousRegistrySchema).max(16).optional(),
});

export const configSchema = z.strictObject({
  version: z.literal(1),
  agency: agencySchema,
  device: deviceSchema,
  officer: officerSchema,
  /**
   * Further agencies this station journals and anchors for (a gateway serving
   * several agencies); each gets its own anchoring key bound on chain.
   */
  agencies: z.array(agencySchema).max(64).optional(),
  chain: chainConfigSchema.optional(),
  /** Real-time seal policy: seal after this many records or seconds after the first pending record. */
  seal: z
    .strictObject({
      maxRecords: z
        .number()
        .int()
        .min(1)
        .max(1 << 20)
        .default(1000),
      maxSeconds: z.number().min(0.1).max(86_400).default(2),
    })
    .default({ maxRecords: 1000, maxSeconds: 2 }),
});

export type LiuhenConfig = z.infer<typeof configSchema>;

/** Every agency the folder anchors for: its own first, then `agencies`. */
export function anchoringAgencies(config: Pick<LiuhenConfig, 'agency' | 'agencies'>): string[] {
  return [...new Set([config.agency, ...(config.agencies ?? [])])];
}
export type ChainConfig = z.infer<typeof chainConfigSchema>;
export type PreviousRegistry = z.infer<typeof previousRegistrySchema>;

export const paths = (dataDir: string) => {
  const root = resolve(dataDir);
  return {
    root,
    config: join(root, 'config.json'),
    keys: join(root, 'keys'),
    deviceKey: join(root, 'keys', 'device.pem'),
    journal: join(root, 'journal'),
    store: join(root, 'store'),
    chain: join(root, 'chain'),
    notary: join(root, 'notary'),
  };
};

export function readConfig(dataDir: string): LiuhenConfig {
  const p = paths(dataDir).config;
  if (!existsSync(p))
    fail(
      'CONFIG_MISSING',
      `no Liuhen data folder at ${paths(dataDir).root}; run \`liuhen init --agency CODE --device ID --officer NO\` first (or pass --data DIR)`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(p, 'utf8'));
  } catch (cause) {
    return fail('CONFIG_INVALID', `${p} is not valid JSON`, { cause });
  }
  const r = configSchema.safeParse(raw);
  if (!r.success) fail('CONFIG_INVALID', `${p}: ${describeIssues(r.error)}`);
  return r.data;
}

/** Atomic, durable replace (temp file, fsync, rename, fsync of the folder) so a crash never leaves half a config. */
export function writeConfig(dataDir: string, config: LiuhenConfig): void {
  const p = paths(dataDir);
  mkdirSync(p.root, { recursive: true });
  writeFileAtomicSync(p.config, `${JSON.stringify(configSchema.parse(config), null, 2)}\n`, { mode: 0o600 });
}

export function writeSecretFile(path: string, content: string): void {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}
