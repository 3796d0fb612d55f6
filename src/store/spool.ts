/**
 * The spool of a CAR import: the CAR's verified blocks, each once, in a
 * temporary CARv1 under `<dir>/incoming/`, indexed for random access so that
 * each root's DAG can then be walked (dag.ts) whatever the order of the CAR.
 *
 * A spool (or an object being written) is named `<pid>-<random>.car.tmp`. It
 * is removed when the import ends, refused or not; a process killed in the
 * middle leaves it behind, and the next open of the store removes every
 * temporary file whose process is gone (`sweepIncoming`).
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CID } from 'multiformats/cid';
import { readCar } from './car.js';
import { PackReader, PackWriter } from './pack.js';

export interface Spool {
  roots: CID[];
  reader: PackReader;
  /** Distinct blocks held. */
  blocks: number;
  /** Close the reader and delete the file. */
  discard(): Promise<void>;
}

/**
 * Read a CAR into a spool: framing and limits checked (car.ts), every block
 * re-hashed, a block that comes again written only once. Nothing is left on
 * disk when this rejects.
 */
export async function spoolCar(source: AsyncIterable<Uint8Array>, objectsDir: string, incomingDir: string): Promise<Spool> {
  const { roots, blocks } = await readCar(source);
  const writer = await PackWriter.create(objectsDir, incomingDir, { durable: false });
  const held = new Set<string>();
  try {
    for await (const block of blocks) {
      const key = block.cid.toString();
      if (held.has(key)) continue;
      held.add(key);
      await writer.put(block.cid, block.bytes);
    }
  } catch (e) {
    await writer.abort();
    throw e;
  }
  const file = await writer.seal();
  const count = held.size;
  held.clear();
  let reader: PackReader;
  try {
    reader = await PackReader.open(file, undefined);
  } catch (e) {
    await rm(file, { force: true });
    throw e;
  }
  return {
    roots,
    reader,
    blocks: count,
    discard: async () => {
      await reader.close().catch(() => undefined);
      await rm(file, { force: true });
    },
  };
}

/** Temporary files of an older format (no pid) are removed once this old. */
const LEGACY_TMP_AGE_MS = 60 * 60 * 1000;
const TMP = /^(?:(\d+)-)?[0-9a-f]+\.car\.tmp$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but is someone else's.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove the temporary files left in `incomingDir` by processes that are
 * gone (killed during an import or an add). Files of live processes — another
 * gateway or CLI on the same data folder — are left alone. Returns the names removed.
 */
export async function sweepIncoming(incomingDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(incomingDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TMP.exec(name);
    if (m === null) continue;
    const path = join(incomingDir, name);
    if (m[1] !== undefined) {
      if (alive(Number(m[1]))) continue;
    } else {
      const st = await stat(path).catch(() => undefined);
      if (st === undefined || Date.now() - st.mtimeMs < LEGACY_TMP_AGE_MS) continue;
    }
    await rm(path, { force: true });
    removed.push(name);
  }
  return removed;
}
