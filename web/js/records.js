// Reading records and findings out of API answers, tolerant of extra or
// missing fields: a supervisor page must show what it can, never crash.
import { h, mark } from './dom.js';
import { fmtTime, has, t } from './i18n.js';
import { findingDetail } from './finding-detail.js';
import { notaryEl } from './names.js';

const str = (v) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * A record as the API lists it: the gateway's RecordSummary (flat: id, seq,
 * kind, stage, event, device, capturedAt, media, batch {sealedAt…}, chain
 * {phase, anchor, attestations, notarized, chainError?}), or an audited record
 * {record, leaf, sealedAt, anchoredAt}, or a bare record.
 */
export function normRecord(item) {
  const o = item && typeof item === 'object' ? item : {};
  const rec = o.record && typeof o.record === 'object' ? o.record : o;
  const chain = o.chain && typeof o.chain === 'object' ? o.chain : null;
  const batch = o.batch && typeof o.batch === 'object' ? o.batch : null;
  const body = rec.body && typeof rec.body === 'object' && !Array.isArray(rec.body) ? rec.body : null;
  const media = rec.media && typeof rec.media === 'object' ? rec.media : null;
  return {
    id: str(rec.id),
    seq: num(rec.seq),
    kind: str(rec.kind),
    stage: str(rec.stage),
    device: str(rec.device),
    officer: str(rec.officer),
    capturedAt: str(rec.capturedAt),
    prev: str(rec.prev),
    leaf: str(o.leaf ?? rec.leaf),
    media: media ? { type: str(media.type), size: num(media.size), sha256: str(media.sha256) } : null,
    event: typeof o.event === 'string' ? o.event : body && typeof body.event === 'string' ? body.event : '',
    title: body ? str(body.title ?? body.name ?? '') : '',
    sealedAt: str(o.sealedAt ?? batch?.sealedAt),
    phase: str(chain?.phase),
    chainError: str(chain?.chainError),
    anchor: anchorOf(o, chain),
    notary: notaryOf(o, chain),
  };
}

function anchorOf(o, chain) {
  const a = chain?.anchor && typeof chain.anchor === 'object' ? chain.anchor : o.anchor && typeof o.anchor === 'object' ? o.anchor : null;
  if (a) return { block: num(a.blockNumber) ?? num(a.block), time: a.timestamp ?? a.time, txHash: str(a.txHash) };
  if (num(o.anchoredAt) !== undefined || typeof o.anchoredAt === 'string') return { block: num(o.blockNumber), time: o.anchoredAt };
  return null;
}

function notaryOf(o, chain) {
  const n = chain ?? (o.notary && typeof o.notary === 'object' ? o.notary : {});
  const list = Array.isArray(o.attestations) ? o.attestations : Array.isArray(n.attestations) ? n.attestations : null;
  const count = list ? list.length : (num(n.count) ?? num(o.cosigners) ?? 0);
  const notarized = typeof o.notarized === 'boolean' ? o.notarized : typeof n.notarized === 'boolean' ? n.notarized : count > 0;
  // The co-signers' addresses, for their display names (issue 14).
  const addresses = (list ?? []).map((a) => (a && typeof a === 'object' && typeof a.notary === 'string' ? a.notary : '')).filter(Boolean);
  return { notarized, count, addresses };
}

/** Finding {code, severity, message, device?, case?, recordIds, missing?}. */
export function normFinding(f) {
  const o = f && typeof f === 'object' ? f : {};
  const missing =
    o.missing && typeof o.missing === 'object' && num(o.missing.from) !== undefined && num(o.missing.to) !== undefined
      ? { from: o.missing.from, to: o.missing.to }
      : null;
  return {
    code: str(o.code),
    severity: ['high', 'medium', 'low'].includes(o.severity) ? o.severity : 'medium',
    message: str(o.message),
    recordIds: Array.isArray(o.recordIds) ? o.recordIds.map(str) : [],
    missing,
    seq: num(o.seq),
  };
}

export const findingTitle = (code) => (has(`finding.${code}`) ? t(`finding.${code}`) : code || t('finding.other'));
export const findingAbout = (code) => (has(`finding.${code}.about`) ? t(`finding.${code}.about`) : '');

/** One finding for the findings panel: localized title and meaning, the server's message as detail. */
export function findingItem(f, recordLink) {
  return h(
    'li',
    { class: ['finding', `sev-${f.severity}`], data: { code: f.code, severity: f.severity } },
    h(
      'div',
      { class: 'finding-head' },
      h('span', { class: ['sev', `sev-${f.severity}`] }, t(`severity.${f.severity}`)),
      h('strong', { class: 'finding-title' }, findingTitle(f.code)),
    ),
    findingAbout(f.code) ? h('p', { class: 'finding-about' }, findingAbout(f.code)) : null,
    f.missing ? h('p', { class: 'finding-missing' }, t('finding.missing', { from: f.missing.from, to: f.missing.to })) : null,
    f.message ? h('p', { class: 'finding-message finding-detail hint' }, h('code', {}, f.code), ' — ', findingDetail(f)) : null,
    f.recordIds.length && recordLink
      ? h(
          'p',
          { class: 'finding-records' },
          t('finding.records'),
          ' ',
          f.recordIds.map((id, i) => [i ? ' ' : '', recordLink(id)]),
        )
      : null,
  );
}

export function anchorStatus(r) {
  if (r.anchor) {
    const text =
      r.anchor.block !== undefined
        ? t('record.anchored', { block: r.anchor.block, time: fmtTime(r.anchor.time) })
        : t('record.anchoredNoBlock', { time: fmtTime(r.anchor.time) });
    return h('span', { class: 'anchor', data: { anchor: 'anchored' } }, mark('pass', text));
  }
  if (r.chainError) return h('span', { class: 'anchor', data: { anchor: 'unknown' } }, mark('pending', t('record.chainError')));
  if (r.phase === 'signed' || r.phase === 'submitted')
    return h('span', { class: 'anchor', data: { anchor: 'submitted' } }, mark('pending', t('record.submitted')));
  if (r.sealedAt) return h('span', { class: 'anchor', data: { anchor: 'sealed' } }, mark('pending', t('record.sealed', { time: fmtTime(r.sealedAt) })));
  return h('span', { class: 'anchor', data: { anchor: 'unsealed' } }, mark('pending', t('record.unsealed')));
}

export function notaryStatus(r) {
  // The co-signers by name next to their address (issue 14), when the answer lists them.
  const who = r.notary.addresses?.length
    ? h(
        'ul',
        { class: 'plain notaries' },
        r.notary.addresses.map((a) => h('li', { class: 'notary-item' }, notaryEl(a))),
      )
    : null;
  return r.notary.notarized
    ? h('span', { class: 'notary', data: { notary: 'notarized' } }, mark('pass', t('record.notarized', { n: r.notary.count || 1 })), who)
    : h('span', { class: 'notary', data: { notary: 'pending' } }, mark('pending', t('record.notaryPending')), who);
}

/** Kind of a record in words; a device event names the event. */
export function kindText(r) {
  const kind = has(`kind.${r.kind}`) ? t(`kind.${r.kind}`) : r.kind;
  if (r.event) return `${kind} · ${has(`event.${r.event}`) ? t(`event.${r.event}`) : r.event}`;
  return kind;
}

export function timeEl(iso) {
  return h('time', { datetime: str(iso), title: str(iso) }, fmtTime(iso));
}
