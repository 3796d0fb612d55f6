import { Command } from 'commander';
import { DEFAULT_DATA_DIR } from './constants.js';
import { registerCarCommands } from './car-commands.js';
import { registerChainCommands } from './chain-commands.js';
import { registerCoreCommands } from './core-commands.js';
import { registerGatewayCommands } from './gateway-commands.js';
import { registerNotaryCommands } from './notary-commands.js';
import { endCleanlyOnBrokenPipe, reportError, type GlobalOptions } from './output.js';
import { loadSdk } from './sdk.js';
import { registerStartCommands } from './start-commands.js';

/** `liuhen` — every command takes --data DIR and --json. */
export async function main(argv: string[]): Promise<number> {
  endCleanlyOnBrokenPipe();
  const program = new Command('liuhen')
    .description('Liuhen (留痕): tamper-evident, notarized law-enforcement evidence')
    .option('--data <dir>', 'data folder', process.env.LIUHEN_DATA ?? DEFAULT_DATA_DIR)
    .option('--json', 'machine-readable output (JSON lines)')
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
  registerChainCommands(program, run);
  registerNotaryCommands(program, run);
  registerGatewayCommands(program, run);
  registerStartCommands(program, run);
  registerCarCommands(program, run);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    return 2;
  }
  return exitCode;
}
