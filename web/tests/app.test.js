// Browser tests of the Truce web app (node --test; see README in ARCHITECTURE.md).
// Each test opens a fresh Chromium, saves a screenshot under output/ and
// asserts that no request left 127.0.0.1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser, login, screenshot, apiAs, hasApi, token, stopServer } from './helpers.js';

after(stopServer);

/** Clicks the map canvas at a point right of the side panel (so the report form takes it). */
async function clickMap(page, dx = 0, dy = 0) {
  const box = await page.locator('#map canvas').boundingBox();
  await page.mouse.click(box.x + box.width * 0.7 + dx, box.y + box.height * 0.5 + dy);
}

async function findIncidents(api, q) {
  const r = await api(`/incidents?${new URLSearchParams({ q, limit: '50' })}`);
  assert.equal(r.status, 200);
  return r.body.items;
}

test('sign in shows the map, the screens of the role, and the time slider', async (t) => {
  const b = await openBrowser(t);
  try {
    const { page } = b;
    await page.goto(`${b.base}/`);
    await page.fill('#login-username', 'observer');
    await page.fill('#login-password', 'wrong password');
    await page.click('#login-submit');
    await page.waitForSelector('#login-error:has-text("wrong")');
    await login(page, b.base, 'observer');
    assert.match(await page.textContent('#user-label'), /observer/);
    assert.ok(await page.isVisible('#nav-report'));
    assert.equal(await page.locator('#nav-triage').count(), 0, 'observers do not triage');
    assert.equal(await page.locator('#nav-admin').count(), 0);
    // Time slider: the last step shows every day; one step back shows one day.
    const slider = page.locator('#time-slider');
    const max = Number(await slider.getAttribute('max'));
    assert.ok(max >= 28);
    const all = await page.textContent('#time-slider-value');
    await slider.focus();
    await page.keyboard.press('ArrowLeft');
    const day = await page.textContent('#time-slider-value');
    assert.notEqual(day, all);
    assert.match(day, /^\d{4}-\d{2}-\d{2}: \d+ incidents$/);
    await page.keyboard.press('End');
    await screenshot(page, '01-signed-in');
  } finally { await b.close(); }
});

test('file a field report by clicking the map and see it appear', async (t) => {
  const b = await openBrowser(t);
  try {
    const { page } = b;
    const note = token('maprep');
    await login(page, b.base, 'observer');
    await page.click('#nav-report');
    await page.selectOption('#report-post', { index: 1 });
    await page.selectOption('#report-kind', 'burst');
    await page.fill('#report-direction', '135');
    await page.fill('#report-distance', '1500');
    await page.fill('#report-count', '3');
    await page.selectOption('#report-perception', 'seen');
    await page.fill('#report-note', `Burst of fire, Հայերեն Русский ${note}`);
    await clickMap(page);
    assert.ok(await page.isChecked('#report-where-map'));
    assert.notEqual(await page.inputValue('#report-lat'), '');
    await page.click('#report-submit');
    await page.waitForSelector('#report-status:has-text("1 report(s) sent")');
    assert.ok(await page.isHidden('#outbox-badge'));
    // It is on the map layer and opens with its record and history.
    await page.click('#report-open-sent');
    await page.waitForSelector(`#detail-fields :text("${note}")`);
    await page.waitForSelector('#detail-history li');
    const [rec] = await findIncidents(await apiAs('analyst'), note);
    assert.ok(rec, 'the report is on the server');
    assert.equal(rec.ceasefire_violation.kind, 'burst');
    assert.equal(rec.ceasefire_violation.count, 3);
    assert.equal(rec.ceasefire_violation.direction_deg, 135);
    assert.equal(rec.created_by, 'observer');
    await page.click('#nav-map');
    await page.waitForSelector(`#records-list [data-id="${rec.id}"]`, { state: 'attached' });
    await screenshot(page, '02-report-filed');
  } finally { await b.close(); }
});

