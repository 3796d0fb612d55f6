import type { Command } from 'commander';
import { portOption, untilSignal } from './args.js';
import { printJson, printLine, type Run } from './output.js';

/** Registers `liuhen gateway`: the HTTP API and the web pages over an existing data folder. */
export function registerGatewayCommands(program: Command, run: Run): void {
  program
    .command('gateway')
    .description('serve the gateway (HTTP API and web pages) over this data folder; Ctrl-C stops it')
    .option('--port <port>', 'TCP port', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .action((o: { port: string; host: string }) =>
      run(async (g) => {
        const port = portOption('--port', o.port);
        // The gateway (Express) is loaded only by this command.
        const gw = await import('../gateway/index.js');
        const opened = await gw.openGateway({ dataDir: g.data });
        let running: Awaited<ReturnType<typeof gw.listen>> | undefined;
        try {
          const app = gw.createApp({ liuhen: opened.liuhen, tokens: opened.tokens, store: opened.store, chain: opened.chain, config: opened.config });
          running = await gw.listen(app, { port, host: o.host });
        } catch (e) {
          await opened.close();
          throw e;
        }
        // Listening before the ready line (a stop sent as soon as it is read killed the process outright).
        const signal = untilSignal();
        if (g.json) printJson({ url: running.url, ...(opened.bootstrapToken ? { adminToken: opened.bootstrapToken } : {}), notes: opened.notes });
        else {
          printLine(`gateway on ${running.url}`);
          for (const n of opened.notes) printLine(`note: ${n}`);
          if (opened.bootstrapToken) printLine(`admin token (shown once, keep it safe): ${opened.bootstrapToken}`);
        }
        await signal.promise;
        await running.close();
        await opened.close();
        return 0;
      }),
    );
}
