import type { Command } from 'commander';
import { portOption, untilSignal } from './args.js';
import { printJson, printLine, type Run } from './output.js';

/** `liuhen start` (the whole system) and `liuhen demo` (a realistic sample in a running system). */
export function registerStartCommands(program: Command, run: Run): void {
  program
    .command('start')
    .description('run the whole system: embedded chain, registry, dev notary, anchoring and the gateway; Ctrl-C stops it')
    .option('--port <port>', 'gateway port', '8080')
    .option('--host <host>', 'gateway address', '127.0.0.1')
    .option('--chain-port <port>', 'embedded chain port (default 8545, or a free one)')
    .action((o: { port: string; host: string; chainPort?: string }) =>
      run(async (g) => {
        const port = portOption('--port', o.port);
        const chainPort = o.chainPort === undefined ? undefined : portOption('--chain-port', o.chainPort);
        const { startSystem } = await import('../gateway/system.js');
        const sys = await startSystem({ dataDir: g.data, port, host: o.host, chainPort, onProgress: g.json ? () => {} : (l) => printLine(l) });
        // Listening before the ready line: a Ctrl-C (or a service manager's stop) sent as soon as the
        // line is read came between the write and the listener, and killed the process outright —
        // no stop, the embedded Anvil left running, its state not saved.
        const signal = untilSignal();
        if (g.json) printJson({ url: sys.url, rpc: sys.rpc, registry: sys.registry, tokens: sys.tokens });
        else {
          printLine('');
          printLine(`Liuhen is running — 留痕已启动`);
          printLine(`  verify page   ${sys.url}/`);
          printLine(`  API           ${sys.url}/v1 (OpenAPI: ${sys.url}/openapi.json)`);
          printLine(`  chain         ${sys.rpc} (registry ${sys.registry})`);
          printLine(`dev tokens of this run (shown once; a restart makes new ones):`);
          for (const [role, token] of Object.entries(sys.tokens)) printLine(`  ${role.padEnd(10)} ${token}`);
          for (const [agency, token] of Object.entries(sys.agencyTokens).slice(1)) printLine(`  agency ${agency}: ${token}`);
          printLine('fill it with a sample: npm run demo   ·   stop: Ctrl-C');
        }
        await signal.promise;
        if (!g.json) printLine('stopping (chain state is saved)…');
        await sys.stop();
        return 0;
      }),
    );

  program
    .command('demo')
    .description('fill a running system (liuhen start) with a realistic sample: two agencies, cases, devices, a missing review, a deleted clip, a late record')
    .option('--url <url>', 'gateway URL (default: the running system of --data)')
    .option(
      '--history <dir>',
      'instead: make a FRESH demo folder <dir> with weeks of history across four agencies (marked as demo history; chain started in the past), then `liuhen start --data <dir>`',
    )
    .option('--days <n>', 'days of history for --history', '21')
    .action((o: { url?: string; history?: string; days?: string }) =>
      run(async (g) => {
        if (o.history) {
          // Supervision (issue 12): gateway/demo-history.ts
          const { seedDemoHistory } = await import('../gateway/demo-history.js');
          const summary = await seedDemoHistory({ dataDir: o.history, days: Number(o.days ?? 21), onProgress: g.json ? () => {} : (l) => printLine(l) });
          if (g.json) printJson(summary);
          return 0;
        }
        const { runDemo } = await import('../gateway/demo.js');
        const summary = await runDemo({ dataDir: g.data, url: o.url, onProgress: g.json ? () => {} : (l) => printLine(l) });
        if (g.json) printJson(summary);
        return 0;
      }),
    );
}