test('an analyst takes, grades and verifies a report in the triage queue', async (t) => {
  const note = token('triage');
  const observer = await apiAs('observer');
  const created = await observer('/incidents', {
    method: 'POST',
    json: {
      occurred_at: new Date(Date.now() - 3600_000).toISOString(),
      event_type: 'explosions_remote_violence', sub_event_type: 'shelling_artillery_missile_attack',
      location: { lat: 39.82, lon: 46.75 },
      ceasefire_violation: { kind: 'explosion', perception: 'heard', count: 2 },
      notes: `Two impacts ${note}`,
    },
  });
  assert.equal(created.status, 201);
  const b = await openBrowser(t);
  try {
    const { page } = b;
    await login(page, b.base, 'analyst');
    await page.click('#nav-triage');
    const item = page.locator('#triage-list li', { hasText: note });
    await item.waitFor();
    await item.getByRole('button', { name: /Take/ }).click();
    await page.locator('#triage-list li', { hasText: note }).locator(':text("Working on it: analyst")').waitFor();
    await page.locator('#triage-list li', { hasText: note }).getByRole('button', { name: new RegExp(note) }).click();
    await page.waitForSelector('#verify-form');
    assert.equal(await page.inputValue('#verify-assignee'), 'analyst');
    await page.selectOption('#verify-status', 'verified');
    await page.click('#verify-save');
    await page.waitForSelector('#verify-error:has-text("reason")'); // a conclusive status needs a reason
    await page.fill('#verify-reason', 'Confirmed by two posts');
    await page.selectOption('#verify-reliability', 'B');
    await page.selectOption('#verify-credibility', '2');
    await page.click('#verify-save');
    await page.waitForFunction(() => document.querySelectorAll('#detail-history li').length >= 3);
    const rec = (await observer(`/incidents/${created.body.id}`)).body;
    assert.equal(rec.verification.status, 'verified');
    assert.equal(rec.verification.by, 'analyst');
    assert.equal(rec.assignee, 'analyst');
    assert.deepEqual(rec.source_grading, { reliability: 'B', credibility: 2 });
    await screenshot(page, '03-verified');
  } finally { await b.close(); }
});

test('offline: two reports wait in the outbox across a reload and arrive exactly once', async (t) => {
  const b = await openBrowser(t, { viewport: { width: 412, height: 860 }, isMobile: true });
  const analyst = await apiAs('analyst');
  try {
    const { page, context } = b;
    const note = token('offline');
    await login(page, b.base, 'observer');
    // The service worker controls the page and holds the app and the posts.
    await page.waitForFunction(async () => {
      if (!navigator.serviceWorker.controller) return false;
      const c = await caches.open('truce-data-v1');
      return (await c.keys()).some((r) => r.url.includes('/api/v1/posts'));
    }, null, { polling: 250 });
    await page.click('#nav-report');
    await context.setOffline(true);
    for (const n of [1, 2]) {
      await page.selectOption('#report-post', { index: n });
      await page.fill('#report-count', String(n));
      await page.fill('#report-note', `Offline report ${n} ${note}`);
      await page.click('#report-submit');
      await page.waitForSelector(`#outbox-badge:has-text("${n} waiting")`);
    }
    await page.reload();
    await page.waitForSelector('#net-state:not([hidden])');
    await page.waitForSelector('#outbox-badge:has-text("2 waiting")');
    await screenshot(page, '04-offline-two-waiting');
    assert.deepEqual(await findIncidents(analyst, note), [], 'nothing reached the server while offline');
    await context.setOffline(false);
    await page.waitForSelector('#outbox-badge', { state: 'hidden', timeout: 30_000 });
    // Sending again (another tab, a lost answer) must not double anything.
    await page.click('#nav-report');
    await page.evaluate(() => window.dispatchEvent(new Event('online')));
    const got = await findIncidents(analyst, note);
    assert.equal(got.length, 2, `exactly two records: ${JSON.stringify(got.map((r) => r.notes))}`);
    assert.deepEqual(got.map((r) => r.ceasefire_violation.count).sort(), [1, 2]);
    await screenshot(page, '05-outbox-sent');
  } finally { await b.close(); }
});

