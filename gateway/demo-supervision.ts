import { FEEDBACK_STEPS, LiuhenError } from '../src/index.js';

/**
 * The supervision part of `liuhen demo` (issue 12): what a supervision body
 * does with what the demo recorded — citizens' feedback through the QR pages
 * (码上监督) in every state of the closed loop (已提交, 受理, 核查, 处理, 反馈),
 * and a finding marked 已核实. Everything goes through the HTTP API as the
 * pages would, in real time (it is journaled and anchored like any record).
 */
export interface SupervisionDemoParameters {
  url: string;
  supervisorToken: string;
  /** Leaves of records to leave feedback about (the public QR links). */
  leaves: string[];
  say: (line: string) => void;
}

export interface SupervisionDemoSummary {
  feedback: { tracking: string; state: string }[];
  findingMarked: string | null;
  pages: string[];
}

const TEXTS: [string, string][] = [
  ['attitude', '执法人员态度生硬,没有耐心解释处罚依据。'],
  ['procedure', '现场没有出示执法证件,也没有告知陈述申辩的权利。'],
  ['result', '罚款金额与同类情况相比明显偏高,希望复核。'],
  ['other', '执法车辆占用人行道停放。'],
  ['procedure', '送达的决定书缺少盖章页。'],
];

async function call(url: string, path: string, init: RequestInit & { token?: string } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const { token, headers, ...rest } = init;
  const res = await fetch(`${url}${path}`, {
    ...rest,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(rest.body ? { 'content-type': 'application/json' } : {}),
      ...(headers as Record<string, string> | undefined),
    },
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

export async function runSupervisionDemo(p: SupervisionDemoParameters): Promise<SupervisionDemoSummary> {
  const feedback: SupervisionDemoSummary['feedback'] = [];
  p.say('码上监督: feedback from the QR pages, worked through the closed loop');
  for (const [i, [category, text]] of TEXTS.entries()) {
    const leaf = p.leaves[i % p.leaves.length]!;
    const r = await call(p.url, '/v1/feedback', { method: 'POST', body: JSON.stringify({ leaf, category, text }) });
    if (r.status === 429) {
      p.say('  feedback: the per-address limit is reached (a demo run less than an hour ago); skipping the rest');
      break;
    }
    if (r.status !== 201) throw new LiuhenError('INVALID_INPUT', `POST /v1/feedback answered ${r.status}: ${JSON.stringify(r.body.error ?? r.body)}`);
    const ref = r.body.ref as string;
    // Feedback i goes i steps: one in every state of the loop.
    const steps = FEEDBACK_STEPS.slice(0, i);
    for (const step of steps) {
      const s = await call(p.url, `/v1/feedback/${ref}/steps`, {
        method: 'POST',
        token: p.supervisorToken,
        body: JSON.stringify({ step, comment: `演示:${step}` }),
      });
      if (s.status !== 201) throw new LiuhenError('INVALID_INPUT', `POST /v1/feedback/…/steps answered ${s.status}: ${JSON.stringify(s.body.error ?? s.body)}`);
    }
    const state = steps.at(-1) ?? 'submitted';
    feedback.push({ tracking: r.body.tracking as string, state });
    p.say(`  ${category}: tracking code ${r.body.tracking as string} → ${state}`);
  }
  let findingMarked: string | null = null;
  const list = await call(p.url, '/v1/findings?kind=CASE_DECISION_WITHOUT_REVIEW&status=open&limit=1', { token: p.supervisorToken });
  const first = (list.body.findings as { id: string }[] | undefined)?.[0];
  if (first) {
    const r = await call(p.url, `/v1/findings/${encodeURIComponent(first.id)}/actions`, {
      method: 'POST',
      token: p.supervisorToken,
      body: JSON.stringify({ status: 'verified', comment: '演示:已调阅案卷,确认决定前缺少法制审核' }),
    });
    if (r.status === 201) {
      findingMarked = first.id;
      p.say(`finding ${first.id} marked 已核实 (journaled by the supervision body)`);
    }
  }
  const pages = [`${p.url}/supervision`, ...feedback.slice(0, 1).map((f) => `${p.url}/feedback?code=${f.tracking}`)];
  return { feedback, findingMarked, pages };
}
