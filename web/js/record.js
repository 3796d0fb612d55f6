// A record's receipt (/records/:id): what the receipt says, its QR code (the
// public verification link), a download of the receipt JSON, and a button
// that verifies it. Supervisor token required.
import { errorBox, getJson, postJson, wireForgetToken, withToken } from './api.js';
import { dl, h, hashCode, replace } from './dom.js';
import { fmtBytes, fmtTime, initI18n, onLangChange, t } from './i18n.js';
import { qrFigure } from './qr.js';
import { renderVerdict } from './verdict.js';
import { renderAuthenticity } from './authenticity.js';

const recordId = decodeURIComponent(location.pathname.replace(/^\/records\//, ''));
const content = document.getElementById('content');
let receipt = null;
let verdict = null;
let verifyError = null;
let downloadUrl = '';

async function load() {
  replace(content, h('p', { class: 'hint' }, t('common.loading')));
  receipt = await getJson(`/v1/records/${encodeURIComponent(recordId)}/receipt`, { auth: true });
  if (downloadUrl) URL.revokeObjectURL(downloadUrl);
  downloadUrl = URL.createObjectURL(new Blob([`${JSON.stringify(receipt, null, 2)}\n`], { type: 'application/json' }));
  render();
}

async function verify() {
  verdict = null;
  verifyError = null;
  try {
    verdict = await postJson('/v1/verify', JSON.stringify({ receipt }));
  } catch (e) {
    verifyError = e;
  }
  render();
}

function render() {
  if (!receipt) return;
  const rec = receipt.record && typeof receipt.record === 'object' ? receipt.record : null;
  const batch = receipt.batch && typeof receipt.batch === 'object' ? receipt.batch : {};
  const anchor = receipt.anchor && typeof receipt.anchor === 'object' ? receipt.anchor : null;
  const attestations = Array.isArray(receipt.attestations) ? receipt.attestations : [];
  const verifyButton = h('button', { type: 'button', class: 'button primary', id: 'verify-receipt' }, t('receipt.verify'));
  verifyButton.addEventListener('click', () => void verify());

  replace(
    content,
    h(
      'section',
      { class: 'card receipt' },
      h(
        'div',
        { class: 'receipt-body' },
        dl([
          rec ? [t('public.agency'), String(rec.agency ?? '')] : null,
          rec ? [t('public.kind'), t(`kind.${rec.kind}`)] : null,
          rec ? [t('record.time'), fmtTime(rec.capturedAt)] : null,
          rec?.case ? [t('receipt.case'), h('a', { href: `/cases/${encodeURIComponent(String(rec.case))}` }, String(rec.case))] : null,
          rec?.stage ? [t('receipt.stage'), t(`stage.${rec.stage}`)] : null,
          rec ? [t('record.device'), h('a', { href: `/devices/${encodeURIComponent(String(rec.device))}` }, String(rec.device))] : null,
          rec ? [t('record.officer'), String(rec.officer ?? '')] : null,
          rec?.media ? [t('receipt.sha256'), h('code', { class: 'hash full' }, String(rec.media.sha256))] : null,
          rec?.media ? [t('receipt.size'), fmtBytes(rec.media.size)] : null,
          [t('record.leaf'), hashCode(receipt.leaf)],
          [t('receipt.batch'), t('receipt.batchValue', { agency: String(batch.agency ?? ''), seq: String(batch.seq ?? ''), size: String(batch.size ?? '') })],
          receipt.inclusion ? [t('receipt.index'), String(receipt.inclusion.index)] : null,
          [t('receipt.anchor'), anchor ? t('record.anchored', { block: anchor.blockNumber, time: fmtTime(anchor.timestamp) }) : t('public.anchorNone')],
          [
            t('receipt.attestations'),
            attestations.length
              ? h(
                  'ul',
                  { class: 'plain' },
                  attestations.map((a) => h('li', {}, t('public.notaryBy', { notary: String(a?.notary ?? ''), time: fmtTime(a?.attestedAt) }))),
                )
              : t('public.notaryNone'),
          ],
        ]),
        h(
          'div',
          { class: 'actions' },
          h('a', { class: 'button', href: downloadUrl, download: `receipt-${recordId}.json`, id: 'download-receipt' }, t('receipt.download')),
          verifyButton,
        ),
      ),
      qrFigure(receipt.leaf),
    ),
    verdict
      ? [renderVerdict(verdict), renderAuthenticity(verdict, { failed: verdict.status === 'failed' })]
      : verifyError
        ? errorBox(verifyError, () => void verify())
        : null,
  );
}

function start() {
  withToken(content, load).catch((e) => replace(content, errorBox(e, start)));
}

initI18n();
document.getElementById('subject').textContent = recordId;
wireForgetToken(document.getElementById('forget-token'));
onLangChange(() => (receipt ? render() : document.getElementById('token-form') ? start() : undefined));
start();
