import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { DEFAULT_DATA_DIR } from './constants.js';
import { registerBackupCommands } from './backup-commands.js';
import { registerCarCommands } from './car-commands.js';
import { registerChainCommands } from './chain-commands.js';
import { registerCoreCommands } from './core-commands.js';
import { registerDeviceCommands } from './device-commands.js';
import { registerGatewayCommands } from './gateway-commands.js';
import { registerKeyCommands } from './key-commands.js';
import { registerNotaryCommands } from './notary-commands.js';
import { endCleanlyOnBrokenPipe, reportError, type GlobalOptions } from './output.js';
import { registerReceiptCommands } from './receipt-commands.js';
import { registerRegistryCommands } from './registry-commands.js';
import { loadSdk } from './sdk.js';
import { registerStartCommands } from './start-commands.js';

const ENVIRONMENT_HELP = `
Environment:
  LIUHEN_DATA                 data folder (instead of --data)
  LIUHEN_LOG_LEVEL            log level of long-running commands: error, warn, info (default), debug
  LIUHEN_KEYRING_PASSPHRASE   passphrase of the evidence keyring (gateway, start)
  LIUHEN_NOTARY_PASSPHRASE    passphrase of the notary keystore
Sizes for people are decimal (1 MB = 1,000,000 bytes); --json gives exact bytes.`;

/** The package's version, from the package.json above this file (sources: cli/, build: dist/cli/). */
function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'liuhen' && pkg.version) return pkg.version;
    } catch {
      // try the next
    }
  }
  return '0.0.0';
}

/** \`liuhen\` — every command takes --data DIR and --json (listed under "Global Options" in each command's help). */
export async function main(argv: string[]): Promise<number> {
  endCleanlyOnBrokenPipe();
  const program = new Command('liuhen')
    .description('Liuhen (留痕): tamper-evident, notarized law-enforcement evidence')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--data <dir>', 'data folder (env LIUHEN_DATA)', process.env.LIUHEN_DATA ?? DEFAULT_DATA_DIR)
    .option('--json', 'machine-readable output (JSON lines; sizes in exact bytes)')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('afterAll', ENVIRONMENT_HELP)
    .showHelpAfterError()
    .exitOverride();
  let exitCode = 0;
  const run = async (action: (opts: GlobalOptions) => Promise<number | void>, o: { light?: boolean } = {}): Promise<void> => {
    const g = program.opts<GlobalOptions>();
    try {
      if (!o.light) await loadSdk();
      exitCode = (await action(g)) ?? 0;
    } catch (e) {
      exitCode = reportError(e, g.json);
    }
  };
  registerCoreCommands(program, run);
  registerReceiptCommands(
    program.commands.find((c) => c.name() === 'receipt')!,
    run,
  );
  registerChainCommands(program, run);
  registerNotaryCommands(program, run);
  registerGatewayCommands(program, run);
  registerStartCommands(program, run);
  registerCarCommands(program, run);
  registerRegistryCommands(program, run);
  registerDeviceCommands(program, run);
  registerBackupCommands(program, run);
  registerKeyCommands(program, run);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    return 2;
  }
  return exitCode;
}