test('a viewer sees no people screens and cannot read people records', async (t) => {
  const peoplePaths = (await hasApi(/^\/api\/v1\/(person_cases|exchanges|trace_matches|people)$/));
  const b = await openBrowser(t);
  try {
    const { page } = b;
    await login(page, b.base, 'viewer');
    assert.equal(await page.locator('#nav-people').count(), 0, 'no people screen for a viewer');
    assert.equal(await page.locator('#nav-report').count(), 0, 'viewers do not file reports');
    assert.equal(await page.locator('#nav-triage').count(), 0);
    assert.equal(await page.locator('#nav-admin').count(), 0);
    await screenshot(page, '06-viewer');
    const viewer = await apiAs('viewer');
    for (const p of peoplePaths) {
      const r = await viewer(p.replace('/api/v1', ''));
      assert.ok([403, 404].includes(r.status), `${p} answers ${r.status} to a viewer`);
    }
    if (!peoplePaths.length) {
      t.diagnostic('the people module API has not landed: checked only that no people screen shows');
      return;
    }
    // The protection officer does get the screen.
    await page.click('#logout');
    await page.waitForSelector('#login-view:not([hidden])');
    await login(page, b.base, 'protection');
    await page.click('#nav-people');
    await page.waitForSelector('#module-people h3');
    await screenshot(page, '06b-protection-people');
  } finally { await b.close(); }
});

