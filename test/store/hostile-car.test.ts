/**
 * `car import` and every DAG read are bounded (issue 16.2): generated hostile
 * CARs are refused with a coded error (never a raw RangeError), quickly, in
 * bounded memory, leaving no spool file behind — also after a kill (cleaned
 * at the next open). The Kubo path runs against the fake Kubo RPC server (no
 * Kubo daemon can be installed here).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import type { CID } from 'multiformats/cid';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLiuhenError } from '../../src/errors.js';
import { readCar } from '../../src/store/car.js';
import { FULL_BLOCK_BYTES, MAX_DAG_DEPTH, MAX_DAG_LINKS } from '../../src/store/dag.js';
import { LocalBackend, openKuboBackend } from '../../src/store/index.js';
import { startFakeKubo } from './fixtures/fake-kubo.js';
import { cleanup, collect, pattern, tempDir } from './helpers.js';
import { carBytes, carStream, dagBomb, deepChain, fileNode, rawBlock, sharedSubtree, tinyBlocks } from './hostile.js';

const CHILD = fileURLToPath(new URL('./fixtures/hostile-child.ts', import.meta.url));

interface ChildResult {
  ok: boolean;
  code?: string;
  limit?: string;
  message?: string;
  ms: number;
  peakRssMB: number;
}

/** Runs the child under a 96 MiB old-space limit, killed after 60 s; resolves with its JSON line and stderr. */
function runChild(dir: string, shape: string): Promise<{ result: ChildResult; stderr: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-old-space-size=96', '--import', 'tsx', CHILD, dir, shape], { stdio: ['ignore', 'pipe', 'pipe'] });
    const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', () => clearTimeout(deadline));
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      try {
        resolve({ result: JSON.parse(out.trim().split('\n').at(-1) ?? '') as ChildResult, stderr: err, status });
      } catch {
        reject(new Error(`child ${shape} exited ${status}: ${out}\n${err}`));
      }
    });
  });
}

const spoolFiles = (dir: string) => (existsSync(join(dir, 'incoming')) ? readdirSync(join(dir, 'incoming')).filter((n) => n.endsWith('.car.tmp')) : []);
const objectFiles = (dir: string) =>
  existsSync(join(dir, 'objects')) ? readdirSync(join(dir, 'objects'), { recursive: true }).filter((n) => String(n).endsWith('.car')) : [];

const refused = (code: string, limit: string) => (e: unknown) => isLiuhenError(e) && e.code === code && e.details?.limit === limit;

