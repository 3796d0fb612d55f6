import type { Readable } from 'node:stream';
import type { Request, Response } from 'express';
import { lookupMediaType, mediaSchema, monotonicUlid, type LiuhenRecord, type PutResult, type StoredRecord } from '../../../src/index.js';
import type { Principal } from '../../auth/tokens.js';
import { chainStatus, receiptWithChain, requireStore, type Context } from '../../context.js';
import { mediaTypeOf, parseJsonText, readJson } from '../../http/body.js';
import { httpError } from '../../http/errors.js';
import { readMultipart } from '../../http/multipart.js';
import { assertAgencyScope, parseBody, type HandlerContext, type RouteSpec } from '../../http/route.js';
import { ingestCheckOnce, storedIngestCheck } from './device-check.js';
import { uploadMetaSchema, type UploadMeta } from './schema.js';

const nextId = monotonicUlid();

/** A record by id, or NOT_FOUND (never the journal's message: it names a folder). */
export async function loadRecord(app: Context, id: string): Promise<StoredRecord> {
  const stored = await app.journal.getRecord(id);
  if (!stored) throw httpError('NOT_FOUND', `no record with id ${id}`);
  return stored;
}

/**
 * An agency records only for its own devices: a device that already has a
 * chain under another agency is refused (its hash chain would be polluted),
 * and the audit trail's device is reserved for the gateway.
 */
async function checkDevice(app: Context, agency: string, device: string): Promise<void> {
  if (device === app.config.audit.device) throw httpError('FORBIDDEN', `device ${device} is reserved for the gateway's audit trail`);
  // The supervision body's chains (decisions, feedback, certificates) are written by the gateway alone: an agency
  // that wrote there first would own the device name, and one holding the supervision agency's token could forge steps.
  const sv = app.config.supervision;
  if (agency === sv.agency || [sv.decisionsDevice, sv.feedbackDevice, sv.certificatesDevice].includes(device)) {
    throw httpError('FORBIDDEN', `device ${device} of agency ${agency} is reserved for the supervision body's own records`);
  }
  const head = app.journal.deviceHead(device);
  if (!head) return;
  const last = await app.journal.getRecord(head.id);
  if (last && last.record.agency !== agency) throw httpError('FORBIDDEN', `device ${device} records for another agency`);
}

type MetaBase = Pick<UploadMeta, 'device' | 'officer' | 'case' | 'stage' | 'location' | 'capturedAt'>;

function draftBase(agency: string, meta: MetaBase) {
  return {
    agency,
    device: meta.device,
    officer: meta.officer,
    ...(meta.case !== undefined ? { case: meta.case } : {}),
    ...(meta.stage !== undefined ? { stage: meta.stage } : {}),
    ...(meta.location !== undefined ? { location: meta.location } : {}),
    capturedAt: meta.capturedAt,
  };
}

const MEDIA_TYPE = mediaSchema.shape.type;

function fileType(meta: UploadMeta, part: { filename: string | undefined; mimeType: string }): string {
  if (meta.type) return meta.type;
  const sent = part.mimeType.toLowerCase();
  if (sent !== 'application/octet-stream' && MEDIA_TYPE.safeParse(sent).success) return sent;
  return part.filename ? lookupMediaType(part.filename) : 'application/octet-stream';
}

