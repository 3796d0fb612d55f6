import { createHash, randomBytes } from 'node:crypto';
import { FEEDBACK_STEPS, monotonicUlid, receiptFromJournal, type FeedbackEntry } from '../../../src/index.js';
import { chainStatus, requireStore, type Context } from '../../context.js';
import { errorResponses } from '../../http/docs.js';
import { httpError } from '../../http/errors.js';
import { rateLimiter } from '../../http/rate-limit.js';
import { defineRoute, type RouteSpec } from '../../http/route.js';
import { journalSupervision, phoneVault, stats, supervisionConfig } from '../stats/service.js';
import { feedbackBody, queueQuery, queueSchema, refParams, statusSchema, stepBody, submittedSchema, trackingParams } from './schema.js';

const HOUR = 3600_000;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const nextId = monotonicUlid();

/** 16 Crockford base32 characters from 80 random bits. */
function trackingCode(): string {
  const bytes = randomBytes(10);
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 16; i++) {
    out = CROCKFORD[Number(bits & 31n)]! + out;
    bits >>= 5n;
  }
  return out;
}

/** What the journal holds instead of the code: a lookup needs the code, a leaked record does not give it. */
export const trackingRef = (code: string): string => `0x${createHash('sha256').update(`liuhen-feedback:${code}`).digest('hex')}`;

/** A fixed window per key (one leaf), in memory, bounded. */
class KeyedWindow {
  private readonly hits = new Map<string, { start: number; n: number }>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}
  take(key: string, now: number): boolean {
    let e = this.hits.get(key);
    if (!e || now - e.start >= this.windowMs) {
      e = { start: now, n: 0 };
      this.hits.delete(key);
      this.hits.set(key, e);
      if (this.hits.size > 100_000) this.hits.delete(this.hits.keys().next().value!);
    }
    if (e.n >= this.limit) return false;
    e.n++;
    return true;
  }
}

function queueItem(fb: FeedbackEntry, phone: 'none' | 'held' | 'erased') {
  return {
    ref: fb.tracking,
    leaf: fb.leaf,
    agency: fb.agency,
    category: fb.category,
    text: fb.text,
    at: fb.at,
    recordId: fb.recordId,
    state: fb.state,
    phone,
    steps: fb.steps,
  };
}

