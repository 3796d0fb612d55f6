/**
 * Bounded reading of evidence DAGs (issue 16.2). A CAR file or a Kubo node is
 * hostile input: a few hundred kilobytes can describe a DAG that is
 * exponentially larger than itself when followed naively (a "DAG bomb": a
 * root linking 2,000 times to a node linking 2,000 times to one leaf), a chain
 * nested deep enough to overflow any recursive walk, or millions of tiny
 * blocks. Everything here is iterative and checked against the limits below
 * (stated in docs/store.md), so the work of an import is bounded by the size
 * of the CAR and its memory by `MAX_CAR_BLOCKS`:
 *
 * - a CAR holds at most `MAX_CAR_BLOCKS` sections (`STORE_TOO_LARGE`, limit
 *   `blocks`), and blocks shorter than a full chunk only as many as real
 *   objects need (`smallBlocksAllowed`; `STORE_INTEGRITY`, limit `small-blocks`);
 * - an evidence object is a tree: its blocks are ciphertext (encrypted in
 *   distinct segments), so no two links of one object ever reach the same
 *   block; a block reached twice is refused (`STORE_INTEGRITY`, limit
 *   `shared`) — this is what defuses a DAG bomb, and it also makes the work of
 *   any later read (`cat` follows every link) equal to the blocks stored;
 * - each block is stored once per object; the blocks walked for all roots of
 *   one CAR are at most `2 × distinct blocks + 16`, so roots sharing a subtree
 *   cannot multiply the work either (`STORE_INTEGRITY`, limit `visits`);
 * - a node has at most `MAX_DAG_LINKS` links and lies at most `MAX_DAG_DEPTH`
 *   below its root (`STORE_INTEGRITY`, limits `links` / `depth`);
 * - declared sizes are checked: a dag-pb node is a UnixFS file with one
 *   blocksize per link, its size is its data plus its blocksizes, every
 *   child is exactly the size its parent declares, and a root declares at
 *   most `MAX_OBJECT_BYTES` (`STORE_INTEGRITY` / `STORE_TOO_LARGE`).
 */
import { decode as decodePb } from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import type { CID } from 'multiformats/cid';
import { fail } from '../errors.js';
import { DAG_PB_CODE, RAW_CODE } from './validate.js';

/** Sections per CAR: 2^18 blocks, 64 GiB of evidence at 256 KiB per block. Larger archives are exported as several CARs. */
export const MAX_CAR_BLOCKS = 262_144;
/**
 * Blocks shorter than a full 256 KiB chunk. An evidence object's leaves are
 * all full chunks but its last, and it has about one dag-pb node per 174
 * leaves; so a CAR may hold at most 64 + 4 per root + 1 per 128 full blocks
 * of them (checked as it streams). Millions of tiny blocks are refused after
 * a few dozen, and the work of an import stays proportional to its bytes.
 */
export const FULL_BLOCK_BYTES = 262_144;
export const SMALL_BLOCKS_BASE = 64;
export const SMALL_BLOCKS_PER_ROOT = 4;
export const FULL_BLOCKS_PER_SMALL = 128;

export function smallBlocksAllowed(roots: number, fullBlocks: number): number {
  return SMALL_BLOCKS_BASE + SMALL_BLOCKS_PER_ROOT * roots + Math.floor(fullBlocks / FULL_BLOCKS_PER_SMALL);
}

/** Links of one dag-pb node (Kubo's balanced layout uses 174). */
export const MAX_DAG_LINKS = 1_024;
/** Levels below a root (174^8 × 256 KiB is far beyond any file). */
export const MAX_DAG_DEPTH = 16;
/** Largest object a root may declare: 1 TiB. */
export const MAX_OBJECT_BYTES = 2n ** 40n;
/** Visits allowed per distinct block, and a small constant for tiny CARs. */
export const VISITS_PER_BLOCK = 2;
export const VISITS_SLACK = 16;

/** Visits left for the walks of one CAR (shared by all its roots). */
export interface DagBudget {
  visits: number;
  readonly maxVisits: number;
}

export function dagBudget(distinctBlocks: number): DagBudget {
  return { visits: 0, maxVisits: VISITS_PER_BLOCK * distinctBlocks + VISITS_SLACK };
}

interface Pending {
  cid: CID;
  depth: number;
  /** The size the parent declares for this child (UnixFS blocksize); undefined for a root. */
  declared: bigint | undefined;
}

/**
 * Every block of the tree under `root`, depth first, root first (the order
 * of `ipfs dag export`), read with `get`. Iterative: the stack
 * holds at most MAX_DAG_DEPTH × MAX_DAG_LINKS entries.
 */
