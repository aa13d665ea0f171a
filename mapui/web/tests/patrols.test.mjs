// Patrols on the real server (issue #18): each patrol's tablet reports over OsmAnd under the
// device linked to the user; the wall (1920×1080) shows them as their own markers and lists
// them, an alert's detail lists them nearest first with the distance and the age of their
// position (the silent one flagged) and sends one; the wall shows the whole district or one
// port, kept in the URL; and a patrol of Erenhot sent by the district to an alert at Ceke opens
// it on its tablet, while another Ceke alert stays out of its list.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, crossingIn, feed, feedAll, km, launch, mapIdle, newPage, WALL, shots, startServer, uiLogin, until } from './helpers.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const pw = 'Patrol-Test-2026!';

const login = (page, user, hash) => uiLogin(page, server.base, hash, user, pw);

/** A truck declared for one port that crosses at another: a crossing_mismatch alert where it crossed. */
async function wrongPort(admin, zones, id, plate, crossAt, declared) {
  const now = Date.now();
  await apiCall(server.base, admin, 'POST', '/vehicles', { id, plate, kind: 'truck' });
  await apiCall(server.base, admin, 'POST', '/declarations', {
    id: `decl-${id}`, vehicle_id: id, direction: 'inbound', port_zone_id: declared,
    valid_from: new Date(now - 3600_000).toISOString(), valid_to: new Date(now + 6 * 3600_000).toISOString(),
  });
  const pts = crossingIn(zones, crossAt);
  await feedAll(server.osmand, pts.reverse().map((p, i) => ({ id, lon: p[0], lat: p[1], speed: 10, time: now - (8 - i) * 60_000 })), 1);
  const alert = await until(`the crossing_mismatch alert of ${id}`, async () =>
    (await apiCall(server.base, admin, 'GET', `/alerts?vehicle_id=${id}&type=crossing_mismatch`)).alerts[0]);
  return { alert, at: pts[pts.length - 1] };
}

