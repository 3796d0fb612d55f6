import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalize, recordLeaf } from '../../src/index.js';
import { FakeChain } from './fake-chain.js';
import { json, startGateway, upload, type Harness } from './harness.js';

/**
 * 码上监督 over the real gateway: feedback journaled by the supervision body
 * (never the agency), the tracking code and receipt, the closed loop
 * 受理 → 核查 → 处理 → 反馈, the public status without comments, the phone
 * number kept off the record and erasable, abuse limits.
 */
const chain = new FakeChain();
let h: Harness;
let leaf: string;
let agencySeqBefore = 0;

beforeAll(async () => {
  h = await startGateway({ chain, config: { supervision: { feedback: { perAddress: 1000, perLeaf: 6 } } } });
  leaf = (await upload(h, new Uint8Array([1, 2, 3]))).leaf;
});
afterAll(() => h?.close());

const post = (body: unknown) => h.call('/v1/feedback', json(body));

describe('POST /v1/feedback', () => {
  let code = '';
  let ref = '';
  it('journals the feedback on the supervision body’s chain and answers a tracking code and a receipt', async () => {
    agencySeqBefore = (await h.liuhen.journal.agencyHead('AG-A'))?.sealedThrough ?? 0;
    const r = await post({ leaf, category: 'attitude', text: '执法人员态度粗暴 <script>alert(1)</script>', phone: '138 0013 8000' });
    expect(r.status).toBe(201);
    const body = (await r.json()) as { tracking: string; ref: string; receipt: { record: Record<string, any>; leaf: string; statusUrl: string } };
    code = body.tracking;
    ref = body.ref;
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{16}$/);
    const rec = body.receipt.record;
    expect(rec).toMatchObject({ agency: 'JN-SFJ', device: 'supervision-feedback', kind: 'event' });
    expect(rec.body).toMatchObject({ event: 'feedback', leaf, category: 'attitude', text: '执法人员态度粗暴 <script>alert(1)</script>' });
    // The receipt's leaf is the record's RFC 6962 leaf, and it is the journal's.
    expect(recordLeaf(rec as never)).toBe(body.receipt.leaf);
    expect((await h.liuhen.journal.getRecord(rec.id))?.leaf).toBe(body.receipt.leaf);
    // The code itself is not in the record; the phone is not either, only a commitment.
    const text = canonicalize(rec as never);
    expect(text).not.toContain(code);
    expect(text).not.toContain('13800138000');
    expect(text).not.toContain('138 0013 8000');
    expect(rec.body.phoneCommitment).toMatch(/^0x[0-9a-f]{64}$/);
    expect(rec.body.tracking).toBe(ref);
    expect(body.receipt.statusUrl).toContain(`/feedback?code=${code}`);
  });

  it('is sealed in the supervision body’s batch, never in the agency’s', async () => {
    const batches = await h.liuhen.journal.sealAll();
    const sfj = batches.filter((b) => b.agency === 'JN-SFJ');
    expect(sfj.length).toBe(1);
    for (const b of batches.filter((x) => x.agency === 'AG-A')) {
      for await (const s of h.liuhen.journal.agencyRecords('AG-A', { afterAck: b.firstAck - 1, limit: b.size }))
        expect(s.record.device).not.toBe('supervision-feedback');
    }
    expect(agencySeqBefore).toBeGreaterThanOrEqual(0);
  });

  it('goes through 受理 → 核查 → 处理 → 反馈 with comments, journaled; the citizen sees steps and times, never comments', async () => {
    const queue = (await (await h.call('/v1/feedback', { token: h.t.supervisor })).json()) as {
      feedback: { ref: string; state: string; agency: string; phone: string }[];
    };
    const item = queue.feedback.find((f) => f.ref === ref)!;
    expect(item).toMatchObject({ state: 'submitted', agency: 'AG-A', phone: 'held' });
    // Out of order is refused.
    expect((await h.call(`/v1/feedback/${ref}/steps`, { token: h.t.supervisor, ...json({ step: 'handled', comment: 'x' }) })).status).toBe(400);
    for (const step of ['accepted', 'investigating', 'handled', 'answered']) {
      const r = await h.call(`/v1/feedback/${ref}/steps`, { token: h.t.supervisor, ...json({ step, comment: `内部意见-${step}` }) });
      expect(r.status).toBe(201);
      expect(((await r.json()) as { state: string }).state).toBe(step);
    }
    expect((await h.call(`/v1/feedback/${ref}/steps`, { token: h.t.supervisor, ...json({ step: 'answered', comment: 'again' }) })).status).toBe(400);
    const steps = [];
    for await (const s of h.liuhen.journal.deviceRecords('supervision-decisions')) steps.push((s.record.body as { step?: string }).step);
    expect(steps).toEqual(['accepted', 'investigating', 'handled', 'answered']);

    const status = await h.call(`/v1/feedback/status/${code.toLowerCase()}`);
    expect(status.status).toBe(200);
    const st = (await status.json()) as { state: string; steps: { step: string; at: string }[]; receipt: { format: string; batch: { root: string } } | null };
    expect(st.state).toBe('answered');
    expect(st.steps.map((s) => s.step)).toEqual(['accepted', 'investigating', 'handled', 'answered']);
    expect(JSON.stringify(st)).not.toContain('内部意见');
    expect(JSON.stringify(st)).not.toContain('token:');
    expect(st.receipt?.format).toBe('liuhen-receipt/1');
    expect((await h.call('/v1/feedback/status/AAAAAAAAAAAAAAAA')).status).toBe(404);
    expect((await h.call('/v1/feedback/status/not-a-code')).status).toBe(400);
  });

  it('keeps the phone number encrypted in the evidence store and erases it on request, leaving the chain intact', async () => {
    const rec = (await (await h.call('/v1/feedback', { token: h.t.supervisor })).json()) as { feedback: { ref: string; recordId: string }[] };
    const recordId = rec.feedback.find((f) => f.ref === ref)!.recordId;
    const before = (await h.liuhen.journal.getRecord(recordId))!;
    const commitment = (before.record.body as { phoneCommitment: string }).phoneCommitment;
    // Stored encrypted: no file of the evidence store or the vault holds the number in clear.
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
    const all = [...files(join(h.dir, 'store')), ...files(join(h.dir, 'supervision', 'phone-keys'))];
    expect(all.length).toBeGreaterThan(0);
    for (const f of all) expect(readFileSync(f).includes(Buffer.from('13800138000'))).toBe(false);
    const r = await h.call(`/v1/feedback/${ref}/phone`, { method: 'DELETE', token: h.t.supervisor });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { phone: string }).phone).toBe('erased');
    const after = (await h.liuhen.journal.getRecord(recordId))!;
    expect(after.leaf).toBe(before.leaf);
    expect((after.record.body as { phoneCommitment: string }).phoneCommitment).toBe(commitment);
    expect(
      ((await (await h.call('/v1/feedback', { token: h.t.supervisor })).json()) as { feedback: { ref: string; phone: string }[] }).feedback.find(
        (f) => f.ref === ref,
      )?.phone,
    ).toBe('erased');
  });

  it('refuses bad input, unknown leaves and floods per record, with nothing journaled', async () => {
    const before = h.liuhen.journal.deviceHead('supervision-feedback')?.seq ?? 0;
    for (const body of [
      { leaf, category: 'rude', text: 'x' },
      { leaf, category: 'other', text: '' },
      { leaf, category: 'other', text: 'x'.repeat(2001) },
      { leaf, category: 'other', text: 'a\u0000b' },
      { leaf, category: 'other', text: 'x', phone: 'call me' },
      { leaf, category: 'other', text: 'x', html: '<b>' },
    ]) {
      expect((await post(body)).status).toBe(400);
    }
    expect((await post({ leaf: `0x${'ab'.repeat(32)}`, category: 'other', text: 'x' })).status).toBe(404);
    expect(h.liuhen.journal.deviceHead('supervision-feedback')?.seq ?? 0).toBe(before);
    // perLeaf = 6 per hour: one was used above; five more pass, the next is refused.
    for (let i = 0; i < 5; i++) expect((await post({ leaf, category: 'other', text: `第${i}条` })).status).toBe(201);
    const r = await post({ leaf, category: 'other', text: 'flood' });
    expect(r.status).toBe(429);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
  });

  it('limits submissions per address', async () => {
    const h2 = await startGateway({ config: { supervision: { feedback: { perAddress: 2 } } } });
    try {
      const l = (await upload(h2, new Uint8Array([9]))).leaf;
      const p = (text: string) => h2.call('/v1/feedback', json({ leaf: l, category: 'other', text }));
      expect((await p('1')).status).toBe(201);
      expect((await p('2')).status).toBe(201);
      expect((await p('3')).status).toBe(429);
    } finally {
      await h2.close();
    }
  });
});

