// Triage: the verification queue (who is working on what), status changes,
// NATO source grading and merging duplicates, through
// POST /api/v1/incidents/{id}/verification.
import { t } from './i18n.js';
import { $, el, api, field, select, enumLabel, formatDate, distanceM } from './util.js';

export const VERIFIER_ROLES = ['admin', 'commander', 'analyst'];
const STATUSES = ['reported', 'under_verification', 'verified', 'unverified', 'refuted'];
const CONCLUSIVE = ['verified', 'unverified', 'refuted'];
const RELIABILITY = ['A', 'B', 'C', 'D', 'E', 'F'];
const DUP_RADIUS_M = 10_000;
const DUP_WINDOW_MS = 24 * 3600_000;

export function incidentLabel(p) {
  const cfv = p.ceasefire_violation;
  const what = cfv ? `${enumLabel('kind', cfv.kind)} × ${cfv.count ?? 1}` : enumLabel('event_type', p.event_type);
  const note = p.notes ? `“${p.notes.length > 60 ? `${p.notes.slice(0, 59)}…` : p.notes}”` : '';
  return [formatDate(p.occurred_at), what, p.location_name, note].filter(Boolean).join(' · ');
}

export class TriageScreen {
  /** ctx: { user(), incidents(), openRecord(kind, id), changed(record) } */
  constructor(ctx) {
    this.ctx = ctx;
    const panel = $('triage-panel');
    const filter = select('triage-filter', [
      ['open', t('triage.filter_open')],
      ...STATUSES.map((s) => [s, enumLabel('status', s)]),
    ], 'open');
    const mine = el('input', { type: 'checkbox', id: 'triage-mine' });
    const refresh = el('button', { type: 'button', id: 'triage-refresh' }, t('triage.refresh'));
    panel.append(
      el('h2', { id: 'triage-heading', tabIndex: -1 }, t('triage.heading')),
      el('div', { className: 'row' }, field('triage.show', filter), el('label', { className: 'check' }, mine, ' ', t('triage.mine')), refresh),
      el('p', { id: 'triage-status', className: 'status', role: 'status', 'aria-live': 'polite' }),
      el('ol', { id: 'triage-list', className: 'queue' }));
    filter.addEventListener('change', () => this.load());
    mine.addEventListener('change', () => this.load());
    refresh.addEventListener('click', () => this.load());
  }

  open() { $('triage-heading').focus(); return this.load(); }
  close() {}

  async load() {
    const f = $('triage-filter').value;
    const statuses = f === 'open' ? ['reported', 'under_verification'] : [f];
    $('triage-status').textContent = t('status.loading');
    let items = [];
    try {
      for (const s of statuses) {
        const page = await api(`/incidents?${new URLSearchParams({ status: s, limit: '500' })}`);
        items.push(...page.items);
      }
    } catch (e) {
      $('triage-status').textContent = e.message;
      return;
    }
    const me = this.ctx.user().username;
    if ($('triage-mine').checked) items = items.filter((p) => p.assignee === me);
    items.sort((a, b) => String(b.occurred_at).localeCompare(String(a.occurred_at)));
    $('triage-status').textContent = t('triage.count', { count: items.length });
    const list = $('triage-list');
    list.replaceChildren();
    for (const p of items) {
      const open = el('button', { type: 'button', className: 'link' }, incidentLabel(p));
      open.addEventListener('click', () => this.ctx.openRecord('incidents', p.id, true));
      const who = p.assignee
        ? el('span', { className: 'assignee' }, t('triage.working', { who: p.assignee }))
        : el('span', { className: 'muted' }, t('triage.nobody'));
      const li = el('li', { className: `status-${p.verification?.status}` },
        open,
        el('div', { className: 'meta' }, el('span', { className: 'pill' }, enumLabel('status', p.verification?.status)), ' ', who));
      if (p.assignee !== me) {
        const take = el('button', { type: 'button', className: 'small' }, t('triage.take'));
        take.setAttribute('aria-label', t('triage.take_label', { what: incidentLabel(p) }));
        take.addEventListener('click', async () => {
          take.disabled = true;
          try {
            const rec = await verify(p.id, p.version, { assignee: me, ...(p.verification?.status === 'reported' ? { status: 'under_verification' } : {}) });
            this.ctx.changed(rec);
            await this.load();
          } catch (e) {
            $('triage-status').textContent = e.message;
            take.disabled = false;
          }
        });
        li.querySelector('.meta').append(' ', take);
      }
      list.append(li);
    }
  }

