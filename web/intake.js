// Intake: paste a press release, wire story or bulletin (text or HTML),
// see the facts Truce proposes with the exact words they came from, and
// accept each (as the fact, or as a new incident or meeting), or reject it
// with a reason, through /api/v1/intake/documents and /api/v1/intake/candidates.
import { t, has } from './i18n.js';
import { $, el, api, field, select, uuidv7 } from './util.js';

/** Roles that may post documents and review candidates (truce-core access rules). */
export const INTAKE_ROLES = ['admin', 'commander', 'analyst'];
const STATUSES = ['pending', 'accepted', 'rejected', 'all'];
const KINDS = ['', 'quantity', 'place', 'date', 'actor', 'event'];
const CONTEXT_BYTES = 160;

/** A record kind a candidate may become, in words. */
function targetLabel(kind) {
  return has(`intake.target.${kind}`) ? t(`intake.target.${kind}`) : kind.replace(/_/g, ' ');
}

/** One line saying what a candidate claims. */
export function candidateLabel(c) {
  const parts = [];
  if (c.fact_kind === 'quantity') {
    const q = c.qualifier ? `${t(`intake.qualifier.${c.qualifier}`)} ` : '';
    parts.push(`${c.category}: ${q}${c.value} ${c.unit}`);
  } else if (c.fact_kind === 'event') {
    parts.push(`${t('intake.kind.event')}: ${c.category}`);
  } else {
    parts.push(`${t(`intake.kind.${c.fact_kind}`)}: ${c.name || c.identity || ''}`);
  }
  if (c.party) parts.push(c.party);
  if (c.date) parts.push(c.date);
  if (c.place && c.fact_kind !== 'place') parts.push(c.place.name);
  if (c.period) parts.push(c.period);
  return parts.join(' · ');
}

/** The words of a byte span of `text` (UTF-8 offsets, as the server gives them) with some context either side. */
export function spanInContext(text, start, end) {
  const bytes = new TextEncoder().encode(text);
  const dec = new TextDecoder();
  const from = Math.max(0, start - CONTEXT_BYTES);
  const to = Math.min(bytes.length, end + CONTEXT_BYTES);
  // Decoding a cut through a multi-byte character gives U+FFFD at the cut; trim it.
  const before = dec.decode(bytes.slice(from, start)).replace(/^\uFFFD+/, '');
  const after = dec.decode(bytes.slice(end, to)).replace(/\uFFFD+$/, '');
  return { before: (from > 0 ? '…' : '') + before, words: dec.decode(bytes.slice(start, end)), after: after + (to < bytes.length ? '…' : '') };
}

export class IntakeScreen {
  /** ctx: { openRecord(kind, id, fly), setStatus } */
  constructor(ctx) {
    this.id = 'intake';
    this.label = 'nav.intake';
    this.panel = 'intake-panel';
    this.ctx = ctx;
    this.documents = new Map(); // id -> document text, fetched when a span is shown in context
    const text = el('textarea', { id: 'intake-text', rows: 6, required: true });
    const format = select('intake-format', [['text', t('intake.format_text')], ['html', t('intake.format_html')]], 'text');
    const title = el('input', { id: 'intake-title', type: 'text' });
    const outlet = el('input', { id: 'intake-outlet', type: 'text' });
    const published = el('input', { id: 'intake-published', type: 'date' });
    const submit = el('button', { type: 'submit', className: 'primary', id: 'intake-submit' }, t('intake.submit'));
    const form = el('form', { id: 'intake-form', noValidate: true },
      field('intake.text', text),
      el('div', { className: 'row' }, field('intake.format', format), field('intake.published', published)),
      el('div', { className: 'row' }, field('intake.title', title), field('intake.outlet', outlet)),
      el('p', { id: 'intake-error', className: 'error', role: 'alert' }),
      submit);
    const status = select('intake-filter', STATUSES.map((s) => [s, t(`intake.status.${s}`)]), 'pending');
    const kind = select('intake-kind', KINDS.map((k) => [k, k ? t(`intake.kind.${k}`) : t('intake.kind.all')]), '');
    const refresh = el('button', { type: 'button', id: 'intake-refresh' }, t('triage.refresh'));
    const sec = el('section', { id: this.panel, className: 'panel wide', hidden: true, 'aria-labelledby': 'intake-heading' },
      el('h2', { id: 'intake-heading', tabIndex: -1 }, t('intake.heading')),
      el('details', { id: 'intake-new' }, el('summary', {}, t('intake.new')), form),
      el('h3', {}, t('intake.queue')),
      el('div', { className: 'row' }, field('triage.show', status), field('intake.kind', kind), refresh),
      el('p', { id: 'intake-status', className: 'status', role: 'status', 'aria-live': 'polite' }),
      el('ol', { id: 'intake-list', className: 'queue' }));
    $('module-panels').append(sec);
    form.addEventListener('submit', (ev) => { ev.preventDefault(); this.post(); });
    // A new key for each new document: a second click on the same one is a
    // retry the server answers from its first result, not a second document.
    form.addEventListener('input', () => { this.key = null; });
    for (const c of [status, kind]) c.addEventListener('change', () => this.load());
    refresh.addEventListener('click', () => this.load());
  }

