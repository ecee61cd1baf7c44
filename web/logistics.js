// Logistics: convoy planning. A route comes from a corridor or is drawn by
// clicking the map; "Check route" asks the server what it passes (active
// hazard areas, recent incidents: POST /api/v1/logistics/route_check) and
// draws it; "Plan convoy" creates the convoy (POST /api/v1/convoys/plan),
// which the server refuses (409, with the hazards) unless an override reason
// is given when the route crosses an active hazard area.
import { t } from './i18n.js';
import { $, el, api, field, select, enumLabel, formatDate } from './util.js';

const PLANNER_ROLES = ['admin', 'commander', 'logistics'];

function localInputValue(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export class LogisticsScreen {
  /** ctx: { user(), map(), openRecord(kind, id, fly), showRoute(geometry, hits) } */
  constructor(ctx) {
    this.id = 'logistics';
    this.label = 'nav.logistics';
    this.panel = 'logistics-panel';
    this.ctx = ctx;
    this.corridors = [];
    this.drawn = [];
    const canPlan = PLANNER_ROLES.includes(ctx.user().role);
    const sec = el('section', { id: this.panel, className: 'panel wide', hidden: true, 'aria-labelledby': 'logistics-heading' });
    sec.append(el('h2', { id: 'logistics-heading', tabIndex: -1 }, t('nav.logistics')));
    const form = el('form', { id: 'convoy-form', noValidate: true });
    const corridor = el('select', { id: 'convoy-corridor' });
    const code = el('input', { id: 'convoy-code', required: true, maxLength: 40 });
    const origin = el('input', { id: 'convoy-origin', required: true, maxLength: 120 });
    const dest = el('input', { id: 'convoy-destination', required: true, maxLength: 120 });
    const dep = el('input', { id: 'convoy-departure', type: 'datetime-local', required: true });
    const escort = el('input', { id: 'convoy-escort', maxLength: 120 });
    const override = el('input', { id: 'convoy-override', maxLength: 200 });
    const routeText = el('textarea', { id: 'convoy-route-text', rows: 2, spellcheck: false });
    const clear = el('button', { type: 'button', id: 'convoy-clear', className: 'small' }, t('convoy.clear_route'));
    const check = el('button', { type: 'button', id: 'convoy-check' }, t('convoy.check'));
    const plan = el('button', { type: 'submit', id: 'convoy-plan', className: 'primary' }, t('convoy.plan'));
    form.append(
      el('h3', {}, t('convoy.heading')),
      el('p', { id: 'convoy-error', className: 'form-error', role: 'alert' }),
      field('convoy.corridor', corridor, 'convoy.draw_hint'),
      el('p', { className: 'row' }, el('span', { id: 'convoy-drawn', className: 'muted' }), clear),
      field('convoy.route_text', routeText, 'convoy.route_text_hint'),
      el('div', { className: 'pair' }, field('convoy.code', code), field('convoy.departure', dep)),
      el('div', { className: 'pair' }, field('convoy.origin', origin), field('convoy.destination', dest)),
      field('convoy.escort', escort),
      el('div', { id: 'convoy-warning', className: 'warning', role: 'alert', hidden: true }),
      el('ul', { id: 'convoy-hazards', className: 'hazards' }),
      el('div', { id: 'convoy-override-box', hidden: true }, field('convoy.override', override, 'convoy.override_hint')),
      el('div', { className: 'row' }, check, canPlan ? plan : null),
      el('p', { id: 'convoy-result', className: 'status', role: 'status', 'aria-live': 'polite' }));
    sec.append(form, el('h3', {}, t('collection.convoys')), el('ul', { id: 'convoy-list', className: 'module-list' }));
    $('module-panels').append(sec);

    corridor.addEventListener('change', () => { this.drawn = []; this.updateDrawn(); this.check(); });
    clear.addEventListener('click', () => { this.drawn = []; this.updateDrawn(); this.ctx.showRoute(null, []); });
    check.addEventListener('click', () => this.check());
    routeText.addEventListener('change', () => {
      const pts = routeText.value.split(/[;\n]+/).map((x) => x.split(/[,\s]+/).filter(Boolean).map(Number))
        .filter((c) => c.length === 2 && c.every(Number.isFinite));
      $('convoy-corridor').value = '';
      this.drawn = pts;
      this.updateDrawn(false);
      this.ctx.showRoute(this.route(), []);
    });
    form.addEventListener('submit', (ev) => { ev.preventDefault(); this.plan(); });
  }

  async open() {
    $('logistics-heading').focus();
    if (!$('convoy-departure').value) {
      const d = new Date(Date.now() + 3600_000);
      $('convoy-departure').value = localInputValue(d);
      $('convoy-code').value = `CV-${d.toISOString().slice(0, 10)}-${Math.floor(Math.random() * 900 + 100)}`;
    }
    try {
      const [cor, conv] = await Promise.all([
        api('/corridors?limit=500'), api('/convoys?limit=200'),
      ]);
      this.corridors = cor.items || [];
      const s = $('convoy-corridor');
      const keep = s.value;
      s.replaceChildren(el('option', { value: '' }, t('convoy.drawn_route')),
        ...this.corridors.map((c) => el('option', { value: c.id, selected: c.id === keep },
          `${c.name} (${enumLabel('status', c.status?.status ?? c.status)})`)));
      const list = $('convoy-list');
      list.replaceChildren();
      for (const c of conv.items || []) {
        const b = el('button', { type: 'button', className: 'link' }, `${c.code}: ${c.origin} → ${c.destination}, ${formatDate(c.planned_departure)}`);
        b.addEventListener('click', () => this.ctx.openRecord('convoys', c.id, false));
        list.append(el('li', {}, b, ' ', el('span', { className: 'pill' }, enumLabel('status', c.status))));
      }
      if (!(conv.items || []).length) list.append(el('li', {}, t('list.empty')));
    } catch (e) {
      $('convoy-error').textContent = e.message;
    }
    this.updateDrawn();
  }

  close() { this.ctx.showRoute(null, []); }

  /** With no corridor chosen, map clicks draw the route point by point. */
  mapClick(lngLat) {
    if ($('convoy-corridor').value) return false;
    this.drawn.push([Number(lngLat.lng.toFixed(6)), Number(lngLat.lat.toFixed(6))]);
    this.updateDrawn();
    this.ctx.showRoute(this.route(), []);
    return true;
  }

  updateDrawn(writeText = true) {
    const n = this.drawn.length;
    if (writeText) $('convoy-route-text').value = this.drawn.map((c) => c.join(', ')).join('; ');
    $('convoy-route-text').disabled = Boolean($('convoy-corridor').value);
    $('convoy-drawn').textContent = $('convoy-corridor').value ? '' : t('convoy.points', { count: n });
    $('convoy-clear').hidden = !n;
  }

  route() {
    const id = $('convoy-corridor').value;
    if (id) return (this.corridors.find((c) => c.id === id) || {}).route || null;
    return this.drawn.length >= 2 ? { type: 'LineString', coordinates: this.drawn } : null;
  }

  body() {
    const id = $('convoy-corridor').value;
    return id ? { corridor: id } : { route: this.route() };
  }

  showHits(hits, blocking) {
    const ul = $('convoy-hazards');
    ul.replaceChildren(...hits.map((h) => {
      const b = el('button', { type: 'button', className: 'link' },
        t(h.distance_m > 0 ? 'convoy.hit_near' : 'convoy.hit_cross', { what: t(`convoy.kind.${h.kind}`), label: h.label, m: Math.round(h.distance_m) }));
      b.addEventListener('click', () => this.ctx.openRecord(h.kind === 'incident' ? 'incidents' : 'hazard_areas', h.id, true));
      return el('li', { className: h.blocking ? 'blocking' : '' }, b);
    }));
    const w = $('convoy-warning');
    w.hidden = !hits.length;
    w.textContent = blocking ? t('convoy.blocked', { count: hits.filter((h) => h.blocking).length }) : t('convoy.near', { count: hits.length });
    w.classList.toggle('danger', Boolean(blocking));
    $('convoy-override-box').hidden = !blocking;
  }

  async check() {
    $('convoy-error').textContent = '';
    const route = this.route();
    if (!route) { this.ctx.showRoute(null, []); this.showHits([], false); return null; }
    try {
      const r = await api('/logistics/route_check', { method: 'POST', json: this.body() });
      this.ctx.showRoute(route, r.hits || []);
      this.showHits(r.hits || [], r.blocking);
      $('convoy-result').textContent = r.hits && r.hits.length ? '' : t('convoy.clear');
      return r;
    } catch (e) {
      $('convoy-error').textContent = e.message;
      return null;
    }
  }

  async plan() {
    $('convoy-error').textContent = '';
    if (!this.route()) { $('convoy-error').textContent = t('convoy.need_route'); return; }
    const when = new Date($('convoy-departure').value);
    const body = {
      ...this.body(),
      code: $('convoy-code').value.trim(),
      origin: $('convoy-origin').value.trim(),
      destination: $('convoy-destination').value.trim(),
      planned_departure: Number.isNaN(when.getTime()) ? '' : when.toISOString(),
    };
    if ($('convoy-escort').value.trim()) body.escort = $('convoy-escort').value.trim();
    if ($('convoy-override').value.trim()) body.override_reason = $('convoy-override').value.trim();
    try {
      const rec = await api('/convoys/plan', { method: 'POST', json: body });
      const open = el('button', { type: 'button', className: 'link' }, t('convoy.open'));
      open.addEventListener('click', () => this.ctx.openRecord('convoys', rec.id, false));
      $('convoy-result').replaceChildren(t('convoy.planned', { code: rec.code }), ' ', open);
      $('convoy-override').value = '';
      $('convoy-code').value = '';
      $('convoy-departure').value = '';
      await this.open();
    } catch (e) {
      if (e.status === 409 && e.problem && e.problem.hits) {
        this.ctx.showRoute(this.route(), e.problem.hits);
        this.showHits(e.problem.hits, true);
        $('convoy-override').focus();
      }
      $('convoy-error').textContent = e.message;
    }
  }
}
