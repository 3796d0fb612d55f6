// Supervision overview (/supervision): figures across agencies for a period,
// charts (ECharts, vendored), the findings list with its workflow, and the
// 码上监督 feedback queue. Supervisor token required. Server text only ever
// becomes text nodes (dom.js), never HTML; charts get plain numbers and
// labels (ECharts renders labels as text).
import { errorBox, getJson, postJson, wireForgetToken, withToken } from './api.js';
import { h, replace } from './dom.js';
import { fmtTime, getLang, initI18n, onLangChange } from './i18n.js';
import { applySv, fmtDuration, sv } from './supervision-i18n.js';
import { findingDetail } from './finding-detail.js';
import { agencyText, loadNames } from './names.js';

const content = document.getElementById('content');
const CODES = [
  'DEVICE_SEQ_HOLE',
  'DEVICE_CHAIN_BREAK',
  'DEVICE_SESSION_UNCLOSED',
  'DEVICE_KEY_CHANGED',
  'CASE_STAGE_OUT_OF_ORDER',
  'CASE_DECISION_WITHOUT_REVIEW',
  'CASE_DECISION_NOT_SERVED',
  'RECORD_CAPTURED_IN_FUTURE',
  'RECORD_SEALED_LATE',
  'RECORD_ANCHORED_LATE',
];
const STEPS = ['accepted', 'investigating', 'handled', 'answered'];
const params = new URLSearchParams(location.search);
const state = {
  from: params.get('from') || '',
  to: params.get('to') || '',
  agency: params.get('agency') || '',
  filters: { kind: '', severity: '', status: '' },
  stats: null,
  findings: [],
  next: null,
  feedback: [],
  open: null,
};
const charts = [];

async function load() {
  replace(content, h('p', { class: 'hint' }, sv('heading')));
  const q = new URLSearchParams();
  if (state.from) q.set('from', state.from);
  if (state.to) q.set('to', state.to);
  if (state.agency) q.set('agency', state.agency);
  state.stats = await getJson(`/v1/stats?${q}`, { auth: true });
  state.from = state.stats.period.from;
  state.to = state.stats.period.to;
  await loadFindings(false);
  const fb = await getJson('/v1/feedback?limit=100', { auth: true }).catch(() => ({ feedback: [] }));
  state.feedback = fb.feedback ?? [];
  // Display names of the agencies (issue 14), before the first render so the charts are drawn once with them.
  await loadNames({ agencies: [...(state.stats.agencies ?? []), ...state.findings.map((f) => f.agency), ...state.feedback.map((x) => x.agency)] });
  render();
}

async function loadFindings(more) {
  const q = new URLSearchParams({ from: state.from, to: state.to, limit: '50' });
  if (state.agency) q.set('agency', state.agency);
  for (const [k, v] of Object.entries(state.filters)) if (v) q.set(k, v);
  if (more && state.next) q.set('cursor', state.next);
  const page = await getJson(`/v1/findings?${q}`, { auth: true });
  state.findings = more ? [...state.findings, ...page.findings] : page.findings;
  state.next = page.next;
}

const select = (id, value, options) => {
  const el = h(
    'select',
    { id, name: id },
    options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)),
  );
  return el;
};

function controls() {
  const s = state.stats;
  const from = h('input', { type: 'date', id: 'period-from', value: state.from, required: true });
  const to = h('input', { type: 'date', id: 'period-to', value: state.to, required: true });
  const agency = select('period-agency', state.agency, [['', sv('agency.all')], ...s.agencies.map((a) => [a, agencyText(a)])]);
  const form = h(
    'form',
    { class: 'card sv-controls', id: 'period-form' },
    h('label', {}, sv('from'), from),
    h('label', {}, sv('to'), to),
    h('label', {}, sv('agency'), agency),
    h('button', { type: 'submit', class: 'button primary' }, sv('apply')),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.from = from.value;
    state.to = to.value;
    state.agency = agency.value;
    const q = new URLSearchParams({ from: state.from, to: state.to, ...(state.agency ? { agency: state.agency } : {}) });
    history.replaceState(null, '', `/supervision?${q}`);
    void run();
  });
  return form;
}