  open() {
    $('intake-heading').focus();
    return this.load();
  }

  close() {}

  async post() {
    const text = $('intake-text').value;
    const err = $('intake-error');
    err.textContent = '';
    if (!text.trim()) { err.textContent = t('intake.empty'); return; }
    const body = { [$('intake-format').value]: text };
    for (const [k, id] of [['title', 'intake-title'], ['outlet', 'intake-outlet'], ['published', 'intake-published']]) {
      const v = $(id).value.trim();
      if (v) body[k] = v;
    }
    this.key = this.key || uuidv7();
    $('intake-submit').disabled = true;
    try {
      const r = await api('/intake/documents', { method: 'POST', json: body, headers: { 'Idempotency-Key': this.key } });
      this.documents.set(r.document.id, r.document.text);
      $('intake-form').reset();
      this.key = null;
      $('intake-status').textContent = t('intake.posted', { count: r.candidates.length, merged: r.merged });
      $('intake-filter').value = 'pending';
      await this.load(r.document.id, r.candidates.length);
    } catch (e) {
      err.textContent = e.message;
    } finally {
      $('intake-submit').disabled = false;
    }
  }

  /** Reloads the queue; after a post, says how many facts that document proposed. */
  async load(postedDoc, postedCount) {
    const q = new URLSearchParams({ status: $('intake-filter').value });
    if ($('intake-kind').value) q.set('kind', $('intake-kind').value);
    const status = $('intake-status');
    if (!postedDoc) status.textContent = t('status.loading');
    let items;
    try {
      items = (await api(`/intake/candidates?${q}`)).items;
    } catch (e) {
      status.textContent = e.message;
      return;
    }
    items.reverse(); // newest reports first
    if (!postedDoc) status.textContent = t('intake.count', { count: items.length });
    else status.textContent += ` ${t('intake.count', { count: items.length })}`;
    const list = $('intake-list');
    list.replaceChildren(...items.map((c) => this.item(c, c.sources.some((s) => s.document === postedDoc))));
    if (postedDoc && postedCount === 0) status.textContent = t('intake.none_found');
  }

  item(c, fresh) {
    const li = el('li', { className: `status-${c.status}${fresh ? ' fresh' : ''}`, 'data-id': c.id });
    li.append(el('div', { className: 'claim' }, candidateLabel(c)));
    const sources = el('ul', { className: 'sources' });
    for (const s of c.sources) {
      const show = el('button', { type: 'button', className: 'link small' }, t('intake.in_context'));
      const quote = el('q', {}, s.text);
      const line = el('li', {}, quote, s.outlet ? el('span', { className: 'muted' }, ` — ${s.outlet}`) : '', ' ', show);
      show.addEventListener('click', async () => {
        show.disabled = true;
        try {
          const ctx = spanInContext(await this.documentText(s.document), s.start, s.end);
          line.replaceChildren(el('blockquote', { className: 'context' }, ctx.before, el('mark', {}, ctx.words), ctx.after),
            s.outlet ? el('span', { className: 'muted' }, s.outlet) : '');
        } catch (e) {
          show.disabled = false;
          show.textContent = e.message;
        }
      });
      sources.append(line);
    }
    li.append(sources);
    const meta = el('div', { className: 'meta' }, el('span', { className: 'pill' }, t(`intake.status.${c.status}`)));
    if (c.documents > 1) meta.append(el('span', { className: 'pill' }, t('intake.sources', { count: c.documents })));
    li.append(meta);
    if (c.status === 'pending') li.append(this.actions(c, li));
    else if (c.review) li.append(this.decision(c));
    return li;
  }

