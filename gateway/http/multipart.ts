import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { isLiuhenError, LiuhenError } from '../../src/index.js';
import { checkDeclaredLength } from './body.js';

/**
 * A streaming multipart/form-data reader (busboy) for one file. Hostile
 * input: names are checked against what the route expects, required fields
 * must come before the file (so the file can be streamed straight to its
 * destination), and every limit is enforced while reading — a file over its
 * limit fails its consumer with PAYLOAD_TOO_LARGE, a client that goes away
 * fails it with UPLOAD_INCOMPLETE. Nothing is buffered but the small fields.
 */
export interface MultipartOptions<T> {
  /** Text fields the route accepts (each at most once). */
  fields: readonly string[];
  /** Fields that may also arrive as a file part (a receipt chosen as a file); read as text, bounded like a field. */
  textFiles?: readonly string[];
  /** Name of the one streamed file part, if any. */
  file?: string;
  /** Fields that must have arrived before the file part. */
  beforeFile?: readonly string[];
  limits: { fieldBytes: number; fileBytes: number; parts: number };
  /**
   * Consumes the file stream (must read it to the end or fail). Called with
   * the fields received so far. Its rejection fails the whole request.
   */
  onFile?: (file: Readable, info: { filename: string | undefined; mimeType: string }, fields: Readonly<Record<string, string>>) => Promise<T>;
}

export interface MultipartResult<T> {
  fields: Record<string, string>;
  /** What `onFile` resolved to, when a file part came. */
  file?: T;
}

/** Overhead allowed on top of the declared limits for boundaries and part headers. */
const ENVELOPE_BYTES = 64 * 1024;

