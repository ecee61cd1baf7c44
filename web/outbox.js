// The offline outbox: field reports are written to IndexedDB first and sent
// from there, so a report survives a lost connection, a closed tab and a
// reload while offline. Each entry carries a client-chosen record id and uses
// it as the Idempotency-Key: however often a send is retried (also when the
// first answer was lost), the server keeps exactly one record.
import { api, ApiError } from './util.js';

const DB = 'truce-outbox';
const STORE = 'reports';

let dbPromise = null;
function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'id' });
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function tx(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tr = d.transaction(STORE, mode);
    const result = fn(tr.objectStore(STORE));
    tr.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined);
    tr.onerror = () => reject(tr.error);
    tr.onabort = () => reject(tr.error);
  });
}

/** Every entry, oldest first (ids are UUIDv7, so key order is time order). */
export function all() { return tx('readonly', (s) => s.getAll()); }

/** Adds a report; resolves once it is durable in IndexedDB. */
export function add(entry) { return tx('readwrite', (s) => s.put(entry)); }

export function remove(id) { return tx('readwrite', (s) => s.delete(id)); }

const listeners = new Set();
/** Called with the entries after every change. */
export function subscribe(fn) { listeners.add(fn); }
export async function notify() {
  const entries = await all();
  for (const fn of listeners) fn(entries);
  return entries;
}

/**
 * Builds an outbox entry for a new incident. The body is stored as the exact
 * bytes that will be sent, so a retry repeats the same request (the server
 * compares the request with the first one under the same key).
 */
export function entry(user, id, record) {
  return {
    id,
    user,
    collection: 'incidents',
    body: JSON.stringify({ id, ...record }),
    created: new Date().toISOString(),
    attempts: 0,
    error: null,
  };
}

let flushing = null;

/**
 * Sends the waiting entries of `user`, oldest first. Stops at the first
 * network failure (keeps the rest); a refused entry (4xx other than 401/408/
 * 429) stays with its error so nothing is dropped silently.
 * Resolves to { sent: [records], failed: n, offline: bool }.
 */
export function flush(user) {
  if (!flushing) {
    const run = () => flushOnce(user);
    const p = navigator.locks ? navigator.locks.request('truce-outbox', run) : run();
    flushing = p.finally(() => { flushing = null; });
  }
  return flushing;
}

async function flushOnce(user) {
  const out = { sent: [], failed: 0, offline: false, unauthorized: false };
  for (const e of await all()) {
    if (e.user !== user || e.error) continue;
    try {
      const rec = await api(`/${e.collection}`, {
        method: 'POST',
        json: e.body,
        headers: { 'Idempotency-Key': e.id },
        allow401: true,
      });
      await remove(e.id);
      out.sent.push(rec);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 0 || err.status >= 500 || [401, 408, 429].includes(err.status)) {
        out.offline = err.status === 0 || err.status >= 500;
        out.unauthorized = err.status === 401;
        await add({ ...e, attempts: e.attempts + 1 });
        break;
      }
      await add({ ...e, attempts: e.attempts + 1, error: err.message });
      out.failed++;
    }
  }
  await notify();
  return out;
}
