/**
 * Generated hostile CARs (issue 16.2), written section by section so that
 * even millions of blocks never sit in memory: the DAG bomb, millions of
 * distinct tiny blocks, a deep chain, shared subtrees, lying sizes.
 */
import { createHash } from 'node:crypto';
import * as dagPb from '@ipld/dag-pb';
import { CarWriter } from '@ipld/car/writer';
import { UnixFS } from 'ipfs-unixfs';
import { varint } from 'multiformats';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { create as createDigest } from 'multiformats/hashes/digest';

export interface Block {
  cid: CID;
  bytes: Uint8Array;
  /** UnixFS size (what a parent declares for it). */
  size: bigint;
}

const digest = (bytes: Uint8Array) => createDigest(0x12, createHash('sha256').update(bytes).digest());

export function rawBlock(bytes: Uint8Array): Block {
  return { cid: CID.createV1(raw.code, digest(bytes)), bytes, size: BigInt(bytes.byteLength) };
}

/** A UnixFS file node linking `children` (sizes as declared, by default their real ones). */
export function fileNode(children: Block[], opts: { declared?: bigint[]; data?: Uint8Array } = {}): Block {
  const fs = new UnixFS({ type: 'file', blockSizes: opts.declared ?? children.map((c) => c.size), ...(opts.data ? { data: opts.data } : {}) });
  const bytes = dagPb.encode(dagPb.prepare({ Data: fs.marshal(), Links: children.map((c) => ({ Hash: c.cid, Tsize: Number(c.size) })) }));
  return { cid: CID.createV1(dagPb.code, digest(bytes)), bytes, size: fs.fileSize() };
}

async function header(roots: CID[]): Promise<Uint8Array> {
  const { writer, out } = CarWriter.create(roots);
  const parts: Uint8Array[] = [];
  const collect = (async () => {
    for await (const p of out) parts.push(p);
  })();
  await writer.close();
  await collect;
  return Buffer.concat(parts);
}

function section(b: { cid: CID; bytes: Uint8Array }): Uint8Array {
  const len = b.cid.bytes.byteLength + b.bytes.byteLength;
  const head = varint.encodeTo(len, new Uint8Array(varint.encodingLength(len)));
  return Buffer.concat([head, b.cid.bytes, b.bytes]);
}

/** A CARv1 as a stream: the header, then each block of `blocks` (an iterable, possibly generated lazily). */
export async function* carStream(
  roots: CID[],
  blocks: Iterable<{ cid: CID; bytes: Uint8Array }> | AsyncIterable<{ cid: CID; bytes: Uint8Array }>,
  batch = 256,
): AsyncGenerator<Uint8Array> {
  yield await header(roots);
  let pending: Uint8Array[] = [];
  for await (const b of blocks) {
    pending.push(section(b));
    if (pending.length >= batch) {
      yield Buffer.concat(pending);
      pending = [];
    }
  }
  if (pending.length > 0) yield Buffer.concat(pending);
}

export async function carBytes(roots: CID[], blocks: Iterable<{ cid: CID; bytes: Uint8Array }>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of carStream(roots, blocks)) parts.push(p);
  return Buffer.concat(parts);
}

/** Root → `fanout` links to one node → `fanout` links to one 1-byte leaf (the bomb: fanout 2,000). Blocks each once, root first. */
export function dagBomb(fanout: number): { root: CID; blocks: Block[] } {
  const leaf = rawBlock(Uint8Array.of(0x42));
  const mid = fileNode(Array.from({ length: fanout }, () => leaf));
  const root = fileNode(Array.from({ length: fanout }, () => mid));
  return { root: root.cid, blocks: [root, mid, leaf] };
}

/** `n` distinct 8-byte raw blocks, generated lazily; the root is the first. */
export function tinyBlocks(n: number): { root: CID; blocks: Iterable<Block> } {
  const block = (i: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(i));
    return rawBlock(b);
  };
  return {
    root: block(0).cid,
    blocks: (function* () {
      for (let i = 0; i < n; i++) yield block(i);
    })(),
  };
}

/** A chain of `depth` nested file nodes over one leaf, root first. */
export function deepChain(depth: number): { root: CID; blocks: Block[] } {
  let node = rawBlock(Uint8Array.of(1));
  const blocks: Block[] = [node];
  for (let i = 0; i < depth; i++) {
    node = fileNode([node]);
    blocks.push(node);
  }
  return { root: node.cid, blocks: blocks.reverse() };
}

/** `roots` distinct roots, each linking to the same subtree of `leaves` leaves: small CAR, many walks. */
export function sharedSubtree(roots: number, leaves: number): { roots: CID[]; blocks: Block[] } {
  const ls = Array.from({ length: leaves }, (_, i) => rawBlock(Buffer.from(`leaf ${i}`)));
  const sub = fileNode(ls);
  const rs = Array.from({ length: roots }, (_, i) => fileNode([sub], { data: Buffer.from(`root ${i}`) }));
  return { roots: rs.map((r) => r.cid), blocks: [...rs, sub, ...ls] };
}
