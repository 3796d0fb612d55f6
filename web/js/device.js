// Device page (/devices/:device): a body camera's recordings as a sequence,
// holes (DEVICE_SEQ_HOLE: missing seq ranges) and breaks (DEVICE_CHAIN_BREAK:
// a record that does not chain to the one before) marked and listed.
import { errorBox, getJson, wireForgetToken, withToken } from './api.js';
import { h, mark, replace } from './dom.js';
import { initI18n, onLangChange, t } from './i18n.js';
import { anchorStatus, findingItem, kindText, normFinding, normRecord, timeEl } from './records.js';
import { renderDeviceKeys } from './device-keys.js';

/** Up to this many sequence numbers are drawn one square each; beyond, as runs. */
const MAX_CELLS = 400;
const MAX_ROWS = 500;

const deviceId = decodeURIComponent(location.pathname.replace(/^\/devices\//, ''));
const content = document.getElementById('content');
let data = null;

async function load() {
  replace(content, h('p', { class: 'hint' }, t('common.loading')));
  data = await getJson(`/v1/devices/${encodeURIComponent(deviceId)}/continuity`, { auth: true });
  render();
}

/** What each sequence number is: present, missing, or a present record whose chain breaks. */
function analyse(d) {
  const rawEntries = Array.isArray(d.timeline) ? d.timeline : Array.isArray(d.entries) ? d.entries : Array.isArray(d.records) ? d.records : [];
  const entries = rawEntries
    .map(normRecord)
    .filter((r) => r.seq !== undefined)
    .sort((a, b) => a.seq - b.seq);
  const findings = (Array.isArray(d.findings) ? d.findings : []).map(normFinding);
  const holes = findings.filter((f) => f.code === 'DEVICE_SEQ_HOLE' && f.missing);
  const breakFindings = findings.filter((f) => f.code === 'DEVICE_CHAIN_BREAK');
  const others = findings.filter((f) => f.code !== 'DEVICE_SEQ_HOLE' && f.code !== 'DEVICE_CHAIN_BREAK');
  const seqOfId = new Map(entries.map((r) => [r.id, r.seq]));
  const breaks = breakFindings.map((f) => ({
    finding: f,
    seq: f.seq ?? f.recordIds.map((id) => seqOfId.get(id)).find((s) => s !== undefined),
    id: f.recordIds[0] ?? '',
  }));
  const lastSeq = Math.max(
    typeof d.lastSeq === 'number' ? d.lastSeq : 0,
    entries.length ? entries[entries.length - 1].seq : 0,
    ...holes.map((f) => f.missing.to),
  );
  const count = typeof d.records === 'number' ? d.records : entries.length;

  const missing = new Set();
  for (const f of holes) for (let s = f.missing.from; s <= f.missing.to && s - f.missing.from < MAX_CELLS * 4; s++) missing.add(s);
  const broken = new Set(breaks.map((b) => b.seq).filter((s) => s !== undefined));
  const stateOf = (s) => (missing.has(s) ? 'hole' : broken.has(s) ? 'break' : 'ok');
  return { entries, holes, breaks, others, lastSeq, count, stateOf, more: Boolean(d.next) };
}

function render() {
  if (!data) return;
  const a = analyse(data);
  const clean = a.holes.length === 0 && a.breaks.length === 0;

  const sequence = h(
    'section',
    { class: 'card', id: 'sequence', 'aria-labelledby': 'sequence-heading' },
    h('h2', { id: 'sequence-heading' }, t('device.sequence')),
    h('p', { class: 'hint' }, t('device.sequenceHelp')),
    h(
      'ul',
      { class: 'legend' },
      h('li', {}, h('span', { class: 'cell cell-ok', 'aria-hidden': 'true' }), t('device.legend.ok')),
      h('li', {}, h('span', { class: 'cell cell-hole', 'aria-hidden': 'true' }, '✗'), t('device.legend.hole')),
      h('li', {}, h('span', { class: 'cell cell-break', 'aria-hidden': 'true' }, '⚡'), t('device.legend.break')),
    ),
    a.lastSeq <= MAX_CELLS ? cells(a) : runs(a),
  );

  const problems = h(
    'section',
    { class: ['card', 'findings', clean && !a.others.length ? 'no-findings' : 'has-findings'], id: 'findings' },
    clean ? h('p', { class: 'ok-note' }, mark('pass', t('device.ok'))) : null,
    a.holes.length
      ? [
          h('h2', {}, t('device.holes')),
          h(
            'ul',
            { class: 'problem-list', id: 'holes' },
            a.holes.map((f) =>
              h(
                'li',
                { class: 'problem problem-hole', data: { from: f.missing.from, to: f.missing.to } },
                mark(
                  'fail',
                  f.missing.from === f.missing.to
                    ? t('device.hole.itemOne', { from: f.missing.from })
                    : t('device.hole.item', { from: f.missing.from, to: f.missing.to, n: f.missing.to - f.missing.from + 1 }),
                ),
                f.message ? h('p', { class: 'hint' }, f.message) : null,
              ),
            ),
          ),
        ]
      : null,
    a.breaks.length
      ? [
          h('h2', {}, t('device.breaks')),
          h(
            'ul',
            { class: 'problem-list', id: 'breaks' },
            a.breaks.map((b) =>
              h(
                'li',
                { class: 'problem problem-break', data: { seq: b.seq ?? '' } },
                mark('fail', b.seq !== undefined ? t('device.break.item', { seq: b.seq }) : t('device.break.itemNoSeq', { id: b.id })),
                b.finding.message ? h('p', { class: 'hint' }, b.finding.message) : null,
              ),
            ),
          ),
        ]
      : null,
    a.others.length
      ? [
          h('h2', {}, t('device.others')),
          h(
            'ul',
            { class: 'finding-list' },
            a.others.map((f) => findingItem(f)),
          ),
        ]
      : null,
  );

  replace(
    content,
    h('p', { class: 'summary', id: 'device-summary' }, t('device.summary', { records: a.count, lastSeq: a.lastSeq })),
    sequence,
    problems,
    renderDeviceKeys(data),
    a.entries.length ? table(a) : null,
  );
}

/** One square per sequence number. */
function cells(a) {
  const out = [];
  for (let s = 1; s <= a.lastSeq; s++) {
    const st = a.stateOf(s);
    out.push(
      h(
        'li',
        {
          class: ['cell', `cell-${st}`],
          data: { seq: s, state: st },
          title: t(`device.cell.${st}`, { seq: s }),
          'aria-label': t(`device.cell.${st}`, { seq: s }),
        },
        String(s),
      ),
    );
  }
  return h('ol', { class: 'cells', id: 'cells' }, out);
}

/** Long sequences: runs of present records, holes and single breaks. */
function runs(a) {
  const items = [];
  const bounds = [
    ...a.holes.map((f) => [f.missing.from, f.missing.to, 'hole']),
    ...a.breaks.filter((b) => b.seq !== undefined).map((b) => [b.seq, b.seq, 'break']),
  ].sort((x, y) => x[0] - y[0]);
  let next = 1;
  for (const [from, to, kind] of bounds) {
    if (from > next)
      items.push(
        h('li', { class: 'run run-ok', data: { from: next, to: from - 1, state: 'ok' } }, t('device.run.ok', { from: next, to: from - 1, n: from - next })),
      );
    items.push(
      kind === 'hole'
        ? h('li', { class: 'run run-hole', data: { from, to, state: 'hole' } }, t('device.run.hole', { from, to, n: to - from + 1 }))
        : h('li', { class: 'run run-break', data: { from, to, state: 'break' } }, t('device.cell.break', { seq: from })),
    );
    next = Math.max(next, to + 1);
  }
  if (next <= a.lastSeq)
    items.push(
      h(
        'li',
        { class: 'run run-ok', data: { from: next, to: a.lastSeq, state: 'ok' } },
        t('device.run.ok', { from: next, to: a.lastSeq, n: a.lastSeq - next + 1 }),
      ),
    );
  return h('ol', { class: 'runs', id: 'runs' }, items);
}

/** The records with the holes shown as rows where they belong. */
function table(a) {
  const rows = [];
  let prev = 0;
  for (const r of a.entries.slice(0, MAX_ROWS)) {
    if (r.seq > prev + 1) {
      rows.push(
        h(
          'tr',
          { class: 'row-hole', data: { state: 'hole' } },
          h('td', {}, prev + 2 === r.seq ? String(prev + 1) : `${prev + 1}–${r.seq - 1}`),
          h('td', { colspan: '3' }, mark('fail', t('device.legend.hole'))),
        ),
      );
    }
    const st = a.stateOf(r.seq);
    rows.push(
      h(
        'tr',
        { class: `row-${st}`, data: { seq: r.seq, state: st } },
        h('td', {}, String(r.seq)),
        h('td', {}, timeEl(r.capturedAt)),
        h('td', {}, kindText(r)),
        h('td', {}, st === 'break' ? mark('fail', t('device.legend.break')) : anchorStatus(r)),
      ),
    );
    prev = r.seq;
  }
  return h(
    'section',
    { class: 'card', id: 'records', 'aria-labelledby': 'records-heading' },
    h('h2', { id: 'records-heading' }, t('device.table')),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, t('device.col.seq')),
            h('th', { scope: 'col' }, t('device.col.time')),
            h('th', { scope: 'col' }, t('device.col.kind')),
            h('th', { scope: 'col' }, t('device.col.status')),
          ),
        ),
        h('tbody', {}, rows),
      ),
    ),
    a.entries.length > MAX_ROWS || a.more ? h('p', { class: 'hint' }, t('device.table.truncated', { n: Math.min(a.entries.length, MAX_ROWS) })) : null,
  );
}

function start() {
  withToken(content, load).catch((e) => replace(content, errorBox(e, start)));
}

initI18n();
document.getElementById('subject').textContent = deviceId;
wireForgetToken(document.getElementById('forget-token'));
onLangChange(() => (data ? render() : document.getElementById('token-form') ? start() : undefined));
start();