test('patrols: markers and nearest patrol on the wall, district or one port, an assigned out-of-area alert opens on the tablet', async () => {
  const admin = await apiLogin(server.base);
  const zones = await apiCall(server.base, admin, 'GET', '/zones');
  await apiCall(server.base, admin, 'POST', '/users', { username: 'zhihui', password: pw, role: 'command', unit: 'district' });
  const ern = await wrongPort(admin, zones, 'TRK1', '蒙K·P1801', 'port-erenhot', 'port-ceke');
  const cek = await wrongPort(admin, zones, 'TRK2', '蒙M·P1802', 'port-ceke', 'port-erenhot');
  const cek2 = await wrongPort(admin, zones, 'TRK3', '蒙M·P1803', 'port-ceke', 'port-erenhot');

  // Three patrols, each with a tablet registered as an OsmAnd device on a patrol car, linked to
  // the user; the second has been silent for 20 minutes.
  const now = Date.now();
  const patrols = [
    { user: 'xuncha-a', unit: 'port-erenhot', plate: '蒙K·J0001', at: [ern.at[0], ern.at[1] - 0.13], time: now },
    { user: 'xuncha-b', unit: 'port-erenhot', plate: '蒙K·J0002', at: [ern.at[0], ern.at[1] - 0.027], time: now - 20 * 60_000 },
    { user: 'xuncha-c', unit: 'port-ceke', plate: '蒙M·J0001', at: [cek.at[0], cek.at[1] - 0.05], time: now },
  ];
  for (const [i, p] of patrols.entries()) {
    await apiCall(server.base, admin, 'POST', '/users', { username: p.user, password: pw, role: 'patrol', unit: p.unit });
    await apiCall(server.base, admin, 'POST', '/vehicles', { id: `PAT${i + 1}`, plate: p.plate, kind: 'patrol' });
    await apiCall(server.base, admin, 'POST', '/devices', { id: `tablet-${i + 1}`, protocol: 'osmand', vehicle_id: `PAT${i + 1}` });
    await apiCall(server.base, admin, 'PUT', `/users/${p.user}`, { device_id: `tablet-${i + 1}` });
    await feed(server.osmand, { id: `tablet-${i + 1}`, lon: p.at[0], lat: p.at[1], time: p.time });
  }
  const cmd = (await apiCall(server.base, admin, 'POST', '/login', { username: 'zhihui', password: pw })).token;
  await until('the patrols positioned', async () =>
    (await apiCall(server.base, cmd, 'GET', '/patrols')).patrols.filter((p) => p.lat !== undefined).length === 3);

  // The wall, the whole district: the patrols listed and drawn.
  const errors = [];
  const wall = await newPage(browser, errors, WALL);
  await login(wall, 'zhihui', '#/wall');
  await wall.waitForFunction(() => document.querySelectorAll('#wall-patrols li').length >= 3);
  await mapIdle(wall);
  const drawn = await wall.evaluate(() => window.bwMap.querySourceFeatures('patrols').map((f) => f.properties.label));
  for (const p of patrols) assert.ok(drawn.some((l) => l.startsWith(p.plate)), `patrol ${p.plate} on the map: ${drawn}`);
  const rowB = await wall.textContent('#wall-patrols li[data-patrol="xuncha-b"]');
  assert.match(rowB, /蒙K·J0002.*二连浩特.*空闲.*20分钟前/);
  assert.ok(await wall.$('#wall-patrols li[data-patrol="xuncha-b"].stale'));

  // The Erenhot alert: its nearest patrols, nearest first, with distance and age.
  await wall.click(`#ticker li[data-alert="${ern.alert.id}"]`);
  await wall.waitForSelector('#nearest-patrols li[data-patrol="xuncha-c"]');
  const order = await wall.$$eval('#nearest-patrols li[data-patrol]', (lis) => lis.map((li) => li.dataset.patrol).filter((u) => u.startsWith('xuncha')));
  assert.deepEqual(order, ['xuncha-b', 'xuncha-a', 'xuncha-c']);
  // The distance from where the alert stands, rounded as format.ts rounds it (3.8 km, 15 km).
  const shown = async (user) => {
    const text = await wall.textContent(`#nearest-patrols li[data-patrol="${user}"] .where`);
    const m = text.match(/^(\d+(?:\.\d)?)\s?km · (刚刚|.+?前)(.*)$/);
    assert.ok(m, `${user}: ${text}`);
    const want = km([ern.alert.lon, ern.alert.lat], patrols.find((p) => p.user === user).at);
    assert.ok(Math.abs(Number(m[1]) - want) <= (want < 10 ? 0.06 : 0.6), `${user}: ${m[1]} km shown, ${want.toFixed(2)} km away`);
    return { age: m[2], flag: m[3] };
  };
  const b = await shown('xuncha-b');
  assert.equal(b.age, '20分钟前');
  assert.match(b.flag, /定位超过10分钟/);
  const a = await shown('xuncha-a');
  assert.match(a.age, /^(刚刚|1分钟前)$/);
  assert.equal(a.flag, '');
  await shots(wall, 'patrols-wall-nearest', [1280, 800]);

  // Sending the nearest fresh patrol: its state changes in the list.
  await wall.click('#nearest-patrols li[data-patrol="xuncha-a"] .send');
  await wall.waitForFunction(() => document.querySelector('#nearest-patrols li[data-patrol="xuncha-a"] .pstatus')?.textContent === '已派待接');
  await wall.waitForFunction(() => document.querySelector('#wall-patrols li[data-patrol="xuncha-a"] .pstatus')?.textContent === '已派待接');

  // One port: Ceke's alerts and patrols only, kept in the URL across a reload.
  await wall.click('#alert-close');
  await wall.selectOption('#wall-scope', 'port-ceke');
  await wall.waitForFunction(() => location.hash === '#/wall?port=port-ceke');
  await wall.reload();
  await wall.waitForFunction(() => document.querySelector('#wall-scope')?.value === 'port-ceke');
  await wall.waitForSelector(`#ticker li[data-alert="${cek.alert.id}"]`);
  await wall.waitForFunction(() => document.querySelectorAll('#wall-patrols li').length === 1);
  assert.equal(await wall.$(`#ticker li[data-alert="${ern.alert.id}"]`), null);
  assert.equal(await wall.getAttribute('#wall-patrols li', 'data-patrol'), 'xuncha-c');
  assert.deepEqual(await wall.$$eval('#ports tbody tr', (trs) => trs.map((tr) => tr.dataset.port)), ['port-ceke']);
  await shots(wall, 'patrols-wall-one-port', [1280, 800]);
  // The patrol car's next OsmAnd fix moves its square at once, without waiting for the next read.
  const moved = [cek.at[0] + 0.05, cek.at[1] - 0.05];
  await feed(server.osmand, { id: 'tablet-3', lon: moved[0], lat: moved[1], time: Date.now() });
  await wall.waitForFunction(() => document.querySelector('#wall-patrols li[data-patrol="xuncha-c"] .page')?.textContent === '刚刚');
  await wall.waitForFunction((m) => window.bwMap.querySourceFeatures('patrols').some((f) =>
    Math.abs(f.geometry.coordinates[0] - m[0]) < 0.01 && Math.abs(f.geometry.coordinates[1] - m[1]) < 0.01), moved);

  // The Erenhot patrol does not see Ceke's alerts, until the district sends it to one.
  const patrolToken = (await apiCall(server.base, admin, 'POST', '/login', { username: 'xuncha-b', password: pw })).token;
  await assert.rejects(apiCall(server.base, patrolToken, 'GET', `/alerts/${cek.alert.id}`), /404/);
  const tablet = await newPage(browser, errors);
  await tablet.setViewportSize({ width: 1280, height: 800 });
  await login(tablet, 'xuncha-b', '#/tablet');
  await tablet.waitForSelector('#conn.up');
  await apiCall(server.base, cmd, 'POST', '/assignments', { alert_id: cek.alert.id, user: 'xuncha-b' });
  await tablet.waitForSelector('#assignments article .open-alert');
  await tablet.click('#assignments article .open-alert');
  await tablet.waitForFunction((p) => document.querySelector('#vehicle')?.textContent.includes(p), '蒙M·P1802');
  // The banners (new assignment, order fired) are read and tapped away first.
  for (const b of await tablet.$$('.target-banner')) await b.click();
  await shots(tablet, 'patrols-tablet-out-of-area', [1280, 800]);
  await shots(tablet, 'patrols-tablet-out-of-area-portrait', [800, 1280]);
  await tablet.click('#back');
  await tablet.waitForSelector(`#alerts button[data-alert="${cek.alert.id}"]`);
  assert.equal(await tablet.$(`#alerts button[data-alert="${cek2.alert.id}"]`), null);
  await assert.rejects(apiCall(server.base, patrolToken, 'GET', `/alerts/${cek2.alert.id}`), /404/);
  assert.deepEqual(errors, []);
  await wall.context().close();
  await tablet.context().close();
});

