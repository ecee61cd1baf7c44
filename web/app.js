// Truce web app: login, common operating picture, field reports with an
// offline outbox, triage, admin and the modules' screens. Plain ES modules, no build.
import { t, has, strings, applyI18n } from './i18n.js';
import { $, el, api, setUnauthorizedHandler, formatDate, enumLabel, fieldLabel, ymd } from './util.js';
import * as outbox from './outbox.js';
import { ReportScreen } from './report.js';
import { TriageScreen, VERIFIER_ROLES } from './triage.js';
import { AdminScreen } from './admin.js';
import { moduleScreens } from './modules.js';
import { LogisticsScreen } from './logistics.js';
import { BulletinScreen } from './bulletins.js';
import { IntakeScreen, INTAKE_ROLES } from './intake.js';

const maplibregl = window.maplibregl;
const MAX_PAGES = 50; // 50 pages x 1000 records
const LIST_LIMIT = 200;
const USER_KEY = 'truce.user';
const DAY_MS = 86_400_000;

const EVENT_COLORS = {
  battles: '#b2182b',
  explosions_remote_violence: '#e66101',
  violence_against_civilians: '#7b3294',
  protests: '#2166ac',
  riots: '#1b7837',
  strategic_developments: '#525252',
};
const POST_COLOR = '#0b3d91';
const AOR_COLOR = '#1565c0';

// Layer toggle id -> map layer ids (places and incidents also own HTML markers).
const TOGGLES = {
  countries: ['countries-fill', 'countries-line'],
  admin1: ['admin1-line'],
  roads: ['roads-minor', 'roads-major'],
  places: ['places-circle'],
  aors: ['aors-fill', 'aors-line'],
  posts: ['posts-circle'],
  ops: ['ops-fill', 'ops-line', 'ops-point'],
  incidents: ['incidents-cluster', 'incidents-point'],
};
// Module collections drawn on the common operating picture when the server has them.
const OPS_COLLECTIONS = ['hazard_areas', 'corridors', 'convoys', 'protected_sites', 'shelter_sites'];
const CLICKABLE = ['incidents-point', 'incidents-cluster', 'posts-circle', 'module-point', 'module-fill', 'ops-point', 'ops-line', 'ops-fill', 'aors-fill'];

const state = {
  user: null,
  offline: false,
  map: null,
  screens: {},
  screen: null,
  incidentsAll: [],
  days: [],
  playing: null,
  records: { aors: new Map(), posts: new Map(), incidents: new Map() },
  placeMarkers: [],
  clusterMarkers: new Map(),
  visible: Object.fromEntries(Object.keys(TOGGLES).map((k) => [k, true])),
  detailToken: 0,
  lastFocus: null,
};

// ---------------------------------------------------------------- API

/** Fetch every page of a GeoJSON collection, following next_cursor. */
async function fetchAll(kind, params = {}) {
  const features = [];
  let cursor = null;
  let pages = 0;
  do {
    const q = new URLSearchParams({ format: 'geojson', limit: '1000', ...params });
    if (cursor) q.set('cursor', cursor);
    const fc = await api(`/${kind}?${q}`);
    features.push(...((fc && fc.features) || []));
    cursor = (fc && fc.next_cursor) || null;
  } while (cursor && ++pages < MAX_PAGES);
  return { features, truncated: Boolean(cursor) };
}

// ---------------------------------------------------------------- login / session

function showLogin(message = '') {
  $('map-view').hidden = true;
  $('session').hidden = true;
  $('nav').hidden = true;
  $('login-view').hidden = false;
  $('login-error').textContent = message;
  $('login-username').focus();
}

function sessionEnded() {
  if (!state.user) return;
  state.user = null;
  closeDetail();
  showLogin(t('login.expired'));
}

async function onLogin(ev) {
  ev.preventDefault();
  const username = $('login-username').value.trim();
  const password = $('login-password').value;
  const button = $('login-submit');
  button.disabled = true;
  button.textContent = t('login.busy');
  try {
    state.user = await api('/auth/login', { method: 'POST', json: { username, password }, allow401: true });
    localStorage.setItem(USER_KEY, JSON.stringify(state.user));
    setOffline(false);
    $('login-password').value = '';
    $('login-error').textContent = '';
    await startApp();
  } catch (e) {
    $('login-error').textContent = e.status === 401 ? t('login.failed') : e.message;
    $('login-password').select();
  } finally {
    button.disabled = false;
    button.textContent = t('login.submit');
  }
}

async function onLogout() {
  const waiting = (await outbox.all().catch(() => [])).filter((e) => state.user && e.user === state.user.username);
  if (waiting.length && !confirm(t('outbox.logout_confirm', { count: waiting.length }))) return;
  try {
    await api('/auth/logout', { method: 'POST', allow401: true });
  } catch { /* signed out either way */ }
  localStorage.removeItem(USER_KEY);
  if (navigator.serviceWorker && navigator.serviceWorker.controller) navigator.serviceWorker.controller.postMessage('clear-data');
  location.reload();
}

function setOffline(off) {
  state.offline = off;
  $('net-state').hidden = !off;
}