  /** The verification form for an incident in the detail panel (verifiers only). */
  renderForm(box, rec) {
    box.replaceChildren();
    if (!VERIFIER_ROLES.includes(this.ctx.user().role) || !rec || !rec.version) return;
    const me = this.ctx.user().username;
    const v = rec.verification || {};
    const g = rec.source_grading || {};
    const status = select('verify-status', STATUSES.map((s) => [s, enumLabel('status', s)]), v.status || 'reported');
    const reason = el('input', { id: 'verify-reason', maxLength: 200 });
    const rel = select('verify-reliability', [['', t('value.none')], ...RELIABILITY.map((r) => [r, t(`enum.reliability.${r}`)])], g.reliability || '');
    const cred = select('verify-credibility', [['', t('value.none')], ...[1, 2, 3, 4, 5, 6].map((n) => [String(n), t(`enum.credibility.${n}`)])], g.credibility ? String(g.credibility) : '');
    const assignee = el('input', { id: 'verify-assignee', value: rec.assignee || '', maxLength: 64, autocomplete: 'off' });
    const meBtn = el('button', { type: 'button', className: 'small', id: 'verify-me' }, t('verify.me'));
    meBtn.addEventListener('click', () => { assignee.value = me; });
    const dup = select('verify-duplicate', [['', t('verify.no_duplicate')], ...this.candidates(rec).map((c) => [c.id, `${incidentLabel(c)} (${(c.dist / 1000).toFixed(1)} km)`])], rec.duplicate_of || '');
    if (rec.duplicate_of && !dup.querySelector(`option[value="${rec.duplicate_of}"]`)) dup.append(el('option', { value: rec.duplicate_of, selected: true }, rec.duplicate_of));
    const err = el('p', { id: 'verify-error', className: 'form-error', role: 'alert' });
    const save = el('button', { type: 'submit', className: 'primary', id: 'verify-save' }, t('verify.save'));
    const form = el('form', { id: 'verify-form', className: 'verify-form', noValidate: true },
      el('h3', {}, t('verify.heading')), err,
      field('verify.status', status), field('verify.reason', reason, 'verify.reason_hint'),
      el('div', { className: 'pair' }, field('verify.reliability', rel), field('verify.credibility', cred)),
      el('div', { className: 'with-button' }, field('verify.assignee', assignee), meBtn),
      field('verify.duplicate_of', dup, 'verify.duplicate_hint'),
      save);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      const change = {};
      if (status.value !== (v.status || 'reported') || reason.value.trim()) change.status = status.value;
      if (reason.value.trim()) change.reason = reason.value.trim();
      if (change.status && CONCLUSIVE.includes(change.status) && !change.reason) {
        reason.setAttribute('aria-invalid', 'true');
        err.textContent = t('verify.reason_required');
        reason.focus();
        return;
      }
      if (rel.value && cred.value && (rel.value !== g.reliability || Number(cred.value) !== g.credibility)) {
        change.source_grading = { reliability: rel.value, credibility: Number(cred.value) };
      } else if (Boolean(rel.value) !== Boolean(cred.value)) {
        err.textContent = t('verify.grading_incomplete');
        return;
      }
      if (assignee.value.trim() !== (rec.assignee || '')) change.assignee = assignee.value.trim();
      if (dup.value && dup.value !== (rec.duplicate_of || '')) change.duplicate_of = dup.value;
      if (!Object.keys(change).length) { err.textContent = t('verify.nothing'); return; }
      save.disabled = true;
      try {
        const updated = await verify(rec.id, rec.version, change);
        this.ctx.changed(updated);
      } catch (e) {
        err.textContent = e.status === 412 ? t('verify.stale') : e.message;
        save.disabled = false;
      }
    });
    box.append(form);
  }

  /** Incidents near in time and place: candidates for "duplicate of". */
  candidates(rec) {
    const at = Date.parse(rec.occurred_at);
    const here = [rec.location?.lon, rec.location?.lat];
    const out = [];
    for (const f of this.ctx.incidents()) {
      const p = f.properties || {};
      if (p.id === rec.id || p.duplicate_of === rec.id || !p.location) continue;
      const dt = Math.abs(Date.parse(p.occurred_at) - at);
      const dist = distanceM(here, [p.location.lon, p.location.lat]);
      if (dt <= DUP_WINDOW_MS && dist <= DUP_RADIUS_M) out.push({ ...p, dist, dt });
    }
    return out.sort((a, b) => a.dist / DUP_RADIUS_M + a.dt / DUP_WINDOW_MS - (b.dist / DUP_RADIUS_M + b.dt / DUP_WINDOW_MS)).slice(0, 15);
  }
}

async function verify(id, version, change) {
  return api(`/incidents/${encodeURIComponent(id)}/verification`, {
    method: 'POST', json: change, headers: { 'If-Match': `"${version}"` },
  });
}