test('take-over: the district takes over a port order on #/targets, the port sees who and when and may no longer cancel it', async () => {
  const admin = await apiLogin(server.base);
  await apiCall(server.base, admin, 'POST', '/users', { username: 'zhihui2', password: pw, role: 'command', unit: 'district' });
  await apiCall(server.base, admin, 'POST', '/users', { username: 'erlian-zh', password: pw, role: 'command', unit: 'port-erenhot' });
  const port = (await apiCall(server.base, admin, 'POST', '/login', { username: 'erlian-zh', password: pw })).token;
  const o = await apiCall(server.base, port, 'POST', '/targets', { plate: '蒙K·Q2001', reason: 'intelligence', action: 'inspect_next_crossing', note: '情报：夹带' });
  assert.equal(o.level, 'port');

  const errors = [];
  const portDesk = await newPage(browser, errors);
  await login(portDesk, 'erlian-zh', '#/targets');
  const row = `#orders tr[data-order="${o.id}"]`;
  await portDesk.waitForSelector(row);
  assert.equal(await portDesk.$(`${row} .takeover`), null, 'a port is offered no take-over');

  const desk = await newPage(browser, errors);
  await login(desk, 'zhihui2', '#/targets');
  await desk.waitForSelector(`${row} .takeover`);
  await desk.click(`${row} .takeover`);
  await desk.waitForFunction((r) => document.querySelector(`${r} td.level`)?.textContent.startsWith('直属关'), row);
  assert.match(await desk.textContent(`${row} td.level .taken-over`), /^zhihui2 于 \d\d-\d\d \d\d:\d\d 接管$/);
  assert.equal(await desk.$(`${row} .takeover`), null);
  await desk.click(`${row} .dispatch-nearest`);
  await desk.waitForSelector(`tr.nearest-row[data-for="${o.id}"] li[data-patrol]`);
  await shots(desk, 'targets-takeover-nearest', [1280, 800]);

  // The port's screen follows the notice: the order is the district's now, taken over by whom.
  await portDesk.waitForSelector(`${row} td.level .taken-over`);
  assert.match(await portDesk.textContent(`${row} td.level`), /^直属关zhihui2 于/);
  assert.equal(await portDesk.$(`${row} .cancel`), null, 'no cancel for the port of an order the district holds');
  await assert.rejects(apiCall(server.base, port, 'DELETE', `/targets/${o.id}`), /403/);
  assert.equal((await apiCall(server.base, port, 'GET', `/targets/${o.id}`)).status, 'active');
  // The patrols' units are named by their ports, here too.
  await portDesk.click(`${row} .dispatch-nearest`);
  await portDesk.waitForSelector(`tr.nearest-row[data-for="${o.id}"] li[data-patrol]`);
  assert.match(await portDesk.textContent(`tr.nearest-row[data-for="${o.id}"] li[data-patrol] .who small`), /二连浩特口岸$/);
  await shots(portDesk, 'targets-taken-over-port', [1280, 800]);
  assert.deepEqual(errors, []);
  await portDesk.context().close();
  await desk.context().close();
});

