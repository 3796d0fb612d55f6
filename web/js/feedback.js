// 码上监督 (/feedback): leave feedback about a record (?leaf=0x…, linked from
// the public verdict page /v/<leaf>), and look up its status with the
// tracking code (?code=…). No login. What the citizen types is sent as JSON
// and shown back only as text.
import { ApiError, errorBox, getJson, postJson } from './api.js';
import { h, replace } from './dom.js';
import { fmtTime, initI18n, onLangChange } from './i18n.js';
import { applySv, sv } from './supervision-i18n.js';

const content = document.getElementById('content');
const params = new URLSearchParams(location.search);
const leaf = /^0x[0-9a-f]{64}$/.test(params.get('leaf') ?? '') ? params.get('leaf') : null;
let view = () => (leaf ? submitForm() : lookupForm(params.get('code') ?? ''));

function download(name, value) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' }));
  const a = h('a', { href: url, download: name, class: 'button' });
  return a;
}

function submitForm() {
  const cats = ['attitude', 'procedure', 'result', 'other'];
  const radios = cats.map((c, i) =>
    h('label', { class: 'fb-cat' }, h('input', { type: 'radio', name: 'category', value: c, checked: i === 0 }), sv(`cat.${c}`)),
  );
  const text = h('textarea', { id: 'fb-text', name: 'text', maxlength: '2000', required: true, rows: '6' });
  const count = h('span', { class: 'hint', id: 'fb-count' }, sv('fb.count', { n: 0 }));
  text.addEventListener('input', () => (count.textContent = sv('fb.count', { n: text.value.length })));
  const phone = h('input', { id: 'fb-phone', type: 'tel', name: 'phone', autocomplete: 'tel', maxlength: '20' });
  const form = h(
    'form',
    { class: 'card', id: 'fb-form' },
    h('p', { class: 'hint' }, sv('fb.about', { leaf: `${leaf.slice(0, 10)}…${leaf.slice(-6)}` })),
    h('fieldset', {}, h('legend', {}, sv('fb.category')), radios),
    h('label', { for: 'fb-text' }, sv('fb.text')),
    text,
    count,
    h('label', { for: 'fb-phone' }, sv('fb.phone')),
    phone,
    h('p', {}, h('button', { type: 'submit', class: 'button primary' }, sv('fb.submit'))),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const category = form.querySelector('input[name=category]:checked').value;
    const body = { leaf, category, text: text.value, ...(phone.value.trim() ? { phone: phone.value.trim() } : {}) };
    try {
      const r = await postJson('/v1/feedback', JSON.stringify(body));
      view = () => submitted(r);
      replace(content, view());
    } catch (e) {
      form.querySelector('.alert')?.remove();
      form.appendChild(errorBox(e));
    }
  });
  return form;
}

function submitted(r) {
  const receipt = download(`feedback-receipt-${r.receipt.record.id}.json`, r.receipt);
  receipt.textContent = sv('fb.receipt');
  receipt.id = 'fb-receipt';
  return h(
    'section',
    { class: 'card', id: 'fb-done' },
    h('h2', {}, sv('fb.done')),
    h('p', {}, sv('fb.code'), ' ', h('strong', { id: 'fb-code', class: 'fb-code' }, r.tracking)),
    h('p', { class: 'alert' }, sv('fb.keep')),
    h('p', {}, receipt, ' ', h('a', { href: `/feedback?code=${encodeURIComponent(r.tracking)}`, id: 'fb-status-link', class: 'button' }, sv('fb.check'))),
  );
}

function lookupForm(code) {
  const input = h('input', { id: 'fb-lookup-code', name: 'code', value: code, required: true, autocomplete: 'off', maxlength: '24', spellcheck: 'false' });
  const result = h('div', { id: 'fb-status' });
  const form = h(
    'form',
    { class: 'card', id: 'fb-lookup' },
    h('h2', {}, sv('fb.lookup')),
    h('label', { for: 'fb-lookup-code' }, sv('fb.lookup.code')),
    input,
    h('p', {}, h('button', { type: 'submit', class: 'button primary' }, sv('fb.lookup.submit'))),
    result,
  );
  const look = async () => {
    try {
      const s = await getJson(`/v1/feedback/status/${encodeURIComponent(input.value.trim())}`);
      const steps = [{ step: 'submitted', at: s.at }, ...s.steps];
      const full = s.receipt ? download(`liuhen-receipt-feedback.json`, s.receipt) : null;
      if (full) {
        full.textContent = sv('fb.fullReceipt');
        full.id = 'fb-full-receipt';
      }
      replace(
        result,
        h('p', { id: 'fb-state', data: { state: s.state } }, sv('fb.status', { state: sv(`state.${s.state}`) })),
        h(
          'ol',
          { class: 'fb-steps', id: 'fb-steps' },
          steps.map((x) => h('li', { data: { step: x.step } }, h('strong', {}, sv(`state.${x.step}`)), ' ', fmtTime(x.at))),
        ),
        full ? h('p', {}, sv('fb.sealed'), ' ', full) : null,
      );
    } catch (e) {
      replace(result, errorBox(e instanceof ApiError ? e : new ApiError(0, 'ERROR', String(e))));
    }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void look();
  });
  if (code) void look();
  return form;
}

initI18n();
applySv();
document.title = `留痕 · ${sv('fb.heading')}`;
onLangChange(() => {
  applySv();
  replace(content, view());
});
replace(content, view());
