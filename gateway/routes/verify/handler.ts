import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Request, Response } from 'express';
import { parseReceipt, verifyReceipt, type Check, type Receipt, type Verdict } from '../../../src/index.js';
import { receiptWithChain, type Context } from '../../context.js';
import { mediaTypeOf, parseJsonText, readJsonBytes } from '../../http/body.js';
import { httpError } from '../../http/errors.js';
import { readMultipart } from '../../http/multipart.js';
import { parseBody, type HandlerContext, type RouteSpec } from '../../http/route.js';
import { namesOf, type NameBook } from '../../names.js';
import { createPublicReadAggregator, type PublicReadAggregator } from './audit.js';
import { storedIngestCheck, type IngestCheck } from '../records/device-check.js';
import { createVerdictMemo, type VerdictMemo } from './memo.js';
import { sha256Schema } from './schema.js';
import { clientAddress } from '../../http/client-address.js';

/** The check this station made when it received the record of `leaf` (POST /v1/records/signed), if the record is in its journal. */
async function ingestCheckByLeaf(app: Context, leaf: string | null): Promise<IngestCheck | null> {
  if (!leaf) return null;
  const id = await app.journal.recordIdByLeaf(leaf);
  return id ? storedIngestCheck(app, id) : null;
}

/** The verdict with the station's ingest-time device check next to the device check's level. */
async function withIngestCheck<V extends Verdict>(app: Context, v: V): Promise<V & { deviceCheck?: IngestCheck }> {
  const check = await ingestCheckByLeaf(app, v.leaf);
  return check ? { ...v, deviceCheck: check } : v;
}

/** The display names of the receipt's agency and co-signers (issue 14): the verdict carries them, next to the codes and addresses. */
function receiptNames(app: Context, receipt: Receipt): Promise<NameBook> {
  return namesOf(app).resolve({
    agencies: [receipt.batch.agency, ...(receipt.record ? [receipt.record.agency] : [])],
    notaries: receipt.attestations.map((a) => a.notary),
  });
}

async function verify(app: Context, receipt: Receipt, content: Parameters<typeof verifyReceipt>[0]['content']): Promise<Verdict & { names: NameBook }> {
  const [verdict, names] = await Promise.all([verifyOnly(app, receipt, content), receiptNames(app, receipt)]);
  return { ...verdict, names };
}

function verifyOnly(app: Context, receipt: Receipt, content: Parameters<typeof verifyReceipt>[0]['content']): Promise<Verdict> {
  return verifyReceipt({
    receipt,
    ...(content ? { content } : {}),
    ...(app.chain ? { chain: app.chain.verifier } : {}),
    policy: {
      ...(app.policy.maxAnchorDelaySeconds !== undefined ? { maxAnchorDelaySeconds: app.policy.maxAnchorDelaySeconds } : {}),
      ...(app.policy.maxClockSkewSeconds !== undefined ? { maxClockSkewSeconds: app.policy.maxClockSkewSeconds } : {}),
    },
  });
}

/**
 * `POST /v1/verify`: the verdict `liuhen verify` gives. A receipt that is
 * not a receipt (wrong format, absurd proof, junk) is a 400 with the
 * receipt's code; a well-formed receipt that does not hold is a 200 verdict
 * with status "failed" naming the check.
 */
export async function postVerify(ctx: HandlerContext<unknown, unknown, unknown>, spec: RouteSpec, req: Request, res: Response): Promise<void> {
  const app = ctx.app;
  const type = mediaTypeOf(req);
  if (type === 'application/json') {
    const bytes = await readJsonBytes(req, app.config.limits.jsonBytes);
    // The same body asks the same question: its verified verdict is served again while its stamp holds (memo.ts).
    const key = `post:${createHash('sha256').update(bytes).digest('hex')}`;
    const memo = verdicts(app);
    const hit = await memo.lookup(key);
    if (hit) return sendMemoised(res, hit.body);
    const raw = parseJsonText(bytes);
    const receipt = parseReceipt(raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as { receipt?: unknown }).receipt : undefined);
    const body = parseBody(spec, raw) as { sha256?: string };
    const stamp = await memo.stamp(receipt);
    const verdict = done(res, await withIngestCheck(app, await verify(app, receipt, body.sha256 ? { sha256: body.sha256 } : undefined)));
    const text = JSON.stringify(verdict);
    if (stamp && verdict.status === 'verified') memo.keep(key, { body: text, leaf: receipt.leaf, stamp, receipt });
    res.type('json').send(text);
    return;
  }
  if (type !== 'multipart/form-data')
    throw httpError('UNSUPPORTED_MEDIA_TYPE', 'send application/json ({receipt, sha256?}) or multipart/form-data (receipt, then file or sha256)');
  const limits = app.config.limits;
  // Public uploads are hashed on this machine: bound how many run at once, so
  // anonymous callers cannot tie up the gateway with many large files.
  // One address may hold only `verifyUploadsPerAddress` of the slots, so a few slow clients cannot take them all (issue 9.6).
  const slots = uploadSlots(app);
  const from = clientAddress(req);
  const mine = slots.byAddress.get(from) ?? 0;
  const busy =
    "too many file verifications are running; try again shortly, or send the file's sha256 instead of the file (the Verify page hashes it in your browser)";
  if (slots.running >= limits.verifyUploads) throw httpError('RATE_LIMITED', busy);
  if (mine >= limits.verifyUploadsPerAddress)
    throw httpError('RATE_LIMITED', `this address already has ${mine} file verifications running; ${busy.slice(busy.indexOf('try'))}`);
  slots.running++;
  slots.byAddress.set(from, mine + 1);
  try {
    await verifyMultipart(app, spec, req, res);
  } finally {
    slots.running--;
    const left = (slots.byAddress.get(from) ?? 1) - 1;
    if (left <= 0) slots.byAddress.delete(from);
    else slots.byAddress.set(from, left);
  }
}

