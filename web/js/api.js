// The JSON API of the gateway, as the pages use it. Errors come back as
// { error: { code, message } } with an HTTP status; they become an ApiError.
import { h, replace } from './dom.js';
import { t } from './i18n.js';

const TOKEN_KEY = 'liuhen.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Not kept: asked again next time.
  }
}

export function clearToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing to clear
  }
}

async function request(path, { method = 'GET', body, auth = false, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) headers.Authorization = `Bearer ${getToken()}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body, signal, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError(0, 'NETWORK', t('error.network'));
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = data && typeof data === 'object' && data.error && typeof data.error === 'object' ? data.error : {};
    throw new ApiError(
      res.status,
      typeof err.code === 'string' ? err.code : `HTTP_${res.status}`,
      typeof err.message === 'string' ? err.message : res.statusText || `HTTP ${res.status}`,
    );
  }
  if (data === null || typeof data !== 'object') throw new ApiError(res.status, 'BAD_RESPONSE', 'the server did not answer with JSON');
  return data;
}

export const getJson = (path, opts = {}) => request(path, opts);

/** POSTs a JSON body (already serialised, so that the caller knows exactly what was sent). */
export const postJson = (path, text, opts = {}) => request(path, { ...opts, method: 'POST', body: text });

/**
 * Supervisor pages: runs `load` with a token, asking for one (once per tab) in
 * `container` when there is none or the server refuses it.
 */
export function withToken(container, load) {
  const run = async () => {
    if (!getToken()) return askToken(container, run, '');
    try {
      await load();
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
        clearToken();
        return askToken(container, run, t('token.invalid'));
      }
      throw e;
    }
    return undefined;
  };
  return run();
}

function askToken(container, retry, problem) {
  const input = h('input', {
    id: 'token-input',
    type: 'password',
    name: 'token',
    autocomplete: 'off',
    required: true,
    spellcheck: 'false',
    'aria-describedby': 'token-hint',
  });
  const form = h(
    'form',
    { class: 'card token-form', id: 'token-form' },
    h('h2', {}, t('token.heading')),
    problem ? h('p', { class: 'alert alert-fail', role: 'alert' }, problem) : null,
    h('label', { for: 'token-input' }, t('token.label')),
    input,
    h('p', { class: 'hint', id: 'token-hint' }, t('token.hint')),
    h('button', { type: 'submit', class: 'button primary' }, t('token.submit')),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = input.value.trim();
    if (!v) return;
    setToken(v);
    void retry();
  });
  replace(container, form);
  input.focus();
}

/** The "forget token" button of the supervisor pages' header. */
export function wireForgetToken(button) {
  if (!button) return;
  button.addEventListener('click', () => {
    clearToken();
    location.reload();
  });
}

/** An error box with the server's message as text. */
export function errorBox(e, retry) {
  const msg =
    e instanceof ApiError
      ? e.status === 404
        ? t('error.notFound', { message: e.message })
        : e.status === 0
          ? e.message
          : t('error.server', { message: e.message })
      : t('error.server', { message: String(e?.message ?? e) });
  const box = h('div', { class: 'alert alert-fail', role: 'alert' }, h('p', {}, msg));
  if (e instanceof ApiError && e.code) box.appendChild(h('p', { class: 'hint' }, h('code', {}, e.code)));
  if (retry) {
    const b = h('button', { type: 'button', class: 'button' }, t('error.retry'));
    b.addEventListener('click', retry);
    box.appendChild(b);
  }
  return box;
}