describe('hostile CARs: refused within the limits, nothing left behind', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('liuhen-hostile-');
  });
  afterEach(async () => {
    await cleanup(dir);
  });

  it("the issue's DAG bomb (root → 2,000 × node → 2,000 × one 1-byte leaf) is refused at once, in a child with 96 MiB of heap", async () => {
    const { result, stderr } = await runChild(dir, 'bomb');
    expect(result).toMatchObject({ ok: false, code: 'STORE_INTEGRITY', limit: 'links' });
    expect(result.message).toContain(String(MAX_DAG_LINKS));
    expect(stderr).not.toMatch(/RangeError|heap/i);
    expect(spoolFiles(dir)).toEqual([]);
    expect(objectFiles(dir)).toEqual([]);
    console.info(`DAG bomb 2000×2000: refused in ${result.ms} ms, peak RSS ${result.peakRssMB} MiB`);
  }, 120_000);

  it('a bomb under the link limit (1,000 × 1,000) is refused: a block reached twice in one object', async () => {
    const store = await LocalBackend.open(dir, { durable: false });
    const b = dagBomb(1_000);
    const t0 = performance.now();
    await expect(store.importCar(carStream([b.root], b.blocks))).rejects.toSatisfy(refused('STORE_INTEGRITY', 'shared'));
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(spoolFiles(dir)).toEqual([]);
    expect(objectFiles(dir)).toEqual([]);
  });

  it('many roots over one shared subtree are refused by the visit budget of the CAR', async () => {
    const store = await LocalBackend.open(dir, { durable: false });
    const s = sharedSubtree(50, 20);
    await expect(store.importCar(carStream(s.roots, s.blocks))).rejects.toSatisfy(refused('STORE_INTEGRITY', 'visits'));
    expect(spoolFiles(dir)).toEqual([]);
  });

  it('3,000,000 distinct 8-byte blocks: refused after a few dozen (short blocks beyond what real objects have), in a child with 96 MiB of heap', async () => {
    const { result, stderr, status } = await runChild(dir, 'tiny');
    expect(status).toBe(0);
    expect(result).toMatchObject({ ok: false, code: 'STORE_INTEGRITY', limit: 'small-blocks' });
    expect(result.message).toContain(String(FULL_BLOCK_BYTES));
    expect(stderr).not.toMatch(/RangeError|heap/i);
    expect(spoolFiles(dir)).toEqual([]);
    console.info(`3,000,000 tiny blocks: refused in ${result.ms} ms, peak RSS ${result.peakRssMB} MiB`);
  }, 180_000);

  it('a chain of 20,000 nested nodes: refused with a code, and no RangeError is printed', async () => {
    const { result, stderr } = await runChild(dir, 'chain');
    expect(result).toMatchObject({ ok: false, code: 'STORE_INTEGRITY', limit: 'small-blocks' });
    expect(stderr).not.toMatch(/RangeError|Maximum call stack/);
    expect(spoolFiles(dir)).toEqual([]);
    expect(objectFiles(dir)).toEqual([]);
  }, 120_000);

  it('a chain deeper than MAX_DAG_DEPTH (within the short-block allowance) is refused by depth, iteratively', async () => {
    const store = await LocalBackend.open(dir, { durable: false });
    const c = deepChain(MAX_DAG_DEPTH + 20);
    await expect(store.importCar(carStream([c.root], c.blocks))).rejects.toSatisfy(
      (e) => refused('STORE_INTEGRITY', 'depth')(e) && (e as Error).message.includes(String(MAX_DAG_DEPTH)),
    );
    expect(spoolFiles(dir)).toEqual([]);
    expect(objectFiles(dir)).toEqual([]);
  });

  it('a node whose declared blocksize differs from its child is refused', async () => {
    const store = await LocalBackend.open(dir, { durable: false });
    const leaf = rawBlock(Uint8Array.of(1, 2, 3));
    const liar = fileNode([leaf], { declared: [4_000_000_000n] });
    await expect(store.importCar(carStream([liar.cid], [liar, leaf]))).rejects.toSatisfy(refused('STORE_INTEGRITY', 'declared-size'));
    expect(spoolFiles(dir)).toEqual([]);
  });

  it('a block repeated in the CAR is stored once; a good object still imports and reads back', async () => {
    const data = pattern(600_000, 3);
    const source = await LocalBackend.open(join(dir, 'src'), { durable: false });
    const cid = await source.add(
      (async function* () {
        yield data;
      })(),
    );
    const parts: Uint8Array[] = [];
    await source.exportCar([cid], new Writable({ write: (c: Uint8Array, _e, cb) => (parts.push(c), cb()) }));
    const { blocks } = await readCar(
      (async function* () {
        yield Buffer.concat(parts);
      })(),
    );
    const list: { cid: CID; bytes: Uint8Array }[] = [];
    for await (const b of blocks) list.push(b);
    expect(list.length).toBe(4); // 3 leaves of 256 KiB and their node

    const once = await LocalBackend.open(join(dir, 'once'), { durable: false });
    expect(await once.importCar(carStream([cid], list))).toEqual([cid]);
    const twice = await LocalBackend.open(join(dir, 'twice'), { durable: false });
    expect(await twice.importCar(carStream([cid], [...list, ...list, list[1]!]))).toEqual([cid]);
    const size = (d: string) => statSync(join(d, 'objects', String(objectFiles(d)[0]))).size;
    expect(size(join(dir, 'twice'))).toBe(size(join(dir, 'once')));
    expect(await collect(twice.cat(cid))).toEqual(data);
  });

  it('a process killed during an import leaves its spool; the next open removes it (and leaves a live one alone)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, 'endless'], { stdio: 'ignore' });
    try {
      await expect.poll(() => spoolFiles(dir).length, { timeout: 60_000, interval: 100 }).toBe(1);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
    }
    const left = spoolFiles(dir);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(new RegExp(`^${child.pid}-`));
    // A spool of a live process (this one) stays.
    const mine = `${process.pid}-${'ab'.repeat(12)}.car.tmp`;
    await writeFile(join(dir, 'incoming', mine), 'x');
    await LocalBackend.open(dir, { durable: false });
    expect(spoolFiles(dir)).toEqual([mine]);
  }, 120_000);
});

