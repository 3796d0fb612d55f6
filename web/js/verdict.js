// Rendering of a verdict (liuhen-verdict/1): every check with a clear mark,
// and for a check that did not pass, what it means in plain words.
import { h, hashCode, mark } from './dom.js';
import { fmtList, has, t } from './i18n.js';

const STATUSES = ['pass', 'fail', 'pending', 'warn', 'skipped'];
const str = (v) => (typeof v === 'string' ? v : '');

/** Keeps the fields the page uses, whatever else the server sends. */
export function normalizeVerdict(v) {
  const checks = Array.isArray(v?.checks) ? v.checks.filter((c) => c && typeof c === 'object') : [];
  const status = ['verified', 'failed', 'incomplete'].includes(v?.status) ? v.status : checks.some((c) => c.status === 'fail') ? 'failed' : 'incomplete';
  return {
    status,
    leaf: str(v?.leaf),
    root: str(v?.root),
    checks: checks.map((c) => ({ name: str(c.name), status: STATUSES.includes(c.status) ? c.status : 'pending', code: str(c.code), detail: str(c.detail) })),
  };
}

export const checkLabel = (name) => (has(`check.${name}`) ? t(`check.${name}`) : name);

/** Plain words for a check outcome: the code's own text, else the check's text for that status. */
export function explain(check) {
  if (check.code && has(`code.${check.code}`)) return t(`code.${check.code}`);
  if (has(`check.${check.name}.${check.status}`)) return t(`check.${check.name}.${check.status}`);
  return '';
}

/** The verdict banner and the list of checks. */
export function renderVerdict(raw, { collapsed = false, banner: withBanner = true, id = 'verdict' } = {}) {
  const v = normalizeVerdict(raw);
  const failed = v.checks.filter((c) => c.status === 'fail');
  const pending = v.checks.filter((c) => c.status === 'pending');
  const banner =
    v.status === 'verified'
      ? h('div', { class: 'banner banner-pass', id: 'verdict-banner', role: 'status' }, h('strong', {}, '✓ ', t('verdict.verified')))
      : v.status === 'failed'
        ? h(
            'div',
            { class: 'banner banner-fail', id: 'verdict-banner', role: 'alert' },
            h('strong', {}, '✗ ', t('verdict.failed')),
            h('p', { id: 'verdict-failed' }, t('verdict.failedList', { checks: fmtList(failed.map((c) => checkLabel(c.name))) })),
            failed.map((c) => h('p', { class: 'explain' }, explain(c))),
          )
        : h(
            'div',
            { class: 'banner banner-pending', id: 'verdict-banner', role: 'status' },
            h('strong', {}, '… ', t('verdict.incomplete')),
            pending.length ? h('p', {}, t('verdict.pendingList', { checks: fmtList(pending.map((c) => checkLabel(c.name))) })) : null,
          );

  const list = h(
    'ol',
    { class: 'checks' },
    v.checks.map((c) => {
      const words = c.status === 'pass' ? (has(`check.${c.name}.about`) ? t(`check.${c.name}.about`) : '') : explain(c);
      return h(
        'li',
        { class: ['check', `check-${c.status}`], data: { check: c.name, status: c.status, code: c.code } },
        h('div', { class: 'check-head' }, mark(c.status, t(`status.${c.status}`)), h('span', { class: 'check-name' }, checkLabel(c.name))),
        words ? h('p', { class: 'check-explain' }, words) : null,
        c.detail || c.code
          ? h('details', { class: 'check-detail' }, h('summary', {}, t('common.detail')), h('p', {}, h('code', {}, c.code), c.detail ? ` — ${c.detail}` : ''))
          : null,
      );
    }),
  );

  return h(
    'section',
    { class: 'card verdict', id, data: { status: v.status }, 'aria-label': t('verdict.heading') },
    withBanner ? [h('h2', { id: 'verdict-heading' }, t('verdict.heading')), banner] : null,
    collapsed ? h('details', { class: 'checks-toggle' }, h('summary', {}, t('verdict.checks')), list) : [h('h3', {}, t('verdict.checks')), list],
    v.leaf || v.root
      ? h(
          'dl',
          { class: 'facts small' },
          v.leaf ? h('div', { class: 'fact' }, h('dt', {}, t('verdict.leaf')), h('dd', {}, hashCode(v.leaf))) : null,
          v.root ? h('div', { class: 'fact' }, h('dt', {}, t('verdict.root')), h('dd', {}, hashCode(v.root))) : null,
        )
      : null,
  );
}
