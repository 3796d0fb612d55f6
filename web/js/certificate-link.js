// On a record's page (/records/<id>): "出具存证证明" — downloads the evidence
// certificate PDF (GET /v1/records/:id/certificate) with the page's token.
// Added by the supervision pages; record.js itself is untouched.
import { getToken } from './api.js';
import { h } from './dom.js';
import { getLang, onLangChange } from './i18n.js';

const m = /^\/records\/([0-9A-HJKMNP-TV-Z]{26})$/.exec(location.pathname);
if (m) {
  const id = m[1];
  const label = () => (getLang() === 'en' ? 'Evidence certificate (PDF)' : '出具存证证明(PDF)');
  const button = h('button', { type: 'button', class: 'button', id: 'certificate-button' }, label());
  const note = h('span', { class: 'hint', id: 'certificate-note', role: 'status' });
  const box = h('aside', { class: 'card', id: 'certificate' }, button, ' ', note);
  onLangChange(() => (button.textContent = label()));
  button.addEventListener('click', async () => {
    note.textContent = '';
    const res = await fetch(`/v1/records/${id}/certificate`, { headers: { Authorization: `Bearer ${getToken()}` }, cache: 'no-store' });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      note.textContent = body?.error?.message ?? `HTTP ${res.status}`;
      return;
    }
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', { href: url, download: `certificate-${id}.pdf`, id: 'certificate-download' }, `certificate-${id}.pdf`);
    note.replaceChildren(a, ` SHA-256 ${res.headers.get('X-Certificate-Sha256') ?? ''}`);
    a.click();
  });
  const main = document.getElementById('main');
  if (main) main.after(box);
  else document.body.appendChild(box);
}
