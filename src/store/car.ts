/**
 * CAR (Content Addressable aRchive, CARv1) helpers around `@ipld/car`.
 * Hostile input: a CAR comes from another system or a USB stick. Before a
 * single byte reaches the CAR decoder we check the framing (no header or
 * block larger than the limits, so no memory bomb), and every block is
 * re-hashed against its CID before it is stored.
 */
import { createHash } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CarBlockIterator } from '@ipld/car/iterator';
import { CarWriter } from '@ipld/car/writer';
import type { CID } from 'multiformats/cid';
import { fail, isLiuhenError } from '../errors.js';
import { FULL_BLOCK_BYTES, MAX_CAR_BLOCKS, smallBlocksAllowed } from './dag.js';
import { DAG_PB_CODE, parseCid, RAW_CODE, SHA2_256_CODE } from './validate.js';

/** Kubo refuses blocks over 2 MiB (`--allow-big-block`); our blocks are ≤ 256 KiB + a dag-pb node. */
export const MAX_CAR_BLOCK_BYTES = 2 * 1024 * 1024;
const MAX_CAR_HEADER_BYTES = 64 * 1024;
const MAX_CAR_ROOTS = 10_000;
/** The 11-byte pragma that starts a CARv2 file. */
const CARV2_PRAGMA = Buffer.from('0aa16776657273696f6e02', 'hex');

/**
 * Pass a CARv1 byte stream through unchanged while checking its framing:
 * `varint(len) header` then `varint(len) (cid ‖ block)` sections, each within
 * the limits. Rejects CARv2 (export CARv1: `ipfs dag export`).
 */
export async function* guardCarV1(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
  let first = true;
  let skip = 0; // bytes left in the current frame
  let varint = 0;
  let shift = 0;
  let varintBytes = 0;
  let prefix = Buffer.alloc(0);
  for await (const chunk of source) {
    if (!(chunk instanceof Uint8Array)) fail('INVALID_INPUT', 'CAR source must yield Uint8Array chunks');
    if (prefix.length < CARV2_PRAGMA.length) {
      prefix = Buffer.concat([prefix, chunk.subarray(0, CARV2_PRAGMA.length - prefix.length)]);
      if (prefix.length === CARV2_PRAGMA.length && prefix.equals(CARV2_PRAGMA)) {
        fail('STORE_INTEGRITY', 'CARv2 is not accepted; export a CARv1 (e.g. `ipfs dag export`)');
      }
    }
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const k = Math.min(skip, chunk.length - i);
        skip -= k;
        i += k;
        continue;
      }
      const b = chunk[i++]!;
      varint += (b & 0x7f) * 2 ** shift;
      shift += 7;
      varintBytes++;
      if (varintBytes > 8) fail('STORE_INTEGRITY', 'CAR frame length is not a valid varint');
      if ((b & 0x80) !== 0) continue;
      const limit: number = first ? MAX_CAR_HEADER_BYTES : MAX_CAR_BLOCK_BYTES + 128;
      if (varint === 0 || varint > limit) {
        fail('STORE_INTEGRITY', `CAR ${first ? 'header' : 'block'} of ${varint} bytes is outside 1..${limit}`);
      }
      skip = varint;
      first = false;
      varint = 0;
      shift = 0;
      varintBytes = 0;
    }
    yield chunk;
  }
  if (skip > 0 || varintBytes > 0 || first) fail('STORE_INTEGRITY', 'CAR file is truncated');
}

/** Requires `bytes` to hash to `cid` (CIDv1, dag-pb or raw, sha2-256). */
export function verifyBlock(cid: CID, bytes: Uint8Array): void {
  if (cid.version !== 1 || (cid.code !== RAW_CODE && cid.code !== DAG_PB_CODE) || cid.multihash.code !== SHA2_256_CODE) {
    fail('STORE_INTEGRITY', `CAR block ${cid.toString()} is not a CIDv1 dag-pb/raw sha2-256 block`, { details: { cid: cid.toString() } });
  }
  const digest = createHash('sha256').update(bytes).digest();
  if (!digest.equals(cid.multihash.digest)) {
    fail('STORE_INTEGRITY', `CAR block ${cid.toString()} does not hash to its CID`, { details: { cid: cid.toString() } });
  }
}

/**
 * Open a (guarded) CARv1 stream; returns its validated roots and a block
 * iterator that refuses a CAR of more than MAX_CAR_BLOCKS sections
 * (`STORE_TOO_LARGE`) or with more short blocks than real objects have
 * (dag.ts, `smallBlocksAllowed`), so that no caller's work grows past that.
 */
export async function readCar(source: AsyncIterable<Uint8Array>): Promise<{ roots: CID[]; blocks: AsyncIterable<{ cid: CID; bytes: Uint8Array }> }> {
  let it: CarBlockIterator;
  let roots: CID[];
  try {
    it = await CarBlockIterator.fromIterable(guardCarV1(source));
    roots = await it.getRoots();
  } catch (cause) {
    if (isLiuhenError(cause)) throw cause;
    fail('STORE_INTEGRITY', 'not a valid CARv1 file', { cause });
  }
  if (roots.length === 0 || roots.length > MAX_CAR_ROOTS) fail('STORE_INTEGRITY', `a CAR must name 1..${MAX_CAR_ROOTS} roots, got ${roots.length}`);
  const checked = roots.map((r) => parseCid(r, 'CAR root'));
  async function* blocks(): AsyncGenerator<{ cid: CID; bytes: Uint8Array }, void, undefined> {
    let sections = 0;
    let full = 0;
    let small = 0;
    try {
      for await (const block of it) {
        if (++sections > MAX_CAR_BLOCKS) {
          fail('STORE_TOO_LARGE', `the CAR holds more than ${MAX_CAR_BLOCKS} blocks; export it in parts`, {
            details: { limit: 'blocks', max: MAX_CAR_BLOCKS },
          });
        }
        if (block.bytes.byteLength >= FULL_BLOCK_BYTES) full += 1;
        else if (++small > smallBlocksAllowed(checked.length, full)) {
          fail(
            'STORE_INTEGRITY',
            `the CAR holds ${small} blocks shorter than ${FULL_BLOCK_BYTES} bytes after ${full} full ones: not evidence objects, refused`,
            {
              details: { limit: 'small-blocks', max: smallBlocksAllowed(checked.length, full) },
            },
          );
        }
        verifyBlock(block.cid, block.bytes);
        yield block;
      }
    } catch (cause) {
      if (isLiuhenError(cause)) throw cause;
      fail('STORE_INTEGRITY', 'not a valid CARv1 file', { cause });
    }
  }
  return { roots: checked, blocks: blocks() };
}

/**
 * Writes one CARv1 with `cids` as roots and, for each distinct root, the blocks
 * `blocksOf(root)` yields, to `sink`. On any failure the sink is aborted: a
 * truncated CAR must never look complete.
 */
export async function writeCar(cids: readonly CID[], sink: Writable, blocksOf: (root: CID) => AsyncIterable<{ cid: CID; bytes: Uint8Array }>): Promise<void> {
  const { writer, out } = CarWriter.create([...cids]);
  const abort = new AbortController();
  const pump = pipeline(Readable.from(out), sink, { signal: abort.signal });
  const feed = (async () => {
    const seen = new Set<string>();
    for (const root of cids) {
      if (seen.has(root.toString())) continue;
      seen.add(root.toString());
      for await (const block of blocksOf(root)) await writer.put(block);
    }
    await writer.close();
  })();
  try {
    await Promise.all([feed, pump]);
  } catch (e) {
    abort.abort();
    await Promise.allSettled([feed, pump]);
    throw e;
  }
}
