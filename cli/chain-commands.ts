import { join } from 'node:path';
import type { Command } from 'commander';
import type { AnchorEvent, DeployStep } from '../src/index.js';
import { EMBEDDED_CHAIN_ID } from './constants.js';
import { fail } from '../src/errors.js';
import { sdk } from './sdk.js';
import { intOption, portOption, untilSignal } from './args.js';
import { printJson, printLine, type Run } from './output.js';

export function registerChainCommands(program: Command, run: Run): void {
  program
    .command('chain')
    .description(
      `run the embedded chain (Anvil, chain id ${EMBEDDED_CHAIN_ID}) in the foreground, its state in <data>/chain/state.json; stops cleanly on SIGINT/SIGTERM`,
    )
    .option('--port <port>', 'JSON-RPC port on 127.0.0.1 (0: any free port)', '8545')
    .option('--block-time <seconds>', 'seconds between blocks (default: a block per transaction, instantly)')
    .action((o: { port: string; blockTime?: string }) =>
      run(async (g) => {
        const port = portOption('--port', o.port);
        const blockTime = intOption('--block-time', o.blockTime, 1, 3600);
        const stop = untilSignal();
        try {
          const chain = await sdk.startAnvil({ statePath: join(sdk.paths(g.data).chain, 'state.json'), port, ...(blockTime !== undefined && { blockTime }) });
          if (g.json) printJson({ rpc: chain.rpc, chainId: chain.chainId, pid: chain.pid });
          else printLine(`chain ${chain.chainId} listening on ${chain.rpc} (state ${join(sdk.paths(g.data).chain, 'state.json')}); Ctrl-C to stop`);
          const reason = await Promise.race([stop.promise, chain.exited.then((c) => ({ exited: c }))]);
          if (typeof reason === 'object') fail('CHAIN_START_FAILED', `the embedded chain exited unexpectedly (${reason.exited})`);
          await chain.stop();
          if (!g.json) printLine('chain stopped; state saved');
        } finally {
          stop.dispose();
        }
      }),
    );

  program
    .command('deploy')
    .description(
      'deploy the EvidenceRegistry (or reuse the configured one), create and bind the agency anchoring key, grant the notary key, write `chain` into the config',
    )
    .option('--rpc <url>', 'JSON-RPC endpoint (default: the config, else http://127.0.0.1:8545)')
    .option('--confirmations <n>', 'blocks on top of the anchor block before an anchor is final (default: 0 on a dev chain, 1 elsewhere)')
    .option('--no-notary', "don't create or grant this folder's notary key")
    .option('--agency-name <name>', "display name of the folder's agency on the registry, e.g. 济南市城市管理局 (registry version 2)")
    .option('--notary-name <name>', "display name of the folder's notary key on the registry, e.g. 济南市泉城公证处 (registry version 2)")
    .action((o: { rpc?: string; confirmations?: string; notary: boolean; agencyName?: string; notaryName?: string }) =>
      run(async (g) => {
        const confirmations = intOption('--confirmations', o.confirmations, 0, 1000);
        const onStep = (s: DeployStep) => (g.json ? printJson(s) : printLine(describeStep(s)));
        for (const [flag, v] of [
          ['--agency-name', o.agencyName],
          ['--notary-name', o.notaryName],
        ] as const)
          if (v !== undefined && (v.trim() === '' || Buffer.byteLength(v) > 256)) fail('INVALID_INPUT', `${flag} must be a name of 1 to 256 bytes`);
        const names =
          o.agencyName !== undefined || o.notaryName !== undefined
            ? {
                ...(o.agencyName !== undefined && { agencies: { [sdk.readConfig(g.data).agency]: o.agencyName } }),
                ...(o.notaryName !== undefined && { notary: o.notaryName }),
              }
            : undefined;
        const r = await sdk.deploy({ dataDir: g.data, rpc: o.rpc, confirmations, notary: o.notary, names, onStep });
        if (g.json)
          printJson({
            chain: { ...r.chain, rpc: sdk.redactUrl(r.chain.rpc) },
            agency: r.agency,
            agencyAddress: r.agencyAddress,
            notaryAddress: r.notaryAddress ?? null,
          });
        else printLine(`ready: agency ${r.agency} anchors from ${r.agencyAddress} on chain ${r.chain.chainId}, registry ${r.chain.registry}`);
      }),
    );

  program
    .command('anchor')
    .description(
      'anchor every sealed batch of the agency on chain (one transaction per batch); --watch seals by the real-time policy and anchors continuously until SIGINT/SIGTERM',
    )
    .option('--watch', 'keep sealing (config seal.maxRecords / seal.maxSeconds) and anchoring')
    .option('--timeout <seconds>', 'without --watch: give up after this long (chain down, transactions not mined)', '300')
    .action((o: { watch?: boolean; timeout: string }) =>
      run(async (g) => {
        const timeout = intOption('--timeout', o.timeout, 1, 7 * 86_400)!;
        const lh = await sdk.Liuhen.open(g.data);
        try {
          const onEvent = (e: AnchorEvent) => {
            if (g.json) printJson(e);
            else {
              const line = describeEvent(e);
              if (line) (e.type === 'chain-down' || e.type === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
            }
          };
          if (!o.watch) {
            const r = await lh.anchor({ timeoutMs: timeout * 1000, onEvent });
            if (g.json) printJson({ type: 'done', ...r });
            else printLine(`${r.newlyAnchored} batch(es) newly anchored; ${r.anchored} anchored, ${r.final} final (head block ${r.head})`);
            return;
          }
          // Receipts written by `liuhen record --receipts DIR` are completed in place as their batches are anchored and co-signed (issue 14).
          const { receiptWatchLoop } = await import('./receipt-watch.js');
          const hooks: { anchored?: () => void } = {};
          const anchorer = await lh.anchorer({
            onEvent: (e) => {
              onEvent(e);
              if (e.type === 'anchored' || e.type === 'final') hooks.anchored?.();
            },
          });
          const stop = untilSignal();
          const ac = new AbortController();
          void stop.promise.then(() => ac.abort());
          if (!g.json)
            printLine(
              `watching agency ${lh.config.agency}: seal after ${lh.config.seal.maxRecords} records or ${lh.config.seal.maxSeconds} s, anchor each batch, complete pending receipts of \`liuhen record --receipts\`; Ctrl-C to stop`,
            );
          const receipts = receiptWatchLoop(
            lh,
            ac.signal,
            (e) => {
              if (g.json) printJson(e);
              else if (e.type === 'receipt-upgraded')
                printLine(
                  `receipt ${e.path}: ${e.complete ? 'complete' : 'upgraded'} — ${e.anchored ? 'anchored' : 'not anchored yet'}, ${e.notaries} notary co-signature(s)`,
                );
              else if (e.type === 'receipt-gone') printLine(`receipt ${e.path} is gone: no longer watched`);
              else process.stderr.write(`receipt ${e.path} not upgraded: ${e.reason}\n`);
            },
            (e) => process.stderr.write(`receipts: ${(e as Error).message}\n`),
            watchIntervalMs(),
          );
          hooks.anchored = receipts.poke;
          try {
            await anchorer.run(ac.signal);
          } finally {
            stop.dispose();
            ac.abort();
            await receipts.done;
            anchorer.close();
          }
          if (!g.json) printLine('stopped');
        } finally {
          await lh.close();
        }
      }),
    );
}

/** How often `anchor --watch` looks at pending receipts (LIUHEN_RECEIPT_WATCH_MS, default 2000 ms). */
function watchIntervalMs(): number {
  const v = Number(process.env.LIUHEN_RECEIPT_WATCH_MS);
  return Number.isInteger(v) && v >= 100 && v <= 3_600_000 ? v : 2000;
}

export function describeStep(s: DeployStep): string {
  switch (s.step) {
    case 'registry-reused':
      return `registry ${s.registry} already deployed: reused`;
    case 'registry-deployed':
      return `registry deployed at ${s.registry} (block ${s.block})`;
    case 'registry-redeployed-after-reset':
      return `WARNING: the dev chain was reset and lost registry ${s.lost.map((d) => d.registry).join(', ')} with ${s.lost.reduce((n, d) => n + d.batches, 0)} anchored batch(es); deployed a new registry at ${s.registry} (block ${s.block}): every batch is anchored again, and receipts handed out before no longer verify`;
    case 'checkpoint-set':
      return `agency ${s.agency} continues from batch #${s.seq} ${s.root} of the previous registry`;
    case 'key-created':
      return `${s.role} key ${s.address} created in ${s.path}`;
    case 'funded':
      return `funded ${s.address} with ${s.ether} ether (dev chain)`;
    case 'needs-funds':
      return `the ${s.role} key ${s.address} needs ether for gas on this chain: fund it`;
    case 'agency-bound':
      return `bound ${s.address} to agency ${s.agency}`;
    case 'notary-granted':
      return `granted NOTARY_ROLE to ${s.address}`;
    case 'named':
      return `registered the name of ${s.role} ${s.who}: ${s.name}`;
  }
}

function describeEvent(e: AnchorEvent): string | undefined {
  switch (e.type) {
    case 'sealed':
      return `sealed ${e.agency} batch ${e.seq}: ${e.size} record(s), root ${e.root}`;
    case 'signed':
      return undefined;
    case 'submitted':
      return `batch ${e.seq} ${e.rebroadcast ? 'resent' : 'sent'}: tx ${e.txHash}`;
    case 'anchored':
      return `anchored batch ${e.seq} (${e.size} record(s)) in block ${e.blockNumber}, tx ${e.txHash}`;
    case 'final':
      return `batch ${e.seq} final (${e.confirmations} block(s) on top)`;
    case 'reorged':
      return `batch ${e.seq} left the chain (${e.detail}); anchoring it again`;
    case 'resign':
      return `batch ${e.seq}: ${e.reason}; signing a new transaction`;
    case 'chain-down':
      return `liuhen: chain at ${e.rpc} unreachable (attempt ${e.attempt}: ${e.message}); retrying in ${(e.retryInMs / 1000).toFixed(1)} s — records are still journaled`;
    case 'chain-up':
      return `connected to chain ${e.chainId} at ${e.rpc} (head block ${e.head})`;
    case 'error':
      return `liuhen: ${e.message} [${e.code}]; retrying in ${(e.retryInMs / 1000).toFixed(1)} s`;
  }
}
