// The authenticity panel (issue 13, docs/devices.md): how strong the record's
// "before the chain" evidence is — who signed it and whether the registry of
// enrolled devices vouches for that key — in words a judge reads, Chinese
// first. It sits next to the verdict: the verdict says whether the file and
// record are unchanged since they were anchored; this says where they came from.
import { h, mark } from './dom.js';
import { fmtTime, t } from './i18n.js';

export const LEVELS = ['device-signed', 'station-signed', 'revoked-key', 'unenrolled-key', 'enrollment-unknown'];
const MARK = { 'device-signed': 'pass', 'station-signed': 'pass', 'revoked-key': 'warn', 'unenrolled-key': 'warn', 'enrollment-unknown': 'skipped' };
const BANNER = { pass: 'banner-pass', warn: 'banner-pending', skipped: 'banner-plain' };

const levelOf = (v) => (v && typeof v === 'object' && LEVELS.includes(v.level) ? v.level : null);

/**
 * The panel for a verdict (POST /v1/verify) or a public verdict
 * (GET /v1/verify/:leaf): `authenticity` (the registry's enrollments as they
 * stand now) and `deviceCheck` (what the station found when the record
 * arrived). Null when the server sent neither, or when the verdict failed
 * (the record does not hold: who signed it is then beside the point).
 */
export function renderAuthenticity(raw, { failed = false } = {}) {
  const level = levelOf(raw?.authenticity);
  const ingestLevel = levelOf(raw?.deviceCheck);
  if ((!level && !ingestLevel) || failed) return null;
  const status = level ? MARK[level] : 'skipped';
  return h(
    'section',
    { class: 'card authenticity', id: 'authenticity', data: { level: level ?? 'none' }, 'aria-label': t('auth.heading') },
    h('h2', {}, t('auth.heading')),
    h('p', { class: 'hint' }, t('auth.intro')),
    level
      ? h(
          'div',
          { class: ['banner', BANNER[status]], id: 'authenticity-level', data: { level } },
          mark(status, t(`status.${status}`)),
          ' ',
          h('strong', { id: 'authenticity-words' }, t(`auth.level.${level}`)),
          h('p', { class: 'explain', id: 'authenticity-means' }, t(`auth.means.${level}`)),
        )
      : h('p', { class: 'hint' }, t('auth.noLevel')),
    ingestLevel
      ? h(
          'p',
          {
            class: ['auth-ingest', raw.deviceCheck.flagged ? 'alert alert-warn' : 'hint'],
            id: 'authenticity-ingest',
            data: { code: String(raw.deviceCheck.code ?? ''), flagged: String(Boolean(raw.deviceCheck.flagged)) },
          },
          t(raw.deviceCheck.flagged ? 'auth.ingest.flagged' : 'auth.ingest', {
            level: t(`auth.level.${ingestLevel}`),
            time: fmtTime(raw.deviceCheck.checkedAt),
          }),
        )
      : null,
    h(
      'details',
      { class: 'auth-scale' },
      h('summary', {}, t('auth.scale')),
      h(
        'ol',
        {},
        LEVELS.map((l) => h('li', { class: l === level ? 'current' : '' }, h('strong', {}, t(`auth.level.${l}`)), ' — ', t(`auth.means.${l}`))),
      ),
    ),
  );
}
