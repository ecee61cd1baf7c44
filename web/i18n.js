// All user-visible strings of the web app, keyed by string id.
// To translate: copy `en` to a new object, translate the values, and select it
// in `strings` below. `{name}` placeholders are filled in by t().

const en = {
  'app.title': 'Truce',
  'app.noscript': 'Truce needs JavaScript to run.',

  'login.heading': 'Sign in',
  'login.username': 'User name',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.busy': 'Signing in…',
  'login.failed': 'User name or password is wrong.',
  'login.expired': 'Your session has ended. Please sign in again.',

  'header.mission': 'Mission',
  'header.user': '{username} ({role})',
  'header.logout': 'Sign out',

  'notice.label': 'Notice',
  'notice.illustrative': 'Illustrative scenario: the places, posts and incidents shown are not real.',

  'controls.heading': 'Layers and time',
  'controls.layers': 'Layers',
  'controls.window': 'Incident time window',
  'controls.from': 'From',
  'controls.to': 'To (inclusive)',
  'controls.apply': 'Reload incidents',
  'controls.legend': 'Legend',
  'controls.records': 'Records list',

  'layer.countries': 'Countries',
  'layer.admin1': 'Regions',
  'layer.roads': 'Roads',
  'layer.places': 'Places',
  'layer.aors': 'Areas of responsibility',
  'layer.posts': 'Observation posts',
  'layer.incidents': 'Incidents',

  'legend.post_staffed': 'Post, staffed',
  'legend.post_unstaffed': 'Post, unstaffed',
  'legend.cfv': 'Ceasefire violation (black ring)',
  'legend.cluster': 'Group of incidents (red ring: includes violations)',

  'status.loading': 'Loading…',
  'status.loading_incidents': 'Loading incidents…',
  'status.incidents': '{count} incidents from {from} to {to}.',
  'status.truncated': 'Only the first {count} incidents are shown.',
  'status.window_invalid': 'Choose a start date that is not after the end date.',
  'status.layer_failed': 'Could not load {layer}: {error}',

  'list.posts': 'Observation posts',
  'list.incidents': 'Incidents (newest first)',
  'list.aors': 'Areas of responsibility',
  'list.empty': 'None',
  'list.cfv': '(ceasefire violation)',
  'list.more': '{count} more not listed; narrow the time window.',

  'detail.close': 'Close details',
  'detail.fields': 'Record',
  'detail.history': 'History',
  'detail.raw': 'Raw data (JSON)',
  'detail.loading': 'Loading…',
  'detail.no_history': 'No history entries.',
  'detail.history_failed': 'Could not load history: {error}',
  'detail.record_failed': 'Could not refresh the record: {error}',
  'detail.untitled': 'Record',
  'detail.kind.incidents': 'Incident',
  'detail.kind.posts': 'Observation post',
  'detail.kind.aors': 'Area of responsibility',

  'history.by': 'by {actor}',
  'history.seq': '#{seq}',
  'history.reason': 'Reason: {reason}',

  'value.none': '—',
  'value.yes': 'Yes',
  'value.no': 'No',
  'value.geometry': '{type} geometry',
  'value.utc': 'UTC',

  'field.id': 'ID',
  'field.version': 'Version',
  'field.sensitivity': 'Sensitivity',
  'field.occurred_at': 'Occurred at',
  'field.event_type': 'Event type',
  'field.sub_event_type': 'Sub-event type',
  'field.verification': 'Verification',
  'field.status': 'Status',
  'field.ceasefire_violation': 'Ceasefire violation',
  'field.kind': 'Kind',
  'field.perception': 'Perception',
  'field.notes': 'Notes',
  'field.location': 'Location',
  'field.lat': 'Latitude',
  'field.lon': 'Longitude',
  'field.code': 'Code',
  'field.name': 'Name',
  'field.staffed': 'Staffed',
  'field.created_at': 'Created at',
  'field.updated_at': 'Updated at',

  'enum.role.analyst': 'analyst',
  'enum.role.admin': 'administrator',
  'enum.role.monitor': 'monitor',

  'enum.event_type.battles': 'Battles',
  'enum.event_type.explosions_remote_violence': 'Explosions / remote violence',
  'enum.event_type.violence_against_civilians': 'Violence against civilians',
  'enum.event_type.protests': 'Protests',
  'enum.event_type.riots': 'Riots',
  'enum.event_type.strategic_developments': 'Strategic developments',

  'enum.status.reported': 'Reported',
  'enum.status.under_verification': 'Under verification',
  'enum.status.verified': 'Verified',
  'enum.status.unverified': 'Unverified',
  'enum.status.refuted': 'Refuted',

  'enum.kind.explosion': 'Explosion',
  'enum.kind.projectile_in_flight': 'Projectile in flight',
  'enum.kind.muzzle_flash': 'Muzzle flash',
  'enum.kind.illumination_flare': 'Illumination flare',
  'enum.kind.burst': 'Burst',
  'enum.kind.shot': 'Shot',

  'enum.perception.heard': 'Heard',
  'enum.perception.seen': 'Seen',
  'enum.perception.camera': 'Camera',
  'enum.perception.uav': 'UAV',

  'enum.op.create': 'Created',
  'enum.op.update': 'Updated',
  'enum.op.delete': 'Deleted',

  'error.network': 'The server cannot be reached.',
  'error.http': 'Request failed (HTTP {status}).',

  'attribution.osm': '© OpenStreetMap contributors (roads, ODbL)',
  'attribution.geonames': 'GeoNames (CC BY 4.0)',
  'attribution.naturalearth': 'Natural Earth',

  // Strings inside MapLibre's own controls (passed as the map's `locale`).
  'maplibre.AttributionControl.ToggleAttribution': 'Toggle attribution',
  'maplibre.Map.Title': 'Map',
  'maplibre.Marker.Title': 'Map marker',
  'maplibre.NavigationControl.ResetBearing': 'Drag to rotate map, click to reset north',
  'maplibre.NavigationControl.ZoomIn': 'Zoom in',
  'maplibre.NavigationControl.ZoomOut': 'Zoom out',
  'maplibre.ScaleControl.Kilometers': 'km',
  'maplibre.ScaleControl.Meters': 'm',
  'maplibre.CooperativeGesturesHandler.WindowsHelpText': 'Use Ctrl + scroll to zoom the map',
  'maplibre.CooperativeGesturesHandler.MacHelpText': 'Use ⌘ + scroll to zoom the map',
  'maplibre.CooperativeGesturesHandler.MobileHelpText': 'Use two fingers to move the map',
};

export const lang = 'en';
export const strings = en;

export function has(key) {
  return Object.prototype.hasOwnProperty.call(strings, key);
}

/** Look up a string by id and fill `{name}` placeholders from `vars`. */
export function t(key, vars = {}) {
  const s = has(key) ? strings[key] : key;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** Fill elements marked with data-i18n (text) and data-i18n-ATTR (attribute). */
export function applyI18n(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('*')) {
    for (const { name, value } of [...el.attributes]) {
      if (name === 'data-i18n') el.textContent = t(value);
      else if (name.startsWith('data-i18n-')) el.setAttribute(name.slice(10), t(value));
    }
  }
}
