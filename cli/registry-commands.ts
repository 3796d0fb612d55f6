import type { Command } from 'commander';
import type { DeployStep } from '../src/index.js';
import { describeStep } from './chain-commands.js';
import { printJson, printLine, type Run } from './output.js';
import { sdk } from './sdk.js';

/**
 * `liuhen registry migrate`: the one deliberate way to move a data folder to
 * a new registry (docs/chain.md). `liuhen start` and `liuhen deploy` never do
 * it on their own: they refuse with REGISTRY_MOVED.
 */
export function registerRegistryCommands(program: Command, run: Run): void {
  const registry = program.command('registry').description("the data folder's EvidenceRegistry");
  registry
    .command('migrate')
    .description(
      "move this data folder to a new registry (current version) on the same chain: the old registry stays trusted for verification, each agency's batch chain continues from its last batch there (stop `liuhen start` first)",
    )
    .option('--rpc <url>', 'JSON-RPC endpoint (default: the config)')
    .action((o: { rpc?: string }) =>
      run(async (g) => {
        const onStep = (s: DeployStep) => (g.json ? printJson(s) : printLine(describeStep(s)));
        const r = await sdk.migrateRegistry({ dataDir: g.data, rpc: o.rpc, onStep });
        if (g.json) printJson({ chain: { ...r.chain, rpc: sdk.redactUrl(r.chain.rpc) }, previous: r.previous });
        else
          printLine(
            `moved from registry ${r.previous.registry} to ${r.chain.registry} on chain ${r.chain.chainId}; receipts of ${r.previous.registry} stay verifiable (chain.previousRegistries in config.json)`,
          );
      }),
    );
}
