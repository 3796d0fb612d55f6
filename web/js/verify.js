// Verify page (/ and /v/:leaf, the QR target).
// The evidence file is hashed here (in a Web Worker, streamed, with progress
// and a cancel button) and never leaves the browser: the page compares the
// hash with the receipt's record itself and POSTs only {receipt, sha256} to
// /v1/verify.
//
// A verdict is about one (file, receipt) pair. Every change of either bumps
// `state.gen`, aborts the request in flight and clears the verdict; an answer
// is shown only if it was asked for the generation still on screen, for the
// very receipt object and hash on screen. The page's own comparison is then
// applied on top, and it can only weaken the server's verdict (a mismatch
// fails it; a file that cannot be compared — record withheld, no media, hash
// missing — keeps it from reading 已验证), never strengthen it.
import { ApiError, errorBox, getJson, postJson } from './api.js';
import { renderAuthenticity } from './authenticity.js';
import { dl, h, hashCode, isHash32, mark, replace } from './dom.js';
import { hashFile } from './hash.js';
import { applyStatic, fmtBytes, fmtTime, initI18n, onLangChange, t } from './i18n.js';
import { qrFigure } from './qr.js';
import { normalizeVerdict, renderVerdict } from './verdict.js';
import { initLookup } from './lookup.js';

const MAX_RECEIPT_BYTES = 256 * 1024;
const RECEIPT_FORMAT = 'liuhen-receipt/1';

const $ = (id) => document.getElementById(id);

const state = {
  /** Bumped on every change of the file or the receipt: an answer for an older generation is dropped. */
  gen: 0,
  file: null,
  /** 'idle' | 'hashing' | 'done' | 'error' | 'cancelled' */
  hashState: 'idle',
  hashDone: 0,
  hash: null,
  hashError: '',
  hashAbort: null,
  receiptName: '',
  receipt: null,
  receiptError: '',
  /** Bumped per receipt chosen: a slow read of an older choice is dropped. */
  receiptSeq: 0,
  /** { raw, gen, receipt, sha256 }: the server's answer and the exact pair it was asked for. */
  verdict: null,
  verifyError: null,
  verifying: false,
  verifyAbort: null,
  sentBytes: 0,
  /** Public verdict of /v/:leaf. */
  publicLeaf: '',
  publicVerdict: null,
  publicError: null,
};

// ── inputs ────────────────────────────────────────────────────────────────

/** The pair on screen changed: whatever was asked or answered for the old pair is void. */
function pairChanged() {
  state.gen += 1;
  state.verifyAbort?.abort();
  state.verifyAbort = null;
  state.verifying = false;
  clearVerdict();
}

function chooseFile(file) {
  state.hashAbort?.abort();
  state.hashAbort = null;
  pairChanged();
  state.file = file;
  state.hash = null;
  state.hashError = '';
  state.hashDone = 0;
  if (!file) {
    state.hashState = 'idle';
    render();
    return;
  }
  state.hashState = 'hashing';
  const abort = new AbortController();
  state.hashAbort = abort;
  render();
  hashFile(file, {
    signal: abort.signal,
    onProgress: (done) => {
      if (state.hashAbort !== abort) return;
      state.hashDone = done;
      renderProgress();
    },
  })
    .then((r) => {
      if (state.hashAbort !== abort) return;
      state.hashAbort = null;
      state.hash = r;
      state.hashState = 'done';
      render();
      maybeAutoVerify();
    })
    .catch((e) => {
      if (state.hashAbort !== abort || e?.name === 'AbortError') return;
      state.hashAbort = null;
      state.hashState = 'error';
      state.hashError = String(e?.message ?? e);
      render();
    });
}

function cancelHash() {
  if (state.hashState !== 'hashing') return;
  state.hashAbort?.abort();
  state.hashAbort = null;
  state.hashState = 'cancelled';
  render();
}

async function chooseReceipt(file) {
  const seq = ++state.receiptSeq;
  pairChanged();
  state.receipt = null;
  state.receiptError = '';
  state.receiptName = file ? file.name : '';
  render();
  if (!file) return;
  const parsed = await readReceipt(file);
  if (seq !== state.receiptSeq) return;
  pairChanged();
  if (parsed.ok) state.receipt = parsed.receipt;
  else state.receiptError = parsed.reason;
  render();
  maybeAutoVerify();
}