describe('the Kubo path: same bounds (against the fake Kubo RPC server — no Kubo daemon can run here)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('liuhen-hostile-kubo-');
  });
  afterEach(async () => {
    await cleanup(dir);
  });

  it('importCar checks the CAR before the node sees it: a DAG bomb, a deep chain and lying sizes never reach dag/import, and no spool is left', async () => {
    const fake = await startFakeKubo(join(dir, 'node'));
    const spoolDir = join(dir, 'spool');
    const kubo = await openKuboBackend({ url: fake.url, spoolDir });
    try {
      const bomb = dagBomb(2_000);
      await expect(kubo.importCar(carStream([bomb.root], bomb.blocks))).rejects.toSatisfy(refused('STORE_INTEGRITY', 'links'));
      const small = dagBomb(1_000);
      await expect(kubo.importCar(carStream([small.root], small.blocks))).rejects.toSatisfy(refused('STORE_INTEGRITY', 'shared'));
      const chain = deepChain(MAX_DAG_DEPTH + 20);
      await expect(kubo.importCar(carStream([chain.root], chain.blocks))).rejects.toSatisfy(refused('STORE_INTEGRITY', 'depth'));
      const tiny = tinyBlocks(3_000_000);
      await expect(kubo.importCar(carStream([tiny.root], tiny.blocks, 4096))).rejects.toSatisfy(refused('STORE_INTEGRITY', 'small-blocks'));
      expect(fake.calls.map((c) => c.path)).not.toContain('dag/import');
      expect(existsSync(spoolDir) ? readdirSync(spoolDir) : []).toEqual([]);
    } finally {
      await kubo.close();
      await fake.close();
    }
  });

  it('exportCar refuses what a hostile node exports: a DAG bomb, a deep chain, blocks out of order or unlinked', async () => {
    const shapes = new Map<string, Buffer>();
    const bomb = dagBomb(1_000);
    shapes.set(bomb.root.toString(), await carBytes([bomb.root], bomb.blocks));
    const big = dagBomb(2_000);
    shapes.set(big.root.toString(), await carBytes([big.root], big.blocks));
    const chain = deepChain(MAX_DAG_DEPTH + 20);
    shapes.set(chain.root.toString(), await carBytes([chain.root], chain.blocks));
    const long = deepChain(20_000);
    shapes.set(long.root.toString(), await carBytes([long.root], long.blocks));
    const leaf = rawBlock(Uint8Array.of(7));
    const extra = rawBlock(Uint8Array.of(8));
    shapes.set(leaf.cid.toString(), await carBytes([leaf.cid], [leaf, extra]));
    const fake = await startFakeKubo(join(dir, 'node'), { dagExport: (cid) => shapes.get(cid) });
    const kubo = await openKuboBackend({ url: fake.url, spoolDir: join(dir, 'spool') });
    const sink = () => new Writable({ write: (_c, _e, cb) => cb() });
    try {
      await expect(kubo.exportCar([bomb.root], sink())).rejects.toSatisfy(refused('STORE_INTEGRITY', 'shared'));
      await expect(kubo.exportCar([big.root], sink())).rejects.toSatisfy(refused('STORE_INTEGRITY', 'links'));
      await expect(kubo.exportCar([chain.root], sink())).rejects.toSatisfy(refused('STORE_INTEGRITY', 'depth'));
      await expect(kubo.exportCar([long.root], sink())).rejects.toSatisfy(refused('STORE_INTEGRITY', 'depth'));
      await expect(kubo.exportCar([leaf.cid], sink())).rejects.toSatisfy((e) => isLiuhenError(e, 'STORE_INTEGRITY') && /does not link/.test(e.message));
    } finally {
      await kubo.close();
      await fake.close();
    }
  });
});