export function feedbackRoutes(app: Context): RouteSpec[] {
  const config = supervisionConfig(app).feedback;
  const perLeaf = new KeyedWindow(config.perLeaf, HOUR);
  return [
    defineRoute({
      method: 'post',
      path: '/v1/feedback',
      tag: 'feedback',
      summary:
        '码上监督: leave feedback about the enforcement action of a record (from its public verdict page); journaled and anchored by the supervision body',
      description: `Anyone. At most ${config.perAddress} per address and ${config.perLeaf} per record per hour. The answer carries the tracking code (shown once) and a receipt of exactly what was journaled.`,
      access: 'public',
      audit: true,
      before: [rateLimiter({ limit: config.perAddress, windowMs: HOUR, what: 'feedback submissions' })],
      body: feedbackBody,
      responses: { 201: { description: 'journaled', schema: submittedSchema }, ...errorResponses(400, 404, 413, 429, 503) },
      handler: async (ctx, req, res) => {
        const a = ctx.app;
        const sup = supervisionConfig(a);
        const body = ctx.body;
        if (body.text.length > sup.feedback.textChars) throw httpError('INVALID_INPUT', `text is longer than ${sup.feedback.textChars} characters`);
        const about = await a.journal.recordIdByLeaf(body.leaf);
        const record = about ? await a.journal.getRecord(about) : undefined;
        // Feedback is about enforcement, not about the supervision body's own records (no feedback on feedback).
        if (!record || record.record.agency === sup.agency) throw httpError('NOT_FOUND', 'no record with this leaf');
        if (!perLeaf.take(body.leaf, Date.now())) throw httpError('RATE_LIMITED', 'too much feedback about this record; try again later');
        const code = trackingCode();
        const ref = trackingRef(code);
        const id = nextId();
        let phoneCommitment: string | undefined;
        if (body.phone !== undefined) {
          const store = requireStore(a);
          phoneCommitment = (await (await phoneVault(a)).seal(store, sup.agency, id, body.phone.replace(/[\s-]/g, ''))).commitment;
        }
        const r = await journalSupervision(
          a,
          'feedbackDevice',
          sup.publicOfficer,
          { event: 'feedback', tracking: ref, leaf: body.leaf, category: body.category, text: body.text, ...(phoneCommitment ? { phoneCommitment } : {}) },
          id,
        );
        ctx.auditIds.record = r.id;
        const origin = `${req.protocol}://${req.get('host') ?? 'localhost'}`;
        res.status(201).json({
          tracking: code,
          ref,
          receipt: {
            format: 'liuhen-feedback-receipt/1',
            record: r.record,
            leaf: r.leaf,
            journaledBy: sup.agency,
            statusUrl: `${origin}/feedback?code=${code}`,
          },
        });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/feedback/status/:code',
      tag: 'feedback',
      summary: 'The status of a feedback by its tracking code (no login): the steps and their times, never the internal comments; the receipt once sealed',
      access: 'public',
      before: [rateLimiter({ limit: config.lookups, windowMs: HOUR, what: 'status lookups' })],
      params: trackingParams,
      responses: { 200: { description: 'the status', schema: statusSchema }, ...errorResponses(400, 404, 429) },
      handler: async (ctx, _req, res) => {
        const s = await stats(ctx.app, true);
        const fb = await s.getFeedback(trackingRef(ctx.params.code));
        if (!fb) throw httpError('NOT_FOUND', 'no feedback with this tracking code');
        let receipt: unknown = null;
        const stored = await ctx.app.journal.getRecord(fb.recordId);
        const loc = stored ? await ctx.app.journal.locate(stored) : undefined;
        if (loc) {
          const r = await receiptFromJournal(ctx.app.journal, fb.recordId);
          const st = await chainStatus(ctx.app, loc.batch);
          receipt = { ...r, anchor: st.anchor ?? r.anchor, attestations: st.attestations.length > 0 ? st.attestations : r.attestations };
        }
        res.json({ category: fb.category, at: fb.at, state: fb.state, steps: fb.steps.map((x) => ({ step: x.step, at: x.at })), receipt });
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/feedback',
      tag: 'feedback',
      summary: 'The feedback queue for supervisors, newest first (optionally one state)',
      access: ['supervisor'],
      audit: true,
      query: queueQuery,
      responses: { 200: { description: 'the queue', schema: queueSchema }, ...errorResponses(400, 401, 403) },
      handler: async (ctx, _req, res) => {
        const s = await stats(ctx.app);
        const list = await s.feedbackQueue({ limit: ctx.query.limit, ...(ctx.query.state ? { state: ctx.query.state } : {}) });
        const vault = await phoneVault(ctx.app);
        const out = [];
        for (const fb of list) out.push(queueItem(fb, !fb.phoneCommitment ? 'none' : (await vault.has(fb.recordId)) ? 'held' : 'erased'));
        res.json({ feedback: out });
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/feedback/:ref/steps',
      tag: 'feedback',
      summary: 'Move a feedback to its next step (受理 → 核查 → 处理 → 反馈) with an internal comment: journaled and anchored by the supervision body',
      access: ['supervisor'],
      audit: true,
      params: refParams,
      body: stepBody,
      responses: { 201: { description: 'the feedback after the step', schema: queueSchema.shape.feedback.element }, ...errorResponses(400, 401, 403, 404) },
      handler: async (ctx, _req, res) => {
        const s = await stats(ctx.app, true);
        const fb = await s.getFeedback(ctx.params.ref);
        if (!fb) throw httpError('NOT_FOUND', 'no feedback with this reference');
        const expected = fb.state === 'submitted' ? FEEDBACK_STEPS[0] : FEEDBACK_STEPS[FEEDBACK_STEPS.indexOf(fb.state) + 1];
        if (ctx.body.step !== expected)
          throw httpError(
            'INVALID_INPUT',
            expected ? `the next step of this feedback is ${expected}, not ${ctx.body.step}` : 'this feedback is closed (answered)',
          );
        const by = `token:${ctx.principal.tokenId}`;
        const r = await journalSupervision(ctx.app, 'decisionsDevice', by, {
          event: 'feedback-step',
          tracking: fb.tracking,
          step: ctx.body.step,
          comment: ctx.body.comment,
          by,
        });
        ctx.auditIds.record = r.id;
        const after = (await (await stats(ctx.app, true)).getFeedback(fb.tracking))!;
        const vault = await phoneVault(ctx.app);
        res.status(201).json(queueItem(after, !after.phoneCommitment ? 'none' : (await vault.has(after.recordId)) ? 'held' : 'erased'));
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/feedback/:ref/phone',
      tag: 'feedback',
      summary: "Erase a feedback's phone number on request (个人信息保护法): its key is destroyed; records, batches and the chain are untouched",
      access: ['supervisor'],
      audit: true,
      params: refParams,
      responses: { 200: { description: 'erased', schema: queueSchema.shape.feedback.element }, ...errorResponses(400, 401, 403, 404) },
      handler: async (ctx, _req, res) => {
        const s = await stats(ctx.app, true);
        const fb = await s.getFeedback(ctx.params.ref);
        if (!fb || !fb.phoneCommitment) throw httpError('NOT_FOUND', 'no phone number for this feedback');
        const vault = await phoneVault(ctx.app);
        if (await vault.erase(fb.recordId)) {
          const by = `token:${ctx.principal.tokenId}`;
          await journalSupervision(ctx.app, 'decisionsDevice', by, { event: 'feedback-phone-erased', tracking: fb.tracking, by });
        }
        const after = (await (await stats(ctx.app, true)).getFeedback(fb.tracking))!;
        res.json(queueItem(after, 'erased'));
      },
    }),
  ];
}
