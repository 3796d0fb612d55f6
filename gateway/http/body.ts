import type { IncomingMessage } from 'node:http';
import { LiuhenError } from '../../src/index.js';

/**
 * Reading request bodies. Hostile input: the length is bounded before and
 * while reading, the text must be UTF-8, and JSON may not carry keys that
 * reach for prototypes (`__proto__`, `constructor`, `prototype`) anywhere.
 */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Media type of the request without parameters, lowercased ('' when absent). */
export function mediaTypeOf(req: IncomingMessage): string {
  const ct = req.headers['content-type'];
  return typeof ct === 'string' ? ct.split(';')[0]!.trim().toLowerCase() : '';
}

/** Refuses early when the declared length is above `limit`. */
export function checkDeclaredLength(req: IncomingMessage, limit: number): void {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    throw new LiuhenError('PAYLOAD_TOO_LARGE', `the request body has ${declared} bytes, more than the ${limit} allowed here`, { details: { limit } });
  }
}

/** Reads the whole body (at most `limit` bytes). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  checkDeclaredLength(req, limit);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).byteLength;
      if (size > limit) throw new LiuhenError('PAYLOAD_TOO_LARGE', `the request body is larger than the ${limit} bytes allowed here`, { details: { limit } });
      chunks.push(chunk as Buffer);
    }
  } catch (e) {
    if (e instanceof LiuhenError) throw e;
    throw new LiuhenError('UPLOAD_INCOMPLETE', 'the request body ended before it was complete');
  }
  return Buffer.concat(chunks, size);
}

/** Parses JSON text strictly: UTF-8, no prototype keys. */
export function parseJsonText(bytes: Uint8Array | string, what = 'the request body'): unknown {
  let text: string;
  try {
    text = typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new LiuhenError('INVALID_JSON', `${what} is not UTF-8 text`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v: unknown) => {
      if (FORBIDDEN_KEYS.has(key)) throw new ForbiddenKey(key);
      return v;
    });
  } catch (e) {
    if (e instanceof ForbiddenKey) throw new LiuhenError('INVALID_INPUT', `${what} contains the key "${e.key}", which is not allowed anywhere`);
    throw new LiuhenError('INVALID_JSON', `${what} is not valid JSON: ${(e as Error).message.slice(0, 120)}`);
  }
  return value;
}

class ForbiddenKey extends Error {
  constructor(readonly key: string) {
    super(key);
  }
}

/** Reads and parses a JSON body; the content type must be application/json. */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  return parseJsonText(await readJsonBytes(req, limit));
}

/** Reads a JSON body's bytes unparsed (the content type must be application/json, UTF-8). */
export async function readJsonBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  const type = mediaTypeOf(req);
  if (type !== 'application/json') throw new LiuhenError('UNSUPPORTED_MEDIA_TYPE', `send the body as application/json (got ${type || 'no content type'})`);
  const charset = /charset=([^;]+)/i.exec(String(req.headers['content-type']))?.[1]?.trim().toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8')
    throw new LiuhenError('UNSUPPORTED_MEDIA_TYPE', `JSON must be UTF-8 (got charset ${charset.slice(0, 20)})`);
  return readBody(req, limit);
}
