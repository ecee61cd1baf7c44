// Shared helpers of the browser tests: the demo server, Debian's Chromium
// driven by playwright-core, a guard that fails the test when any request
// leaves 127.0.0.1, screenshots and a small API client.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const OUTPUT = join(here, 'output');
mkdirSync(OUTPUT, { recursive: true });

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
  '--disable-background-networking', '--disable-component-update', '--no-first-run',
  '--disable-sync', '--disable-quic', '--no-default-browser-check', '--disable-domain-reliability',
  '--disable-extensions', '--disable-features=AutofillServerCommunication,NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter',
  // Belt and braces: any host but loopback fails to resolve. The guard below
  // still sees (and fails on) every attempt.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

let server = null;

/** The base URL of a running demo: TRUCE_URL, or a `truce demo` started here. */
export async function baseUrl() {
  if (process.env.TRUCE_URL) return process.env.TRUCE_URL.replace(/\/$/, '');
  if (server) return server.url;
  const bin = process.env.TRUCE_BIN || join(here, '..', '..', 'target', 'debug', 'truce');
  assert.ok(existsSync(bin), `no truce binary at ${bin}: run cargo build, or set TRUCE_BIN or TRUCE_URL`);
  const port = await freePort();
  const child = spawn(bin, ['demo', '--addr', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  server = { child, url };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try { if ((await fetch(`${url}/healthz`)).ok) break; } catch { /* not yet */ }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('truce demo did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  process.on('exit', () => child.kill());
  return url;
}

export function stopServer() { if (server) { server.child.kill(); server = null; } }

/** Is this URL on the test server's loopback address (or not a network URL)? */
function local(u, base) {
  if (/^(data|blob|about|chrome|chrome-extension|devtools):/.test(u)) return true;
  try {
    const url = new URL(u);
    return url.hostname === '127.0.0.1' && url.origin === new URL(base).origin;
  } catch { return false; }
}

/**
 * A fresh Chromium (own user-data-dir, net log) and context. Every request the
 * pages or service workers make is recorded; `close()` asserts that none
 * left 127.0.0.1, also by reading Chromium's own net log.
 */
export async function openBrowser(t, { viewport = { width: 1280, height: 800 }, isMobile = false } = {}) {
  const base = await baseUrl();
  const dir = mkdtempSync(join(tmpdir(), 'truce-chromium-'));
  const netlog = join(dir, 'netlog.json');
  // A profile whose password manager, sign-in and autofill stay silent.
  mkdirSync(join(dir, 'profile', 'Default'), { recursive: true });
  writeFileSync(join(dir, 'profile', 'Default', 'Preferences'), JSON.stringify({
    credentials_enable_service: false,
    profile: { password_manager_enabled: false, password_manager_leak_detection: false },
    signin: { allowed: false },
    autofill: { enabled: false, profile_enabled: false, credit_card_enabled: false },
    translate: { enabled: false },
  }));
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, `--log-net-log=${netlog}`, '--net-log-capture-mode=Default'],
    viewport,
    isMobile,
    hasTouch: isMobile,
    serviceWorkers: 'allow',
    timezoneId: 'UTC',
    locale: 'en-GB',
  });
  const seen = [];
  const record = (req) => seen.push(req.url());
  context.on('request', record);
  context.on('serviceworker', (w) => w.on && w.on('request', record));
  const errors = [];
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.setDefaultTimeout(15_000);
  return {
    base, context, page, errors,
    async close() {
      await context.close();
      const leaks = seen.filter((u) => !local(u, base));
      const net = netlogSummary(netlog);
      rmSync(dir, { recursive: true, force: true });
      assert.deepEqual(leaks, [], `the app requested URLs off 127.0.0.1: ${leaks.join(', ')}`);
      assert.deepEqual(net.connects, [], `Chromium connected off 127.0.0.1: ${net.connects.join(', ')}`);
      assert.ok(net.appRequests > 0, 'the net log saw the app\'s requests');
      assert.deepEqual(errors, [], `page errors: ${errors.join('; ')}`);
      t.diagnostic(`${seen.length} page/worker requests, all to ${base}; no connection off 127.0.0.1 in Chromium's net log`);
      if (net.blocked.length) t.diagnostic(`Chromium's own background requests, stopped at name resolution: ${net.blocked.join(' ')}`);
    },
  };
}

/**
 * Reads Chromium's net log: every TCP connection attempt and UDP datagram
 * sent must go to 127.0.0.1. (A UDP "connect" without data, which Chromium
 * uses to probe IPv6 reachability, sends nothing and is not counted.)
 */
function netlogSummary(file) {
  const out = { connects: [], blocked: [], appRequests: 0 };
  assert.ok(existsSync(file), 'Chromium wrote no net log');
  const text = readFileSync(file, 'utf8');
  let log;
  try { log = JSON.parse(text); } catch { log = JSON.parse(`${text.replace(/,\s*$/, '')}]}`); }
  const names = Object.fromEntries(Object.entries(log.constants.logEventTypes).map(([k, v]) => [v, k]));
  const blocked = new Set();
  for (const e of log.events) {
    const name = names[e.type] || '';
    const p = e.params || {};
    const addr = p.address || p.remote_address;
    if (addr && /^(TCP_CONNECT_ATTEMPT|UDP_BYTES_SENT|UDP_SEND_ERROR)$/.test(name) && !/^127\.0\.0\.1:/.test(addr)) out.connects.push(`${name} ${addr}`);
    if (p.url && name === 'URL_REQUEST_START_JOB') {
      if (p.url.startsWith('http://127.0.0.1')) out.appRequests++;
      else if (/^https?:/.test(p.url)) blocked.add(new URL(p.url).host);
    }
  }
  out.blocked = [...blocked];
  return out;
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(OUTPUT, `${name}.png`) });
}

export async function login(page, base, user) {
  await page.goto(`${base}/`);
  await page.fill('#login-username', user);
  await page.fill('#login-password', `${user}-demo`);
  await page.click('#login-submit');
  await page.waitForSelector('#map-view:not([hidden])');
  // The map has loaded its layers when the incident count is shown.
  await page.waitForFunction(() => /\d/.test(document.getElementById('status').textContent));
}

/** A signed-in API client (cookie session) for checks from outside the browser. */
export async function apiAs(user) {
  const base = await baseUrl();
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user, password: `${user}-demo` }),
  });
  assert.equal(res.status, 200, `login ${user}`);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const call = async (path, { method = 'GET', json, headers = {} } = {}) => {
    const r = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { cookie, accept: 'application/json', ...(json ? { 'content-type': 'application/json' } : {}), ...headers },
      body: json ? JSON.stringify(json) : undefined,
    });
    const body = r.status === 204 ? null : await r.json().catch(() => null);
    return { status: r.status, body };
  };
  return call;
}

/** Whether the server's OpenAPI document has a path matching `re`. */
export async function hasApi(re) {
  const base = await baseUrl();
  const doc = await (await fetch(`${base}/api/v1/openapi.json`)).json();
  return Object.keys(doc.paths || {}).filter((p) => re.test(p));
}

/** A short unique token to find this test's records by text search. */
export function token(prefix) {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
