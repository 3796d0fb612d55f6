import { chmodSync, existsSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { paths } from '../config.js';
import { fail, isLiuhenError, LiuhenError, type ErrorCode } from '../errors.js';
import { createBackup, type BackupResult, type RunningSources } from './backup.js';

/**
 * The control socket of a running system, `<data>/control.sock` (a Unix
 * socket, mode 0600 in the 0700 data folder: only the folder's owner may
 * connect). While `liuhen start` holds the journal and the notary log, no
 * other process can open them; `liuhen backup` asks the running system to
 * write the archive instead, from its own handles (snapshots, the frozen
 * chain — see backup.ts). One JSON request line, one JSON answer line.
 */
export const controlSocketPath = (dataDir: string): string => join(paths(dataDir).root, 'control.sock');

/** A Unix socket's path fits in `sun_path`: 108 bytes on Linux, one of them the terminating NUL (unix(7)). */
const MAX_SOCKET_PATH_BYTES = 107;

/** Refuses a control socket path the kernel cannot bind or reach, saying what to do instead of failing obscurely. */
function assertSocketPathFits(path: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes > MAX_SOCKET_PATH_BYTES)
    fail(
      'BACKUP_UNAVAILABLE',
      `the data folder's path is too long for its control socket (${path}: ${bytes} bytes, a Unix socket allows ${MAX_SOCKET_PATH_BYTES}), so \`liuhen backup\` cannot reach a running \`liuhen start\`; run both with a shorter path to the folder (a symbolic link works)`,
    );
}

interface BackupRequest {
  op: 'backup';
  out: string;
  withDevPassphrases?: boolean;
}

type ControlAnswer = { ok: true; result: BackupResult } | { ok: false; error: { code: ErrorCode; message: string } };

export interface ControlServer {
  path: string;
  close(): Promise<void>;
}

/** Serves backups of the running system. The caller holds the journal's lock, so a socket file left by a killed run is stale and replaced. */
export async function serveControl(dataDir: string, sources: RunningSources): Promise<ControlServer> {
  const path = controlSocketPath(dataDir);
  assertSocketPathFits(path);
  if (existsSync(path)) rmSync(path, { force: true });
  let busy = false;
  // Connections that have not sent their request yet. `server.close()` waits for every
  // connection to end, so one that connects and never sends a line (a hung or suspended
  // client) held the whole shutdown of `liuhen start` — journal, chain state — forever.
  // They are dropped on close; a backup being written is still waited for.
  const idle = new Set<Socket>();
  const server: Server = createServer((socket) => {
    let buf = '';
    idle.add(socket);
    socket.on('close', () => idle.delete(socket));
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (d: string) => {
      if (!idle.has(socket)) return; // one request per connection
      buf += d;
      if (buf.length > 64 * 1024) socket.destroy();
      const nl = buf.indexOf('\n');
      if (nl === -1) return;
      idle.delete(socket);
      const line = buf.slice(0, nl);
      void (async (): Promise<ControlAnswer> => {
        try {
          const req = JSON.parse(line) as Partial<BackupRequest>;
          if (req.op !== 'backup' || typeof req.out !== 'string') fail('INVALID_INPUT', 'unknown control request');
          if (busy) fail('BACKUP_UNAVAILABLE', 'a backup of this system is being written already; wait for it');
          busy = true;
          try {
            return { ok: true, result: await createBackup({ dataDir, out: req.out, withDevPassphrases: req.withDevPassphrases === true, running: sources }) };
          } finally {
            busy = false;
          }
        } catch (e) {
          const err = isLiuhenError(e) ? e : new LiuhenError('BACKUP_UNAVAILABLE', `the backup failed: ${(e as Error).message}`);
          return { ok: false, error: { code: err.code, message: err.message } };
        }
      })().then((answer) => socket.end(`${JSON.stringify(answer)}\n`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of idle) s.destroy();
        rmSync(path, { force: true });
      }),
  };
}

/** Asks the running system of `dataDir` for a backup; BACKUP_UNAVAILABLE when nothing answers on its control socket. */
export async function requestBackup(dataDir: string, out: string, withDevPassphrases: boolean, timeoutMs = 30 * 60_000): Promise<BackupResult> {
  const path = controlSocketPath(dataDir);
  assertSocketPathFits(path);
  if (!existsSync(path))
    fail(
      'BACKUP_UNAVAILABLE',
      `the data folder ${paths(dataDir).root} is in use by a process that does not serve backups (only \`liuhen start\` does); stop it, then run \`liuhen backup\` again`,
    );
  return new Promise<BackupResult>((resolve, reject) => {
    const socket = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new LiuhenError('BACKUP_UNAVAILABLE', `the running system did not finish the backup within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ op: 'backup', out, withDevPassphrases } satisfies BackupRequest)}\n`));
    socket.on('data', (d: string) => (buf += d));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new LiuhenError(
          'BACKUP_UNAVAILABLE',
          `the running system of ${paths(dataDir).root} does not answer on ${path} (${e.code ?? e.message}); is \`liuhen start\` still running?`,
        ),
      );
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        const answer = JSON.parse(buf) as ControlAnswer;
        if (answer.ok) resolve(answer.result);
        else reject(new LiuhenError(answer.error.code, answer.error.message));
      } catch {
        reject(new LiuhenError('BACKUP_UNAVAILABLE', 'the running system gave no answer to the backup request'));
      }
    });
  });
}