// ---------------------------------------------------------------- screens

function userCan(roles) { return state.user && roles.includes(state.user.role); }

const REPORTER_ROLES = ['admin', 'commander', 'analyst', 'observer', 'logistics', 'mine_action', 'protection'];

/** A planned route on the map (null clears it), framed in view. */
function showRoute(geometry, hits) {
  const src = state.map && state.map.getSource('route');
  if (!src) return;
  const features = geometry ? [{ type: 'Feature', geometry, properties: { _blocked: hits.some((h) => h.blocking) } }] : [];
  src.setData({ type: 'FeatureCollection', features });
  const coords = geometry && geometry.type === 'LineString' ? geometry.coordinates : [];
  if (coords.length >= 2) {
    const lons = coords.map((c) => c[0]);
    const lats = coords.map((c) => c[1]);
    state.map.fitBounds([[Math.min(...lons), Math.min(...lats)], [Math.max(...lons), Math.max(...lats)]],
      { padding: { top: 40, bottom: 40, left: matchMedia('(max-width: 640px)').matches ? 40 : 580, right: 60 }, maxZoom: 13 });
  }
}

/** Module records on the map while their screen is open. */
function showModuleFeatures(features) {
  const out = [];
  for (const f of features) {
    const id = String(f.id ?? f.properties.id);
    if (!state.records[f.collection]) state.records[f.collection] = new Map();
    state.records[f.collection].set(id, f);
    if (f.geometry) out.push({ type: 'Feature', geometry: f.geometry, properties: { _id: id, _kind: f.collection, _status: String(f.properties.status || '') } });
  }
  const src = state.map && state.map.getSource('module');
  if (src) src.setData({ type: 'FeatureCollection', features: out });
}

/** Whether the server plans convoys (the action routes may be missing from the OpenAPI document). */
async function hasConvoyPlanning(paths) {
  if (!paths.has('/api/v1/convoys')) return false;
  if (paths.has('/api/v1/convoys/plan')) return true;
  try {
    await api('/logistics/route_check', { method: 'POST', json: {} });
    return true;
  } catch (e) {
    return e.status === 422 || e.status === 400; // exists, refused the empty probe
  }
}

/** Whether the server serves signed bulletins. */
async function hasBulletins(paths) {
  if (paths.has('/api/v1/bulletins/{date}')) return true;
  try {
    await api('/bulletins/not-a-date');
    return true;
  } catch (e) {
    return e.status === 422 || e.status === 503; // exists: refused the probe, or has no key yet
  }
}

async function buildScreens() {
  let paths = new Set();
  try {
    paths = new Set(Object.keys((await api('/openapi.json')).paths || {}));
  } catch { /* offline: core screens only */ }
  state.opsCollections = OPS_COLLECTIONS.filter((c) => paths.has(`/api/v1/${c}`));
  const ctx = {
    map: () => state.map,
    user: () => state.user,
    posts: () => [...state.records.posts.values()],
    incidents: () => state.incidentsAll,
    openRecord: (kind, id, fly) => openDetail(kind, String(id), fly),
    onSent: () => { if (state.map && !state.offline) loadIncidents(); },
    changed: (rec) => {
      recordChanged('incidents', rec);
      if (state.screen === state.screens.triage) state.screens.triage.load();
    },
    setStatus,
    showModuleFeatures,
    showRoute,
  };
  const screens = [{ id: 'map', label: 'nav.map', panel: 'controls', open() {}, close() {} }];
  if (userCan(REPORTER_ROLES)) screens.push(Object.assign(new ReportScreen(ctx), { id: 'report', label: 'nav.report', panel: 'report-panel' }));
  if (userCan(VERIFIER_ROLES)) screens.push(Object.assign(new TriageScreen(ctx), { id: 'triage', label: 'nav.triage', panel: 'triage-panel' }));
  ctx.convoyPlanning = state.user.role !== 'viewer' && await hasConvoyPlanning(paths);
  if (ctx.convoyPlanning) screens.push(new LogisticsScreen(ctx));
  if (await hasBulletins(paths)) screens.push(new BulletinScreen(ctx));
  if (userCan(INTAKE_ROLES) && paths.has('/api/v1/intake/candidates')) screens.push(new IntakeScreen(ctx));
  for (const m of moduleScreens(ctx, paths)) if (!state.screens[m.id] && !screens.some((x) => x.id === m.id)) screens.push(m);
  if (userCan(['admin'])) screens.push(Object.assign(new AdminScreen(ctx), { id: 'admin', label: 'nav.admin', panel: 'admin-panel' }));
  const nav = $('nav');
  nav.replaceChildren();
  for (const s of screens) {
    state.screens[s.id] = s;
    const b = el('button', { type: 'button', id: `nav-${s.id}`, className: 'nav-button' }, t(s.label));
    b.addEventListener('click', () => showScreen(s.id));
    nav.append(b);
  }
  outbox.notify().catch(() => {});
}

