/**
 * UnixFS import settings equal to Kubo's `ipfs add --cid-version=1
 * --raw-leaves` (the `unixfs-v0-2015` profile of IPIP-499 with CIDv1): a
 * fixed-size chunker of 262144 bytes, a balanced DAG of at most 174 links per
 * node, raw leaves, CIDv1, sha2-256, and a single-chunk file reduced to its
 * raw leaf. The same bytes therefore get the same CID here, in Kubo, and in
 * any node of a private cluster.
 *
 * Note: ipfs-unixfs-importer@17 with no `profile` uses exactly these values
 * (DEFAULT_CHUNK_SIZE_256KIB, balanced's DEFAULT_MAX_CHILDREN_PER_NODE = 174,
 * DEFAULT_RAW_LEAVES, DEFAULT_CID_VERSION = 1, reduceSingleLeafToSelf); we
 * pass them explicitly so a change of library defaults cannot change CIDs.
 * A Kubo node configured with the `unixfs-v1-2025` profile (1 MiB chunks,
 * 1024 links) gives different CIDs for files over 256 KiB.
 */
import { webcrypto } from 'node:crypto';
import { importer, type BufferImporter, type ImporterOptions } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { create as createDigest } from 'multiformats/hashes/digest';
import { sha256 } from 'multiformats/hashes/sha2';
import { fail } from '../errors.js';
import { byteChunks, type ByteSource } from './bytes.js';

/** Kubo's default chunk: `size-262144`. */
export const CHUNK_SIZE = 262_144;
/** Kubo's default `Import.UnixFSFileMaxLinks` for the balanced layout. */
export const MAX_CHILDREN_PER_NODE = 174;

/**
 * Raw-leaf writer equal to the importer's default with `rawLeaves: true`
 * (CIDv1, codec raw, sha2-256 of the chunk), except that the leaf is hashed
 * with WebCrypto, which runs on libuv's thread pool: leaf hashing then
 * overlaps the encryption on the main thread instead of queueing behind it.
 * Tests compare its CIDs with the stock importer's.
 */
const rawLeafImporter: BufferImporter = async function* (file, blockstore) {
  for await (const block of file.content) {
    yield async () => {
      const digest = new Uint8Array(await webcrypto.subtle.digest('SHA-256', block));
      const cid = CID.createV1(raw.code, createDigest(sha256.code, digest));
      await blockstore.put(cid, block);
      return { cid, size: BigInt(block.length), block };
    };
  }
};

/** Importer options reproducing `ipfs add --cid-version=1 --raw-leaves`. */
export function kuboImporterOptions(): ImporterOptions {
  return {
    bufferImporter: rawLeafImporter,
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    wrapWithDirectory: false,
    chunker: fixedSize({ chunkSize: CHUNK_SIZE }),
    layout: balanced({ maxChildrenPerNode: MAX_CHILDREN_PER_NODE }),
  };
}

/** Import one file (no path, no metadata) and return its root CID. */
export async function importOne(
  content: AsyncIterable<Uint8Array>,
  blockstore: { put(cid: CID, bytes: Uint8Array): Promise<CID> },
  options: Partial<ImporterOptions> = {},
): Promise<{ cid: CID; size: bigint }> {
  let root: { cid: CID; size: bigint } | undefined;
  for await (const entry of importer([{ content }], blockstore, { ...kuboImporterOptions(), ...options })) root = entry;
  if (root === undefined) fail('STORE_INTEGRITY', 'the importer produced no root');
  return root;
}

/**
 * The CID Kubo would give these bytes with `ipfs add --cid-version=1
 * --raw-leaves` (content as is: no encryption). Nothing is stored.
 *
 * @example
 * await cidOf(new TextEncoder().encode('hello world\n'))
 * // 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4'
 */
export async function cidOf(content: Uint8Array | ByteSource): Promise<string> {
  const nowhere = { put: async (cid: CID) => cid };
  const { cid } = await importOne(byteChunks(content), nowhere);
  return cid.toString();
}
