// Screens of the modules (mine action, logistics, shelter and returns,
// people, agreements, bulletins). A module's screen appears only when the
// server's OpenAPI document lists its collections and the role may use it;
// records open in the common detail panel (record and history) and their
// geometries are drawn on the map while the screen is open.
import { t, has } from './i18n.js';
import { $, el, api, enumLabel, formatDate } from './util.js';

const MODULES = [
  { id: 'mine_action', collections: ['hazard_areas', 'mine_tasks', 'mine_accidents', 'minefield_records', 'land_releases', 'release_certificates'] },
  { id: 'logistics', collections: ['convoys', 'corridors', 'warehouses', 'deliveries', 'protected_sites'] },
  { id: 'shelter', collections: ['shelter_sites', 'shelter_registrations', 'movements'] },
  { id: 'people', collections: ['person_cases', 'exchanges', 'trace_matches'], roles: ['protection', 'admin'] },
  { id: 'agreements', collections: ['agreements', 'provisions', 'meetings'] },
];
const LIMIT = 500;

function title(p) {
  return p.name || p.title || p.code || p.reference || p.label || (p.occurred_at && formatDate(p.occurred_at)) || p.id;
}

function collectionLabel(c) { return has(`collection.${c}`) ? t(`collection.${c}`) : c.replace(/_/g, ' '); }

class ModuleScreen {
  constructor(def, collections, ctx) {
    this.id = def.id;
    this.label = has(`nav.${def.id}`) ? `nav.${def.id}` : def.id;
    this.collections = collections;
    this.ctx = ctx;
    this.panel = `module-${def.id}`;
    const sec = el('section', { id: this.panel, className: 'panel wide', hidden: true, 'aria-labelledby': `${this.panel}-heading` },
      el('h2', { id: `${this.panel}-heading`, tabIndex: -1 }, t(this.label)),
      el('p', { id: `${this.panel}-status`, className: 'status', role: 'status', 'aria-live': 'polite' }),
      el('div', { id: `${this.panel}-lists` }));
    $('module-panels').append(sec);
  }

  async open() {
    $(`${this.panel}-heading`).focus();
    const box = $(`${this.panel}-lists`);
    const status = $(`${this.panel}-status`);
    status.textContent = t('status.loading');
    box.replaceChildren();
    const features = [];
    for (const c of this.collections) {
      let fc;
      try {
        fc = await api(`/${c}?${new URLSearchParams({ format: 'geojson', limit: String(LIMIT) })}`);
      } catch (e) {
        if (e.status === 404 || e.status === 403) continue; // not readable for this role
        status.textContent = e.message;
        continue;
      }
      const items = fc.features || [];
      features.push(...items.map((f) => ({ ...f, collection: c })));
      const ul = el('ul', { className: 'module-list' });
      for (const f of items) {
        const p = f.properties || {};
        const b = el('button', { type: 'button', className: 'link' }, String(title(p)));
        b.dataset.id = String(f.id ?? p.id);
        b.addEventListener('click', () => this.ctx.openRecord(c, String(f.id ?? p.id), true));
        ul.append(el('li', {}, b, p.status ? el('span', { className: 'pill' }, enumLabel('status', p.status)) : null));
      }
      if (!items.length) ul.append(el('li', {}, t('list.empty')));
      box.append(el('h3', {}, `${collectionLabel(c)} (${items.length}${fc.next_cursor ? '+' : ''})`), ul);
    }
    status.textContent = '';
    this.ctx.showModuleFeatures(features);
  }

  close() { this.ctx.showModuleFeatures([]); }
}

/** The screens of the modules this server offers, for this user. */
export function moduleScreens(ctx, paths) {
  const role = ctx.user().role;
  const out = [];
  for (const def of MODULES) {
    if (def.roles && !def.roles.includes(role)) continue;
    if (def.id === 'logistics' && ctx.convoyPlanning) continue; // logistics.js
    const present = def.collections.filter((c) => paths.has(`/api/v1/${c}`));
    if (present.length) out.push(new ModuleScreen(def, present, ctx));
  }
  return out;
}