function showScreen(id) {
  const next = state.screens[id];
  if (!next) return;
  if (state.screen && state.screen !== next) {
    state.screen.close();
    $(state.screen.panel).hidden = true;
  }
  state.screen = next;
  const panel = $(next.panel);
  panel.hidden = false;
  if (id === 'map') panel.open = true;
  for (const b of $('nav').querySelectorAll('button')) {
    if (b.id === `nav-${id}`) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
  }
  next.open();
}

// ---------------------------------------------------------------- app start

async function startApp() {
  $('login-view').hidden = true;
  $('map-view').hidden = false;
  $('session').hidden = false;
  $('nav').hidden = false;
  const role = has(`enum.role.${state.user.role}`) ? t(`enum.role.${state.user.role}`) : state.user.role;
  $('user-label').textContent = t('header.user', { username: state.user.username, role });
  if (state.map) { // signed in again after the session ended
    if (state.screens.report) state.screens.report.flush();
    return loadRecords();
  }
  await buildScreens();
  showScreen('map');

  let mission = {};
  try {
    mission = (await api('/mission')) || {};
  } catch (e) {
    setStatus(e.message, true);
  }
  $('mission-name').textContent = mission.name || '';
  if (mission.name) document.title = `${mission.name} — ${t('app.title')}`;
  if (mission.notice || mission.illustrative) {
    $('notice-text').textContent = mission.notice || t('notice.illustrative');
    $('notice').hidden = false;
  }
  if (matchMedia('(max-width: 640px)').matches) $('controls').open = false;
  initMap(mission.bbox);
}

function validBbox(b) {
  return Array.isArray(b) && b.length === 4 && b.every(Number.isFinite) && b[0] < b[2] && b[1] < b[3];
}

function mapLocale() {
  const out = {};
  for (const key of Object.keys(strings)) if (key.startsWith('maplibre.')) out[key.slice(9)] = t(key);
  return out;
}

function initMap(bbox) {
  const opts = { container: 'map', style: buildStyle(), attributionControl: false, locale: mapLocale() };
  if (validBbox(bbox)) Object.assign(opts, { bounds: [[bbox[0], bbox[1]], [bbox[2], bbox[3]]], fitBoundsOptions: { padding: 30 } });
  else Object.assign(opts, { center: [0, 20], zoom: 1.5 });
  const map = (state.map = new maplibregl.Map(opts));
  map.addControl(new maplibregl.NavigationControl(), 'top-right');
  map.addControl(new maplibregl.ScaleControl(), 'bottom-left');
  map.addControl(new maplibregl.AttributionControl({
    customAttribution: [t('attribution.osm'), t('attribution.geonames'), t('attribution.naturalearth')],
  }), 'bottom-right');

  map.on('load', async () => {
    loadBasemaps();
    await loadRecords();
    if (state.screens.report) state.screens.report.flush();
    if (!state.offline) warmOfflineCache();
  });
  map.on('click', onMapClick);
  for (const id of CLICKABLE) {
    map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
  }
  map.on('zoomend', updatePlaceLabels);
  map.on('move', updateClusterMarkers);
  map.on('idle', updateClusterMarkers);
}

// ---------------------------------------------------------------- style

