// Display names instead of hex (issue 14): 济南市城市管理局 next to JN-CGJ,
// 济南市泉城公证处 next to 0x…. Names come from the gateway (GET /v1/names,
// or the `names` a verdict carries); a name is always shown next to the code
// or address it names, never instead of it, and a notary without a
// registered name is labelled as such — never a bare 0x… (the public page's
// promise). Server strings are set as text only.
import { h } from './dom.js';
import { t } from './i18n.js';

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const agencyNames = new Map(); // code → name | null (asked, none)
const notaryNames = new Map(); // lower-case address → name | null
const listeners = new Set();

/** Takes the names a verdict or GET /v1/names carried: {agencies: {code: name}, notaries: {address: name}}. */
export function learnNames(book, asked = {}) {
  const b = book && typeof book === 'object' ? book : {};
  const agencies = b.agencies && typeof b.agencies === 'object' ? b.agencies : {};
  const notaries = b.notaries && typeof b.notaries === 'object' ? b.notaries : {};
  for (const code of asked.agencies ?? []) if (!agencyNames.has(code)) agencyNames.set(code, null);
  for (const addr of asked.notaries ?? []) if (!notaryNames.has(addr.toLowerCase())) notaryNames.set(addr.toLowerCase(), null);
  for (const [code, name] of Object.entries(agencies)) if (typeof name === 'string' && name) agencyNames.set(code, name);
  for (const [addr, name] of Object.entries(notaries)) if (typeof name === 'string' && name) notaryNames.set(addr.toLowerCase(), name);
}

/** Asks the gateway for the names not known yet; calls `onNames` listeners once they arrive. Never throws (names are for display). */
export async function loadNames({ agencies = [], notaries = [] } = {}) {
  const a = [...new Set(agencies.filter((c) => typeof c === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(c) && !agencyNames.has(c)))].slice(0, 64);
  const n = [...new Set(notaries.filter((x) => typeof x === 'string' && ADDRESS.test(x) && !notaryNames.has(x.toLowerCase())))].slice(0, 64);
  if (a.length === 0 && n.length === 0) return;
  const q = new URLSearchParams();
  if (a.length) q.set('agencies', a.join(','));
  if (n.length) q.set('notaries', n.join(','));
  try {
    const res = await fetch(`/v1/names?${q}`, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    if (!res.ok) return;
    learnNames(await res.json(), { agencies: a, notaries: n });
    for (const fn of listeners) fn();
  } catch {
    // No names: codes and addresses are shown with their "no name" label.
  }
}

/** Called when names arrive (pages re-render). */
export function onNames(fn) {
  listeners.add(fn);
}

export const agencyName = (code) => agencyNames.get(String(code ?? '')) ?? null;
export const notaryName = (address) => notaryNames.get(String(address ?? '').toLowerCase()) ?? null;

/** Text: "济南市城市管理局(JN-CGJ)", or the code alone when it has no name. */
export function agencyText(code) {
  const c = String(code ?? '');
  const name = agencyName(c);
  return name ? t('names.agency', { name, code: c }) : c;
}

const shortAddress = (a) => (ADDRESS.test(a) ? `${a.slice(0, 6)}…${a.slice(-4)}` : a);

/** Text: "济南市泉城公证处(0x1234…abcd)"; without a name "未登记名称的公证机构(0x1234…abcd)". */
export function notaryText(address) {
  const a = String(address ?? '');
  const name = notaryName(a);
  return t('names.notary', { name: name ?? t('names.unnamedNotary'), address: shortAddress(a) });
}

/** An element for an agency: the name, then the code. */
export function agencyEl(code) {
  const c = String(code ?? '');
  const name = agencyName(c);
  return h(
    'span',
    { class: ['named', 'agency-name'], data: { code: c, named: name ? 'true' : 'false' } },
    name ? [h('span', { class: 'name' }, name), ' '] : null,
    h('code', { class: 'code' }, c),
  );
}

/** An element for a notary: its name (or the "no registered name" label), then the short address with the full one as title. */
export function notaryEl(address) {
  const a = String(address ?? '');
  const name = notaryName(a);
  return h(
    'span',
    { class: ['named', 'notary-name'], data: { address: a, named: name ? 'true' : 'false' } },
    h('span', { class: name ? 'name' : 'name name-missing' }, name ?? t('names.unnamedNotary')),
    ' ',
    h('code', { class: 'code', title: a }, shortAddress(a)),
  );
}
