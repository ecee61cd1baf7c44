// Bulletins: view the signed daily bulletin (GET /api/v1/bulletins/{date}),
// download it as HTML, Markdown, PDF or JSON, and verify its Ed25519
// signature in the browser over the canonical JSON of the bulletin (sorted
// keys, numbers exactly as the server wrote them), as `truce bulletin verify`
// does.
import { t } from './i18n.js';
import { $, el, api, field, ymd } from './util.js';

const FORMATS = ['html', 'pdf', 'md', 'json'];

/** Parses JSON keeping each number's literal text, so canonical bytes match the server's. */
function parseKeepingNumbers(text) {
  let i = 0;
  const ws = () => { while (/\s/.test(text[i])) i++; };
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++; const o = new Map(); ws();
      if (text[i] === '}') { i++; return o; }
      for (;;) {
        ws(); const k = str(); ws(); i++; // ':'
        o.set(k, value()); ws();
        if (text[i++] === '}') return o;
      }
    }
    if (c === '[') {
      i++; const a = []; ws();
      if (text[i] === ']') { i++; return a; }
      for (;;) { a.push(value()); ws(); if (text[i++] === ']') return a; }
    }
    if (c === '"') return str();
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) throw new Error(`bad JSON at ${i}`);
    i += m[0].length;
    return { raw: m[0] };
  };
  const str = () => {
    const start = i; i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i));
  };
  return value();
}

/** serde_json's string escaping: ", \, \b \f \n \r \t, other controls as \u00xx; the rest as is. */
function quote(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c < 0x20) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function canonical(v) {
  if (v instanceof Map) {
    const keys = [...v.keys()].sort((a, b) => {
      const ea = new TextEncoder().encode(a); const eb = new TextEncoder().encode(b);
      for (let k = 0; k < Math.min(ea.length, eb.length); k++) if (ea[k] !== eb[k]) return ea[k] - eb[k];
      return ea.length - eb.length;
    });
    return `{${keys.map((k) => `${quote(k)}:${canonical(v.get(k))}`).join(',')}}`;
  }
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'string') return quote(v);
  return v.raw;
}

const hex = (s) => new Uint8Array(s.match(/../g).map((h) => parseInt(h, 16)));

/** Verifies a signed bulletin's JSON text; resolves to { ok, key } or throws when the browser cannot. */
export async function verifyBulletin(text) {
  const doc = parseKeepingNumbers(text);
  const sig = doc.get('signature');
  const key = sig.get('public_key');
  if (sig.get('algorithm') !== 'ed25519') return { ok: false, key };
  if (!crypto.subtle) throw new Error(t('bulletin.no_crypto'));
  const k = await crypto.subtle.importKey('raw', hex(key), { name: 'Ed25519' }, false, ['verify']);
  const bytes = new TextEncoder().encode(canonical(doc.get('bulletin')));
  const ok = await crypto.subtle.verify({ name: 'Ed25519' }, k, hex(sig.get('value')), bytes);
  return { ok, key };
}

export class BulletinScreen {
  constructor(ctx) {
    this.id = 'bulletins';
    this.label = 'nav.bulletins';
    this.panel = 'bulletins-panel';
    this.ctx = ctx;
    const day = el('input', { id: 'bulletin-date', type: 'date', required: true });
    const show = el('button', { type: 'submit', className: 'primary', id: 'bulletin-show' }, t('bulletin.show'));
    const form = el('form', { id: 'bulletin-form', className: 'row', noValidate: true }, field('bulletin.date', day), show);
    const sec = el('section', { id: this.panel, className: 'panel wide', hidden: true, 'aria-labelledby': 'bulletins-heading' },
      el('h2', { id: 'bulletins-heading', tabIndex: -1 }, t('nav.bulletins')),
      form,
      el('p', { id: 'bulletin-status', className: 'status', role: 'status', 'aria-live': 'polite' }),
      el('p', { id: 'bulletin-downloads', className: 'row' }),
      el('div', { id: 'bulletin-verify', role: 'status' }),
      el('iframe', { id: 'bulletin-frame', className: 'bulletin-frame', title: t('nav.bulletins'), hidden: true }));
    $('module-panels').append(sec);
    form.addEventListener('submit', (ev) => { ev.preventDefault(); this.load(); });
  }

  open() {
    if (!$('bulletin-date').value) $('bulletin-date').value = ymd(new Date(Date.now() - 86_400_000));
    $('bulletins-heading').focus();
    return this.load();
  }

  close() {}

  async load() {
    const d = $('bulletin-date').value;
    if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) return;
    const base = `/api/v1/bulletins/${d}`;
    $('bulletin-status').textContent = t('status.loading');
    $('bulletin-verify').replaceChildren();
    let text;
    try {
      const res = await api(`/bulletins/${d}?format=json`, { raw: true });
      text = await res.text();
    } catch (e) {
      $('bulletin-status').textContent = e.message;
      $('bulletin-frame').hidden = true;
      return;
    }
    $('bulletin-status').textContent = '';
    $('bulletin-downloads').replaceChildren(t('bulletin.download'), ' ',
      ...FORMATS.map((f) => el('a', { href: `${base}?format=${f}`, download: `bulletin-${d}.${f}`, className: 'button' }, f.toUpperCase())));
    const frame = $('bulletin-frame');
    frame.src = `${base}?format=html`;
    frame.hidden = false;
    const box = $('bulletin-verify');
    try {
      const { ok, key } = await verifyBulletin(text);
      box.className = ok ? 'verified' : 'warning danger';
      box.replaceChildren(t(ok ? 'bulletin.valid' : 'bulletin.invalid'), ' ', el('code', {}, key));
    } catch (e) {
      box.className = 'warning';
      box.textContent = t('bulletin.cannot_verify', { error: e.message });
    }
  }
}
