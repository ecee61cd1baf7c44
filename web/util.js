// Small helpers shared by the screens: DOM building, the API client, formatting.
import { t, has, lang } from './i18n.js';

export const API = '/api/v1';
export const $ = (id) => document.getElementById(id);

/** Create an element with properties and children (strings become text). */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.includes('-') || k === 'role') e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return e;
}

/** A labelled form control: <label for=id>text</label> + control. */
export function field(labelKey, control, hintKey) {
  const label = el('label', { htmlFor: control.id }, t(labelKey));
  const wrap = el('div', { className: 'field' }, label, control);
  if (hintKey) {
    const hint = el('small', { id: `${control.id}-hint`, className: 'hint' }, t(hintKey));
    control.setAttribute('aria-describedby', hint.id);
    wrap.append(hint);
  }
  return wrap;
}

/** <select> with options [value, label]. */
export function select(id, options, value) {
  const s = el('select', { id, name: id });
  for (const [v, label] of options) s.append(el('option', { value: v, selected: v === value }, label));
  return s;
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problemText(status, problem));
    this.status = status;
    this.problem = problem;
  }
}

export function problemText(status, p) {
  if (status === 0) return t('error.network');
  if (!p || typeof p !== 'object') return t('error.http', { status });
  const parts = [p.title || t('error.http', { status })];
  if (p.detail && p.detail !== p.title) parts.push(p.detail);
  for (const e of p.errors || []) {
    const m = e.field ? `${e.field}: ${e.message}` : e.message;
    if (!parts.includes(m) && !(p.detail || '').includes(m)) parts.push(m);
  }
  return parts.join(' — ');
}

let onUnauthorized = () => {};
/** Called when an API call answers 401 (the session ended). */
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

/** JSON API call; throws ApiError (status 0 when the server cannot be reached). */
export async function api(path, { method = 'GET', json, headers = {}, allow401 = false, raw = false } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = typeof json === 'string' ? json : JSON.stringify(json);
  }
  let res;
  try {
    res = await fetch(API + path, init);
  } catch {
    throw new ApiError(0, null);
  }
  if (raw && res.ok) return res;
  const body = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) {
    if (res.status === 401 && !allow401) onUnauthorized();
    throw new ApiError(res.status, body);
  }
  return body;
}

export function formatDate(s) {
  const d = new Date(s);
  if (!s || Number.isNaN(d.getTime())) return s ? String(s) : t('value.none');
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(d) + ` ${t('value.utc')}`;
}

export function enumLabel(key, value) {
  return has(`enum.${key}.${value}`) ? t(`enum.${key}.${value}`) : String(value ?? t('value.none'));
}

export function fieldLabel(key) {
  return has(`field.${key}`) ? t(`field.${key}`) : key.replace(/_/g, ' ');
}

export function ymd(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** A UUIDv7 (time-ordered) from getRandomValues, which also works outside secure contexts. */
export function uuidv7() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) { b[i] = ms % 256; ms = Math.floor(ms / 256); }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Great-circle distance in metres. */
export function distanceM(a, b) {
  const R = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h));
}