/** `POST /v1/records`: multipart (streamed file) or JSON (structured content). */
export async function createRecord(ctx: HandlerContext<unknown, unknown, unknown>, spec: RouteSpec, req: Request, res: Response): Promise<void> {
  const app = ctx.app;
  const agency = ctx.principal.agency!;
  const type = mediaTypeOf(req);
  if (type === 'application/json') {
    const body = parseBody(spec, await readJson(req, app.config.limits.jsonBytes)) as {
      meta: MetaBase & { kind: 'form' | 'event' };
      body: LiuhenRecord['body'];
    };
    await checkDevice(app, agency, body.meta.device);
    const r = await app.liuhen.append({ ...draftBase(agency, body.meta), kind: body.meta.kind, body: body.body });
    ctx.auditIds.created = r.record.id;
    res.status(201).json({ id: r.record.id, leaf: r.leaf, seq: r.record.seq });
    return;
  }
  if (type !== 'multipart/form-data')
    throw httpError('UNSUPPORTED_MEDIA_TYPE', 'send multipart/form-data (fields meta, then file) or application/json ({meta, body})');
  const store = requireStore(app);
  const limits = app.config.limits;
  const upload = await readMultipart<{ id: string; meta: UploadMeta; type: string; put: PutResult }>(req, {
    fields: ['meta'],
    file: 'file',
    beforeFile: ['meta'],
    limits: { fieldBytes: limits.fieldBytes, fileBytes: limits.uploadBytes, parts: limits.parts },
    onFile: async (stream: Readable, part, fields) => {
      const raw = parseJsonText(fields.meta!, 'the meta field');
      const parsed = uploadMetaSchema.safeParse(raw);
      if (!parsed.success)
        throw httpError(
          'INVALID_INPUT',
          `invalid meta: ${parsed.error.issues
            .slice(0, 4)
            .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
            .join('; ')}`,
        );
      const meta = parsed.data;
      await checkDevice(app, agency, meta.device);
      const id = nextId();
      // Hash + encrypt + store in one streaming pass; nothing is journaled until it succeeded.
      const put = await store.put(stream, { recordId: id, agency, maxBytes: limits.uploadBytes });
      return { id, meta, type: fileType(meta, part), put };
    },
  });
  if (!upload.file) throw httpError('INVALID_INPUT', 'the form has no "file" part');
  const { id, meta, put } = upload.file;
  const r = await app.liuhen.append({
    ...draftBase(agency, meta),
    kind: meta.kind,
    id,
    media: { type: upload.file.type, size: put.size, sha256: put.sha256, cid: put.cid },
  });
  ctx.auditIds.created = id;
  res.status(201).json({ id, leaf: r.leaf, seq: r.record.seq, sha256: put.sha256, cid: put.cid, size: put.size });
}

/**
 * `POST /v1/records/signed`: a record its device already completed and signed
 * (seq, prev, salt, sig), journaled verbatim — so a clip deleted on the camera
 * shows as a hole in the device's chain. The same record twice is a no-op.
 *
 * The signing key is checked against the registry's enrollments and the
 * record is **accepted and flagged**, never refused, when the key was not
 * enrolled for the device or was revoked (device-check.ts says why). The
 * check is kept after the record is durable; a retry of an acknowledged-less
 * upload (a crash between the two) finds the record and writes the check then.
 */
export async function createSignedRecord(ctx: HandlerContext<unknown, unknown, { record: LiuhenRecord }>, _req: Request, res: Response): Promise<void> {
  const app = ctx.app;
  const agency = ctx.principal.agency!;
  const { record } = ctx.body;
  if (record.agency !== agency) throw httpError('FORBIDDEN', `this token records for agency ${agency}, not ${record.agency}`);
  await checkDevice(app, agency, record.device);
  const r = await app.journal.ingest(record);
  ctx.auditIds.created = r.record.id;
  const { check, fresh } = await ingestCheckOnce(app, r.record, r.duplicate);
  if (fresh) {
    if (check.flagged)
      app.logger.warn('record flagged at ingest: signing key not enrolled or revoked', { id: r.record.id, device: record.device, code: check.code });
  }
  res.status(r.duplicate ? 200 : 201).json({ id: r.record.id, leaf: r.leaf, seq: r.record.seq, duplicate: r.duplicate, deviceCheck: check });
}

/** Supervisors read any record; an agency its own — but not the gateway's audit entries (they name supervisors' tokens and addresses). */
function readable(app: Context, principal: Principal, stored: StoredRecord): void {
  assertAgencyScope(principal, stored.record.agency);
  if (principal.role === 'agency' && stored.record.device === app.config.audit.device)
    throw httpError('FORBIDDEN', "the gateway's audit entries are for supervisors and admins");
}

