// DOM building with text only. Receipts and server answers are hostile input:
// they only ever become text nodes (textContent) or validated attributes, never HTML.

/**
 * h('li', { class: 'check', data: { status: 'pass' } }, 'text', child, [more])
 * Strings become text nodes; null/undefined/false children are skipped.
 * Event handler attributes are refused (handlers are attached with addEventListener).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (/^on/i.test(key)) throw new Error(`refusing event attribute ${key}`);
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'data') for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'href') el.setAttribute('href', safeHref(value));
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Only same-origin paths, http(s) URLs and blob: URLs we created; anything else (javascript:, data:) becomes '#'. */
function safeHref(value) {
  const s = String(value);
  if (s.startsWith('/') && !s.startsWith('//')) return s;
  if (s.startsWith('#')) return s;
  try {
    const u = new URL(s, location.href);
    if (u.protocol === 'http:' || u.protocol === 'https:' || (u.protocol === 'blob:' && s.startsWith(`blob:${location.origin}/`))) return u.href;
  } catch {
    // fall through
  }
  return '#';
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

export const isHash32 = (v) => typeof v === 'string' && /^0x[0-9a-f]{64}$/.test(v);

/** 0x1234abcd…9f8e: enough to tell hashes apart; the full value goes in a title. */
export function shortHash(hex) {
  const s = String(hex ?? '');
  return s.length > 22 ? `${s.slice(0, 10)}…${s.slice(-8)}` : s;
}

/** A <code> with a shortened hash and the full one in its title. */
export function hashCode(hex) {
  return h('code', { class: 'hash', title: String(hex ?? '') }, shortHash(hex));
}

/** A definition list from [label, value] pairs; values may be nodes or text; null rows are skipped. */
export function dl(rows, cls = 'facts') {
  return h(
    'dl',
    { class: cls },
    rows.filter(Boolean).map(([label, value]) => h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value))),
  );
}

/** A short status mark, never color-only: an icon and a word. */
export function mark(status, label) {
  const icon = { pass: '✓', fail: '✗', pending: '…', warn: '!', skipped: '–' }[status] ?? '?';
  return h(
    'span',
    { class: ['mark', `mark-${status}`], data: { status } },
    h('span', { class: 'mark-icon', 'aria-hidden': 'true' }, icon),
    h('span', { class: 'mark-text' }, label),
  );
}
