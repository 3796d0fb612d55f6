// Case page (/cases/:case): the full-process timeline in stage order with
// stage markers, each record's anchoring and notary status, and the findings
// of the completeness checks highlighted. Supervisor token required.
import { errorBox, getJson, wireForgetToken, withToken } from './api.js';
import { h, hashCode, mark, replace } from './dom.js';
import { fmtBytes, initI18n, onLangChange, t } from './i18n.js';
import { anchorStatus, findingAbout, findingItem, findingTitle, kindText, normFinding, normRecord, notaryStatus, timeEl } from './records.js';
import { renderDeviceKeys } from './device-keys.js';

/** Display order: on-site records (any time before the decision), then the full process. */
const STAGES = ['onsite', 'filing', 'investigation', 'review', 'decision', 'service', 'execution', 'closing'];
/** Findings that mean a stage is missing altogether. */
const MISSING_STAGE = { CASE_DECISION_WITHOUT_REVIEW: 'review', CASE_DECISION_NOT_SERVED: 'service' };

const caseId = decodeURIComponent(location.pathname.replace(/^\/cases\//, ''));
const content = document.getElementById('content');
let data = null;

async function load() {
  replace(content, h('p', { class: 'hint' }, t('common.loading')));
  data = await getJson(`/v1/cases/${encodeURIComponent(caseId)}`, { auth: true });
  render();
}

const recordAnchor = (id) => `rec-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
const recordLink = (id) => h('a', { href: `#${recordAnchor(id)}`, class: 'rec-link' }, h('code', {}, id));

function render() {
  if (!data) return;
  const items = Array.isArray(data.records) ? data.records : Array.isArray(data.timeline) ? data.timeline : [];
  const records = items.map(normRecord).sort((a, b) => Date.parse(a.capturedAt) - Date.parse(b.capturedAt));
  const findings = (Array.isArray(data.findings) ? data.findings : []).map(normFinding);

  const flagged = new Map();
  for (const f of findings) for (const id of f.recordIds) flagged.set(id, [...(flagged.get(id) ?? []), f]);
  const missingStages = new Map();
  for (const f of findings) if (MISSING_STAGE[f.code]) missingStages.set(MISSING_STAGE[f.code], f);

  const byStage = new Map(STAGES.map((s) => [s, []]));
  const unstaged = [];
  for (const r of records) (byStage.get(r.stage) ?? unstaged).push(r);

  const findingsCard = h(
    'section',
    { class: ['card', 'findings', findings.length ? 'has-findings' : 'no-findings'], id: 'findings', 'aria-labelledby': 'findings-heading' },
    h('h2', { id: 'findings-heading' }, t('case.findings')),
    findings.length
      ? h(
          'ul',
          { class: 'finding-list' },
          findings.map((f) => findingItem(f, recordLink)),
        )
      : h('p', { class: 'ok-note' }, mark('pass', t('case.findings.none'))),
  );

  const stageItem = (stage, list) => {
    const missing = missingStages.get(stage);
    const isFlagged = list.some((r) => flagged.has(r.id));
    const st = list.length ? (isFlagged ? 'flagged' : 'ok') : missing ? 'missing' : 'empty';
    const markerIcon = { ok: '✓', flagged: '!', missing: '✗', empty: '' }[st];
    return h(
      'li',
      { class: ['stage', `stage-${st}`], data: { stage, state: st } },
      h('div', { class: 'stage-marker', 'aria-hidden': 'true' }, markerIcon),
      h(
        'div',
        { class: 'stage-body' },
        h(
          'h3',
          { class: 'stage-name' },
          stage ? t(`stage.${stage}`) : t('case.stage.unstaged'),
          h(
            'span',
            { class: 'stage-state' },
            list.length ? t('case.stage.count', { n: list.length }) : st === 'missing' ? t('case.stage.missing') : t('case.stage.empty'),
          ),
        ),
        missing && !list.length
          ? h(
              'div',
              { class: 'stage-gap', role: 'note' },
              h('strong', {}, findingTitle(missing.code)),
              findingAbout(missing.code) ? h('p', {}, findingAbout(missing.code)) : null,
            )
          : null,
        list.length
          ? h(
              'ol',
              { class: 'records' },
              list.map((r) => recordItem(r, flagged.get(r.id) ?? [])),
            )
          : null,
      ),
    );
  };

  replace(
    content,
    h('p', { class: 'summary', id: 'case-summary' }, t('case.summary', { records: records.length, findings: findings.length })),
    findingsCard,
    renderDeviceKeys(data),
    h(
      'section',
      { class: 'card', id: 'timeline', 'aria-labelledby': 'timeline-heading' },
      h('h2', { id: 'timeline-heading' }, t('case.timeline')),
      h(
        'ol',
        { class: 'stages' },
        STAGES.map((s) => stageItem(s, byStage.get(s))),
        unstaged.length ? stageItem('', unstaged) : null,
      ),
    ),
  );
}

function recordItem(r, problems) {
  return h(
    'li',
    {
      class: ['record', problems.length ? 'flagged' : ''],
      id: recordAnchor(r.id),
      data: { id: r.id, kind: r.kind, flagged: problems.length ? 'true' : 'false' },
    },
    h(
      'div',
      { class: 'record-head' },
      h('span', { class: 'kind' }, kindText(r)),
      timeEl(r.capturedAt),
      r.title ? h('span', { class: 'record-title' }, r.title) : null,
      problems.map((f) => h('span', { class: ['badge', `sev-${f.severity}`], data: { code: f.code } }, findingTitle(f.code))),
    ),
    h(
      'dl',
      { class: 'facts small' },
      fact(t('record.device'), r.device ? h('a', { href: `/devices/${encodeURIComponent(r.device)}` }, r.device) : '—'),
      r.officer ? fact(t('record.officer'), r.officer) : null,
      r.media ? fact(t('record.file'), `${r.media.type} · ${fmtBytes(r.media.size)}`) : null,
      fact(t('record.anchor'), anchorStatus(r)),
      fact(t('record.notary'), notaryStatus(r)),
      fact(t('record.id'), h('code', {}, r.id)),
      r.leaf ? fact(t('record.leaf'), hashCode(r.leaf)) : null,
    ),
    r.id ? h('a', { class: 'receipt-link', href: `/records/${encodeURIComponent(r.id)}` }, t('record.receipt')) : null,
  );
}

const fact = (label, value) => h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value));

function start() {
  withToken(content, load).catch((e) => replace(content, errorBox(e, start)));
}

initI18n();
document.getElementById('subject').textContent = caseId;
wireForgetToken(document.getElementById('forget-token'));
onLangChange(() => (data ? render() : document.getElementById('token-form') ? start() : undefined));
start();
