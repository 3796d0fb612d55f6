import type { Command } from 'commander';
import type { GlobalOptions } from './output.js';

type Run = (action: (opts: GlobalOptions) => Promise<number | void>) => Promise<void>;

/** Registers the `liuhen` commands of the gateway module. */
export function registerGatewayCommands(_program: Command, _run: Run): void {}