/** A receipt is small: read whole (bounded), parsed as JSON, format tag checked. Full validation is the server's. */
async function readReceipt(file) {
  if (file.size > MAX_RECEIPT_BYTES) return { ok: false, reason: t('verify.receipt.tooLarge') };
  let value;
  try {
    value = JSON.parse(await file.text());
  } catch {
    return { ok: false, reason: t('verify.receipt.notJson') };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value) || value.format !== RECEIPT_FORMAT)
    return { ok: false, reason: t('verify.receipt.wrongFormat') };
  return { ok: true, receipt: value };
}

/** Is this dropped file a receipt? Small JSON with the receipt's format tag. */
async function looksLikeReceipt(file) {
  if (file.size > MAX_RECEIPT_BYTES) return false;
  if (!/\.json$/i.test(file.name) && file.type !== 'application/json') return false;
  return (await readReceipt(file)).ok;
}

async function onDrop(files) {
  let evidence = null;
  let receipt = null;
  for (const f of files) {
    if (!receipt && (await looksLikeReceipt(f))) receipt = f;
    else if (!evidence) evidence = f;
  }
  if (evidence) chooseFile(evidence);
  if (receipt) await chooseReceipt(receipt);
}

function clearVerdict() {
  state.verdict = null;
  state.verifyError = null;
  state.sentBytes = 0;
}

// ── verification ──────────────────────────────────────────────────────────

function maybeAutoVerify() {
  if (state.receipt && state.file && state.hashState === 'done' && !state.verdict && !state.verifyError && !state.verifying) void verify();
}

async function verify() {
  if (!state.receipt || state.verifying || state.hashState === 'hashing') return;
  const gen = state.gen;
  const receipt = state.receipt;
  const sha256 = state.file && state.hashState === 'done' ? state.hash.sha256 : null;
  const abort = new AbortController();
  state.verifyAbort = abort;
  state.verifying = true;
  clearVerdict();
  // Only the receipt and the file's hash: the bytes of the file are never sent.
  const body = JSON.stringify(sha256 ? { receipt, sha256 } : { receipt });
  state.sentBytes = new TextEncoder().encode(body).byteLength;
  render();
  let raw = null;
  let error = null;
  try {
    raw = await postJson('/v1/verify', body, { signal: abort.signal });
  } catch (e) {
    // A receipt the server cannot read at all is answered 400 with its code: that is the format check failing.
    if (e instanceof ApiError && (e.code === 'INVALID_RECEIPT' || e.code === 'RECEIPT_FORMAT_UNKNOWN')) {
      raw = {
        format: 'liuhen-verdict/1',
        status: 'failed',
        ok: false,
        leaf: null,
        root: null,
        checks: [{ name: 'format', ok: false, status: 'fail', code: e.code, detail: e.message }],
      };
    } else error = e;
  }
  // An answer for a pair no longer on screen is dropped (pairChanged already cleared it).
  if (abort.signal.aborted || gen !== state.gen || state.verifyAbort !== abort) return;
  state.verifyAbort = null;
  state.verifying = false;
  if (raw) state.verdict = { raw, gen, receipt, sha256 };
  else state.verifyError = error;
  render();
  $('result').querySelector('#verdict-banner')?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}

/** The page's own content check: the file's hash against the receipt's record. */
function localComparison() {
  if (!state.receipt) return null;
  if (!state.file) return { status: 'skipped', text: t('verify.local.noFile') };
  if (state.hashState !== 'done') return null;
  const record = state.receipt.record;
  if (record === null || record === undefined) return { status: 'skipped', code: 'CONTENT_RECORD_WITHHELD', text: t('verify.local.withheld') };
  const media = record && typeof record === 'object' ? record.media : undefined;
  if (!media || typeof media !== 'object') return { status: 'skipped', code: 'CONTENT_UNEXPECTED', text: t('verify.local.noMedia') };
  if (String(media.sha256).toLowerCase() !== state.hash.sha256) return { status: 'fail', code: 'CONTENT_MISMATCH', text: t('verify.local.mismatch') };
  if (typeof media.size === 'number' && media.size !== state.hash.size)
    return { status: 'fail', code: 'CONTENT_SIZE_MISMATCH', text: t('verify.local.sizeMismatch', { size: state.hash.size, expected: media.size }) };
  return { status: 'pass', code: 'CONTENT_MATCH', text: t('verify.local.match') };
}