describe('the supervision part of `liuhen demo`', () => {
  it('leaves feedback in every state of the loop and marks a finding, over the API', async () => {
    const { runSupervisionDemo } = await import('../../gateway/demo-supervision.js');
    const h3 = await startGateway({ config: { supervision: { catchUpWaitMs: 60_000 } } });
    try {
      const leaves = [(await upload(h3, new Uint8Array([1]))).leaf, (await upload(h3, new Uint8Array([2]))).leaf];
      // A decision without review, for the finding to mark.
      for (const stage of ['filing', 'decision']) {
        const r = await h3.call('/v1/records', {
          token: h3.t.agency,
          ...json({ meta: { device: 'T-1', officer: 'OF-1', kind: 'form', case: 'DEMO-1', stage, capturedAt: new Date().toISOString() }, body: { t: stage } }),
        });
        expect(r.status).toBe(201);
      }
      const s = await runSupervisionDemo({ url: h3.url, supervisorToken: h3.t.supervisor, leaves, say: () => {} });
      expect(s.feedback.map((f) => f.state)).toEqual(['submitted', 'accepted', 'investigating', 'handled', 'answered']);
      expect(s.findingMarked).toBe('review:DEMO-1');
      const stats = (await (await h3.call('/v1/stats', { token: h3.t.supervisor })).json()) as { feedback: Record<string, number> };
      expect(stats.feedback).toEqual({ submitted: 1, accepted: 1, investigating: 1, handled: 1, answered: 1 });
    } finally {
      await h3.close();
    }
  });
});