function buildStyle() {
  const empty = { type: 'FeatureCollection', features: [] };
  const src = (extra = {}) => ({ type: 'geojson', data: empty, ...extra });
  const cls = ['get', 'class'];
  const pop = ['to-number', ['get', 'population'], 0];
  const eventColor = ['match', ['get', '_type'], ...Object.entries(EVENT_COLORS).flat(), '#333333'];
  // Hazard areas and other field-operation records: red confirmed/blocked, green released/cleared, orange otherwise.
  const statusColor = ['match', ['get', '_status'], ['cleared', 'released', 'cancelled', 'closed', 'open'], '#1b7837',
    ['confirmed', 'blocked', 'danger', 'closed_unsafe'], '#b2182b', '#e66101'];
  return {
    version: 8,
    // No glyphs, sprites or tiles: everything is local GeoJSON; labels are HTML markers.
    sources: {
      countries: src(), admin1: src(), roads: src(), places: src(),
      aors: src(), posts: src(), selection: src(), module: src(), ops: src(), route: src(),
      incidents: src({
        cluster: true, clusterRadius: 40, clusterMaxZoom: 12,
        clusterProperties: { cfv: ['+', ['case', ['get', '_cfv'], 1, 0]] },
      }),
    },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#c9dbe6' } },
      { id: 'countries-fill', type: 'fill', source: 'countries', paint: { 'fill-color': '#f4f1ea' } },
      { id: 'admin1-line', type: 'line', source: 'admin1',
        paint: { 'line-color': '#9d8fae', 'line-width': 0.8, 'line-dasharray': [3, 2] } },
      { id: 'countries-line', type: 'line', source: 'countries',
        paint: { 'line-color': '#5e5270', 'line-width': 1.5 } },
      { id: 'roads-minor', type: 'line', source: 'roads', minzoom: 8,
        filter: ['match', cls, ['secondary', 'tertiary'], true, false],
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: {
          'line-color': ['match', cls, 'secondary', '#9e9e9e', '#bdbdbd'],
          'line-width': ['interpolate', ['linear'], ['zoom'], 8, 0.5, 14, 3],
        } },
      { id: 'roads-major', type: 'line', source: 'roads',
        filter: ['match', cls, ['motorway', 'trunk', 'primary'], true, false],
        layout: { 'line-cap': 'round', 'line-join': 'round', 'line-sort-key': ['match', cls, 'motorway', 3, 'trunk', 2, 1] },
        paint: {
          'line-color': ['match', cls, 'motorway', '#b35806', 'trunk', '#d9822b', '#d6a04f'],
          'line-width': ['interpolate', ['linear'], ['zoom'],
            5, ['match', cls, 'motorway', 1.4, 'trunk', 1.1, 0.7],
            14, ['match', cls, 'motorway', 6, 'trunk', 5, 4]],
        } },
      { id: 'places-circle', type: 'circle', source: 'places',
        paint: {
          'circle-radius': ['step', pop, 1.8, 20000, 2.8, 100000, 4],
          'circle-color': '#3a3a3a', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 0.8,
        } },
      { id: 'aors-fill', type: 'fill', source: 'aors', paint: { 'fill-color': AOR_COLOR, 'fill-opacity': 0.1 } },
      { id: 'aors-line', type: 'line', source: 'aors', paint: { 'line-color': AOR_COLOR, 'line-width': 2.5 } },
      { id: 'ops-fill', type: 'fill', source: 'ops', filter: ['==', ['geometry-type'], 'Polygon'],
        paint: { 'fill-color': statusColor, 'fill-opacity': 0.25 } },
      { id: 'ops-line', type: 'line', source: 'ops', filter: ['!=', ['geometry-type'], 'Point'],
        paint: { 'line-color': statusColor, 'line-width': ['match', ['get', '_kind'], ['corridors', 'convoys'], 4, 2], 'line-dasharray': [2, 1] } },
      { id: 'ops-point', type: 'circle', source: 'ops', filter: ['==', ['geometry-type'], 'Point'],
        paint: { 'circle-radius': 6, 'circle-color': ['match', ['get', '_kind'], 'shelter_sites', '#6a3d9a', 'protected_sites', '#1b7837', '#e66101'], 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 } },
      { id: 'module-fill', type: 'fill', source: 'module', filter: ['==', ['geometry-type'], 'Polygon'],
        paint: { 'fill-color': ['match', ['get', '_status'], ['cleared', 'released', 'cancelled', 'closed'], '#1b7837', ['confirmed', 'blocked', 'danger'], '#b2182b', '#e66101'], 'fill-opacity': 0.3 } },
      { id: 'module-line', type: 'line', source: 'module',
        paint: { 'line-color': ['match', ['get', '_status'], ['cleared', 'released', 'cancelled', 'closed'], '#1b7837', ['confirmed', 'blocked', 'danger'], '#b2182b', '#e66101'], 'line-width': 2.5 } },
      { id: 'module-point', type: 'circle', source: 'module', filter: ['==', ['geometry-type'], 'Point'],
        paint: { 'circle-radius': 7, 'circle-color': '#6a3d9a', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 } },
      { id: 'route-casing', type: 'line', source: 'route', layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: { 'line-color': '#ffffff', 'line-width': 9 } },
      { id: 'route-line', type: 'line', source: 'route', layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: { 'line-color': ['case', ['get', '_blocked'], '#b2182b', '#0b3d91'], 'line-width': 5 } },
      { id: 'selection-line', type: 'line', source: 'selection',
        paint: { 'line-color': '#ffbf00', 'line-width': 5, 'line-opacity': 0.9 } },
      { id: 'selection-circle', type: 'circle', source: 'selection', filter: ['==', ['geometry-type'], 'Point'],
        paint: { 'circle-radius': 13, 'circle-color': 'rgba(0,0,0,0)', 'circle-stroke-color': '#ffbf00', 'circle-stroke-width': 4 } },
      { id: 'posts-circle', type: 'circle', source: 'posts',
        paint: {
          'circle-radius': 7,
          'circle-color': ['case', ['get', '_staffed'], POST_COLOR, '#ffffff'],
          'circle-stroke-color': ['case', ['get', '_staffed'], '#ffffff', POST_COLOR],
          'circle-stroke-width': ['case', ['get', '_staffed'], 2, 3],
        } },
      { id: 'incidents-cluster', type: 'circle', source: 'incidents', filter: ['has', 'point_count'],
        paint: {
          'circle-color': '#37474f',
          'circle-radius': ['step', ['get', 'point_count'], 13, 10, 17, 50, 22, 200, 28],
          'circle-stroke-color': ['case', ['>', ['get', 'cfv'], 0], '#d50000', '#ffffff'],
          'circle-stroke-width': 3,
        } },
      { id: 'incidents-point', type: 'circle', source: 'incidents', filter: ['!', ['has', 'point_count']],
        paint: {
          'circle-radius': ['case', ['get', '_cfv'], 7, 6],
          'circle-color': eventColor,
          'circle-opacity': ['case', ['==', ['get', '_vstatus'], 'refuted'], 0.45, 1],
          'circle-stroke-color': ['case', ['get', '_cfv'], '#000000', '#ffffff'],
          'circle-stroke-width': ['case', ['get', '_cfv'], 3, 1.5],
        } },
    ],
  };
}

