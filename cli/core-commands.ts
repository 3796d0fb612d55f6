import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { fail, isLiuhenError } from '../src/errors.js';
import type { Kind, Stage } from '../src/record/schema.js';
import type { Receipt } from '../src/receipt/format.js';
import { KINDS, MAX_RECEIPT_BYTES, STAGES } from './constants.js';
import type { Verdict } from '../src/verify/index.js';
import { sdk } from './sdk.js';
import { intOption } from './args.js';
import { printJson, printLine, progressBar, type Run } from './output.js';
import { watchReceipts } from './receipt-watch.js';

/** init, record, seal, receipt, verify, audit — the commands that need no chain. */
export function registerCoreCommands(program: Command, run: Run): void {
  program
    .command('init')
    .description('create the data folder, its config and the device key')
    .requiredOption('--agency <code>', 'agency code (1-31 ASCII characters; on chain as bytes32)')
    .requiredOption('--device <id>', 'device id (body camera, terminal)')
    .requiredOption('--officer <no>', 'enforcement certificate number of the officer')
    .action((o: { agency: string; device: string; officer: string }) =>
      run(async (g) => {
        const config = sdk.Liuhen.init(g.data, o);
        if (g.json) printJson({ data: g.data, agency: config.agency, device: config.device, officer: config.officer });
        else printLine(`initialised ${g.data} for agency ${config.agency}, device ${config.device}`);
      }),
    );

  program
    .command('record')
    .description('hash files and journal their records (a line per file, printed once durable)')
    .argument('<files...>', 'files to record')
    .option('--case <id>', 'case number')
    .option('--stage <stage>', `stage: ${STAGES.join('|')}`)
    .option('--kind <kind>', `kind: ${KINDS.join('|')} (default from the file type)`)
    .option('--captured-at <time>', 'capture time, RFC 3339 (default now)')
    .option(
      '--receipts <dir>',
      "seal at once and write each file's receipt to DIR/<file>.receipt.json (pending until anchored and notarized: a running `liuhen anchor --watch` completes them in place, or `liuhen receipt upgrade DIR/*.receipt.json`)",
    )
    .action((files: string[], o: { case?: string; stage?: string; kind?: string; capturedAt?: string; receipts?: string }) =>
      run(async (g) => {
        if (o.stage !== undefined && !STAGES.includes(o.stage as Stage)) fail('INVALID_INPUT', `--stage must be one of ${STAGES.join(', ')}`);
        if (o.kind !== undefined && !KINDS.includes(o.kind as Kind)) fail('INVALID_INPUT', `--kind must be one of ${KINDS.join(', ')}`);
        if (o.receipts !== undefined && (!existsSync(o.receipts) || !statSync(o.receipts).isDirectory()))
          fail('INVALID_INPUT', `--receipts ${o.receipts} is not a folder`);
        const lh = await sdk.Liuhen.open(g.data);
        const recorded: { id: string; file: string; line: Record<string, unknown> }[] = [];
        try {
          for (const file of files) {
            const bar = progressBar(basename(file));
            const r = await lh.recordFile(
              file,
              { case: o.case, stage: o.stage as Stage | undefined, kind: o.kind as Kind | undefined, capturedAt: o.capturedAt },
              g.json ? undefined : (p) => bar.update(p.bytesDone, p.bytesTotal),
            );
            bar.done();
            const sha256 = r.record.media!.sha256;
            const line = { id: r.record.id, leaf: r.leaf, seq: r.record.seq, sha256, size: r.size };
            recorded.push({ id: r.record.id, file, line });
            // With --receipts, the JSON line comes once the receipt is written (it names the file).
            if (g.json && o.receipts === undefined) printJson(line);
            else if (!g.json) printLine(`${r.record.id}  seq ${r.record.seq}  sha256 ${sha256}  ${file}`);
          }
          if (o.receipts !== undefined) {
            // The receipt exists once the record is in a batch: seal now (the anchor and co-signatures come later, by `receipt upgrade`).
            await lh.seal();
            const used = new Set<string>();
            for (const rec of recorded) {
              let receipt: Receipt;
              try {
                receipt = await lh.receipt(rec.id);
              } catch (e) {
                if (!isLiuhenError(e, 'CHAIN_UNREACHABLE')) throw e;
                receipt = await sdk.receiptFromJournal(lh.journal, rec.id);
              }
              let name = `${basename(rec.file)}.receipt.json`;
              if (used.has(name)) name = `${basename(rec.file)}.${rec.id}.receipt.json`;
              used.add(name);
              const path = join(o.receipts, name);
              writeFileSync(path, sdk.serializeReceipt(receipt));
              // Pending: `liuhen anchor --watch` completes it in place once anchored and notarized (cli/receipt-watch.ts).
              if (!receipt.anchor || receipt.attestations.length === 0) watchReceipts(g.data, [{ id: rec.id, path }]);
              if (g.json) printJson({ ...rec.line, receipt: path });
              else
                printLine(
                  `receipt ${path}${receipt.anchor && receipt.attestations.length > 0 ? '' : ' (pending: `liuhen anchor --watch` completes it, or `liuhen receipt upgrade` once anchored)'}`,
                );
            }
          }
        } finally {
          await lh.close();
        }
      }),
    );

  program
    .command('seal')
    .description('seal pending records into RFC 6962 batches')
    .action(() =>
      run(async (g) => {
        const lh = await sdk.Liuhen.open(g.data);
        try {
          const batches = await lh.seal();
          for (const b of batches) {
            if (g.json) printJson({ agency: b.agency, seq: b.seq, root: b.root, size: b.size });
            else printLine(`sealed ${b.agency} batch ${b.seq}: ${b.size} record(s), root ${b.root}`);
          }
          if (batches.length === 0 && !g.json) printLine('nothing to seal');
        } finally {
          await lh.close();
        }
      }),
    );

  program
    .command('receipt')
    .description('write the receipt of a sealed record')
    .argument('<id>', 'record id')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action((id: string, o: { output?: string }) =>
      run(async (g) => {
        const lh = await sdk.Liuhen.open(g.data);
        try {
          let receipt: Receipt;
          try {
            receipt = await lh.receipt(id);
          } catch (e) {
            // The chain is down: the journal's receipt (no anchor, no attestations) is still
            // true — it never claims what the chain cannot confirm right now.
            if (!isLiuhenError(e, 'CHAIN_UNREACHABLE')) throw e;
            process.stderr.write(`liuhen: ${e.message}; writing the receipt without chain data (verify later with --rpc)\n`);
            receipt = await sdk.receiptFromJournal(lh.journal, id);
          }
          const text = sdk.serializeReceipt(receipt);
          if (o.output) writeFileSync(o.output, text);
          else process.stdout.write(text);
        } finally {
          await lh.close();
        }
      }),
    );

  program
    .command('verify')
    .description('verify a file against its receipt: exit 0 verified, 1 altered or forged, 2 bad usage, 3 incomplete')
    .argument('<file>', 'the evidence file')
    .requiredOption('--receipt <file>', 'the receipt (JSON)')
    .option(
      '--rpc <url>',
      "JSON-RPC endpoint of the chain, to check the anchor and notaries (default: LIUHEN_RPC_URL, the trust file's, the data folder's chain)",
    )
    .option('--trust <file>', 'trust-root file: chain id, registries, notary set and threshold, agencies and names (docs/devices.md)')
    .option('--registry <address>', "the EvidenceRegistry address you trust (default: the data folder's registry)")
    .option('--min-confirmations <n>', 'confirmations the anchor block needs', '1')
    .action((file: string, o: { receipt: string; rpc?: string; registry?: string; trust?: string; minConfirmations: string }) =>
      run(
        async (g) => {
          if (!existsSync(file) || !statSync(file).isFile()) fail('FILE_UNREADABLE', `cannot read the file ${file}`);
          let text: string;
          try {
            if (statSync(o.receipt).size > MAX_RECEIPT_BYTES)
              fail('INVALID_RECEIPT', `${o.receipt} is larger than any receipt can be (${MAX_RECEIPT_BYTES} bytes)`);
            text = readFileSync(o.receipt, 'utf8');
          } catch (e) {
            if (isLiuhenError(e)) throw e;
            return fail('FILE_UNREADABLE', `cannot read the receipt ${o.receipt}`);
          }
          // Not JSON at all is unreadable input (exit 2); JSON that is not a valid receipt is a failed format check (exit 1).
          try {
            JSON.parse(text);
          } catch {
            fail('INVALID_RECEIPT', `${o.receipt} is not a JSON receipt`);
          }
          const minConfirmations = intOption('--min-confirmations', o.minConfirmations, 0, 1_000_000)!;
          if (o.registry !== undefined && !/^0x[0-9a-fA-F]{40}$/.test(o.registry)) fail('INVALID_INPUT', `--registry must be a 20-byte address in 0x hex`);
          // Only the verifier's own modules: an offline verify answers at once (the chain client loads only with an RPC endpoint).
          const [{ verifyFileWithReceipt }, { exitCodeOf }] = await Promise.all([import('./verify-command.js'), import('../src/verify/index.js')]);
          const verdict = await verifyFileWithReceipt({
            file,
            receiptText: text,
            rpc: o.rpc,
            dataDir: g.data,
            registry: o.registry,
            minConfirmations,
            ...(o.trust !== undefined && { trust: o.trust }),
          });
          if (g.json) printJson(verdict);
          else printVerdict(verdict);
          return exitCodeOf(verdict);
        },
        { light: true },
      ),
    );

  program
    .command('audit')
    .description('completeness findings for a device (holes, breaks) or a case (stages)')
    .option('--device <id>', 'device id')
    .option('--case <id>', 'case number')
    .action((o: { device?: string; case?: string }) =>
      run(async (g) => {
        if (!o.device === !o.case) fail('INVALID_INPUT', 'give exactly one of --device ID or --case ID');
        const lh = await sdk.Liuhen.open(g.data);
        try {
          const audit = o.device ? await lh.auditDevice(o.device) : await lh.auditCase(o.case!);
          if (g.json) printJson(o.device ? audit : { case: o.case, records: (audit as { records: unknown[] }).records.length, findings: audit.findings });
          else {
            printLine(`${o.device ? `device ${o.device}` : `case ${o.case}`}: ${audit.findings.length} finding(s)`);
            for (const f of audit.findings) printLine(`  [${f.severity}] ${f.code}: ${f.message}`);
          }
          return audit.findings.some((f) => f.severity === 'high') ? 1 : 0;
        } finally {
          await lh.close();
        }
      }),
    );
}

const MARK: Record<string, string> = { pass: '✓', fail: '✗', pending: '…', warn: '!', skipped: '-' };

export function printVerdict(v: Verdict & { names?: { agencies: Record<string, string>; notaries: Record<string, string> } }): void {
  printLine(`verdict: ${v.status.toUpperCase()}`);
  for (const c of v.checks) printLine(`  ${MARK[c.status]} ${c.name.padEnd(9)} ${c.code}: ${c.detail}`);
  // Display names from the trust file (issue 14), next to the codes and addresses they name.
  for (const [code, name] of Object.entries(v.names?.agencies ?? {})) printLine(`  agency    ${name} (${code})`);
  for (const [address, name] of Object.entries(v.names?.notaries ?? {})) printLine(`  notary    ${name} (${address})`);
}