export async function* walkDag(
  root: CID,
  get: (cid: CID) => Promise<Uint8Array>,
  budget: DagBudget,
): AsyncGenerator<{ cid: CID; bytes: Uint8Array }, void, undefined> {
  const seen = new Set<string>();
  const stack: Pending[] = [{ cid: root, depth: 0, declared: undefined }];
  const where = root.toString();
  while (stack.length > 0) {
    const { cid, depth, declared } = stack.pop()!;
    budget.visits += 1;
    if (budget.visits > budget.maxVisits) {
      fail('STORE_INTEGRITY', `the DAGs of this CAR reach more blocks than it holds (${budget.maxVisits} visits allowed at ${where}), refused`, {
        details: { cid: where, limit: 'visits', max: budget.maxVisits },
      });
    }
    const key = cid.toString();
    if (seen.has(key)) {
      fail('STORE_INTEGRITY', `block ${key} is reached twice in the DAG of ${where}: an evidence object is a tree (a DAG bomb?), refused`, {
        details: { cid: where, block: key, limit: 'shared' },
      });
    }
    if (depth > MAX_DAG_DEPTH) {
      fail('STORE_INTEGRITY', `the DAG of ${where} is nested deeper than ${MAX_DAG_DEPTH} levels`, {
        details: { cid: where, limit: 'depth', max: MAX_DAG_DEPTH },
      });
    }
    const bytes = await get(cid);
    let size: bigint;
    let children: Pending[] = [];
    if (cid.code === RAW_CODE) size = BigInt(bytes.byteLength);
    else if (cid.code === DAG_PB_CODE) ({ size, children } = fileNode(where, cid, bytes, depth));
    else fail('STORE_INTEGRITY', `block ${key} of ${where} is neither dag-pb nor raw`, { details: { cid: where, block: key } });
    checkDeclared(where, key, declared, size);
    if (size > MAX_OBJECT_BYTES) {
      fail('STORE_TOO_LARGE', `${where} declares ${size} bytes, more than the limit of ${MAX_OBJECT_BYTES}`, {
        details: { cid: where, limit: 'size', max: Number(MAX_OBJECT_BYTES) },
      });
    }
    seen.add(key);
    yield { cid, bytes };
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
}

function checkDeclared(where: string, block: string, declared: bigint | undefined, actual: bigint): void {
  if (declared !== undefined && declared !== actual) {
    fail('STORE_INTEGRITY', `block ${block} of ${where} holds ${actual} bytes but its parent declares ${declared}`, {
      details: { cid: where, block, limit: 'declared-size' },
    });
  }
}

/** A dag-pb node must be a UnixFS file (or raw) node whose sizes add up; returns its size and its children. */
function fileNode(where: string, cid: CID, bytes: Uint8Array, depth: number): { size: bigint; children: Pending[] } {
  const block = cid.toString();
  let node: ReturnType<typeof decodePb>;
  let fs: UnixFS;
  try {
    node = decodePb(bytes);
    if (node.Data === undefined) throw new Error('no UnixFS data');
    fs = UnixFS.unmarshal(node.Data);
  } catch (cause) {
    fail('STORE_INTEGRITY', `block ${block} of ${where} is not a UnixFS node`, { details: { cid: where, block }, cause });
  }
  if (fs.type !== 'file' && fs.type !== 'raw')
    fail('STORE_INTEGRITY', `block ${block} of ${where} is a UnixFS ${fs.type}, not a file`, { details: { cid: where, block } });
  if (node.Links.length > MAX_DAG_LINKS) {
    fail('STORE_INTEGRITY', `block ${block} of ${where} has ${node.Links.length} links (at most ${MAX_DAG_LINKS})`, {
      details: { cid: where, block, limit: 'links', max: MAX_DAG_LINKS },
    });
  }
  if (fs.blockSizes.length !== node.Links.length) {
    fail('STORE_INTEGRITY', `block ${block} of ${where} declares ${fs.blockSizes.length} sizes for ${node.Links.length} links`, {
      details: { cid: where, block, limit: 'declared-size' },
    });
  }
  // Its size: its own data plus the sizes it declares for its children (each checked when the child is read).
  const size = fs.fileSize();
  return { size, children: node.Links.map((l, i) => ({ cid: l.Hash, depth: depth + 1, declared: fs.blockSizes[i]! })) };
}

/**
 * `get` over a stream of blocks that must come in the walk's order (what
 * `ipfs dag export` and `exportCar` write): each block asked for must be the
 * next new one in the stream. Duplicates of blocks already passed are
 * skipped (they count against the CAR's section limit, not the walk).
 * `finish()` requires the stream to hold nothing more.
 */
export function orderedBlocks(
  blocks: AsyncIterable<{ cid: CID; bytes: Uint8Array }>,
  where: string,
): { get: (cid: CID) => Promise<Uint8Array>; finish: () => Promise<void> } {
  const it = blocks[Symbol.asyncIterator]();
  const passed = new Set<string>();
  return {
    async get(cid) {
      const want = cid.toString();
      for (;;) {
        const next = await it.next();
        if (next.done === true)
          fail('STORE_INTEGRITY', `the DAG of ${where} is incomplete: block ${want} is missing`, { details: { cid: where, block: want, missing: true } });
        const got = next.value.cid.toString();
        if (got === want) {
          passed.add(got);
          return next.value.bytes;
        }
        if (passed.has(got)) continue;
        fail('STORE_INTEGRITY', `the blocks of ${where} are not in DAG order (expected ${want}, got ${got})`, { details: { cid: where, block: got } });
      }
    },
    async finish() {
      for (;;) {
        const next = await it.next();
        if (next.done === true) return;
        if (!passed.has(next.value.cid.toString()))
          fail('STORE_INTEGRITY', `the DAG of ${where} comes with blocks it does not link`, { details: { cid: where, block: next.value.cid.toString() } });
      }
    },
  };
}
