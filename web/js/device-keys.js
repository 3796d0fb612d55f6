// The device page's key section (issue 13): every change of signing key in
// the device's chain, explained by the registry's enrollment history (a
// rotation: not a finding) or not, and the records the station flagged when
// they arrived (key not enrolled for the device, or revoked) — kept, not refused.
// The case page shows the same section for the case's records (they name their device).
import { h, mark } from './dom.js';
import { fmtTime, getLang, t } from './i18n.js';
import { LEVELS } from './authenticity.js';

const str = (v) => (typeof v === 'string' ? v : '');

/** The section, or null when the device's chain has no key change and no flagged record. */
export function renderDeviceKeys(d) {
  const changes = (Array.isArray(d?.keyChanges) ? d.keyChanges : []).filter((c) => c && typeof c === 'object');
  const flagged = (Array.isArray(d?.flagged) ? d.flagged : []).filter((f) => f && typeof f === 'object' && LEVELS.includes(f.level));
  if (!changes.length && !flagged.length) return null;
  const words = (c) => str(getLang() === 'en' ? c.en : c.zh) || str(c.zh) || str(c.en);
  return h(
    'section',
    { class: 'card device-keys', id: 'device-keys', 'aria-labelledby': 'device-keys-heading' },
    h('h2', { id: 'device-keys-heading' }, t('device.keys')),
    changes.length
      ? [
          h('h3', {}, t('device.keys.changes')),
          h(
            'ul',
            { class: 'problem-list', id: 'key-changes' },
            changes.map((c) =>
              h(
                'li',
                {
                  class: ['key-change', c.explained ? 'explained' : 'unexplained'],
                  data: { from: c.fromSeq ?? '', to: c.toSeq ?? '', explained: String(Boolean(c.explained)) },
                },
                mark(
                  c.explained ? 'pass' : 'warn',
                  t(c.explained ? 'device.keys.explained' : 'device.keys.unexplained', { from: c.fromSeq ?? '?', to: c.toSeq ?? '?' }),
                ),
                h('p', { class: 'hint' }, words(c)),
              ),
            ),
          ),
        ]
      : null,
    flagged.length
      ? [
          h('h3', {}, t('device.keys.flagged')),
          h(
            'ul',
            { class: 'problem-list', id: 'flagged' },
            flagged.map((f) =>
              h(
                'li',
                { class: 'flagged', data: { seq: f.seq ?? '', code: str(f.code) } },
                mark(
                  'warn',
                  `${f.device ? `${str(f.device)} · ` : ''}${t('device.keys.flaggedItem', { seq: f.seq ?? '?', level: t(`auth.level.${f.level}`) })}`,
                ),
                h('p', { class: 'hint' }, t('device.keys.flaggedWhen', { time: fmtTime(f.checkedAt) })),
              ),
            ),
          ),
        ]
      : null,
  );
}