/**
 * The verdict to show, or null: only the server's answer for the exact pair
 * on screen, with the local comparison applied on top. The local comparison
 * only ever weakens: a local mismatch fails the content check and the verdict;
 * with a file on screen that the page could not compare (record withheld, no
 * media, hash failed or cancelled), a passing content check becomes pending
 * and "verified" becomes "incomplete". A local match changes nothing.
 */
function shownVerdict() {
  const v = state.verdict;
  if (!v || v.gen !== state.gen || v.receipt !== state.receipt) return null;
  const sha256 = state.file && state.hashState === 'done' ? state.hash.sha256 : null;
  if (v.sha256 !== sha256) return null;
  return weaken(normalizeVerdict(v.raw), state.file ? localComparison() : null, Boolean(state.file));
}

function weaken(v, local, withFile) {
  if (!withFile) return v;
  const checks = v.checks.map((c) => ({ ...c }));
  let content = checks.find((c) => c.name === 'content');
  if (!content) {
    content = { name: 'content', status: 'pending', code: '', detail: '' };
    checks.unshift(content);
  }
  if (local?.status === 'fail') {
    if (content.status !== 'fail') Object.assign(content, { status: 'fail', code: local.code, detail: 'local comparison' });
    return { ...v, status: 'failed', checks };
  }
  if (local?.status === 'pass') return { ...v, checks };
  if (content.status === 'pass') Object.assign(content, { status: 'pending', code: local?.code ?? 'CONTENT_UNREADABLE', detail: 'not compared locally' });
  return { ...v, status: v.status === 'verified' ? 'incomplete' : v.status, checks };
}

// ── rendering ─────────────────────────────────────────────────────────────

function renderProgress() {
  const box = $('progress');
  const total = state.file?.size ?? 0;
  box.hidden = state.hashState === 'idle' || !state.file;
  if (box.hidden) return;
  const finished = state.hashState === 'done';
  const bar = $('hash-progress');
  bar.max = Math.max(total, 1);
  bar.value = finished ? Math.max(total, 1) : state.hashDone;
  $('progress-label').textContent = t(finished ? 'verify.hashed' : state.hashState === 'cancelled' ? 'verify.hashCancelled' : 'verify.hashing');
  const done = finished ? state.hash.size : state.hashDone;
  const text = $('progress-text');
  text.textContent = t('verify.progress', { done: fmtBytes(done), total: fmtBytes(total) });
  text.dataset.done = String(done);
  text.dataset.total = String(total);
  box.dataset.state = state.hashState;
  $('cancel-hash').hidden = state.hashState !== 'hashing';
}

function render() {
  $('file-status').textContent = state.file ? t('verify.chosen', { name: state.file.name, size: fmtBytes(state.file.size) }) : t('verify.notChosen');
  const rs = $('receipt-status');
  if (state.receiptError) {
    rs.textContent = t('verify.receipt.invalid', { reason: state.receiptError });
    rs.className = 'status status-fail';
  } else {
    rs.textContent = state.receiptName ? t('verify.chosenName', { name: state.receiptName }) : t('verify.notChosen');
    rs.className = 'status';
  }
  renderProgress();

  const local = $('local');
  const cmp = localComparison();
  replace(
    local,
    state.hashState === 'done' ? dl([[t('verify.localHash'), h('code', { class: 'hash full', id: 'local-sha256' }, state.hash.sha256)]]) : null,
    state.hashState === 'error' ? h('p', { class: 'alert alert-fail', role: 'alert' }, t('verify.error.hash', { message: state.hashError })) : null,
    cmp
      ? h(
          'div',
          { class: ['local', `local-${cmp.status}`], id: 'local-result', data: { status: cmp.status } },
          mark(cmp.status, t('verify.local.title')),
          h('span', {}, cmp.text),
        )
      : null,
  );

  const run = $('run');
  run.disabled = !state.receipt || state.verifying || state.hashState === 'hashing';
  run.textContent = state.verifying ? t('verify.running') : state.file ? t('verify.run') : t('verify.runReceiptOnly');

  const sent = $('sent');
  sent.hidden = !state.sentBytes;
  sent.textContent = state.sentBytes ? t('verify.sent', { bytes: fmtBytes(state.sentBytes) }) : '';

  replace($('receipt-card'), state.receipt ? receiptCard(state.receipt) : null);
  const verdict = shownVerdict();
  replace(
    $('result'),
    verdict
      ? [renderVerdict(verdict), renderAuthenticity(state.verdict.raw, { failed: verdict.status === 'failed' })]
      : state.verifyError
        ? errorBox(state.verifyError, () => void verify())
        : null,
  );
  renderPublic();
}