// ---------------------------------------------------------------- data loading

function setStatus(text, isError = false) {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('error', isError);
}

async function loadBasemaps() {
  await Promise.all(['countries', 'admin1', 'roads', 'places'].map(async (name) => {
    try {
      const fc = await api(`/basemap/${name}`);
      state.map.getSource(name).setData(fc);
      if (name === 'places') buildPlaceLabels(fc.features || []);
    } catch (e) {
      setStatus(t('status.layer_failed', { layer: t(`layer.${name}`), error: e.message }), true);
    }
  }));
}

/** Keep full records in JS; hand MapLibre only flat properties (it stringifies nested objects). */
function toMapFeatures(kind, features) {
  const byId = state.records[kind];
  byId.clear();
  const out = [];
  for (const f of features) {
    const p = f.properties || {};
    const id = String(f.id ?? p.id);
    byId.set(id, f);
    if (!f.geometry) continue;
    const flat = { _id: id, _kind: kind };
    if (kind === 'posts') flat._staffed = Boolean(p.staffed);
    if (kind === 'incidents') {
      flat._type = p.event_type || '';
      flat._cfv = Boolean(p.ceasefire_violation);
      flat._vstatus = (p.verification && p.verification.status) || '';
    }
    out.push({ type: 'Feature', geometry: f.geometry, properties: flat });
  }
  return { type: 'FeatureCollection', features: out };
}

/** Hazard areas by status, corridors, convoys, shelters: whatever of them this server has. */
async function loadOps() {
  const out = [];
  for (const c of state.opsCollections || []) {
    try {
      const { features } = await fetchAll(c);
      if (!state.records[c]) state.records[c] = new Map();
      for (const f of features) {
        const id = String(f.id ?? f.properties.id);
        state.records[c].set(id, f);
        if (f.geometry) out.push({ type: 'Feature', geometry: f.geometry, properties: { _id: id, _kind: c, _status: String(f.properties.status || '') } });
      }
    } catch (e) {
      if (e.status !== 404 && e.status !== 403) setStatus(t('status.layer_failed', { layer: c, error: e.message }), true);
    }
  }
  state.map.getSource('ops').setData({ type: 'FeatureCollection', features: out });
}

async function loadRecords() {
  loadOps();
  await Promise.all(['aors', 'posts'].map(async (kind) => {
    try {
      const { features } = await fetchAll(kind);
      state.map.getSource(kind).setData(toMapFeatures(kind, features));
    } catch (e) {
      setStatus(t('status.layer_failed', { layer: t(`layer.${kind}`), error: e.message }), true);
    }
  }));
  await loadIncidents();
}

function timeWindow() {
  const from = new Date(`${$('from').value}T00:00:00`);
  const to = new Date(`${$('to').value}T00:00:00`);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from > to) return null;
  to.setDate(to.getDate() + 1); // the "to" day is included: stop at the next local midnight
  return { from: from.toISOString(), to: to.toISOString() };
}

async function loadIncidents() {
  const win = timeWindow();
  for (const id of ['from', 'to']) $(id).setAttribute('aria-invalid', String(!win));
  if (!win) return setStatus(t('status.window_invalid'), true);
  setStatus(t('status.loading_incidents'));
  try {
    const { features, truncated } = await fetchAll('incidents', win);
    state.incidentsAll = features;
    state.truncated = truncated;
    setupSlider(win);
    applySlider();
  } catch (e) {
    if (e.status === 0) setOffline(true);
    setStatus(e.message, true);
  }
}

// ---------------------------------------------------------------- time slider

/** One slider step per day of the window; the last step shows every day. */
function setupSlider(win) {
  const days = [];
  for (let d = new Date(win.from); d < new Date(win.to); d = new Date(d.getTime() + DAY_MS)) days.push(d);
  state.days = days;
  const s = $('time-slider');
  const wasAll = Number(s.value) === Number(s.max);
  s.max = String(days.length);
  if (wasAll || Number(s.value) > days.length) s.value = String(days.length);
}

function applySlider() {
  const s = $('time-slider');
  const i = Number(s.value);
  const all = i >= state.days.length;
  let shown = state.incidentsAll;
  let label;
  if (all) {
    label = t('slider.all');
  } else {
    const from = state.days[i].getTime();
    const to = from + DAY_MS;
    shown = shown.filter((f) => { const at = Date.parse(f.properties.occurred_at); return at >= from && at < to; });
    label = ymd(state.days[i]);
  }
  const text = t('slider.value', { day: label, count: shown.length });
  $('time-slider-value').textContent = text;
  s.setAttribute('aria-valuetext', text);
  clearClusterMarkers();
  state.map.getSource('incidents').setData(toMapFeatures('incidents', shown));
  let msg = t('status.incidents', { count: state.incidentsAll.length, from: $('from').value, to: $('to').value });
  if (state.truncated) msg += ` ${t('status.truncated', { count: state.incidentsAll.length })}`;
  setStatus(msg);
  renderRecordList();
}