export function readMultipart<T>(req: IncomingMessage, o: MultipartOptions<T>): Promise<MultipartResult<T>> {
  checkDeclaredLength(req, o.limits.fileBytes + o.limits.fieldBytes * o.fields.length + ENVELOPE_BYTES);
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        limits: {
          fieldSize: o.limits.fieldBytes,
          fileSize: o.limits.fileBytes,
          files: o.file || o.textFiles?.length ? o.limits.parts : 0,
          fields: o.limits.parts,
          parts: o.limits.parts,
          fieldNameSize: 64,
          headerPairs: 16,
        },
        defParamCharset: 'utf8',
      });
    } catch {
      reject(new LiuhenError('INVALID_INPUT', 'the multipart body has no boundary in its Content-Type'));
      return;
    }
    const fields: Record<string, string> = {};
    let failed = false;
    let fileWork: Promise<T> | undefined;
    const textWork: Promise<void>[] = [];
    const pendingText = new Set<string>();
    let activeFile: Readable | undefined;

    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      // Parser trouble arrives here already coded (see the 'error' handler); anything else is ours: INTERNAL.
      const err = isLiuhenError(e) ? e : new LiuhenError('INTERNAL', 'internal error', { cause: e });
      activeFile?.destroy(err);
      req.unpipe(bb);
      req.resume(); // discard the rest; the error response closes the connection
      reject(err);
    };

    const setField = (name: string, value: string) => {
      if (!o.fields.includes(name))
        return fail(new LiuhenError('INVALID_INPUT', `unexpected form field "${name.slice(0, 64)}" (expected ${o.fields.join(', ')})`));
      if (name in fields) return fail(new LiuhenError('INVALID_INPUT', `form field "${name}" was sent twice`));
      fields[name] = value;
      return undefined;
    };

    bb.on('field', (name, value, info) => {
      if (failed) return;
      if (info.nameTruncated || info.valueTruncated)
        return fail(
          new LiuhenError('PAYLOAD_TOO_LARGE', `form field "${name.slice(0, 64)}" is larger than ${o.limits.fieldBytes} bytes`, {
            details: { limit: o.limits.fieldBytes },
          }),
        );
      setField(name, value);
      return undefined;
    });

    bb.on('file', (name, stream, info) => {
      // Errors reach the consumer through its iterator; this listener keeps a late destroy() from becoming an uncaught 'error'.
      stream.on('error', () => undefined);
      if (failed) return void stream.resume();
      if (o.textFiles?.includes(name)) {
        pendingText.add(name);
        textWork.push(readText(stream, o.limits.fieldBytes, name).then((text) => void setField(name, text), fail));
        return undefined;
      }
      if (!o.file || name !== o.file || !o.onFile) {
        stream.resume();
        return fail(new LiuhenError('INVALID_INPUT', `unexpected file part "${name.slice(0, 64)}"${o.file ? ` (expected "${o.file}")` : ''}`));
      }
      if (fileWork) {
        stream.resume();
        return fail(new LiuhenError('INVALID_INPUT', 'send exactly one file'));
      }
      // Order is checked now, as the parts arrive (a small file would let later parts be parsed before we look again).
      const missing = (o.beforeFile ?? []).filter((f) => !(f in fields) && !pendingText.has(f));
      if (missing.length > 0) {
        stream.resume();
        return fail(new LiuhenError('INVALID_INPUT', `form field ${missing.map((m) => `"${m}"`).join(', ')} must come before the file part`));
      }
      activeFile = stream;
      stream.once('limit', () =>
        stream.destroy(
          new LiuhenError('PAYLOAD_TOO_LARGE', `the file is larger than the ${o.limits.fileBytes} bytes allowed here`, {
            details: { limit: o.limits.fileBytes },
          }),
        ),
      );
      // Text parts sent as files before this one are still being read; the file waits for them (busboy holds it back meanwhile).
      const before = { ...fields };
      const ready = Promise.all(textWork).then(() => {
        for (const f of pendingText) if (f in fields) before[f] = fields[f]!;
        if ((o.beforeFile ?? []).some((f) => !(f in before)))
          throw new LiuhenError('INVALID_INPUT', 'a form field that must come before the file part is missing');
      });
      fileWork = ready
        .then(() => o.onFile!(stream, { filename: info.filename, mimeType: info.mimeType }, before))
        .then((r) => {
          if ((stream as Readable & { truncated?: boolean }).truncated)
            throw new LiuhenError('PAYLOAD_TOO_LARGE', `the file is larger than the ${o.limits.fileBytes} bytes allowed here`);
          activeFile = undefined;
          return r;
        });
      // The store reports a broken source as FILE_UNREADABLE: here that is the client's upload breaking off.
      fileWork.catch((e: unknown) =>
        fail(isLiuhenError(e, 'FILE_UNREADABLE') ? new LiuhenError('UPLOAD_INCOMPLETE', 'the upload ended before it was complete; nothing was recorded') : e),
      );
      return undefined;
    });

    bb.on('partsLimit', () => fail(new LiuhenError('PAYLOAD_TOO_LARGE', `the form has more than ${o.limits.parts} parts`)));
    bb.on('filesLimit', () => fail(new LiuhenError('INVALID_INPUT', 'send exactly one file')));
    bb.on('fieldsLimit', () => fail(new LiuhenError('PAYLOAD_TOO_LARGE', `the form has more than ${o.limits.parts} fields`)));
    bb.on('error', (e) =>
      fail(isLiuhenError(e) ? e : new LiuhenError('INVALID_INPUT', `the multipart body is malformed: ${String((e as Error)?.message ?? '').slice(0, 80)}`)),
    );
    bb.on('close', () => {
      if (failed) return;
      void (async () => {
        await Promise.all(textWork);
        const file = fileWork ? await fileWork : undefined;
        if (failed) return;
        resolve({ fields, ...(fileWork ? { file: file as T } : {}) });
      })().catch(fail);
    });
    req.on('close', () => {
      if (!req.complete) fail(new LiuhenError('UPLOAD_INCOMPLETE', 'the upload ended before it was complete; nothing was recorded'));
    });
    req.on('error', () => fail(new LiuhenError('UPLOAD_INCOMPLETE', 'the upload ended before it was complete; nothing was recorded')));
    req.pipe(bb);
  });
}

async function readText(stream: Readable, limit: number, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of stream) {
      size += (c as Buffer).byteLength;
      if (size > limit) throw new LiuhenError('PAYLOAD_TOO_LARGE', `form part "${name}" is larger than ${limit} bytes`, { details: { limit } });
      chunks.push(c as Buffer);
    }
  } catch (e) {
    if (isLiuhenError(e)) throw e;
    throw new LiuhenError('UPLOAD_INCOMPLETE', `form part "${name}" ended before it was complete`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new LiuhenError('INVALID_INPUT', `form part "${name}" is not UTF-8 text`);
  }
}