test('linking a tablet: the administrator picks a patrol’s OsmAnd device; a port’s wall has no scope picker and shows its patrols only', async () => {
  const admin = await apiLogin(server.base);
  await apiCall(server.base, admin, 'POST', '/users', { username: 'xuncha-d', password: pw, role: 'patrol', unit: 'port-erenhot' });
  const errors = [];
  const page = await newPage(browser, errors);
  await uiLogin(page, server.base, '#/admin?tab=users');
  const row = '#admin-users tr[data-user="xuncha-d"]';
  await page.waitForSelector(`${row} select[name=device]`);
  assert.match(await page.textContent('#admin-users tr[data-user="xuncha-c"] td:nth-child(3)'), /^策克口岸 · 巡查平板 tablet-3 · 蒙M·J0001$/);
  await page.selectOption(`${row} select[name=device]`, 'tablet-1');
  await page.click(`${row} button.device`);
  await page.waitForFunction((r) => document.querySelector(`${r} td:nth-child(3)`)?.textContent.includes('巡查平板 tablet-1'), row);
  const users = (await apiCall(server.base, admin, 'GET', '/users')).users;
  assert.equal(users.find((u) => u.username === 'xuncha-d').device_id, 'tablet-1');
  await shots(page, 'admin-users-tablet', [1280, 800]);

  // Erenhot's command: its port's area, its patrols (the new one where its tablet is), no picker.
  const wall = await newPage(browser, errors, WALL);
  await login(wall, 'erlian-zh', '#/wall');
  await wall.waitForSelector('#wall-patrols li[data-patrol="xuncha-d"]');
  assert.equal(await wall.$('#wall-scope'), null);
  const shown = await wall.$$eval('#wall-patrols li', (lis) => lis.map((li) => li.dataset.patrol).sort());
  assert.deepEqual(shown, ['xuncha-a', 'xuncha-b', 'xuncha-d']);
  assert.deepEqual(errors, []);
});