function togglePlay() {
  const b = $('time-play');
  if (state.playing) {
    clearInterval(state.playing);
    state.playing = null;
    b.textContent = t('slider.play');
    return;
  }
  const s = $('time-slider');
  if (Number(s.value) >= state.days.length) s.value = '0';
  b.textContent = t('slider.pause');
  applySlider();
  state.playing = setInterval(() => {
    if (Number(s.value) >= state.days.length) return togglePlay();
    s.value = String(Number(s.value) + 1);
    applySlider();
  }, 900);
}

/** After a change through the API: refresh the record everywhere it shows. */
function recordChanged(kind, rec) {
  const f = state.incidentsAll.find((x) => String(x.id) === rec.id);
  if (f) f.properties = rec;
  if (kind === 'incidents') applySlider();
  if (!$('detail').hidden && state.detailId === rec.id) openDetail(kind, rec.id, false);
}

// ---------------------------------------------------------------- HTML markers (no glyphs needed)

function buildPlaceLabels(features) {
  for (const m of state.placeMarkers) m.remove();
  const num = (f) => Number(f.properties.population) || 0;
  const ranked = features
    .filter((f) => f.geometry && f.geometry.type === 'Point' && f.properties && f.properties.name)
    .sort((a, b) => num(b) - num(a));
  const chosen = ranked.filter((f, i) => i < 40 || num(f) > 5000).slice(0, 250);
  state.placeMarkers = chosen.map((f, i) => {
    const label = el('div', { className: 'place-label' }, f.properties.name);
    label.dataset.minzoom = i < 12 ? 0 : i < 50 ? 7.5 : 9.5;
    const m = new maplibregl.Marker({ element: label, anchor: 'left', offset: [5, 0] })
      .setLngLat(f.geometry.coordinates).addTo(state.map);
    label.setAttribute('aria-hidden', 'true'); // decorative, like the canvas under it
    return m;
  });
  updatePlaceLabels();
}

function updatePlaceLabels() {
  const z = state.map.getZoom();
  for (const m of state.placeMarkers) {
    const label = m.getElement();
    label.hidden = !state.visible.places || z < Number(label.dataset.minzoom);
  }
}

function clearClusterMarkers() {
  for (const m of state.clusterMarkers.values()) m.remove();
  state.clusterMarkers.clear();
}

function updateClusterMarkers() {
  const map = state.map;
  if (!state.visible.incidents || !map.getLayer('incidents-cluster')) return;
  const seen = new Set();
  // Rendered features only: querySourceFeatures would also return clusters of cached tiles.
  for (const f of map.queryRenderedFeatures({ layers: ['incidents-cluster'] })) {
    const id = f.properties.cluster_id;
    if (seen.has(id)) continue;
    seen.add(id);
    let m = state.clusterMarkers.get(id);
    if (!m) {
      const count = el('div', { className: 'cluster-count' });
      count.setAttribute('aria-hidden', 'true');
      m = new maplibregl.Marker({ element: count });
      state.clusterMarkers.set(id, m);
    }
    m.getElement().textContent = f.properties.point_count_abbreviated;
    m.setLngLat(f.geometry.coordinates).addTo(map);
  }
  for (const [id, m] of state.clusterMarkers) {
    if (!seen.has(id)) { m.remove(); state.clusterMarkers.delete(id); }
  }
}

// ---------------------------------------------------------------- controls

function buildControls() {
  const box = $('layer-toggles');
  for (const key of Object.keys(TOGGLES)) {
    const input = el('input', { type: 'checkbox', checked: true });
    input.addEventListener('change', () => setLayerVisible(key, input.checked));
    box.append(el('label', {}, input, ` ${t(`layer.${key}`)}`));
  }
  const legend = $('legend-list');
  const item = (cls, color, text) => {
    const sw = el('span', { className: `swatch ${cls}` });
    if (color) sw.style.setProperty('--c', color);
    legend.append(el('li', {}, sw, text));
  };
  for (const [type, color] of Object.entries(EVENT_COLORS)) item('dot', color, t(`enum.event_type.${type}`));
  item('dot cfv', '#ffffff', t('legend.cfv'));
  item('cluster', '', t('legend.cluster'));
  item('post', '', t('legend.post_staffed'));
  item('post unstaffed', '', t('legend.post_unstaffed'));
  item('aor', '', t('layer.aors'));

  const today = new Date();
  $('to').value = ymd(today);
  $('from').value = ymd(new Date(today.getFullYear(), today.getMonth(), today.getDate() - 30));
  $('window-form').addEventListener('submit', (ev) => { ev.preventDefault(); if (state.map) loadIncidents(); });
  $('time-slider').addEventListener('input', () => { if (state.map) applySlider(); });
  $('time-play').addEventListener('click', () => { if (state.map) togglePlay(); });
}

