import type { Request, Response } from 'express';
import { STAGES, type Stage } from '../../../src/index.js';
import type { ChainStatusView } from '../../context.js';
import { httpError } from '../../http/errors.js';
import type { HandlerContext } from '../../http/route.js';
import { storedIngestCheck, type IngestCheck } from '../records/device-check.js';
import { anchorTimeLookup, enrollmentLookup, summarize, type RecordSummary } from '../../views.js';

const rank = (s: string | null) => (s === null ? STAGES.length : STAGES.indexOf(s as Stage));

/** `GET /v1/cases/:case`: the full-process timeline and the completeness findings. */
export async function getCase(ctx: HandlerContext<{ case: string }, unknown, unknown>, _req: Request, res: Response): Promise<void> {
  const app = ctx.app;
  const memo = new Map<string, Promise<ChainStatusView>>();
  const audit = await app.liuhen.auditCase(ctx.params.case, app.policy, anchorTimeLookup(app, memo), enrollmentLookup(app));
  if (audit.records.length === 0) throw httpError('NOT_FOUND', `no records for case ${ctx.params.case}`);
  const records: RecordSummary[] = [];
  const flagged: (IngestCheck & { id: string; seq: number; device: string })[] = [];
  for (const a of audit.records) {
    const stored = await app.journal.getRecord(a.record.id);
    if (stored) records.push(await summarize(app, stored, memo));
    const check = await storedIngestCheck(app, a.record.id);
    if (check?.flagged) flagged.push({ id: a.record.id, seq: a.record.seq, device: a.record.device, ...check });
  }
  records.sort((a, b) => rank(a.stage) - rank(b.stage) || Date.parse(a.capturedAt) - Date.parse(b.capturedAt));
  const stages = STAGES.map((stage) => {
    const of = records.filter((r) => r.stage === stage);
    return { stage, records: of.length, first: of[0]?.capturedAt ?? null, last: of.at(-1)?.capturedAt ?? null };
  });
  res.json({
    case: audit.case,
    agencies: [...new Set(records.map((r) => r.agency))].sort(),
    stages,
    records,
    findings: audit.findings,
    keyChanges: audit.keyChanges,
    flagged,
  });
}