/** `GET /v1/records/:id` */
export async function getRecord(ctx: HandlerContext<{ id: string }, unknown, unknown>, _req: Request, res: Response): Promise<void> {
  const stored = await loadRecord(ctx.app, ctx.params.id);
  readable(ctx.app, ctx.principal, stored);
  const loc = await ctx.app.journal.locate(stored);
  const chain = loc ? await chainStatus(ctx.app, loc.batch) : null;
  res.json({
    record: stored.record,
    leaf: stored.leaf,
    journaledAt: new Date(stored.journaledAt).toISOString(),
    batch: loc
      ? { agency: loc.batch.agency, seq: loc.batch.seq, root: loc.batch.root, size: loc.batch.size, index: loc.index, sealedAt: loc.batch.sealedAt }
      : null,
    chain,
    deviceCheck: await storedIngestCheck(ctx.app, stored.record.id),
  });
}

/** `GET /v1/records/:id/receipt` */
export async function getReceipt(ctx: HandlerContext<{ id: string }, unknown, unknown>, _req: Request, res: Response): Promise<void> {
  const stored = await loadRecord(ctx.app, ctx.params.id);
  readable(ctx.app, ctx.principal, stored);
  if (!(await ctx.app.journal.locate(stored)))
    throw httpError('RECORD_NOT_SEALED', `record ${ctx.params.id} is not sealed into a batch yet; try again in a few seconds`);
  const { receipt } = await receiptWithChain(ctx.app, ctx.params.id);
  res.json(receipt);
}

/**
 * `GET /v1/records/:id/content`: the original bytes, decrypted and re-hashed
 * on the way out. The store holds back the last segment until the whole
 * file's SHA-256 equals the record's; an error before the first byte is a
 * JSON error, an error after it cuts the connection, so a client never gets
 * a complete-looking altered file.
 */
export async function getContent(ctx: HandlerContext<{ id: string }, unknown, unknown>, req: Request, res: Response): Promise<void> {
  const stored = await loadRecord(ctx.app, ctx.params.id);
  const media = stored.record.media;
  if (!media) throw httpError('NOT_FOUND', `record ${stored.record.id} is structured content; it has no file`);
  if (!media.cid) throw httpError('NOT_FOUND', `record ${stored.record.id} has no stored file (it was recorded by hash only)`);
  const store = requireStore(ctx.app);
  const headers = {
    'Content-Type': media.type,
    'Content-Length': String(media.size),
    'Content-Disposition': `attachment; filename="${stored.record.id}"`,
    'Content-Security-Policy': "default-src 'none'; sandbox",
    'Cache-Control': 'no-store',
    'X-Liuhen-Sha256': media.sha256,
  };
  if (req.method === 'HEAD') {
    // Nothing is decrypted for a HEAD; the bytes are checked when they are read.
    res.status(200).set(headers).end();
    return;
  }
  const it = store.get(media.cid, { recordId: stored.record.id, expectedSha256: media.sha256 })[Symbol.asyncIterator]();
  let closed = false;
  res.once('close', () => {
    closed = true;
  });
  try {
    let next = await it.next();
    res.status(200).set(headers);
    res.flushHeaders();
    let sent = 0;
    while (!next.done) {
      if (closed) break;
      sent += next.value.byteLength;
      if (sent > media.size) throw httpError('STORE_INTEGRITY', 'the stored evidence is longer than its record says');
      if (!res.write(next.value)) await drainedOrClosed(res);
      next = await it.next();
    }
    if (closed) return;
    if (sent !== media.size) throw httpError('STORE_INTEGRITY', 'the stored evidence is shorter than its record says');
    res.end();
  } finally {
    if (closed) await it.return?.(undefined).catch(() => undefined);
  }
}

/** Waits for the response to take more data, or to close; leaves no listener behind. */
function drainedOrClosed(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
