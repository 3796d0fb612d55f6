import type { z } from 'zod';
import { fail } from '../errors.js';
import { describeIssues } from '../record/parse.js';
import { decode, decodeJson } from './codecs.js';
import type { JournalDisk } from './disk.js';
import { end } from './keys.js';

/**
 * A typed sub-store of the journal's LevelDB: one key prefix (from keys.ts),
 * one zod schema. Values are JSON, every write is synced before it resolves
 * (and goes through the journal's write-failure path), and every value read
 * back is validated — a damaged or edited data folder gives JOURNAL_CORRUPT,
 * never a wrongly typed object. Higher layers (the chain module's anchor
 * state, tokens, config) get one of these instead of a generic key/value.
 */
/** How values are kept as text: JSON by default; plain text for string stores written before they were typed (meta). */
export interface StoreCodec {
  encode(value: unknown): string;
  /** Text → the value to validate; throws on text that is not an encoding at all. */
  decode(text: string): unknown;
}

export const JSON_CODEC: StoreCodec = { encode: (v) => JSON.stringify(v), decode: (t) => JSON.parse(t) as unknown };
export const TEXT_CODEC: StoreCodec = { encode: (v) => String(v), decode: (t) => t };

export class TypedStore<T> {
  constructor(
    private readonly disk: JournalDisk,
    private readonly prefix: string,
    private readonly schema: z.ZodType<T>,
    private readonly codec: StoreCodec = JSON_CODEC,
  ) {}

  private read(text: string, key: string): T {
    return this.codec === JSON_CODEC ? decodeJson(this.schema, text, key) : decode(this.schema, this.codec.decode(text), key);
  }

  async get(key: string): Promise<T | undefined> {
    const v = await this.disk.db.get(this.prefix + key);
    return v === undefined ? undefined : this.read(v, this.prefix + key);
  }

  /** Durable (synced) before it resolves. The value is validated before it is written, too. */
  async put(key: string, value: T): Promise<void> {
    const r = this.schema.safeParse(value);
    if (!r.success) fail('INVALID_INPUT', `refusing to store an invalid value at ${this.prefix}${key}: ${describeIssues(r.error)}`);
    const checked = r.data;
    await this.disk.write(() => this.disk.db.put(this.prefix + key, this.codec.encode(checked), { sync: true }));
  }

  async *entries(): AsyncGenerator<[string, T]> {
    for await (const [k, v] of this.disk.db.iterator({ gte: this.prefix, lt: end(this.prefix) })) yield [k.slice(this.prefix.length), this.read(v, k)];
  }

  /** The same keys read and written under another schema (a layer that knows its values' exact shape). */
  as<U>(schema: z.ZodType<U>): TypedStore<U> {
    return new TypedStore(this.disk, this.prefix, schema, this.codec);
  }
}