function setLayerVisible(key, on) {
  state.visible[key] = on;
  for (const id of TOGGLES[key]) state.map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
  if (key === 'places') updatePlaceLabels();
  if (key === 'incidents') { if (on) updateClusterMarkers(); else clearClusterMarkers(); }
}

/** Keyboard-reachable list of records (the map canvas itself is pointer-only). */
function renderRecordList() {
  const box = $('records-list');
  box.replaceChildren();
  const section = (kind, heading, items, label) => {
    const h = el('h3', {}, t(heading));
    const ul = el('ul');
    for (const f of items.slice(0, LIST_LIMIT)) {
      const b = el('button', { type: 'button', className: 'link' }, label(f.properties || {}));
      b.dataset.id = String(f.id ?? f.properties.id);
      b.addEventListener('click', () => openDetail(kind, String(f.id ?? f.properties.id), true));
      ul.append(el('li', {}, b));
    }
    if (!items.length) ul.append(el('li', {}, t('list.empty')));
    box.append(h, ul);
    if (items.length > LIST_LIMIT) box.append(el('p', {}, t('list.more', { count: items.length - LIST_LIMIT })));
  };
  const incidents = [...state.records.incidents.values()]
    .sort((a, b) => String(b.properties.occurred_at).localeCompare(String(a.properties.occurred_at)));
  section('incidents', 'list.incidents', incidents, (p) =>
    [formatDate(p.occurred_at), enumLabel('event_type', p.event_type), p.ceasefire_violation ? t('list.cfv') : '']
      .filter(Boolean).join(' · '));
  section('posts', 'list.posts', [...state.records.posts.values()], (p) => [p.code, p.name].filter(Boolean).join(' — ') || p.id);
  section('aors', 'list.aors', [...state.records.aors.values()], (p) => p.name || p.code || p.id);
}

// ---------------------------------------------------------------- map clicks and details

async function onMapClick(ev) {
  const map = state.map;
  if (state.screen && state.screen.mapClick && state.screen.mapClick(ev.lngLat, ev)) return;
  const layers = CLICKABLE.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
  const [f] = map.queryRenderedFeatures(ev.point, { layers });
  if (!f) return;
  if (f.layer.id === 'incidents-cluster') {
    const zoom = await map.getSource('incidents').getClusterExpansionZoom(f.properties.cluster_id);
    map.easeTo({ center: f.geometry.coordinates, zoom });
    return;
  }
  openDetail(f.properties._kind, f.properties._id, false);
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** Render a record value as readable DOM (nested objects become nested lists). */
function renderValue(key, v) {
  if (v === null || v === undefined || v === '') return document.createTextNode(t('value.none'));
  if (typeof v === 'boolean') return document.createTextNode(t(v ? 'value.yes' : 'value.no'));
  if (typeof v === 'string') {
    if (ISO_TIME.test(v)) return el('time', { dateTime: v }, formatDate(v));
    return document.createTextNode(enumLabel(key, v));
  }
  if (typeof v !== 'object') return document.createTextNode(String(v));
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== 'object')) return document.createTextNode(v.map((x) => enumLabel(key, x)).join(', '));
    const ul = el('ul');
    for (const x of v) ul.append(el('li', {}, renderValue(key, x)));
    return ul;
  }
  if (typeof v.type === 'string' && 'coordinates' in v) return document.createTextNode(t('value.geometry', { type: v.type }));
  if (Number.isFinite(v.lat) && Number.isFinite(v.lon) && Object.keys(v).length === 2) {
    return document.createTextNode(`${v.lat.toFixed(5)}, ${v.lon.toFixed(5)}`);
  }
  return renderFields(v, Object.keys(v));
}

function renderFields(obj, keys) {
  const dl = el('dl');
  for (const k of keys) if (!k.startsWith('_')) dl.append(el('dt', {}, fieldLabel(k)), el('dd', {}, renderValue(k, obj[k])));
  return dl;
}

const FIELD_ORDER = {
  incidents: ['occurred_at', 'event_type', 'sub_event_type', 'ceasefire_violation', 'verification', 'location', 'notes'],
  posts: ['code', 'name', 'staffed', 'location'],
  aors: ['name', 'code'],
};
const FIELD_LAST = ['sensitivity', 'version', 'id'];

function recordTitle(kind, p) {
  if (kind === 'incidents') return [enumLabel('event_type', p.event_type), formatDate(p.occurred_at)].join(' · ');
  if (kind === 'posts') return [p.code, p.name].filter(Boolean).join(' — ');
  return p.name || p.title || p.code || '';
}

function renderRecord(kind, rec) {
  const first = FIELD_ORDER[kind] || [];
  const keys = [
    ...first.filter((k) => k in rec),
    ...Object.keys(rec).filter((k) => !first.includes(k) && !FIELD_LAST.includes(k)),
    ...FIELD_LAST.filter((k) => k in rec),
  ];
  $('detail-title').textContent = recordTitle(kind, rec) || t('detail.untitled');
  $('detail-kind').textContent = has(`detail.kind.${kind}`) ? t(`detail.kind.${kind}`) : (has(`collection.${kind}`) ? t(`collection.${kind}`) : kind);
  $('detail-fields').replaceChildren(renderFields(rec, keys));
  $('detail-raw').textContent = JSON.stringify(rec, null, 2);
  if (kind === 'incidents' && state.screens.triage) state.screens.triage.renderForm($('detail-actions'), rec);
  else $('detail-actions').replaceChildren();
}