function figures() {
  const t = state.stats.totals;
  const b = state.stats.batches;
  const fb = state.stats.feedback;
  const open = fb.submitted + fb.accepted + fb.investigating + fb.handled;
  const pct = (x) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
  const items = [
    ['records', t.records],
    ['newCases', t.newCases],
    ['devices', t.devices],
    ['compliance', pct(t.compliance), t.compliance !== null && t.compliance < 0.95 ? 'warn' : ''],
    ['sealedLate', t.sealedLate, t.sealedLate ? 'warn' : ''],
    ['anchoredLate', t.anchoredLate, t.anchoredLate ? 'warn' : ''],
    ['devicesWithHoles', t.devicesWithHoles, t.devicesWithHoles ? 'bad' : ''],
    ['devicesWithBreaks', t.devicesWithBreaks, t.devicesWithBreaks ? 'bad' : ''],
    ['casesWithFindings', t.casesWithFindings, t.casesWithFindings ? 'bad' : ''],
    ['waiting', b.waiting, b.waiting ? 'warn' : ''],
    ['oldestWait', fmtDuration(b.oldestWaitSeconds)],
    ['feedbackOpen', open, open ? 'warn' : ''],
  ];
  return h(
    'dl',
    { class: 'sv-figures', id: 'figures' },
    items.map(([key, value, tone]) =>
      h('div', { class: 'sv-figure', data: { figure: key, tone: tone || 'ok' } }, h('dt', {}, sv(`fig.${key}`)), h('dd', {}, String(value))),
    ),
  );
}

function chartCard(id, titleKey) {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': `${id}-h` },
    h('h2', { id: `${id}-h` }, sv(titleKey)),
    h('div', { class: 'sv-chart', id, role: 'img', 'aria-label': sv(titleKey) }),
  );
}

function drawCharts() {
  for (const c of charts.splice(0)) c.dispose();
  const ec = window.echarts;
  if (!ec) return;
  const s = state.stats;
  const opts = { renderer: 'svg', locale: getLang() === 'en' ? 'EN' : 'ZH' };
  const font = { fontFamily: '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", sans-serif' };
  const make = (id, option, points) => {
    const el = document.getElementById(id);
    el.dataset.points = String(points);
    const chart = ec.init(el, null, opts);
    chart.setOption({ textStyle: font, animation: false, ...option });
    charts.push(chart);
    el.dataset.ready = 'true';
  };
  const days = s.daily.days.map((d) => d.slice(5));
  make(
    'chart-compliance',
    {
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 36, bottom: 28 },
      xAxis: { type: 'category', data: days },
      yAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
      series: s.daily.series.map((x) => ({
        name: agencyText(x.agency),
        type: 'line',
        connectNulls: false,
        data: x.compliance.map((v) => (v === null ? null : Math.round(v * 1000) / 10)),
      })),
    },
    s.daily.series.reduce((n, x) => n + x.compliance.filter((v) => v !== null).length, 0),
  );
  make(
    'chart-delay',
    {
      tooltip: {},
      grid: { left: 48, right: 16, top: 16, bottom: 28 },
      xAxis: { type: 'category', data: s.delay.labels },
      yAxis: { type: 'value', name: sv('chart.records') },
      series: [{ type: 'bar', data: s.delay.counts, itemStyle: { color: '#3568a8' } }],
    },
    s.delay.counts.reduce((a, b) => a + b, 0),
  );
  const max = s.holes.cells.reduce((m, c) => Math.max(m, c[2]), 1);
  document.getElementById('chart-holes').style.height = `${Math.max(200, 110 + 26 * s.holes.devices.length)}px`;
  make(
    'chart-holes',
    {
      tooltip: { position: 'top' },
      grid: { left: 90, right: 16, top: 16, bottom: 56 },
      xAxis: { type: 'category', data: days, splitArea: { show: true } },
      yAxis: { type: 'category', data: s.holes.devices, splitArea: { show: true } },
      visualMap: { min: 0, max, calculable: true, orient: 'horizontal', left: 'center', bottom: 0, inRange: { color: ['#fde8e6', '#b3261e'] } },
      series: [{ type: 'heatmap', data: s.holes.cells, label: { show: true } }],
    },
    s.holes.cells.length,
  );
}

const statusBadge = (status, prefix = 'status') => h('span', { class: 'sv-status', data: { status } }, sv(`${prefix}.${status}`));

