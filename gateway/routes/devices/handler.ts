import type { Request, Response } from 'express';
import type { ChainStatusView } from '../../context.js';
import { httpError } from '../../http/errors.js';
import type { HandlerContext } from '../../http/route.js';
import { storedIngestCheck, type IngestCheck } from '../records/device-check.js';
import { anchorTimeLookup, enrollmentLookup, summarize, type RecordSummary } from '../../views.js';

const HOLES = new Set(['DEVICE_SEQ_HOLE']);
const BREAKS = new Set(['DEVICE_CHAIN_BREAK', 'DEVICE_CHAIN_FORK']);
const SESSIONS = new Set(['DEVICE_SESSION_UNCLOSED']);
const LATE = new Set(['RECORD_ANCHORED_LATE', 'RECORD_SEALED_LATE', 'RECORD_CAPTURED_IN_FUTURE']);

/** `GET /v1/devices/:device/continuity`: holes, breaks, unclosed sessions and late records of a device's hash chain; key changes with the registry's explanation; records flagged at ingest. */
export async function getContinuity(
  ctx: HandlerContext<{ device: string }, { after?: number | undefined; limit: number }, unknown>,
  _req: Request,
  res: Response,
): Promise<void> {
  const app = ctx.app;
  const { device } = ctx.params;
  const head = app.journal.deviceHead(device);
  if (!head) throw httpError('NOT_FOUND', `no records of device ${device}`);
  const memo = new Map<string, Promise<ChainStatusView>>();
  const audit = await app.liuhen.auditDevice(device, app.policy, anchorTimeLookup(app, memo), enrollmentLookup(app));
  // Records the station flagged when they arrived (POST /v1/records/signed: key not enrolled for the device, or revoked).
  const flagged: (IngestCheck & { id: string; seq: number })[] = [];
  for await (const s of app.journal.deviceRecords(device)) {
    const check = await storedIngestCheck(app, s.record.id);
    if (check?.flagged) flagged.push({ id: s.record.id, seq: s.record.seq, ...check });
  }
  const timeline: RecordSummary[] = [];
  for await (const s of app.journal.deviceRecords(device, { afterSeq: ctx.query.after ?? 0, limit: ctx.query.limit }))
    timeline.push(await summarize(app, s, memo));
  const last = timeline.at(-1)?.seq;
  const agency = (await app.journal.getRecord(head.id))?.record.agency ?? null;
  const of = (codes: Set<string>) => audit.findings.filter((f) => codes.has(f.code));
  res.json({
    device,
    agency,
    records: audit.records,
    lastSeq: audit.lastSeq,
    holes: of(HOLES),
    breaks: of(BREAKS),
    sessions: of(SESSIONS),
    late: of(LATE),
    findings: audit.findings,
    keyChanges: audit.keyChanges,
    flagged,
    timeline,
    next: last !== undefined && last < audit.lastSeq ? { after: last } : null,
  });
}