function renderHistory(result) {
  const box = $('detail-history');
  if (result.status === 'rejected') {
    box.replaceChildren(el('p', { className: 'form-error' }, t('detail.history_failed', { error: result.reason.message })));
    return;
  }
  const entries = [...((result.value && result.value.entries) || [])].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  if (!entries.length) return box.replaceChildren(el('p', {}, t('detail.no_history')));
  const ol = el('ol', { className: 'history' });
  for (const e of entries) {
    const li = el('li', {},
      el('div', {}, t('history.seq', { seq: e.seq ?? '' }), ' ', el('strong', {}, enumLabel('op', e.op)), ' ',
        t('history.by', { actor: e.actor ?? t('value.none') })),
      el('div', { className: 'muted' }, renderValue('at', e.at)));
    if (e.reason) li.append(el('div', {}, t('history.reason', { reason: e.reason })));
    ol.append(li);
  }
  box.replaceChildren(ol);
}

function setSelection(feature) {
  const src = state.map && state.map.getSource('selection');
  if (src) src.setData({ type: 'FeatureCollection', features: feature && feature.geometry ? [{ type: 'Feature', geometry: feature.geometry, properties: {} }] : [] });
}

async function openDetail(kind, id, fly) {
  const feature = state.records[kind] && state.records[kind].get(id);
  state.detailId = id;
  const token = ++state.detailToken;
  if ($('detail').hidden) state.lastFocus = document.activeElement;
  $('detail').hidden = false;
  $('detail-error').textContent = '';
  renderRecord(kind, (feature && feature.properties) || { id, version: 0 });
  $('detail-history').replaceChildren(document.createTextNode(t('detail.loading')));
  $('detail-title').focus();
  setSelection(feature);
  if (fly && matchMedia('(max-width: 640px)').matches) $('controls').open = false; // show the map on phones
  if (fly && feature && feature.geometry && feature.geometry.type === 'Point' && state.map) {
    state.map.flyTo({ center: feature.geometry.coordinates, zoom: Math.max(state.map.getZoom(), 12) });
  }
  const path = `/${kind}/${encodeURIComponent(id)}`;
  const [rec, hist] = await Promise.allSettled([api(path), api(`${path}/history`)]);
  if (token !== state.detailToken) return; // another record was opened meanwhile
  if (rec.status === 'fulfilled' && rec.value) {
    renderRecord(kind, rec.value.type === 'Feature' ? rec.value.properties : rec.value);
  } else if (rec.status === 'rejected') {
    $('detail-error').textContent = t('detail.record_failed', { error: rec.reason.message });
  }
  renderHistory(hist);
}

function closeDetail() {
  if ($('detail').hidden) return;
  state.detailToken++;
  $('detail').hidden = true;
  setSelection(null);
  const prev = state.lastFocus;
  if (prev && prev.isConnected) prev.focus();
  if (document.activeElement !== prev && state.map) state.map.getCanvas().focus(); // prev was hidden
}

// ---------------------------------------------------------------- boot

async function boot() {
  applyI18n(document);
  document.title = t('app.title');
  buildControls();
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', onLogout);
  $('detail-close').addEventListener('click', closeDetail);
  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') closeDetail(); });
  $('outbox-badge').addEventListener('click', () => showScreen('report'));
  setUnauthorizedHandler(sessionEnded);
  window.addEventListener('online', () => setOffline(false));
  window.addEventListener('offline', () => setOffline(true));
  registerServiceWorker();
  try {
    state.user = await api('/me', { allow401: true });
    localStorage.setItem(USER_KEY, JSON.stringify(state.user));
  } catch (e) {
    // Offline: carry on as the last user so reports can go to the outbox;
    // the server checks the session again when they are sent.
    const cached = e.status === 0 && localStorage.getItem(USER_KEY);
    if (!cached) return showLogin(e.status === 401 ? '' : e.message);
    state.user = JSON.parse(cached);
    setOffline(true);
  }
  await startApp();
}

/** Keep what an observer needs offline (mission, basemap, posts, areas) in the service worker's cache. */
async function warmOfflineCache() {
  if (!('caches' in window) || !('serviceWorker' in navigator)) return;
  const geo = new URLSearchParams({ format: 'geojson', limit: '1000' });
  const urls = ['/api/v1/mission', ...['countries', 'admin1', 'roads', 'places'].map((n) => `/api/v1/basemap/${n}`),
    `/api/v1/posts?${geo}`, `/api/v1/aors?${geo}`];
  try {
    const cache = await caches.open('truce-data-v1');
    await Promise.all(urls.map((u) => cache.add(u).catch(() => {})));
  } catch { /* no cache storage: online use only */ }
}

function registerServiceWorker() {
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('sw.js').catch((e) => console.warn('service worker', e));
}

boot();