function findingsCard() {
  const f = state.filters;
  const kind = select('filter-kind', f.kind, [['', sv('filter.any')], ...CODES.map((c) => [c, sv(`code.${c}`)])]);
  const sev = select('filter-severity', f.severity, [['', sv('filter.any')], ...['high', 'medium', 'low'].map((x) => [x, sv(`severity.${x}`)])]);
  const status = select('filter-status', f.status, [
    ['', sv('filter.any')],
    ...['open', 'verified', 'rectified', 'false-positive'].map((x) => [x, sv(`status.${x}`)]),
  ]);
  const filters = h(
    'form',
    { class: 'sv-controls', id: 'findings-filter' },
    h('label', {}, sv('filter.kind'), kind),
    h('label', {}, sv('filter.severity'), sev),
    h('label', {}, sv('filter.status'), status),
    h('button', { type: 'submit', class: 'button' }, sv('apply')),
  );
  filters.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    state.filters = { kind: kind.value, severity: sev.value, status: status.value };
    await loadFindings(false);
    render();
  });
  const rows = state.findings.map((x) => findingRows(x)).flat();
  const table = state.findings.length
    ? h(
        'table',
        { class: 'sv-table', id: 'findings-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['at', 'agency', 'kind', 'severity', 'message', 'status', 'links'].map((c) => h('th', { scope: 'col' }, sv(`col.${c}`))),
            h('th', {}, ''),
          ),
        ),
        h('tbody', {}, rows),
      )
    : h('p', { class: 'ok-note', id: 'findings-none' }, sv('findings.none'));
  const more = state.next ? h('button', { type: 'button', class: 'button', id: 'findings-more' }, sv('findings.more')) : null;
  more?.addEventListener('click', async () => {
    await loadFindings(true);
    render();
  });
  return h('section', { class: 'card', id: 'findings', 'aria-labelledby': 'findings-h' }, h('h2', { id: 'findings-h' }, sv('findings')), filters, table, more);
}

function findingRows(f) {
  const links = (f.links ?? []).flatMap((l, i) => [i > 0 ? ' · ' : null, h('a', { href: l.href, class: 'sv-link' }, sv(`link.${l.rel}`))]);
  const act = h('button', { type: 'button', class: 'button small sv-act' }, sv('act'));
  const row = h(
    'tr',
    { class: 'sv-finding', data: { id: f.id, code: f.code, severity: f.severity, status: f.status } },
    h('td', {}, fmtTime(f.at)),
    h('td', {}, agencyText(f.agency)),
    h('td', {}, sv(`code.${f.code}`)),
    h('td', { class: `sv-sev-${f.severity}` }, sv(`severity.${f.severity}`)),
    h('td', { class: 'sv-text finding-detail' }, findingDetail(f)),
    h('td', {}, statusBadge(f.status)),
    h('td', {}, links),
    h('td', {}, act),
  );
  act.addEventListener('click', async () => {
    state.open = state.open === f.id ? null : f.id;
    await renderOpen();
  });
  const detail = h(
    'tr',
    { class: 'sv-finding-detail', data: { for: f.id }, hidden: state.open !== f.id },
    h('td', { colspan: '8' }, h('div', { class: 'sv-detail' })),
  );
  return [row, detail];
}

async function renderOpen() {
  for (const tr of document.querySelectorAll('tr.sv-finding-detail')) tr.hidden = tr.dataset.for !== state.open;
  if (!state.open) return;
  const tr = [...document.querySelectorAll('tr.sv-finding-detail')].find((x) => x.dataset.for === state.open);
  const box = tr.querySelector('.sv-detail');
  const view = await getJson(`/v1/findings/${encodeURIComponent(state.open)}`, { auth: true });
  const statusSel = select(
    'action-status',
    'verified',
    ['verified', 'rectified', 'false-positive'].map((x) => [x, sv(`status.${x}`)]),
  );
  const comment = h('textarea', { id: 'action-comment', maxlength: '1000', required: true });
  const form = h(
    'form',
    { class: 'sv-action-form', id: 'action-form' },
    h('label', {}, sv('act.status'), statusSel),
    h('label', {}, sv('act.comment'), comment),
    h('button', { type: 'submit', class: 'button primary' }, sv('act.submit')),
  );
  const note = h('p', { class: 'hint', id: 'action-note', role: 'status' });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = state.open;
    const r = await postJson(`/v1/findings/${encodeURIComponent(id)}/actions`, JSON.stringify({ status: statusSel.value, comment: comment.value }), {
      auth: true,
    });
    await loadFindings(false);
    state.stats = await getJson(`/v1/stats?${new URLSearchParams({ from: state.from, to: state.to, ...(state.agency ? { agency: state.agency } : {}) })}`, {
      auth: true,
    });
    render();
    state.open = id;
    await renderOpen();
    const n = document.getElementById('action-note');
    if (n) n.textContent = sv('act.done', { id: r.recordId });
  });
  const hist = view.history.length
    ? h(
        'ol',
        { class: 'sv-history', id: 'finding-history' },
        view.history.map((x) =>
          h(
            'li',
            { data: { status: x.status } },
            sv('history.item', { at: fmtTime(x.at), status: sv(`status.${x.status}`), comment: x.comment, id: x.recordId }),
          ),
        ),
      )
    : h('p', { class: 'hint', id: 'finding-history' }, sv('history.none'));
  replace(box, h('h3', {}, sv('history')), hist, form, note);
}