interface UploadSlots {
  running: number;
  byAddress: Map<string, number>;
}
const uploadsInFlight = new WeakMap<object, UploadSlots>();
function uploadSlots(app: object): UploadSlots {
  let s = uploadsInFlight.get(app);
  if (!s) uploadsInFlight.set(app, (s = { running: 0, byAddress: new Map() }));
  return s;
}

async function verifyMultipart(app: HandlerContext<unknown, unknown, unknown>['app'], spec: RouteSpec, req: Request, res: Response): Promise<void> {
  const limits = app.config.limits;
  const form = await readMultipart<Verdict & { names: NameBook }>(req, {
    fields: ['receipt', 'sha256'],
    textFiles: ['receipt'],
    file: 'file',
    beforeFile: ['receipt'],
    limits: { fieldBytes: limits.fieldBytes, fileBytes: limits.verifyFileBytes, parts: limits.parts },
    onFile: async (stream: Readable, _part, fields) => {
      if (fields.sha256 !== undefined) throw httpError('INVALID_INPUT', 'send either the file or its sha256, not both');
      const receipt = parseReceipt(parseJsonText(fields.receipt!, 'the receipt'));
      let streamError: unknown;
      stream.once('error', (e) => (streamError = e));
      const verdict = await verify(app, receipt, { stream });
      // The content check reads nothing when the receipt has no file to compare: drain what is left.
      if (!stream.readableEnded && !stream.destroyed) for await (const _ of stream) void _;
      if (streamError) throw streamError;
      return verdict;
    },
  });
  if (form.file) {
    if (form.fields.sha256 !== undefined) throw httpError('INVALID_INPUT', 'send either the file or its sha256, not both');
    res.json(done(res, await withIngestCheck(app, form.file)));
    return;
  }
  if (form.fields.receipt === undefined) throw httpError('INVALID_INPUT', 'the form has no "receipt"');
  const receipt = parseReceipt(parseJsonText(form.fields.receipt, 'the receipt'));
  let sha256: string | undefined;
  if (form.fields.sha256 !== undefined) {
    const r = sha256Schema.safeParse(form.fields.sha256);
    if (!r.success) throw httpError('INVALID_INPUT', "sha256 must be the file's SHA-256: 64 hex digits");
    sha256 = r.data;
  }
  res.json(done(res, await withIngestCheck(app, await verify(app, receipt, sha256 ? { sha256 } : undefined))));
}

/** Notes the verdict for the metrics (verifications by verdict). */
function done<T extends { status: string }>(res: Response, verdict: T): T {
  (res.locals as { verdict?: string }).verdict = verdict.status;
  return verdict;
}

/** Check details that may name a device or a key are replaced for the public. */
function publicCheck(c: Check): Check {
  if (c.name === 'signature')
    return {
      ...c,
      detail:
        c.status === 'pass'
          ? "the device's signature over the record is valid"
          : c.status === 'fail'
            ? 'the device signature does not match the record'
            : c.detail,
    };
  if (c.name === 'format') return { ...c, detail: c.status === 'pass' ? 'a well-formed liuhen-receipt/1' : c.detail };
  if (c.name === 'content') return { ...c, detail: 'the file is not compared here: drop it on the Verify page to check it in your browser' };
  // The device check's detail names the device, its agency and key indexes: the public reads the level's words only.
  if (c.name === 'device') return { ...c, detail: c.detail.split(' — ')[0] ?? '' };
  return c;
}

