import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Liuhen } from '../src/liuhen.js';
import type { Receipt } from '../src/receipt/format.js';
import { isLiuhenError } from '../src/errors.js';
import { merge, readReceipt, summary, writeAtomically } from './receipt-commands.js';
import { sdk } from './sdk.js';

/**
 * Receipts that complete themselves (issue 14): `liuhen record --receipts DIR`
 * writes each file's receipt while it is still pending (sealed, not yet
 * anchored or notarized) and leaves a note here; `liuhen anchor --watch`
 * reads the notes and completes those files in place — anchor first, then
 * the notaries' co-signatures — exactly as `liuhen receipt upgrade` would
 * (only `anchor` and `attestations` are ever added, and only to a file that
 * still states the record, leaf, batch and proof the journal holds). A note
 * is removed once its receipt is complete, or when its file is gone.
 *
 * One note per receipt, `<data>/receipts-watch/<record id>.json` =
 * `{"id", "path"}`, written atomically: `record` (adding) and `anchor --watch`
 * (removing) never rewrite a shared list, so they cannot lose each other's
 * notes.
 */
export const watchDir = (dataDir: string): string => join(sdk.paths(dataDir).root, 'receipts-watch');

interface Note {
  id: string;
  path: string;
}

const ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** Notes pending receipt files for `anchor --watch`. */
export function watchReceipts(dataDir: string, receipts: Note[]): void {
  const dir = watchDir(dataDir);
  mkdirSync(dir, { recursive: true });
  for (const r of receipts) sdk.writeFileAtomicSync(join(dir, `${r.id}.json`), `${JSON.stringify({ id: r.id, path: resolve(r.path) })}\n`);
}

function readNotes(dataDir: string): Note[] {
  const dir = watchDir(dataDir);
  if (!existsSync(dir)) return [];
  const out: Note[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.json') || !ID.test(name.slice(0, -5))) continue;
    try {
      const n = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Partial<Note>;
      if (typeof n.id === 'string' && n.id === name.slice(0, -5) && typeof n.path === 'string') out.push({ id: n.id, path: n.path });
    } catch {
      // A note cut short by a crash: its receipt can still be completed by `liuhen receipt upgrade`.
    }
  }
  return out;
}

export type ReceiptWatchEvent =
  | { type: 'receipt-upgraded'; id: string; path: string; anchored: boolean; notaries: number; complete: boolean }
  | { type: 'receipt-gone'; id: string; path: string }
  | { type: 'receipt-refused'; id: string; path: string; reason: string };

/** One pass over the notes: completes what the journal and chain now know. Never throws for one bad file. */
export async function refreshWatchedReceipts(lh: Liuhen, onEvent: (e: ReceiptWatchEvent) => void): Promise<number> {
  let pending = 0;
  for (const note of readNotes(lh.dataDir)) {
    const drop = () => rmSync(join(watchDir(lh.dataDir), `${note.id}.json`), { force: true });
    if (!existsSync(note.path)) {
      drop();
      onEvent({ type: 'receipt-gone', id: note.id, path: note.path });
      continue;
    }
    let before: Receipt;
    try {
      before = readReceipt(note.path);
    } catch (e) {
      drop();
      onEvent({ type: 'receipt-refused', id: note.id, path: note.path, reason: isLiuhenError(e) ? e.message : 'unreadable' });
      continue;
    }
    if (summary(before).complete) {
      drop();
      continue;
    }
    let theirs: Receipt;
    try {
      theirs = await lh.receipt(note.id);
    } catch (e) {
      // Chain down or not sealed: try again next pass.
      if (isLiuhenError(e, 'CHAIN_UNREACHABLE') || isLiuhenError(e, 'RECORD_NOT_SEALED')) {
        pending++;
        continue;
      }
      throw e;
    }
    const same = (x: Receipt) => JSON.stringify({ record: x.record, leaf: x.leaf, batch: x.batch, inclusion: x.inclusion });
    if (same(theirs) !== same(before)) {
      drop();
      onEvent({ type: 'receipt-refused', id: note.id, path: note.path, reason: 'the file no longer states the record this folder journaled: not touched' });
      continue;
    }
    const after = merge(before, { anchor: theirs.anchor, attestations: theirs.attestations });
    if (JSON.stringify(after) === JSON.stringify(before)) {
      pending++;
      continue;
    }
    writeAtomically(note.path, sdk.serializeReceipt(after));
    const s = summary(after);
    if (s.complete) drop();
    else pending++;
    onEvent({ type: 'receipt-upgraded', id: note.id, path: note.path, anchored: s.anchored, notaries: s.notaries.length, complete: s.complete });
  }
  return pending;
}

/** Runs `refreshWatchedReceipts` every `intervalMs` until `signal` aborts (and once more right away on `poke()`). */
export function receiptWatchLoop(lh: Liuhen, signal: AbortSignal, onEvent: (e: ReceiptWatchEvent) => void, onError: (e: unknown) => void, intervalMs = 2000) {
  let wake: (() => void) | undefined;
  const done = (async () => {
    while (!signal.aborted) {
      try {
        await refreshWatchedReceipts(lh, onEvent);
      } catch (e) {
        onError(e);
      }
      await new Promise<void>((r) => {
        const timer = setTimeout(r, intervalMs);
        wake = () => {
          clearTimeout(timer);
          r();
        };
        signal.addEventListener('abort', wake, { once: true });
      });
    }
  })();
  return { done, poke: () => wake?.() };
}