function feedbackCard() {
  const list = state.feedback;
  const body = list.length
    ? h(
        'table',
        { class: 'sv-table', id: 'feedback-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['feedback.ref', 'col.at', 'col.agency', 'feedback.category', 'feedback.text', 'feedback.state', 'feedback.next'].map((k) =>
              h('th', { scope: 'col' }, sv(k)),
            ),
          ),
        ),
        h('tbody', {}, list.map(feedbackRow)),
      )
    : h('p', { class: 'hint', id: 'feedback-none' }, sv('feedback.none'));
  return h('section', { class: 'card', id: 'feedback-queue', 'aria-labelledby': 'feedback-h' }, h('h2', { id: 'feedback-h' }, sv('feedback')), body);
}

function feedbackRow(fb) {
  const nextStep = STEPS[STEPS.indexOf(fb.state) + 1] ?? (fb.state === 'submitted' ? 'accepted' : null);
  let action = null;
  if (nextStep) {
    const comment = h('input', {
      type: 'text',
      class: 'fb-comment',
      maxlength: '1000',
      required: true,
      'aria-label': sv('feedback.comment'),
      placeholder: sv('feedback.comment'),
    });
    const form = h(
      'form',
      { class: 'sv-action-form fb-advance', data: { next: nextStep } },
      comment,
      h('button', { type: 'submit', class: 'button small' }, sv('feedback.advance', { step: sv(`state.${nextStep}`) })),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        await postJson(`/v1/feedback/${encodeURIComponent(fb.ref)}/steps`, JSON.stringify({ step: nextStep, comment: comment.value }), { auth: true });
        await run();
      } catch (e) {
        form.appendChild(errorBox(e));
      }
    });
    action = form;
  }
  return h(
    'tr',
    { class: 'sv-feedback', data: { ref: fb.ref, state: fb.state } },
    h('td', {}, h('code', { title: fb.ref }, `${fb.ref.slice(2, 10)}…`)),
    h('td', {}, fmtTime(fb.at)),
    h('td', {}, fb.agency ? agencyText(fb.agency) : '—'),
    h('td', {}, sv(`cat.${fb.category}`)),
    h('td', { class: 'sv-text' }, fb.text),
    h('td', {}, statusBadge(fb.state, 'state')),
    h('td', {}, action),
  );
}

function render() {
  const s = state.stats;
  document.title = sv('title');
  document.getElementById('period-text').textContent = sv('period', { from: s.period.from, to: s.period.to });
  replace(
    content,
    controls(),
    figures(),
    h(
      'div',
      { class: 'sv-charts' },
      chartCard('chart-compliance', 'chart.compliance'),
      chartCard('chart-delay', 'chart.delay'),
      chartCard('chart-holes', 'chart.holes'),
    ),
    findingsCard(),
    feedbackCard(),
  );
  drawCharts();
}

const run = () => withToken(content, load).catch((e) => replace(content, errorBox(e, run)));

initI18n();
applySv();
document.title = sv('title');
onLangChange(() => {
  applySv();
  if (state.stats) render();
});
wireForgetToken(document.getElementById('forget-token'));
document.getElementById('print').addEventListener('click', () => window.print());
window.addEventListener('resize', () => charts.forEach((c) => c.resize()));
void run();
