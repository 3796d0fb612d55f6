import type { Command } from 'commander';
import type { RotationResult, RotationStep } from '../src/index.js';
import { printJson, printLine, type Run } from './output.js';
import { sdk } from './sdk.js';

function describeStep(s: RotationStep): string {
  switch (s.step) {
    case 'chain-started':
      return `embedded chain started from the folder's state at ${s.rpc} (block ${s.block}); it is stopped again after the rotation`;
    case 'drained':
      return `old ${s.role} key: ${s.detail}`;
    case 'key-created':
      return `new ${s.role} key ${s.address} (encrypted keystore, same passphrase as the old one)`;
    case 'funded':
      return `funded ${s.address} with ${s.ether} ETH (dev chain)`;
    case 'needs-funds':
      return `NOTE: fund the new key ${s.address} before it can send transactions`;
    case 'granted':
      return `${s.role === 'agency' ? 'bound to the agency' : 'granted NOTARY_ROLE'}: ${s.address} (tx ${s.tx})`;
    case 'revoked':
      return `${s.role === 'agency' ? 'unbound' : 'NOTARY_ROLE revoked'}: ${s.address} (tx ${s.tx})`;
    case 'retired':
      return `old keystore kept (encrypted) at ${s.path}`;
    default:
      s satisfies never;
      return '';
  }
}

function report(r: RotationResult, json: boolean | undefined): void {
  if (json) return printJson(r);
  printLine(`rotated the ${r.role === 'agency' ? `anchoring key of agency ${r.agency}` : 'notary key'}: ${r.previous} → ${r.current}`);
  printLine(
    r.role === 'agency'
      ? 'receipts anchored with the old key keep verifying (anchors are the agency’s, not the key’s); start the system again: liuhen start'
      : `receipts co-signed by the old key keep verifying (the registry keeps its recorded co-signatures); the new key decides batches from block ${r.fromBlock}; start the system again: liuhen start`,
  );
}

/** `liuhen keys rotate --agency X` and `liuhen notary rotate` (docs/operations.md#key-rotation). */
export function registerKeyCommands(program: Command, run: Run): void {
  const keys = program.command('keys').description("the data folder's chain keys (anchoring keys of its agencies, the notary key)");
  keys
    .command('rotate')
    .description(
      "replace an agency's anchoring key: the old key anchors what is sealed, the new key is bound to the agency on the registry (v2 bindAgency), the old one unbound; old receipts keep verifying (stop `liuhen start` first)",
    )
    .option('--agency <code>', "the agency (default: the folder's own)")
    .option('--rpc <url>', "JSON-RPC endpoint (default: the config's; the embedded chain is started from the folder's state when it does not answer)")
    .action((o: { agency?: string; rpc?: string }) =>
      run(async (g) => {
        const r = await sdk.rotateAgencyKey({
          dataDir: g.data,
          agency: o.agency,
          rpc: o.rpc,
          onStep: (s) => (g.json ? printJson(s) : printLine(describeStep(s))),
        });
        report(r, g.json);
      }),
    );

  const notary = program.commands.find((c) => c.name() === 'notary');
  if (!notary) return;
  notary
    .command('rotate')
    .description(
      'replace the notary key: the old key finishes its co-signatures, the new key gets NOTARY_ROLE and the office name, the old role is revoked; old receipts keep verifying (stop `liuhen start` / `liuhen notary` first)',
    )
    .option('--rpc <url>', "JSON-RPC endpoint (default: the config's; the embedded chain is started from the folder's state when it does not answer)")
    .action((o: { rpc?: string }) =>
      run(async (g) => {
        const r = await sdk.rotateNotaryKey({ dataDir: g.data, rpc: o.rpc, onStep: (s) => (g.json ? printJson(s) : printLine(describeStep(s))) });
        report(r, g.json);
      }),
    );
}
