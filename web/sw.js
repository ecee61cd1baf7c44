// Service worker: lets the app open without a connection so that field
// reports can go to the outbox (IndexedDB) and be sent later.
// Network first, cache as fallback: online, everything is fresh; offline, the
// last copy of the app shell and of the layers an observer needs is used.
// Only same-origin GETs are handled; API writes always go to the network.
const SHELL_CACHE = 'truce-shell-v4';
const DATA_CACHE = 'truce-data-v1';
const SHELL = [
  './', 'index.html', 'style.css', 'app.js', 'i18n.js', 'util.js', 'outbox.js', 'report.js',
  'triage.js', 'admin.js', 'modules.js', 'logistics.js', 'bulletins.js', 'intake.js',
  'vendor/maplibre-gl/maplibre-gl.js', 'vendor/maplibre-gl/maplibre-gl.css',
];
// API reads kept for offline use: the mission, its basemap and the posts and
// areas an observer reports from. Nothing restricted is cached.
const DATA = [/^\/api\/v1\/mission$/, /^\/api\/v1\/basemap\//, /^\/api\/v1\/(posts|aors)$/];

self.addEventListener('install', (ev) => {
  ev.waitUntil(caches.open(SHELL_CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (ev) => {
  ev.waitUntil((async () => {
    for (const k of await caches.keys()) if (![SHELL_CACHE, DATA_CACHE].includes(k)) await caches.delete(k);
    await self.clients.claim();
  })());
});

self.addEventListener('message', (ev) => {
  // Sent on sign-out: forget cached mission data.
  if (ev.data === 'clear-data') ev.waitUntil(caches.delete(DATA_CACHE));
});

self.addEventListener('fetch', (ev) => {
  const req = ev.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  let cacheName = null;
  if (url.pathname.startsWith('/api/')) {
    if (DATA.some((re) => re.test(url.pathname))) cacheName = DATA_CACHE;
  } else if (!url.pathname.startsWith('/api/docs')) {
    cacheName = SHELL_CACHE;
  }
  if (!cacheName) return;
  ev.respondWith(networkFirst(req, cacheName));
});

async function networkFirst(req, cacheName) {
  const cache = await caches.open(cacheName);
  try {
    const res = await fetch(req);
    if (res.ok) await cache.put(req, res.clone());
    return res;
  } catch (e) {
    const hit = await cache.match(req, { ignoreVary: true }) || (req.mode === 'navigate' ? await cache.match('./') : null);
    if (hit) return hit;
    throw e;
  }
}
