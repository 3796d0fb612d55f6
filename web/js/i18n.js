// Language: Chinese first, English switchable; the choice is remembered in localStorage.
// Static text in the HTML carries data-i18n="key" (textContent), data-i18n-label
// (aria-label) or data-i18n-placeholder; dynamic text calls t().
import zh from './i18n/zh.js';
import en from './i18n/en.js';
import * as issue14 from './i18n/issue14.js';

const DICTS = { zh: { ...zh, ...issue14.zh }, en: { ...en, ...issue14.en } };
const STORAGE_KEY = 'liuhen.lang';
const listeners = [];

let lang = readStoredLang();

function readStoredLang() {
  try {
    const v = localStorage.getItem(STORAGE_KEY);
    if (v === 'zh' || v === 'en') return v;
  } catch {
    // Storage disabled: Chinese.
  }
  return 'zh';
}

export function getLang() {
  return lang;
}

/** The text for `key`, with `{name}` placeholders replaced by params (plain text; callers set it with textContent). */
export function t(key, params) {
  const s = DICTS[lang][key] ?? DICTS.zh[key] ?? key;
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (m, name) => (Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : m));
}

/** Whether the dictionary knows `key` (to fall back from a specific code to a generic text). */
export function has(key) {
  return Object.prototype.hasOwnProperty.call(DICTS[lang], key) || Object.prototype.hasOwnProperty.call(DICTS.zh, key);
}

export function onLangChange(fn) {
  listeners.push(fn);
}

export function setLang(next) {
  if (next !== 'zh' && next !== 'en') return;
  lang = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered; still switched for this page.
  }
  applyStatic();
  for (const fn of listeners) fn();
}

/** Translates the static markup of the page. */
export function applyStatic(root = document) {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  const titleKey = document.body?.dataset.titleKey;
  if (titleKey) document.title = t(titleKey);
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  const toggle = document.getElementById('lang-toggle');
  if (toggle) {
    toggle.textContent = t('lang.toggle');
    toggle.setAttribute('aria-label', t('lang.toggleLabel'));
    toggle.setAttribute('lang', lang === 'zh' ? 'en' : 'zh-CN');
  }
}

/** Call once per page: translates the markup and wires the language toggle. */
export function initI18n() {
  applyStatic();
  const toggle = document.getElementById('lang-toggle');
  if (toggle) toggle.addEventListener('click', () => setLang(lang === 'zh' ? 'en' : 'zh'));
}

const locale = () => (lang === 'zh' ? 'zh-CN' : 'en-GB');

/** A time for people: RFC 3339 text or seconds since the epoch; the raw value when unparseable. */
export function fmtTime(value) {
  if (value === undefined || value === null || value === '') return t('common.unknown');
  const ms = typeof value === 'number' ? value * 1000 : Date.parse(String(value));
  if (!Number.isFinite(ms)) return String(value);
  return new Intl.DateTimeFormat(locale(), {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
    timeZoneName: 'short',
  }).format(new Date(ms));
}

/** Sizes in bytes, KB, MB, GB (decimal units, as file managers show them). */
export function fmtBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return t('common.unknown');
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function fmtList(items) {
  return items.join(t('verdict.listSep'));
}
