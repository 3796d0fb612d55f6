import { createReadStream, createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { fail } from '../src/errors.js';
import { sdk } from './sdk.js';
import { printJson, printLine, type Run } from './output.js';

/**
 * `liuhen car export|import`: move encrypted evidence between stores as a CAR
 * file (`ipfs dag import` loads it into any IPFS node). Only ciphertext moves:
 * no key is needed, and none is opened.
 */
export function registerCarCommands(program: Command, run: Run): void {
  const car = program.command('car').description('export or import encrypted evidence as a CAR file (for any IPFS node)');

  car
    .command('export')
    .description('write the stored objects of records (by id) or CIDs to one CAR file')
    .argument('<ids...>', 'record ids or CIDs')
    .requiredOption('-o, --output <file>', 'the CAR file to write')
    .action((ids: string[], o: { output: string }) =>
      run(async (g) => {
        const cids = await cidsOf(g.data, ids);
        const store = await sdk.openEvidenceStore({ kind: 'local', dir: sdk.paths(g.data).store }, sdk.staticKeyResolver([]));
        const tmp = `${o.output}.partial`;
        try {
          // Written aside and renamed: a failed export never leaves a complete-looking CAR.
          await store.exportCar(cids, createWriteStream(tmp, { flags: 'wx' }));
          renameSync(tmp, o.output);
        } catch (e) {
          rmSync(tmp, { force: true });
          throw e;
        } finally {
          await store.close();
        }
        if (g.json) printJson({ output: o.output, cids });
        else printLine(`wrote ${cids.length} object(s) to ${o.output}`);
      }),
    );

  car
    .command('import')
    .description("add the objects of a CAR file to this folder's store (every block is re-hashed)")
    .argument('<file>', 'the CAR file')
    .action((file: string) =>
      run(async (g) => {
        if (!existsSync(file)) fail('FILE_UNREADABLE', `cannot read ${file}`);
        const store = await sdk.openEvidenceStore({ kind: 'local', dir: sdk.paths(g.data).store }, sdk.staticKeyResolver([]));
        try {
          const roots = await store.importCar(createReadStream(file));
          if (g.json) printJson({ imported: roots });
          else printLine(`imported ${roots.length} object(s): ${roots.join(' ')}`);
        } finally {
          await store.close();
        }
      }),
    );
}

/** Record ids become the CIDs of their stored files; CIDs pass through (the store validates them). */
async function cidsOf(dataDir: string, ids: string[]): Promise<string[]> {
  if (!ids.some((id) => sdk.recordIdSchema.safeParse(id).success)) return ids;
  const lh = await sdk.Liuhen.open(dataDir);
  try {
    const out: string[] = [];
    for (const id of ids) {
      if (!sdk.recordIdSchema.safeParse(id).success) {
        out.push(id);
        continue;
      }
      const stored = await lh.journal.requireRecord(id);
      const cid = stored.record.media?.cid;
      if (!cid) fail('STORE_NOT_FOUND', `record ${id} has no stored file (recorded as a hash only, or structured content)`);
      out.push(cid);
    }
    return out;
  } finally {
    await lh.close();
  }
}
