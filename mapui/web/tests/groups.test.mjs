// The gang graph with both edge kinds on the real server: two trucks cross Erenhot together on
// three days (a solid line), and a car stops beside one of them in China, off every road and
// zone, on two days: the rules raise a meeting each time and the car joins the group by a
// dashed line. Two trucks that stood together in a yard (where stopping is allowed) are no
// meeting and in no group. The legend names both kinds; a click on the car opens its replay.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, crossingIn, feedAll, inRing, launch, newPage, places, shots, sleep, startServer, uiLogin } from './helpers.mjs';

let server, browser, where;
before(async () => {
  server = await startServer();
  where = await places(server);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const DAY = 86_400_000;

/** Fixes of a vehicle standing at p from t for 14 minutes, a few metres of noise apart. */
function stand(id, p, t) {
  return Array.from({ length: 15 }, (_, i) => ({ id, lon: p[0] + ((i % 3) - 1) * 2e-5, lat: p[1] + ((i % 2) - 0.5) * 2e-5, speed: 0, time: t + i * 60_000 }));
}

/** Waits until the server holds n meeting alerts. */
async function meetings(token, n) {
  for (let i = 0; i < 120; i++) {
    const { alerts } = await apiCall(server.base, token, 'GET', '/alerts?type=meeting');
    if (alerts.length >= n) return alerts;
    await sleep(500);
  }
  throw new Error(`fewer than ${n} meeting alerts after a minute`);
}

test('gang graph: crossings together and meetings as two kinds of edge', { timeout: 240_000 }, async () => {
  const token = await apiLogin(server.base);
  const vehicles = [['MT1', '蒙K·M0001', 'truck'], ['MT2', '蒙K·M0002', 'truck'], ['MCT', '蒙K·M0009', 'car'], ['YD1', '蒙K·Y0001', 'truck'], ['YD2', '蒙K·Y0002', 'truck']];
  for (const [id, plate, kind] of vehicles) await apiCall(server.base, token, 'POST', '/vehicles', { id, plate, kind });
  const zones = await apiCall(server.base, token, 'GET', '/zones');
  const pts = crossingIn(zones, 'port-erenhot');
  const now = Date.now();
  // Days 5 to 3: the trucks cross together, 40 s apart.
  const cross = [];
  for (const d of [5, 4, 3]) {
    ['MT1', 'MT2'].forEach((id, k) => pts.forEach((p, i) => cross.push({ id, lon: p[0], lat: p[1], speed: 10, time: now - d * DAY + k * 40_000 + i * 20_000 })));
  }
  // The yard's trucks stand together on day 3.
  const yard = zones.features.find((f) => f.properties.kind === 'yard' && f.geometry.type === 'Polygon');
  const ring = yard.geometry.coordinates[0];
  const inYard = [ring.reduce((s, c) => s + c[0], 0) / ring.length, ring.reduce((s, c) => s + c[1], 0) / ring.length];
  assert.ok(inRing(inYard, ring));
  const yardStay = [...stand('YD1', inYard, now - 3 * DAY), ...stand('YD2', inYard, now - 3 * DAY + 30_000)];
  for (const id of ['MT1', 'MT2', 'YD1', 'YD2']) await feedAll(server.osmand, [...cross, ...yardStay].filter((f) => f.id === id), 1);

  // Days 2 and 1: MT1 and the car stand side by side 11 km inside China, far from every port.
  const { at, normal } = where.crossing;
  const spot = [at[0] - normal[0] * 0.1, at[1] - normal[1] * 0.1];
  for (const [n, d] of [[1, 2], [2, 1]]) {
    const t0 = now - d * DAY;
    await feedAll(server.osmand, stand('MT1', spot, t0), 1);
    await feedAll(server.osmand, stand('MCT', [spot[0] + 3e-4, spot[1]], t0 + 60_000), 1);
    await meetings(token, n);
    console.log(`# meeting ${n} after ${Math.round((Date.now() - now) / 1000)} s`);
    // Both drive off (two fixes: the rules take one fix astray for GPS noise), ending the stop.
    for (const id of ['MT1', 'MCT']) {
      await feedAll(server.osmand, [1, 2].map((k) => ({ id, lon: spot[0] + 0.02 * k, lat: spot[1], speed: 50, time: t0 + (28 + k) * 60_000 })), 1);
    }
  }
  const all = await meetings(token, 2);
  assert.equal(all.length, 2, 'one meeting a day, none in the yard');

  let groups = [];
  for (let i = 0; i < 60 && !(groups.length && groups[0].members.length === 3); i++) {
    groups = (await apiCall(server.base, token, 'GET', '/groups')).groups;
    if (!(groups.length && groups[0].members.length === 3)) await sleep(500);
  }
  assert.equal(groups.length, 1, 'one group');
  assert.deepEqual(groups[0].members.map((m) => m.vehicle_id), ['MCT', 'MT1', 'MT2']);
  const kinds = Object.fromEntries(groups[0].edges.map((e) => [`${e.a}-${e.b}`, e.kinds.join(',')]));
  assert.deepEqual(kinds, { 'MCT-MT1': 'meeting', 'MT1-MT2': 'crossing' });

  console.log(`# groups after ${Math.round((Date.now() - now) / 1000)} s`);
  const errors = [];
  const page = await newPage(browser, errors);
  await uiLogin(page, server.base, '#/groups');
  // A line may be flat: waited for as present, not as visible.
  await page.waitForSelector('.group-graph .edge-meeting', { state: 'attached' });
  await shots(page, 'groups-kinds');
  assert.equal(await page.$$eval('.group-graph .edge-crossing', (n) => n.length), 1);
  assert.equal(await page.$$eval('.group-graph .edge-meeting', (n) => n.length), 1);
  const dash = await page.$eval('.group-graph .edge-meeting', (e) => getComputedStyle(e).strokeDasharray);
  assert.notEqual(dash, 'none', 'meetings are dashed');
  const legend = await page.textContent('#groups-legend');
  assert.match(legend, /同行过境/);
  assert.match(legend, /停车会面/);
  const text = await page.textContent('main');
  for (const want of ['蒙K·M0001', '蒙K·M0002', '蒙K·M0009', '会面记录', '北京时间']) assert.ok(text.includes(want), `the view shows ${want}`);
  for (const never of ['蒙K·Y0001', '蒙K·Y0002', 'MCT', 'MT1', 'meeting', 'crossing', '{"', 'undefined']) assert.ok(!text.includes(never), `the view does not show ${never}`);
  const title = await page.$eval('.group-graph .edge-meeting title', (e) => e.textContent);
  assert.match(title, /蒙K·M0009 — 蒙K·M0001：停车会面 2次（2天），最近一次 \d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
  await page.click('.group-graph .node[data-vehicle="MCT"]');
  await page.waitForFunction(() => location.hash.startsWith('#/replay?vehicle=MCT&from='));
  assert.deepEqual(errors, []);
});
