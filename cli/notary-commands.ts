import type { Command } from 'commander';
import type { BatchOutcome, NotaryEvent, NotaryPendingBatch, NotaryPolicyInput } from '../src/index.js';
import { fail } from '../src/errors.js';
import { NOTARY_PASSPHRASE_ENV } from './constants.js';
import { sdk } from './sdk.js';
import { intOption, untilSignal } from './args.js';
import { printJson, printLine, type GlobalOptions, type Run } from './output.js';

interface RunOptions {
  once?: boolean;
  fromBlock?: string;
  maxAge?: string;
  futureSkew?: string;
  maxBatchSize?: string;
  confirmations?: string;
  submit: boolean;
  recheckRefused?: boolean;
  poll?: string;
  wait?: string;
  keystore?: string;
  rpc?: string;
  registry?: string;
}

/** `liuhen notary [--once]`, `liuhen notary init`, `liuhen notary pending`, `liuhen notary log`. */
export function registerNotaryCommands(program: Command, run: Run): void {
  const notary = program
    .command('notary')
    .description(
      'notary office (公证处): check anchored batches and co-sign them (EIP-712); follows the chain until SIGINT/SIGTERM, or works through the backlog with --once',
    )
    .option('--once', 'work through the backlog and exit')
    .option('--from-block <n>', 'rescan from this block (default: where the log stopped, first time chain.deployBlock)')
    .option('--max-age <seconds>', 'refuse batches whose first capture is older than this before anchoring', '86400')
    .option('--future-skew <seconds>', 'refuse captures later than the anchoring block (or now) by more than this', '300')
    .option('--max-batch-size <n>', 'refuse batches with more records', String(1 << 20))
    .option('--confirmations <n>', 'blocks on top of the anchoring block before signing (default chain.confirmations)')
    .option('--no-submit', 'only sign and log attestations (for a relayer); `liuhen notary log --json` prints them')
    .option('--recheck-refused', 'evaluate refused batches again under the current policy (never an equivocation)')
    .option('--poll <ms>', 'polling interval when following the chain', '1000')
    .option('--wait <seconds>', 'with --once: wait this long for missing confirmations and receipts', '30')
    .option('--keystore <file>', 'notary keystore (default <data>/notary/keystore.json)')
    .option('--rpc <url>', 'JSON-RPC endpoint (default chain.rpc of config.json)')
    .option('--registry <address>', 'EvidenceRegistry address (default chain.registry of config.json)')
    .action((o: RunOptions) => run((g) => runNotary(g, o)));

  notary
    .command('init')
    .description(`create the notary key (encrypted keystore; passphrase from ${NOTARY_PASSPHRASE_ENV} or asked on the terminal) and print its address`)
    .option('--keystore <file>', 'where to write the keystore (default <data>/notary/keystore.json)')
    .option('--dev', 'dev chains only: generate the passphrase into <data>/notary/dev-passphrase')
    .action((o: { keystore?: string; dev?: boolean }) =>
      run(async (g) => {
        let passphrase = process.env[NOTARY_PASSPHRASE_ENV] || undefined;
        if (passphrase === undefined && !o.dev) {
          if (!process.stdin.isTTY)
            fail('KEY_MISSING', `set ${NOTARY_PASSPHRASE_ENV} to the passphrase for the new notary keystore (or pass --dev on a dev chain)`);
          passphrase = await sdk.promptHidden('new notary keystore passphrase: ');
          if ((await sdk.promptHidden('repeat the passphrase: ')) !== passphrase) fail('INVALID_INPUT', 'the two passphrases differ');
        }
        const r = await sdk.createNotaryKey({ dataDir: g.data, keystore: o.keystore, passphrase, dev: o.dev });
        if (g.json) printJson(r);
        else {
          printLine(`notary key ${r.address} written to ${r.keystore}${r.devPassphrase ? ` (dev passphrase in ${r.devPassphrase})` : ''}`);
          printLine(`next: the registry admin grants it NOTARY_ROLE (grantRole(NOTARY_ROLE, ${r.address})), and the account needs gas to send cosign`);
        }
      }),
    );

  notary
    .command('pending')
    .description('anchored batches this notary has not co-signed (no passphrase needed)')
    .option('--from-block <n>', 'first block to scan (default chain.deployBlock)')
    .option('--keystore <file>', 'notary keystore (default <data>/notary/keystore.json)')
    .option('--rpc <url>', 'JSON-RPC endpoint (default chain.rpc of config.json)')
    .option('--registry <address>', 'EvidenceRegistry address (default chain.registry of config.json)')
    .action((o: { fromBlock?: string; keystore?: string; rpc?: string; registry?: string }) =>
      run(async (g) => {
        const { notary: address, pending } = await sdk.pendingForDataDir({
          dataDir: g.data,
          keystore: o.keystore,
          rpc: o.rpc,
          registry: o.registry,
          fromBlock: intOption('--from-block', o.fromBlock),
        });
        if (g.json) pending.forEach((p) => printJson(p));
        else {
          for (const p of pending) printLine(pendingLine(p));
          printLine(`${pending.length} batch(es) not co-signed by ${address}`);
        }
      }),
    );

  notary
    .command('log')
    .description("the notary's decisions: signed (with the attestation), co-signed, refused (with the reason)")
    .option('--keystore <file>', 'notary keystore (default <data>/notary/keystore.json)')
    .action((o: { keystore?: string }) =>
      run(async (g) => {
        const np = sdk.notaryPaths(g.data);
        const log = await sdk.NotaryLog.open(np.log, sdk.requireKeystore(o.keystore ?? np.keystore));
        try {
          for (const d of await log.decisions()) {
            const { tx, ...rest } = d;
            if (g.json) printJson({ ...rest, ...(tx ? { tx: { hash: tx.hash, nonce: tx.nonce, signedAt: tx.signedAt } } : {}) });
            else {
              const what =
                d.status === 'refused'
                  ? `${d.refusal?.reason}: ${d.refusal?.message}`
                  : d.attestation
                    ? `attestedAt ${d.attestation.attestedAt} signature ${d.attestation.signature}`
                    : `attestedAt ${d.cosigned?.attestedAt ?? '?'}`;
              printLine(`${d.status.padEnd(9)} ${d.batch.agencyCode ?? d.batch.agency} #${d.batch.seq} ${d.batch.root}  ${what}`);
            }
          }
        } finally {
          await log.close();
        }
      }),
    );
}