  async documentText(id) {
    if (!this.documents.has(id)) this.documents.set(id, (await api(`/intake/documents/${id}`)).document.text);
    return this.documents.get(id);
  }

  decision(c) {
    const r = c.review;
    const p = el('p', { className: 'meta' }, t(c.status === 'accepted' ? 'intake.accepted_by' : 'intake.rejected_by', { who: r.by }));
    if (r.reason) p.append(' ', el('q', {}, r.reason));
    for (const [k, was] of Object.entries(r.edited || {})) {
      p.append(' ', el('span', { className: 'muted' }, `${k}: ${t('intake.corrected', { was: String(was ?? '') })}`));
    }
    if (r.record && r.record_kind) {
      const plural = `${r.record_kind}s`;
      const open = el('button', { type: 'button', className: 'link', 'data-record': r.record }, t('intake.open_record', { kind: targetLabel(r.record_kind) }));
      open.addEventListener('click', () => this.ctx.openRecord(plural, r.record, true));
      p.append(' ', open);
    }
    return p;
  }

  actions(c, li) {
    const label = candidateLabel(c);
    const row = el('div', { className: 'row actions' });
    const err = el('p', { className: 'error', role: 'alert' });
    const fix = this.corrections(c, label);
    const targets = ['fact', ...(c.targets || [])];
    for (const target of targets) {
      const b = el('button', { type: 'button', className: target === 'fact' ? 'small' : 'small primary' },
        t(target === 'fact' ? 'intake.accept' : 'intake.create', { kind: targetLabel(target) }));
      b.setAttribute('aria-label', `${b.textContent}: ${label}`);
      b.addEventListener('click', () => {
        const body = target === 'fact' ? {} : { target };
        const edit = fix.edit();
        if (Object.keys(edit).length) body.edit = edit;
        this.decide(c, 'accept', body, row, err, li);
      });
      row.append(b);
    }
    const reason = el('input', { type: 'text', className: 'reason', placeholder: t('intake.reject_reason') });
    reason.setAttribute('aria-label', t('intake.reject_reason_label', { what: label }));
    const reject = el('button', { type: 'button', className: 'small' }, t('intake.reject'));
    reject.setAttribute('aria-label', `${t('intake.reject')}: ${label}`);
    reject.addEventListener('click', () => {
      if (!reason.value.trim()) { err.textContent = t('intake.reason_needed'); reason.focus(); return; }
      this.decide(c, 'reject', { reason: reason.value.trim() }, row, err, li);
    });
    row.append(reason, reject);
    return el('div', {}, fix.box, row, err);
  }

  /** Fields a reviewer may correct before accepting (a misread figure or
   * day); `edit()` gives only what changed, sent as the accept's `edit`. */
  corrections(c, label) {
    const inputs = [];
    const box = el('details', { className: 'corrections' }, el('summary', {}, t('intake.correct')));
    const add = (name, control, original) => {
      control.setAttribute('aria-label', `${t(`intake.correct_${name}`)}: ${label}`);
      box.append(el('label', { className: 'field' }, t(`intake.correct_${name}`), ' ', control));
      inputs.push({ name, control, original });
    };
    if (c.fact_kind === 'quantity') {
      add('value', el('input', { type: 'number', min: '0', step: 'any', value: String(c.value) }), String(c.value));
    }
    add('date', el('input', { type: 'date', value: c.date || '' }), c.date || '');
    return {
      box,
      edit() {
        const out = {};
        for (const { name, control, original } of inputs) {
          if (control.value === original || control.value === '') continue;
          out[name] = name === 'value' ? Number(control.value) : control.value;
        }
        return out;
      },
    };
  }

  async decide(c, action, body, row, err, li) {
    for (const b of row.querySelectorAll('button')) b.disabled = true;
    err.textContent = '';
    try {
      // One key per decision: a retried click is answered, not refused.
      c.key = c.key || uuidv7();
      const r = await api(`/intake/candidates/${c.id}/${action}`, { method: 'POST', json: body, headers: { 'Idempotency-Key': c.key } });
      li.replaceWith(this.item(r.candidate, false));
      this.ctx.setStatus?.(t(action === 'accept' ? 'intake.done_accept' : 'intake.done_reject', { what: candidateLabel(c) }));
      if (r.record && r.candidate.review?.record_kind === 'incident') this.ctx.onSent?.();
    } catch (e) {
      err.textContent = e.message;
      for (const b of row.querySelectorAll('button')) b.disabled = false;
    }
  }
}
