/**
 * CIDs: the local backend must give the CID Kubo gives (`ipfs add
 * --cid-version=1 --raw-leaves`), so evidence moves between nodes unchanged.
 */
import { Readable } from 'node:stream';
import { exporter } from 'ipfs-unixfs-exporter';
import { importer, type ImporterOptions } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cidOf, LocalBackend, UNIXFS_CHUNK_SIZE as CHUNK_SIZE, UNIXFS_MAX_LINKS as MAX_CHILDREN_PER_NODE } from '../../src/store/index.js';
import { chunked, cleanup, collect, pattern, tempDir } from './helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);

/**
 * Independent reference: the stock importer with Kubo's `ipfs add
 * --cid-version=1 --raw-leaves` settings spelled out, and its own defaults.
 */
async function referenceCid(bytes: Uint8Array, options: ImporterOptions): Promise<{ cid: CID; blocks: Map<string, Uint8Array> }> {
  const blocks = new Map<string, Uint8Array>();
  const store = { put: async (cid: CID, b: Uint8Array) => (blocks.set(cid.toString(), b), cid) };
  let root: CID | undefined;
  for await (const e of importer([{ content: chunked(bytes, 65_536) }], store, options)) root = e.cid;
  return { cid: root!, blocks };
}
const KUBO_V1_RAW: ImporterOptions = {
  cidVersion: 1,
  rawLeaves: true,
  chunker: fixedSize({ chunkSize: 262_144 }),
  layout: balanced({ maxChildrenPerNode: 174 }),
};
/** IPIP-499 `unixfs-v0-2015` is Kubo's legacy default profile; with CIDv1 it implies raw leaves. */
const PROFILE_V0_2015_AS_V1: ImporterOptions = { profile: 'unixfs-v0-2015', cidVersion: 1, rawLeaves: true };

describe('cidOf (Kubo-compatible CID of raw content)', () => {
  it('gives the known CID of "hello world\\n" (PLATFORM.md)', async () => {
    expect(await cidOf(enc('hello world\n'))).toBe('bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4');
  });

  // Published by Kubo's own fixtures (ipfs/kubo test/sharness/t0114-gateway-subdomains/README.md and
  // t0124-gateway-ipns-record/README.md, Kubo 0.18.1): `echo <value> | ipfs add --cid-version 1 -Q`.
  it.each([
    ['hello\n', 'bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am'],
    ['Hello IPFS\n', 'bafkreidfdrlkeq4m4xnxuyx6iae76fdm4wgl5d4xzsb77ixhyqwumhz244'],
  ])('gives Kubo’s published CID for %j', async (text, want) => {
    expect(await cidOf(enc(text))).toBe(want);
  });

  it('gives the raw CID of SHA-256("") for an empty file (one empty raw leaf)', async () => {
    const want = CID.createV1(raw.code, await sha256.digest(new Uint8Array(0))).toString();
    expect(want).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
    expect(await cidOf(new Uint8Array(0))).toBe(want);
  });

  it('accepts a Node Readable and an async iterable alike', async () => {
    const data = pattern(300_000, 3);
    const a = await cidOf(Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
    const b = await cidOf(chunked(data, 7777));
    expect(a).toBe(b);
    expect(a).toBe((await referenceCid(data, KUBO_V1_RAW)).cid.toString());
  });

  it('uses the Kubo chunk size and fan-out', () => {
    expect(CHUNK_SIZE).toBe(262_144);
    expect(MAX_CHILDREN_PER_NODE).toBe(174);
  });
});

describe('multi-chunk CIDs equal the stock importer with Kubo defaults', () => {
  let dir: string;
  let backend: LocalBackend;
  // 1 MiB + 1: five leaves under one dag-pb root.
  const oneMiBPlusOne = pattern(1024 * 1024 + 1, 5);
  // 175 leaves: more than 174, so the balanced DAG has two levels (root → 2 nodes → leaves).
  const twoLevel = pattern(CHUNK_SIZE * 175 + 12_345, 6);

  beforeAll(async () => {
    dir = await tempDir();
    backend = await LocalBackend.open(dir, { durable: false });
  });
  afterAll(async () => {
    await backend.close();
    await cleanup(dir);
  });

  it.each([
    ['1 MiB + 1 bytes', oneMiBPlusOne],
    ['175 leaves (two-level DAG)', twoLevel],
    ['exactly one chunk', pattern(CHUNK_SIZE, 7)],
    ['one chunk + 1 byte', pattern(CHUNK_SIZE + 1, 8)],
  ])('%s: cidOf and the local backend agree with the reference importer', async (_name, data) => {
    const ref = await referenceCid(data, KUBO_V1_RAW);
    const viaProfile = await referenceCid(data, PROFILE_V0_2015_AS_V1);
    const viaDefaults = await referenceCid(data, {});
    expect(viaProfile.cid.toString()).toBe(ref.cid.toString());
    expect(viaDefaults.cid.toString()).toBe(ref.cid.toString());

    expect(await cidOf(data)).toBe(ref.cid.toString());
    const stored = await backend.add(chunked(data, 99_991));
    expect(stored.toString()).toBe(ref.cid.toString());
    expect((await collect(backend.cat(stored))).equals(data)).toBe(true);
  });

  it('builds the two-level DAG Kubo builds: root → 2 nodes → 174 + 1 leaves', async () => {
    const { cid, blocks } = await referenceCid(twoLevel, KUBO_V1_RAW);
    const bs = {
      get: async function* (c: CID) {
        yield blocks.get(c.toString())!;
      },
    };
    const root = await exporter(cid, bs);
    if (root.type !== 'file') throw new Error('root is not a file');
    expect(root.node.Links).toHaveLength(2);
    const first = await exporter(root.node.Links[0]!.Hash, bs);
    if (first.type !== 'file') throw new Error('child is not a file');
    expect(first.node.Links).toHaveLength(174);
    expect(first.node.Links.every((l) => l.Hash.code === raw.code)).toBe(true);
    expect(root.size).toBe(BigInt(twoLevel.length));
    // leaves are the raw 256 KiB chunks: the first leaf's CID is the raw CID of the first chunk
    const firstChunk = CID.createV1(raw.code, await sha256.digest(twoLevel.subarray(0, CHUNK_SIZE)));
    expect(first.node.Links[0]!.Hash.equals(firstChunk)).toBe(true);
  });
});
