import { type ErrorCode, isLiuhenError } from '../src/errors.js';

/** Output helpers shared by the commands: JSON lines on stdout, people's text on stdout, diagnostics on stderr. */
export interface GlobalOptions {
  data: string;
  json?: boolean;
}

/**
 * How a command runs: its action gets the global options and returns an exit
 * status (default 0). The SDK (`sdk`) is loaded before the action unless the
 * command is marked `light` (it imports what it needs itself).
 */
export type Run = (action: (opts: GlobalOptions) => Promise<number | void>, o?: { light?: boolean }) => Promise<void>;

export const printJson = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
export const printLine = (line: string): void => void process.stdout.write(`${line}\n`);

/**
 * Text from outside (a hostile archive's manifest or entry names, in messages too) as printed:
 * control characters escaped, so it cannot write terminal escapes — rewrite the lines above,
 * set the clipboard — into the operator's terminal.
 */
export const printable = (s: string, keepNewlines = false): string =>
  s.replace(
    keepNewlines ? /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g : /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

/** Exit status 2: the caller's input or setup is wrong; 1: the operation failed. */
const USAGE_CODES = new Set<ErrorCode>([
  'INVALID_INPUT',
  'INVALID_RECORD',
  'INVALID_RECEIPT',
  'RECEIPT_FORMAT_UNKNOWN',
  'INVALID_HEX',
  'FILE_UNREADABLE',
  'CONFIG_MISSING',
  'CONFIG_INVALID',
  'DATA_DIR_EXISTS',
  'BACKUP_INVALID',
  'RESTORE_TARGET_NOT_EMPTY',
  'KEY_MISSING',
  'KEY_INVALID',
  'JOURNAL_LOCKED',
  'RECORD_NOT_FOUND',
  'RECORD_NOT_SEALED',
  'KEY_PASSPHRASE_WRONG',
]);

export function reportError(e: unknown, json: boolean | undefined): number {
  if (isLiuhenError(e)) {
    if (json) process.stderr.write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`);
    else process.stderr.write(`liuhen: ${printable(e.message, true)} [${e.code}]\n`);
    return USAGE_CODES.has(e.code) ? 2 : 1;
  }
  // Not ours: a bug. Say so without leaking internals beyond the message.
  process.stderr.write(`liuhen: unexpected error: ${printable((e as Error)?.message ?? String(e), true)}\n`);
  return 1;
}

/** A one-line progress bar on a terminal (stderr), nothing otherwise. */
export function progressBar(label: string): { update: (done: number, total?: number) => void; done: () => void } {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    update(done, total) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && done !== total) return;
      last = now;
      const width = 30;
      const frac = total ? Math.min(done / total, 1) : 0;
      const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
      process.stderr.write(`\r${label} ${bar} ${total ? `${(frac * 100).toFixed(0)}%` : ''} ${humanBytes(done)}${total ? ` / ${humanBytes(total)}` : ''}`);
    },
    done() {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

/**
 * `liuhen verify … | head -1`: when the reader of stdout (or stderr) goes
 * away, the next write fails with EPIPE, emitted as an 'error' event that,
 * unhandled, kills the process with a stack trace (issue 9.7). Instead: a
 * long-running command (start, gateway, notary serve — they wait on
 * SIGINT/SIGTERM) stops as on Ctrl-C; any other command exits at once with
 * 141 (128 + SIGPIPE, what a shell reports for `yes | head -1`). Later writes
 * to the dead stream are dropped.
 */
export function endCleanlyOnBrokenPipe(): void {
  let broken = false;
  const onError = (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
    if (broken) return;
    broken = true;
    if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM');
    else process.exit(141);
  };
  for (const stream of [process.stdout, process.stderr]) stream.on('error', onError);
}

/**
 * Sizes for people: decimal units (kB, MB, GB — 1 MB = 1,000,000 bytes), as
 * the pages show them; JSON output always carries exact bytes.
 */
export function humanBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}