/** What the loaded receipt says, and its QR code: the public verification link. */
function receiptCard(r) {
  const rec = r.record && typeof r.record === 'object' ? r.record : null;
  const batch = r.batch && typeof r.batch === 'object' ? r.batch : {};
  const summary = rec
    ? t('verify.receipt.summary', { id: String(rec.id ?? '?'), agency: String(batch.agency ?? rec.agency ?? '?'), seq: String(batch.seq ?? '?') })
    : t('verify.receipt.summaryWithheld', { agency: String(batch.agency ?? '?'), seq: String(batch.seq ?? '?') });
  return h(
    'section',
    { class: 'card receipt', 'aria-label': t('verify.receipt.label') },
    h(
      'div',
      { class: 'receipt-body' },
      h('p', { class: 'receipt-summary' }, summary),
      dl([
        rec ? [t('record.time'), fmtTime(rec.capturedAt)] : null,
        rec ? [t('public.kind'), t(`kind.${rec.kind}`)] : null,
        isHash32(r.leaf) ? [t('record.leaf'), hashCode(r.leaf)] : null,
      ]),
    ),
    qrFigure(r.leaf),
  );
}

// ── /v/:leaf: the public verdict (no personal data) ──────────────────────

function normalizePublic(p) {
  const anchor = p.anchor && typeof p.anchor === 'object' ? p.anchor : null;
  const rawNotaries = Array.isArray(p.notaries)
    ? p.notaries
    : Array.isArray(p.attestations)
      ? p.attestations
      : Array.isArray(p.notary?.attestations)
        ? p.notary.attestations
        : [];
  const notaries = rawNotaries
    .map((a) =>
      typeof a === 'string'
        ? { notary: a }
        : a && typeof a === 'object'
          ? { notary: String(a.name ?? a.notary ?? a.address ?? ''), attestedAt: a.attestedAt }
          : null,
    )
    .filter((a) => a && a.notary);
  const status = ['verified', 'failed', 'incomplete'].includes(p.status) ? p.status : null;
  const unaltered = typeof p.unaltered === 'boolean' ? p.unaltered : status === 'failed' ? false : status === 'verified' ? true : null;
  return {
    agency: p.agency ?? p.record?.agency,
    kind: p.kind ?? p.record?.kind,
    capturedAt: p.capturedAt ?? p.record?.capturedAt,
    recordedAt: p.recordedAt,
    anchor: anchor ? { block: anchor.blockNumber ?? anchor.block, time: anchor.timestamp ?? anchor.time } : null,
    notaries,
    notarized: typeof p.notarized === 'boolean' ? p.notarized : notaries.length > 0,
    unaltered,
    status,
    checks: Array.isArray(p.checks) ? p.checks : null,
  };
}