function publicIngestCheck(c: IngestCheck | null): Omit<IngestCheck, 'detail'> | null {
  if (!c) return null;
  const { detail: _detail, ...rest } = c;
  return rest;
}

const memos = new WeakMap<object, VerdictMemo>();
/** The per-app memo of verified verdicts (memo.ts). */
export function verdicts(app: HandlerContext<unknown, unknown, unknown>['app']): VerdictMemo {
  let m = memos.get(app);
  if (!m) memos.set(app, (m = createVerdictMemo(app.chain?.verifier, (r) => app.metrics.verdictMemo(r))));
  return m;
}

/** A memoised verdict is a verified one (memo.ts keeps no other): noted for the metrics like any verdict. */
function sendMemoised(res: Response, body: string): void {
  done(res, { status: 'verified' });
  res.type('json').send(body);
}

const aggregators = new WeakMap<object, PublicReadAggregator>();
/** The per-app aggregator of public-verdict audit entries (see audit.ts). */
export function publicReads(app: HandlerContext<unknown, unknown, unknown>['app']): PublicReadAggregator {
  let a = aggregators.get(app);
  if (!a) {
    a = createPublicReadAggregator(app.audit, app.clock);
    aggregators.set(app, a);
  }
  return a;
}

/** Writes the open public-verdict windows (called when the app drains: nothing counted is lost on a clean stop). */
export function flushPublicReads(app: object): void {
  aggregators.get(app)?.flush();
}

/** `GET /v1/verify/:leaf`: the QR target. Verifies the journal's full receipt, discloses only agency, kind and times. */
export async function getPublicVerdict(ctx: HandlerContext<{ leaf: string }, unknown, unknown>, req: Request, res: Response): Promise<void> {
  const app = ctx.app;
  const from = clientAddress(req);
  res.set('Cache-Control', 'no-store');
  const key = `leaf:${ctx.params.leaf}`;
  const memo = verdicts(app);
  const hit = await memo.lookup(key);
  if (hit) {
    publicReads(app).count(hit.leaf, from);
    return sendMemoised(res, hit.body);
  }
  const id = await app.journal.recordIdByLeaf(ctx.params.leaf);
  const stored = id ? await app.journal.getRecord(id) : undefined;
  // Aggregated per leaf and minute (audit.ts): the route discloses no personal data.
  publicReads(app).count(stored ? stored.leaf : null, from);
  if (!stored) throw httpError('NOT_FOUND', 'no record with this leaf is known here');
  const base = {
    leaf: stored.leaf,
    agency: stored.record.agency,
    kind: stored.record.kind,
    capturedAt: stored.record.capturedAt,
    recordedAt: new Date(stored.journaledAt).toISOString(),
  };
  const loc = await app.journal.locate(stored);
  if (!loc) {
    const names = await namesOf(app).resolve({ agencies: [base.agency] });
    res.json(
      done(res, {
        ...base,
        agencyName: names.agencies[base.agency] ?? null,
        sealed: false,
        batch: null,
        anchor: null,
        notaries: [],
        notarized: false,
        unaltered: null,
        status: 'incomplete',
        checks: [],
        names,
      }),
    );
    return;
  }
  // Taken before anything about the chain is read (memo.ts): whatever changes meanwhile makes the entry stale.
  const stamp = await memo.stamp({ batch: loc.batch });
  const { receipt, status } = await receiptWithChain(app, stored.record.id);
  const verdict = await verify(app, receipt, undefined);
  const names = verdict.names;
  const integrity = verdict.checks.filter((c) => c.name === 'signature' || c.name === 'leaf' || c.name === 'inclusion');
  const text = JSON.stringify(
    done(res, {
      ...base,
      agencyName: names.agencies[base.agency] ?? null,
      sealed: true,
      batch: { agency: receipt.batch.agency, seq: receipt.batch.seq, root: receipt.batch.root, size: receipt.batch.size },
      anchor: receipt.anchor,
      notaries: receipt.attestations.map((a) => ({ notary: a.notary, name: names.notaries[a.notary] ?? null, attestedAt: a.attestedAt })),
      notarized: status.notarized,
      unaltered: integrity.every((c) => c.status === 'pass'),
      status: verdict.status,
      checks: verdict.checks.map(publicCheck),
      ...(verdict.authenticity ? { authenticity: verdict.authenticity } : {}),
      deviceCheck: publicIngestCheck(await storedIngestCheck(app, stored.record.id)),
      names,
    }),
  );
  if (stamp && verdict.status === 'verified' && status.notarized) memo.keep(key, { body: text, leaf: stored.leaf, stamp, receipt });
  res.type('json').send(text);
}