test('admin manages users with Armenian, Cyrillic and Latin names, and tokens', async (t) => {
  const b = await openBrowser(t);
  try {
    const { page } = b;
    const suffix = token('').slice(-5);
    await login(page, b.base, 'admin');
    await page.click('#nav-admin');
    await page.waitForSelector('#admin-users tbody tr');
    for (const name of [`Արամ${suffix}`, `Ирина${suffix}`, `Aylin${suffix}`]) {
      await page.fill('#admin-new-username', name);
      await page.selectOption('#admin-new-role', 'observer');
      await page.fill('#admin-new-password', 'correct horse battery');
      await page.click('#admin-user-form button[type=submit]');
      await page.waitForSelector(`#admin-users td:text-is("${name}")`);
    }
    await page.selectOption('#admin-token-user', `Արամ${suffix}`);
    await page.fill('#admin-token-name', 'OP-07 tablet');
    await page.click('#admin-token-form button[type=submit]');
    const secret = await page.textContent('#admin-secret-value');
    assert.match(secret, /^truce_/);
    const me = await fetch(`${b.base}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal((await me.json()).username, `Արամ${suffix}`);
    await screenshot(page, '07-admin');
  } finally { await b.close(); }
});

test('plan a convoy and see the hazard warning', async (t) => {
  const logistics = await apiAs('logistics');
  const probe = await logistics('/logistics/route_check', { method: 'POST', json: {} });
  if (probe.status === 404) {
    t.skip('the logistics module API (POST /api/v1/convoys/plan) has not landed on this server; no convoy screen to test');
    return;
  }
  const hz = ((await logistics('/hazard_areas?format=geojson&limit=1000')).body.features || [])
    .filter((f) => f.geometry && ['open', 'in_progress'].includes(f.properties.status));
  if (!hz.length) {
    t.skip('the demo has no active hazard area to plan a convoy through');
    return;
  }
  // A route from west of the hazard area, through one of its corners, to the east of it.
  const g = hz[0].geometry;
  const ring = g.type === 'Polygon' ? g.coordinates[0] : g.coordinates[0][0];
  const lons = ring.map((c) => c[0]);
  const corner = ring[0];
  const route = [[Math.min(...lons) - 0.02, corner[1]], corner, [Math.max(...lons) + 0.02, corner[1]]];
  const b = await openBrowser(t);
  try {
    const { page } = b;
    await login(page, b.base, 'logistics');
    await page.click('#nav-logistics');
    await page.waitForSelector('#convoy-form');
    await page.selectOption('#convoy-corridor', '');
    await page.fill('#convoy-route-text', route.map((c) => c.join(', ')).join('; '));
    await page.locator('#convoy-route-text').dispatchEvent('change');
    await page.click('#convoy-check');
    await page.waitForSelector('#convoy-warning.danger:not([hidden])');
    await page.waitForSelector(`#convoy-hazards li.blocking:has-text("${hz[0].properties.code}")`);
    await page.fill('#convoy-origin', 'Goris');
    await page.fill('#convoy-destination', 'Stepanakert / Ստեփանակերտ');
    await page.click('#convoy-plan');
    await page.waitForSelector('#convoy-error:has-text("hazard")'); // refused without a reason
    await screenshot(page, '08-convoy-hazard-warning');
    await page.fill('#convoy-override', 'Escorted by the mission; area marked');
    await page.click('#convoy-plan');
    await page.waitForSelector('#convoy-result:has-text("planned")');
    await screenshot(page, '08b-convoy-planned');
  } finally { await b.close(); }
});

test('the mine-action officer opens the mine action screen and its records', async (t) => {
  const paths = await hasApi(/^\/api\/v1\/hazard_areas$/);
  if (!paths.length) {
    t.skip('the mine action module API (hazard_areas) has not landed on this server');
    return;
  }
  const b = await openBrowser(t);
  try {
    const { page } = b;
    await login(page, b.base, 'mine_action');
    await page.click('#nav-mine_action');
    await page.waitForSelector('#module-mine_action h3:has-text("Hazard areas")');
    const first = page.locator('#module-mine_action-lists button.link').first();
    if (await first.count()) {
      await first.click();
      await page.waitForSelector('#detail-history li');
    }
    await screenshot(page, '09-mine-action');
  } finally { await b.close(); }
});

test('a commander views, downloads and verifies the signed bulletin', async (t) => {
  const commander = await apiAs('commander');
  const probe = await commander('/bulletins/not-a-date');
  if (probe.status === 404 || probe.status === 503) {
    t.skip(probe.status === 404 ? 'the bulletin API (GET /api/v1/bulletins/{date}) has not landed on this server' : 'this server has no mission key to sign bulletins');
    return;
  }
  const b = await openBrowser(t);
  try {
    const { page } = b;
    await login(page, b.base, 'commander');
    await page.click('#nav-bulletins');
    await page.waitForSelector('#bulletin-verify.verified', { timeout: 30_000 });
    assert.match(await page.textContent('#bulletin-verify'), /Signature valid/);
    assert.equal(await page.locator('#bulletin-downloads a').count(), 4);
    const frame = page.frameLocator('#bulletin-frame');
    await frame.locator('body').waitFor();
    const href = await page.getAttribute('#bulletin-downloads a:has-text("PDF")', 'href');
    const pdf = await page.evaluate(async (u) => { const r = await fetch(u); return { ok: r.ok, type: r.headers.get('content-type') }; }, href);
    assert.ok(pdf.ok);
    assert.match(pdf.type, /pdf/);
    await screenshot(page, '10-bulletin');
    // One changed figure: the browser's check fails.
    const bad = await page.evaluate(async (d) => {
      const { verifyBulletin } = await import('/bulletins.js');
      const text = await (await fetch(`/api/v1/bulletins/${d}?format=json`)).text();
      return (await verifyBulletin(text.replace('"format": 1', '"format": 2'))).ok;
    }, await page.inputValue('#bulletin-date'));
    assert.equal(bad, false);
  } finally { await b.close(); }
});

test('an analyst extracts facts from a wire story, sees their words in context, makes one an incident and rejects another', async (t) => {
  if (!(await hasApi(/^\/api\/v1\/intake\/candidates$/)).length) {
    t.skip('the intake API has not landed on this server');
    return;
  }
  // Figures of this run only, so the queue holds no earlier report of them.
  const violations = 20 + Math.floor(Math.random() * 900);
  const tonnes = 1000 + Math.floor(Math.random() * 9000);
  const title = token('intake');
  const analyst = await apiAs('analyst');
  const b = await openBrowser(t);
  try {
    const { page } = b;
    await login(page, b.base, 'analyst');
    await page.click('#nav-intake');
    await page.click('#intake-new summary');
    await page.fill('#intake-text', `Observers recorded ${violations} ceasefire violations near Khankendi on 11 March 2024, the ministry said. `
      + `A convoy delivered ${tonnes} tonnes of flour to Lachin.`);
    await page.fill('#intake-title', title);
    await page.fill('#intake-outlet', 'Wire agency (illustrative)');
    await page.fill('#intake-published', '2024-03-12');
    await page.click('#intake-submit');
    await page.waitForSelector('#intake-status:has-text("proposed")');
    assert.equal(await page.inputValue('#intake-text'), '', 'the form is ready for the next document');

    // The figure, with the exact words it came from, shown in the document.
    const figure = page.locator('#intake-list li', { hasText: `violations.ceasefire: ${violations} count` });
    await figure.waitFor();
    assert.match(await figure.locator('q').first().textContent(), new RegExp(`^${violations} ceasefire violations$`));
    await figure.getByRole('button', { name: 'Show in the document' }).click();
    await figure.locator('blockquote mark').waitFor();
    assert.equal(await figure.locator('blockquote mark').textContent(), `${violations} ceasefire violations`);
    assert.match(await figure.locator('blockquote').textContent(), /^Observers recorded .* near Khankendi on 11 March 2024/);

    // The reviewer corrects the figure (the outlet misprinted it), then
    // accepts it as a new incident: the incident has the corrected count
    // and keeps the document's words; the candidate keeps what was read.
    const id = await figure.getAttribute('data-id');
    await figure.locator('summary:has-text("Correct before accepting")').click();
    await figure.getByRole('spinbutton', { name: /^Figure:/ }).fill(String(violations + 1));
    await figure.getByRole('button', { name: /^Accept as new incident/ }).click();
    const decided = page.locator(`#intake-list li[data-id="${id}"]`);
    await decided.locator(':text("Accepted by analyst")').waitFor();
    assert.match(await decided.textContent(), new RegExp(`value: corrected from ${violations}\\b`));
    const cand = (await analyst(`/intake/candidates/${id}`)).body;
    assert.equal(cand.status, 'accepted');
    assert.equal(cand.value, violations + 1);
    assert.equal(cand.review.edited.value, violations);
    assert.equal(cand.review.record_kind, 'incident');
    const incident = (await analyst(`/incidents/${cand.review.record}`)).body;
    assert.equal(incident.ceasefire_violation.count, violations + 1);
    assert.equal(incident.sources[0].text, `${violations} ceasefire violations`);
    assert.equal(incident.sources[0].outlet, 'Wire agency (illustrative)');
    await screenshot(page, '11-intake');

    // Reject the tonnage: a reason is asked for first, and kept.
    const food = page.locator('#intake-list li', { hasText: `aid.food: ${tonnes} t` });
    await food.getByRole('button', { name: /^Reject:/ }).click();
    await food.locator('[role=alert]:has-text("Say why")').waitFor();
    await food.getByRole('textbox').fill('Figure not confirmed by the convoy manifest');
    await food.getByRole('button', { name: /^Reject:/ }).click();
    await food.locator(':text("Rejected by analyst")').waitFor();
    const rejected = (await analyst(`/intake/candidates/${await food.getAttribute('data-id')}`)).body;
    assert.equal(rejected.status, 'rejected');
    assert.equal(rejected.review.reason, 'Figure not confirmed by the convoy manifest');
  } finally { await b.close(); }
});
