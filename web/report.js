// Field report: the short form an observer fills at a post, on a phone.
// Every report goes through the outbox (outbox.js) so it is never lost.
import { t } from './i18n.js';
import { $, el, field, select, enumLabel, uuidv7 } from './util.js';
import * as outbox from './outbox.js';

const KINDS = ['explosion', 'projectile_in_flight', 'muzzle_flash', 'illumination_flare', 'burst', 'shot'];
const PERCEPTIONS = ['heard', 'seen', 'camera', 'uav'];
const POST_KEY = 'truce.report.post';

/** ACLED classification of what an observer registers (analysts may refine it). */
function classify(kind) {
  if (kind === 'explosion' || kind === 'projectile_in_flight') {
    return { event_type: 'explosions_remote_violence', sub_event_type: 'shelling_artillery_missile_attack' };
  }
  if (kind === 'illumination_flare') return { event_type: 'strategic_developments', sub_event_type: 'other' };
  return { event_type: 'battles', sub_event_type: 'armed_clash' };
}

function localInputValue(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export class ReportScreen {
  /** ctx: { map(), posts(), user(), onSent(records), openRecord(kind, id) } */
  constructor(ctx) {
    this.ctx = ctx;
    this.marker = null;
    this.location = null; // [lon, lat]
    this.timer = null;
    this.build();
    outbox.subscribe((entries) => this.renderOutbox(entries));
    window.addEventListener('online', () => this.flush());
  }

  build() {
    const panel = $('report-panel');
    const form = el('form', { id: 'report-form', className: 'report-form', noValidate: true });
    const num = (id, min, max, step = '1') => el('input', { id, name: id, type: 'number', inputMode: 'decimal', min, max, step });

    const kind = select('report-kind', KINDS.map((k) => [k, enumLabel('kind', k)]), 'explosion');
    const time = el('input', { id: 'report-time', name: 'time', type: 'datetime-local', required: true });
    const perception = select('report-perception', PERCEPTIONS.map((k) => [k, enumLabel('perception', k)]), 'heard');
    const count = el('input', { id: 'report-count', name: 'count', type: 'number', inputMode: 'numeric', min: '1', max: '10000', value: '1', required: true });
    const direction = num('report-direction', '0', '359');
    const distance = num('report-distance', '0', '100000');
    const note = el('textarea', { id: 'report-note', name: 'note', rows: 3, maxLength: 4000 });

    const post = el('select', { id: 'report-post', name: 'post' });
    const srcPost = el('input', { type: 'radio', name: 'report-where', id: 'report-where-post', value: 'post', checked: true });
    const srcMap = el('input', { type: 'radio', name: 'report-where', id: 'report-where-map', value: 'map' });
    const lat = num('report-lat', '-90', '90', 'any');
    const lon = num('report-lon', '-180', '180', 'any');
    const where = el('fieldset', { className: 'where' },
      el('legend', {}, t('report.location')),
      el('label', { className: 'radio' }, srcPost, ' ', t('report.where_post')),
      el('label', { className: 'radio' }, srcMap, ' ', t('report.where_map')),
      el('p', { id: 'report-where-hint', className: 'hint' }, t('report.map_hint')),
      el('div', { className: 'pair' }, field('field.lat', lat), field('field.lon', lon)));

    const error = el('p', { id: 'report-error', className: 'form-error', role: 'alert' });
    const submit = el('button', { type: 'submit', className: 'primary big', id: 'report-submit' }, t('report.submit'));

    form.append(
      el('h2', { id: 'report-heading', tabIndex: -1 }, t('report.heading')),
      error,
      field('report.post', post),
      field('field.kind', kind),
      field('report.time', time),
      el('div', { className: 'pair' }, field('report.direction', direction, 'report.direction_hint'), field('report.distance', distance)),
      el('div', { className: 'pair' }, field('field.count', count), field('field.perception', perception)),
      field('report.note', note),
      where,
      submit,
    );
    const status = el('p', { id: 'report-status', className: 'status', role: 'status', 'aria-live': 'polite' });
    const box = el('section', { id: 'outbox', className: 'outbox', 'aria-labelledby': 'outbox-heading' },
      el('h3', { id: 'outbox-heading' }, t('outbox.heading')),
      el('p', { id: 'outbox-summary' }, t('outbox.empty')),
      el('ul', { id: 'outbox-list' }),
      el('button', { type: 'button', id: 'outbox-send' }, t('outbox.send_now')));
    panel.append(form, status, box);

    form.addEventListener('submit', (ev) => { ev.preventDefault(); this.submit(); });
    post.addEventListener('change', () => {
      localStorage.setItem(POST_KEY, post.value);
      if (srcPost.checked) this.usePost();
    });
    srcPost.addEventListener('change', () => this.usePost());
    srcMap.addEventListener('change', () => { this.setLocation(null); lat.focus(); });
    for (const inp of [lat, lon]) {
      inp.addEventListener('change', () => {
        const la = parseFloat(lat.value);
        const lo = parseFloat(lon.value);
        srcMap.checked = true;
        if (Number.isFinite(la) && Number.isFinite(lo)) this.setLocation([lo, la], false);
      });
    }
    $('outbox-send').addEventListener('click', () => this.flush(true));
  }

  /** Called when the screen is shown. */
  open() {
    const time = $('report-time');
    if (!time.value) time.value = localInputValue(new Date());
    this.fillPosts();
    if ($('report-where-post').checked) this.usePost();
    $('report-heading').focus();
  }

  close() { this.setLocation(null); }

  fillPosts() {
    const s = $('report-post');
    const posts = [...this.ctx.posts()].sort((a, b) => String(a.properties.code).localeCompare(String(b.properties.code)));
    const want = s.value || localStorage.getItem(POST_KEY) || '';
    s.replaceChildren(el('option', { value: '' }, t('report.no_post')));
    for (const f of posts) {
      const p = f.properties;
      s.append(el('option', { value: String(f.id ?? p.id), selected: String(f.id ?? p.id) === want }, [p.code, p.name].filter(Boolean).join(' — ')));
    }
  }

  selectedPost() {
    const id = $('report-post').value;
    return id ? this.ctx.posts().find((f) => String(f.id ?? f.properties.id) === id) : null;
  }

  usePost() {
    const p = this.selectedPost();
    this.setLocation(p && p.geometry ? p.geometry.coordinates : null);
  }

  /** A map click while the form is open sets the location. Returns true when used. */
  mapClick(lngLat) {
    if ($('report-panel').hidden) return false;
    $('report-where-map').checked = true;
    this.setLocation([lngLat.lng, lngLat.lat]);
    return true;
  }

  setLocation(ll, fillInputs = true) {
    this.location = ll;
    if (fillInputs) {
      $('report-lat').value = ll ? ll[1].toFixed(5) : '';
      $('report-lon').value = ll ? ll[0].toFixed(5) : '';
    }
    const map = this.ctx.map();
    if (!ll) { if (this.marker) this.marker.remove(); this.marker = null; return; }
    if (!map) return;
    if (!this.marker) {
      const dot = el('div', { className: 'report-marker' });
      dot.setAttribute('aria-hidden', 'true');
      this.marker = new window.maplibregl.Marker({ element: dot });
    }
    this.marker.setLngLat(ll).addTo(map);
  }

  /** Reads and checks the form; returns the incident record or null. */
  read() {
    const bad = [];
    const val = (id) => $(id).value.trim();
    const optNum = (id, min, max) => {
      const v = val(id);
      if (v === '') return null;
      const n = Number(v);
      if (!Number.isFinite(n) || n < min || n > max) { bad.push(id); return null; }
      return n;
    };
    for (const id of ['report-time', 'report-count', 'report-direction', 'report-distance', 'report-lat', 'report-lon']) $(id).removeAttribute('aria-invalid');
    const when = new Date(val('report-time'));
    if (Number.isNaN(when.getTime()) || when.getTime() > Date.now() + 5 * 60_000) bad.push('report-time');
    const count = Number(val('report-count'));
    if (!Number.isInteger(count) || count < 1) bad.push('report-count');
    const direction = optNum('report-direction', 0, 359.999);
    const distance = optNum('report-distance', 0, 100000);
    const ll = this.location;
    if (!ll) bad.push('report-lat', 'report-lon');
    if (bad.length) {
      for (const id of bad) $(id).setAttribute('aria-invalid', 'true');
      $('report-error').textContent = t(bad.includes('report-lat') ? 'report.need_location' : 'report.invalid');
      $(bad[0]).focus();
      return null;
    }
    const kind = $('report-kind').value;
    const post = this.selectedPost();
    const cfv = { kind, perception: $('report-perception').value, count };
    if (direction !== null) cfv.direction_deg = direction;
    if (distance !== null) { cfv.distance_min_m = distance; cfv.distance_max_m = distance; }
    if (post) cfv.observing_post = String(post.id ?? post.properties.id);
    const rec = {
      occurred_at: when.toISOString(),
      ...classify(kind),
      location: { lat: Number(ll[1].toFixed(6)), lon: Number(ll[0].toFixed(6)) },
      geo_precision: $('report-where-post').checked ? 2 : 1,
      ceasefire_violation: cfv,
      source: post ? t('report.source_post', { post: post.properties.code || post.properties.name }) : t('report.source_observer'),
    };
    if (post && post.properties.name) rec.location_name = post.properties.name;
    const note = val('report-note');
    if (note) rec.notes = note;
    return rec;
  }

  async submit() {
    $('report-error').textContent = '';
    const rec = this.read();
    if (!rec) return;
    const user = this.ctx.user();
    const id = uuidv7();
    try {
      await outbox.add(outbox.entry(user.username, id, rec));
    } catch (e) {
      $('report-error').textContent = t('outbox.store_failed', { error: String(e) });
      return;
    }
    // Kept in the outbox: clear the form for the next report (post and kind stay).
    $('report-note').value = '';
    $('report-count').value = '1';
    $('report-direction').value = '';
    $('report-distance').value = '';
    $('report-time').value = localInputValue(new Date());
    $('report-status').textContent = t('report.saved');
    await outbox.notify();
    await this.flush(true);
  }

  /** Sends what waits; `announce` reports the result in the status line. */
  async flush(announce = false) {
    const user = this.ctx.user();
    if (!user) return;
    let r;
    try {
      r = await outbox.flush(user.username);
    } catch (e) {
      $('report-status').textContent = String(e);
      return;
    }
    if (r.sent.length) {
      const last = r.sent[r.sent.length - 1];
      const open = el('button', { type: 'button', className: 'link', id: 'report-open-sent' }, t('report.open_sent'));
      open.addEventListener('click', () => this.ctx.openRecord('incidents', last.id, true));
      $('report-status').replaceChildren(t('report.sent', { count: r.sent.length }), ' ', open);
      this.ctx.onSent(r.sent);
    } else if (announce && r.offline) {
      $('report-status').textContent = t('report.offline');
    } else if (announce && r.unauthorized) {
      $('report-status').textContent = t('report.sign_in_again');
    }
  }

  renderOutbox(entries) {
    const user = this.ctx.user();
    const mine = entries.filter((e) => user && e.user === user.username);
    const waiting = mine.filter((e) => !e.error);
    const badge = $('outbox-badge');
    badge.textContent = t('outbox.waiting', { count: waiting.length });
    badge.hidden = mine.length === 0;
    badge.classList.toggle('error', mine.some((e) => e.error));
    $('outbox-summary').textContent = mine.length ? t('outbox.summary', { waiting: waiting.length, failed: mine.length - waiting.length }) : t('outbox.empty');
    const list = $('outbox-list');
    list.replaceChildren();
    for (const e of mine) {
      let body = {};
      try { body = JSON.parse(e.body); } catch { /* shown as is */ }
      const cfv = body.ceasefire_violation || {};
      const li = el('li', {}, `${new Date(e.created).toLocaleString()} · ${enumLabel('kind', cfv.kind)} × ${cfv.count ?? 1}`);
      if (e.error) {
        const drop = el('button', { type: 'button', className: 'link' }, t('outbox.discard'));
        drop.addEventListener('click', async () => {
          if (confirm(t('outbox.discard_confirm'))) { await outbox.remove(e.id); await outbox.notify(); }
        });
        li.append(el('div', { className: 'form-error' }, t('outbox.refused', { error: e.error })), drop);
      }
      list.append(li);
    }
    $('outbox-send').hidden = waiting.length === 0;
    clearInterval(this.timer);
    if (waiting.length) this.timer = setInterval(() => this.flush(), 10_000);
  }
}