async function runNotary(g: GlobalOptions, o: RunOptions): Promise<number> {
  const policy: NotaryPolicyInput = {
    maxAge: intOption('--max-age', o.maxAge),
    futureSkew: intOption('--future-skew', o.futureSkew),
    maxBatchSize: intOption('--max-batch-size', o.maxBatchSize),
    confirmations: intOption('--confirmations', o.confirmations),
  };
  if (policy.maxBatchSize === 0) fail('INVALID_INPUT', '--max-batch-size must be at least 1');
  const pollIntervalMs = intOption('--poll', o.poll) ?? 1000;
  if (pollIntervalMs < 50) fail('INVALID_INPUT', '--poll must be at least 50 ms');
  const waiting = new Map<string, string>();
  const print = (e: NotaryEvent): void => {
    if (e.status === 'rewound' || e.status === 'error' || e.status === 'recosigning') {
      if (g.json) process.stderr.write(`${JSON.stringify(e)}\n`);
      else process.stderr.write(`liuhen notary: ${e.status === 'error' ? `${e.error.message} [${e.error.code}] (retrying)` : e.detail}\n`);
      return;
    }
    if (o.once) return;
    // Following: a batch that keeps waiting (one block after another) is printed once per state.
    if (e.status === 'waiting') {
      if (waiting.get(e.batch.root) === e.reason) return;
      waiting.set(e.batch.root, e.reason);
    } else {
      waiting.delete(e.batch.root);
    }
    printOutcome(e, g.json);
  };
  const notary = await sdk.openNotary({
    dataDir: g.data,
    rpc: o.rpc,
    registry: o.registry,
    keystore: o.keystore,
    policy,
    submit: o.submit,
    fromBlock: intOption('--from-block', o.fromBlock),
    recheckRefused: o.recheckRefused,
    pollIntervalMs,
    onEvent: print,
  });
  try {
    if (o.once) {
      const outcomes = await notary.runOnce({ waitMs: (intOption('--wait', o.wait) ?? 30) * 1000 });
      for (const x of outcomes) printOutcome(x, g.json);
      if (!g.json && outcomes.length === 0) printLine('nothing to co-sign');
      return outcomes.some((x) => x.status === 'failed') ? 1 : 0;
    }
    const stop = new AbortController();
    const signal = untilSignal();
    void signal.promise.then(() => stop.abort());
    if (!g.json) process.stderr.write(`liuhen notary: ${notary.address} follows registry ${notary.registry} on chain ${notary.chainId} (stop with Ctrl-C)\n`);
    try {
      await notary.follow(stop.signal);
    } finally {
      signal.dispose();
    }
    return 0;
  } finally {
    await notary.close();
  }
}

function printOutcome(x: BatchOutcome, json: boolean | undefined): void {
  if (json) return printJson(x);
  const head = `${x.status.padEnd(8)} ${x.batch.agency} #${x.batch.seq} ${x.batch.root}`;
  switch (x.status) {
    case 'signed':
      return printLine(
        `${head}  attestedAt ${x.attestedAt}${x.submitted ? (x.cosignTx ? `  cosign tx ${x.cosignTx}` : '  (co-signed)') : '  (not submitted: relayer mode)'}${x.resumed ? '  [from the log]' : ''}`,
      );
    case 'skipped':
      return printLine(`${head}  ${x.reason}: ${x.detail}`);
    case 'refused':
      return printLine(
        `${head}  ${x.reason}: ${x.error.message} [${x.error.code}]${x.recorded === 'earlier' ? ' (refused earlier; --recheck-refused to evaluate again)' : ''}`,
      );
    case 'waiting':
      return printLine(`${head}  ${x.reason}: ${x.detail}`);
    case 'failed':
      return printLine(`${head}  ${x.error.message} [${x.error.code}]`);
  }
}

function pendingLine(p: NotaryPendingBatch): string {
  const state = p.state === 'refused' && p.refusal ? `refused ${p.refusal.reason}: ${p.refusal.message}` : p.state;
  return `${p.batch.agency} #${p.batch.seq} ${p.batch.root}  ${p.confirmations} confirmation(s)  ${state}`;
}
