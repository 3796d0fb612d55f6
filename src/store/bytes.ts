/**
 * Byte-stream plumbing shared by the encryptor, the decryptor and the
 * backends: one normaliser for caller input, a pull-based reader that never
 * buffers more than it is asked for, and a writer that cuts output into
 * fixed-size chunks.
 */
import type { Readable } from 'node:stream';
import { fail, isLiuhenError } from '../errors.js';

/** A Uint8Array source is handed on in views of this size (no copy), for progress and pacing. */
const BYTES_SLICE = 1024 * 1024;

/** What `put` accepts: a Node stream or any async (or sync) iterable of bytes. */
export type ByteSource = Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

function isIterable(v: object): v is Iterable<unknown> {
  return Symbol.iterator in v;
}
function isAsyncIterable(v: object): v is AsyncIterable<unknown> {
  return Symbol.asyncIterator in v;
}

/**
 * Normalise a caller's source to an async iterable of Buffers (no copy).
 * Rejects strings and non-byte chunks with `INVALID_INPUT`; a single
 * Uint8Array is handed on in 1 MiB views.
 */
export async function* byteChunks(source: ByteSource | Uint8Array): AsyncGenerator<Buffer, void, undefined> {
  if (source instanceof Uint8Array) {
    const all = Buffer.from(source.buffer, source.byteOffset, source.byteLength);
    for (let i = 0; i < all.length; i += BYTES_SLICE) yield all.subarray(i, Math.min(all.length, i + BYTES_SLICE));
    return;
  }
  if (source === null || typeof source !== 'object') {
    fail('INVALID_INPUT', 'source must be a Readable or an (async) iterable of Uint8Array');
  }
  let it: AsyncIterable<unknown> | Iterable<unknown>;
  if (isAsyncIterable(source)) it = source;
  else if (isIterable(source)) it = source;
  else fail('INVALID_INPUT', 'source must be a Readable or an (async) iterable of Uint8Array');
  const iterator = (isAsyncIterable(it) ? it[Symbol.asyncIterator]() : it[Symbol.iterator]()) as AsyncIterator<unknown> | Iterator<unknown>;
  let finished = false;
  try {
    for (;;) {
      let r: IteratorResult<unknown>;
      try {
        r = await iterator.next();
      } catch (cause) {
        finished = true; // a failed iterator is done
        if (isLiuhenError(cause)) throw cause;
        fail('FILE_UNREADABLE', 'reading the evidence source failed', { cause });
      }
      if (r.done === true) {
        finished = true;
        return;
      }
      const chunk = r.value;
      if (!(chunk instanceof Uint8Array)) {
        fail('INVALID_INPUT', 'source yielded a chunk that is not a Uint8Array (a Readable must not use an encoding)');
      }
      if (chunk.byteLength > 0) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  } finally {
    // The consumer stopped early or a chunk was rejected: release the source (closes a file stream).
    if (!finished) await iterator.return?.();
  }
}

/**
 * Pull-based reader over an async iterable of bytes: `fill(n)` pulls until at
 * least `n` bytes are buffered (or the source ends); nothing more is read
 * ahead than the largest `fill` asked for plus one source chunk.
 */
export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private chunks: Buffer[] = [];
  private head = 0; // offset into chunks[0]
  private buffered = 0;
  private ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  get length(): number {
    return this.buffered;
  }

  get done(): boolean {
    return this.ended && this.buffered === 0;
  }

  /** Pull until `n` bytes are buffered or the source ends; returns the buffered length. */
  async fill(n: number): Promise<number> {
    while (this.buffered < n && !this.ended) {
      const r = await this.it.next();
      if (r.done === true) {
        this.ended = true;
        break;
      }
      const c = r.value;
      if (c.byteLength === 0) continue;
      this.chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength));
      this.buffered += c.byteLength;
    }
    return this.buffered;
  }

  /** Take exactly `n` buffered bytes (requires `n <= length`): no copy when they sit in one chunk. */
  take(n: number): Buffer {
    if (n > this.buffered) throw new RangeError(`take(${n}) with ${this.buffered} bytes buffered`);
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.byteLength - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.byteLength - this.head, n - o);
      c.copy(out, o, this.head, this.head + k);
      o += k;
      this.advance(k);
    }
    return out;
  }

  private advance(k: number): void {
    this.head += k;
    this.buffered -= k;
    if (this.head === this.chunks[0]!.byteLength) {
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Stop reading: lets the source release its resources (file handles, sockets). */
  async cancel(): Promise<void> {
    this.chunks = [];
    this.buffered = 0;
    if (!this.ended) {
      this.ended = true;
      await this.it.return?.();
    }
  }
}

/**
 * Collects written bytes into fresh fixed-size chunks. Every full chunk is a
 * new allocation handed over to the consumer (never reused), so the consumer
 * may keep it while the writer goes on.
 */
export class ChunkWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly out: Buffer[] = [];

  constructor(private readonly size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  write(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.byteLength) {
      const k = Math.min(this.size - this.pos, bytes.byteLength - off);
      this.buf.set(bytes.subarray(off, off + k), this.pos);
      this.pos += k;
      off += k;
      if (this.pos === this.size) {
        this.out.push(this.buf);
        this.buf = Buffer.allocUnsafe(this.size);
        this.pos = 0;
      }
    }
  }

  /** Full chunks completed since the last call. */
  drain(): Buffer[] {
    return this.out.splice(0, this.out.length);
  }

  /** Full chunks plus the final partial one. */
  end(): Buffer[] {
    const rest = this.drain();
    if (this.pos > 0) rest.push(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return rest;
  }
}
