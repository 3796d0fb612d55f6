// On a record's page (/records/<id>): "下载证据文件" — downloads the evidence
// file itself (GET /v1/records/:id/content) with the page's supervisor token
// (issue 14). The gateway journals the read in the audit trail before it
// serves a byte, decrypts and re-hashes the file on the way out, and cuts the
// transfer if it does not match the record; the page then hashes what it
// received (the same Web Worker as the Verify page) and shows both SHA-256s.
// Loaded by record.html next to record.js, which it does not touch.
import { getToken } from './api.js';
import { h } from './dom.js';
import { hashFile } from './hash.js';
import { fmtBytes, onLangChange, t } from './i18n.js';

const EXT = {
  'video/mp4': 'mp4',
  'video/quicktime': 'mov',
  'video/webm': 'webm',
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/wav': 'wav',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
  'application/json': 'json',
};

const m = /^\/records\/([0-9A-HJKMNP-TV-Z]{26})$/.exec(location.pathname);
if (m) {
  const id = m[1];
  const button = h('button', { type: 'button', class: 'button', id: 'evidence-button' }, t('evidence.download'));
  const hint = h('span', { class: 'hint', id: 'evidence-hint' }, t('evidence.audit'));
  const note = h('p', { class: 'hint', id: 'evidence-note', role: 'status' });
  const box = h('aside', { class: 'card', id: 'evidence' }, button, ' ', hint, note);
  onLangChange(() => {
    button.textContent = t('evidence.download');
    hint.textContent = t('evidence.audit');
  });
  button.addEventListener('click', async () => {
    note.textContent = t('evidence.downloading');
    note.removeAttribute('data-state');
    button.disabled = true;
    try {
      const res = await fetch(`/v1/records/${id}/content`, { headers: { Authorization: `Bearer ${getToken()}` }, cache: 'no-store' });
      if (!res.ok) {
        const body = await res.json().catch(() => ({}));
        note.textContent = res.status === 404 ? t('evidence.noFile') : (body?.error?.message ?? `HTTP ${res.status}`);
        note.dataset.state = 'error';
        return;
      }
      const type = (res.headers.get('Content-Type') ?? '').split(';')[0].trim().toLowerCase();
      const expected = res.headers.get('X-Liuhen-Sha256') ?? '';
      // A cut transfer (the server found the stored file altered) rejects here: nothing is offered for saving.
      const blob = await res.blob();
      const name = `${id}.${EXT[type] ?? 'bin'}`;
      const local = await hashFile(blob);
      const same = local.sha256 === expected;
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: name, id: 'evidence-download', data: { sha256: local.sha256 } }, name);
      note.replaceChildren(
        a,
        ' ',
        t('evidence.downloaded', { name, size: fmtBytes(blob.size), sha256: expected }),
        ' ',
        h('span', { id: 'evidence-local', data: { match: same ? 'true' : 'false' } }, same ? t('evidence.localOk') : t('evidence.localBad')),
      );
      note.dataset.state = same ? 'ok' : 'error';
      if (same) a.click();
    } catch (e) {
      note.textContent = String(e?.message ?? e);
      note.dataset.state = 'error';
    } finally {
      button.disabled = false;
    }
  });
  const main = document.getElementById('main');
  if (main) main.after(box);
  else document.body.appendChild(box);
}