function renderPublic() {
  const box = $('public');
  if (!state.publicLeaf) return;
  box.hidden = false;
  $('public-hint').hidden = false;
  if (state.publicError) {
    const e = state.publicError;
    replace(
      box,
      h('h1', {}, t('public.heading')),
      e === 'bad-link'
        ? h('p', { class: 'alert alert-fail', role: 'alert' }, t('public.badLink'))
        : e instanceof ApiError && e.status === 404
          ? h('p', { class: 'alert alert-fail', role: 'alert' }, t('public.notFound'))
          : errorBox(e, () => void loadPublic()),
    );
    return;
  }
  if (!state.publicVerdict) {
    replace(box, h('h1', {}, t('public.heading')), h('p', { class: 'hint' }, t('common.loading')));
    return;
  }
  const p = normalizePublic(state.publicVerdict);
  const unalteredStatus = p.unaltered === true ? 'pass' : p.unaltered === false ? 'fail' : 'pending';
  const unalteredText = t(`public.unaltered.${p.unaltered === true ? 'yes' : p.unaltered === false ? 'no' : 'pending'}`);
  replace(
    box,
    h('h1', {}, t('public.heading')),
    h('p', { class: 'hint' }, t('public.intro')),
    h(
      'div',
      { class: ['banner', `banner-${unalteredStatus}`], id: 'public-status', data: { status: p.status ?? unalteredStatus } },
      mark(unalteredStatus, t('public.unaltered')),
      h('strong', {}, unalteredText),
    ),
    h(
      'div',
      { class: 'public-grid' },
      dl(
        [
          [t('public.agency'), String(p.agency ?? t('common.unknown'))],
          p.kind ? [t('public.kind'), t(`kind.${p.kind}`)] : null,
          [t('public.capturedAt'), fmtTime(p.capturedAt)],
          p.recordedAt ? [t('public.recordedAt'), fmtTime(p.recordedAt)] : null,
          [t('public.anchorBlock'), p.anchor && p.anchor.block !== undefined ? `#${p.anchor.block}` : t('public.anchorNone')],
          p.anchor && p.anchor.time !== undefined ? [t('public.anchorTime'), fmtTime(p.anchor.time)] : null,
          [
            t('public.notary'),
            p.notaries.length
              ? h(
                  'ul',
                  { class: 'plain' },
                  p.notaries.map((n) => h('li', {}, t('public.notaryBy', { notary: n.notary, time: fmtTime(n.attestedAt) }))),
                )
              : p.notarized
                ? t('common.yes')
                : t('public.notaryNone'),
          ],
          [t('public.leaf'), hashCode(state.publicLeaf)],
        ],
        'facts public-facts',
      ),
      qrFigure(state.publicLeaf),
    ),
    renderAuthenticity(state.publicVerdict, { failed: p.status === 'failed' }),
    p.checks && p.checks.length ? renderVerdict({ status: p.status, checks: p.checks }, { collapsed: true, banner: false }) : null,
  );
}

async function loadPublic() {
  state.publicError = null;
  state.publicVerdict = null;
  renderPublic();
  try {
    state.publicVerdict = await getJson(`/v1/verify/${state.publicLeaf}`);
  } catch (e) {
    state.publicError = e;
  }
  renderPublic();
}

// ── wiring ────────────────────────────────────────────────────────────────

function init() {
  initI18n();
  initLookup();
  onLangChange(render);

  $('file-input').addEventListener('change', (e) => chooseFile(e.target.files?.[0] ?? null));
  $('receipt-input').addEventListener('change', (e) => void chooseReceipt(e.target.files?.[0] ?? null));
  $('run').addEventListener('click', () => void verify());
  $('cancel-hash').addEventListener('click', cancelHash);
  $('reset').addEventListener('click', () => {
    state.hashAbort?.abort();
    state.receiptSeq += 1;
    pairChanged();
    $('file-input').value = '';
    $('receipt-input').value = '';
    Object.assign(state, {
      file: null,
      hashState: 'idle',
      hashDone: 0,
      hash: null,
      hashError: '',
      hashAbort: null,
      receipt: null,
      receiptName: '',
      receiptError: '',
    });
    render();
  });

  const zone = $('dropzone');
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length) void onDrop(files);
  });

  const m = location.pathname.match(/^\/v\/([^/]+)$/);
  if (m) {
    const leaf = decodeURIComponent(m[1]).toLowerCase();
    state.publicLeaf = leaf;
    if (!isHash32(leaf)) state.publicError = 'bad-link';
    else void loadPublic();
    document.body.dataset.titleKey = 'title.public';
    applyStatic();
  }
  render();
}

init();
