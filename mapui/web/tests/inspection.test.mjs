// An inspection's photos in the alert's evidence, on the real server: a truck crossing at the
// wrong port raises an alert, district command targets it, its gate read fires the order, the
// Erenhot patrol photographs the truck (the tablet's alert detail shows the thumbnails, which
// open full size) and reports a finding; the wall's alert detail shows the result and the
// photos; Ceke's patrol cannot fetch them; the investigator downloads the evidence bundle.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { apiCall, apiLogin, crossingIn, feedAll, launch, newPage, WALL, shotsDir, sleep, startServer, uiLogin, until } from './helpers.mjs';

const run = promisify(execFile);
let server, browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const login = (page, user, password, hash) => uiLogin(page, server.base, hash, user, password);

/** A camera-like JPEG drawn in the browser: a truck's load with a label, 1600×1200. */
async function photo(page, label, hue) {
  const b64 = await page.evaluate(([label, hue]) => {
    const c = document.createElement('canvas');
    c.width = 1600;
    c.height = 1200;
    const g = c.getContext('2d');
    const grad = g.createLinearGradient(0, 0, 1600, 1200);
    grad.addColorStop(0, `hsl(${hue},40%,35%)`);
    grad.addColorStop(1, `hsl(${hue + 40},30%,15%)`);
    g.fillStyle = grad;
    g.fillRect(0, 0, 1600, 1200);
    for (let i = 0; i < 12; i++) {
      g.fillStyle = `hsl(${hue + i * 7},35%,${30 + (i % 3) * 10}%)`;
      g.fillRect(120 + (i % 4) * 340, 260 + Math.floor(i / 4) * 260, 300, 220);
    }
    g.fillStyle = '#fff';
    g.font = 'bold 96px sans-serif';
    g.fillText(label, 120, 160);
    return c.toDataURL('image/jpeg', 0.85).split(',')[1];
  }, [label, hue]);
  return Buffer.from(b64, 'base64');
}

async function upload(token, orderId, bytes) {
  const form = new FormData();
  form.append('photo', new Blob([bytes], { type: 'image/jpeg' }), 'IMG.jpg');
  const res = await fetch(`${server.base}/api/v1/targets/${orderId}/photos`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
  const body = await res.text();
  assert.equal(res.status, 201, body);
  return JSON.parse(body).sha256;
}

test('inspection photos in the alert evidence: tablet, wall, attacks, evidence bundle', async () => {
  const admin = await apiLogin(server.base);
  const pw = 'Inspection-Test-2026!';
  const users = [['zhihui', 'command', 'district'], ['xuncha', 'patrol', 'port-erenhot'], ['xunke', 'patrol', 'port-ceke'], ['diaocha', 'investigator', '']];
  for (const [username, role, unit] of users) await apiCall(server.base, admin, 'POST', '/users', { username, password: pw, role, ...(unit ? { unit } : {}) });
  const token = async (u) => (await apiCall(server.base, admin, 'POST', '/login', { username: u, password: pw })).token;
  const plate = '蒙K·P2718';
  await apiCall(server.base, admin, 'POST', '/vehicles', { id: 'PHO1', plate, kind: 'truck' });
  const now = Date.now();
  await apiCall(server.base, admin, 'POST', '/declarations', {
    id: 'decl-pho1', vehicle_id: 'PHO1', direction: 'inbound', port_zone_id: 'port-ceke',
    valid_from: new Date(now - 3600_000).toISOString(), valid_to: new Date(now + 6 * 3600_000).toISOString(),
  });

  // The wall and the tablet are open before the alert is raised.
  const errors = [];
  const wall = await newPage(browser, errors, WALL);
  await login(wall, 'zhihui', pw, '#/wall');
  const tablet = await newPage(browser, errors);
  await tablet.setViewportSize({ width: 1280, height: 800 });
  await login(tablet, 'xuncha', pw, '#/tablet');
  await tablet.waitForSelector('#conn.up');

  const zones = await apiCall(server.base, admin, 'GET', '/zones');
  const pts = crossingIn(zones, 'port-erenhot');
  await feedAll(server.osmand, pts.reverse().map((p, i) => ({ id: 'PHO1', lon: p[0], lat: p[1], speed: 10, time: now - (8 - i) * 60_000 })), 1);
  const alert = await until('the crossing_mismatch alert', async () =>
    (await apiCall(server.base, admin, 'GET', '/alerts?vehicle_id=PHO1&type=crossing_mismatch')).alerts[0]);

  const cmd = await token('zhihui');
  const order = await apiCall(server.base, cmd, 'POST', '/targets', { alert_id: alert.id, reason: 'alert', action: 'inspect_next_crossing', note: '错口岸入境，下次过卡查验' });
  const gate = await apiCall(server.base, cmd, 'POST', '/gate-events', { gate_zone_id: 'port-erenhot', plate: '蒙KP2718', direction: 'out' });
  assert.equal(gate.hold, true);
  // The wall's banner for the order that fired stays until the order ends (below).
  await wall.waitForSelector(`.target-banner.kind-fired[data-order="${order.id}"]`);
  const patrol = await token('xuncha');
  const bytes = [await photo(tablet, '车厢 1', 20), await photo(tablet, '夹层 2', 200), await photo(tablet, '货物 3', 120)];
  const shas = [];
  for (const b of bytes) shas.push(await upload(patrol, order.id, b));
  assert.deepEqual(shas, bytes.map((b) => createHash('sha256').update(b).digest('hex')));

  // The tablet: the alert's detail shows the inspection under way and its photos.
  const item = `button.alert-item[data-alert="${alert.id}"]`;
  await tablet.waitForSelector(item);
  await tablet.click(item);
  await tablet.waitForFunction((n) => document.querySelectorAll('#inspections .photo-strip img[src^="blob:"]').length === n, shas.length);
  await tablet.waitForFunction(() => document.querySelector('#inspections')?.textContent.includes('二连浩特口岸'));
  assert.match(await tablet.textContent('#inspections'), /尚未报告结果/);
  assert.doesNotMatch(await tablet.textContent('#inspections'), /未登记区域|port-erenhot/);
  await tablet.evaluate(() => document.querySelector('#inspections')?.scrollIntoView());
  await tablet.screenshot({ path: join(shotsDir, 'inspection-tablet-detail-1280x800.png') });
  await tablet.setViewportSize({ width: 800, height: 1280 });
  await tablet.evaluate(() => document.querySelector('#inspections')?.scrollIntoView());
  await tablet.screenshot({ path: join(shotsDir, 'inspection-tablet-detail-800x1280.png') });
  await tablet.setViewportSize({ width: 1280, height: 800 });
  await tablet.click(`#inspections img[data-sha="${shas[1]}"]`);
  await tablet.waitForSelector('#photo-view img');
  assert.match(await tablet.textContent('#photo-view'), new RegExp(shas[1]));
  await tablet.screenshot({ path: join(shotsDir, 'inspection-tablet-photo-1280x800.png') });
  await tablet.click('#photo-close');
  await tablet.waitForSelector('#photo-view', { state: 'detached' });

  // Command sends the patrol; the truck has driven on along the corridor to the yard. The
  // tablet, at the port, routes along the corridor, with the distance and time in words.
  const corridor = zones.features.find((f) => f.properties.id === 'corridor-erenhot-yard1').geometry.coordinates;
  const on = [corridor[0][0] + (corridor[1][0] - corridor[0][0]) * 0.7, corridor[0][1] + (corridor[1][1] - corridor[0][1]) * 0.7];
  await feedAll(server.osmand, [{ id: 'PHO1', lon: on[0], lat: on[1], speed: 40, time: Date.now() }], 1);
  await until('the truck on the corridor', async () =>
    (await apiCall(server.base, admin, 'GET', '/positions')).positions.some((p) => p.vehicle_id === 'PHO1' && Math.abs(p.lon - on[0]) < 1e-6));
  await apiCall(server.base, cmd, 'POST', '/assignments', { order_id: order.id, user: 'xuncha' });
  await tablet.context().grantPermissions(['geolocation']);
  await tablet.context().setGeolocation({ longitude: corridor[0][0] + 0.004, latitude: corridor[0][1] + 0.003 });
  // The notices came with their sound; the patrol taps them away to go back to the list.
  await tablet.waitForSelector(`.target-banner.kind-assigned[data-order="${order.id}"]`);
  await tablet.screenshot({ path: join(shotsDir, 'inspection-tablet-banners-1280x800.png') });
  while (await tablet.$('.target-banner')) await tablet.click('.target-banner');
  await tablet.click('#back');
  const card = `#assignments article[data-order="${order.id}"]`;
  await tablet.waitForSelector(`${card} .route`);
  await tablet.click(`${card} .route`);
  await tablet.waitForFunction((c) => document.querySelector(`${c} .msg`)?.dataset.route, card);
  assert.equal(await tablet.$eval(`${card} .msg`, (m) => m.dataset.route), 'road');
  assert.match(await tablet.textContent(`${card} .msg`), /^最后定位 \d\d-\d\d \d\d:\d\d · 沿监管通道 [\d.]+\u00a0(km|m)，约需 \d+分钟$/);
  await sleep(1500); // the map's flight to the route
  await tablet.screenshot({ path: join(shotsDir, 'inspection-tablet-route-1280x800.png') });

  // The wall has the alert open while the inspection is under way; the daily panel counts.
  const tick = `#ticker li[data-alert="${alert.id}"]`;
  await wall.waitForSelector(tick);
  await wall.click(tick);
  await wall.waitForFunction(() => /尚未报告结果/.test(document.querySelector('#inspections')?.textContent ?? ''));
  const figure = (name) => wall.evaluate((name) => {
    const dt = [...document.querySelectorAll('#daily-figures dt')].find((x) => x.textContent === name);
    return dt ? Number(dt.nextElementSibling.textContent) : NaN;
  }, name);
  await until('the daily panel', async () => !Number.isNaN(await figure('查验')));
  const [inspected, hits] = [await figure('查验'), await figure('查获')];

  await apiCall(server.base, patrol, 'POST', `/targets/${order.id}/result`, { found: true, category: 'undeclared_goods', note: '车厢夹层查获未申报的铜精矿约2吨' });

  // The wall: the open detail shows the result as it arrives on the live socket, with the
  // photos, and the daily panel counts the inspection and the hit at once.
  await wall.waitForFunction(() => /查获：未申报货物/.test(document.querySelector('#inspections')?.textContent ?? ''), null, { timeout: 30_000 });
  await wall.waitForSelector(`.target-banner[data-order="${order.id}"]`, { state: 'detached' });
  await until('the daily panel counting the finding', async () => (await figure('查验')) === inspected + 1 && (await figure('查获')) === hits + 1);
  await wall.waitForFunction((n) => document.querySelectorAll('#inspections .photo-strip img[src^="blob:"]').length === n, shas.length);
  const text = await wall.textContent('#inspections');
  for (const s of ['布控与查验', '查获：未申报货物', '车厢夹层查获未申报的铜精矿约2吨', 'xuncha', '北京时间']) assert.ok(text.includes(s), `wall inspection lacks ${s}: ${text}`);
  assert.ok(!text.includes(order.id), 'the order id is shown');
  assert.equal(await wall.$('#export-evidence'), null, 'command sees the evidence export');
  await wall.screenshot({ path: join(shotsDir, 'inspection-wall-detail-1920x1080.png') });
  await wall.evaluate(() => document.querySelector('#inspections .photo-strip')?.scrollIntoView({ block: 'end' }));
  await wall.screenshot({ path: join(shotsDir, 'inspection-wall-photos-1920x1080.png') });
  await wall.click(`#inspections img[data-sha="${shas[0]}"]`);
  await wall.waitForSelector('#photo-view img');
  const size = await wall.$eval('#photo-view img', (img) => [img.naturalWidth, img.naturalHeight]);
  assert.deepEqual(size, [1600, 1200], 'the full-size photo');
  await wall.screenshot({ path: join(shotsDir, 'inspection-wall-photo-1920x1080.png') });
  await wall.keyboard.press('Escape');
  await wall.waitForSelector('#photo-view', { state: 'detached' });

  // Ceke's patrol may not see Erenhot's alert, nor its photos, whatever it asks for.
  const other = await token('xunke');
  for (const path of [`/alerts/${alert.id}`, `/alerts/${alert.id}/photos/${shas[0]}`]) {
    const res = await fetch(`${server.base}/api/v1${path}`, { headers: { Authorization: `Bearer ${other}` } });
    assert.equal(res.status, 404, path);
  }
  const bad = await fetch(`${server.base}/api/v1/alerts/${alert.id}/photos/..%2F..%2F${shas[0]}`, { headers: { Authorization: `Bearer ${patrol}` } });
  assert.notEqual(bad.status, 200);

  await wall.context().close();
  await tablet.context().close();
  // The investigator exports the evidence bundle from the alert list.
  const desk = await newPage(browser, errors, WALL);
  await login(desk, 'diaocha', pw, '#/alerts');
  const row = `#alert-table tr[data-alert="${alert.id}"]`;
  await desk.waitForSelector(row);
  await desk.click(row);
  await desk.waitForSelector('#export-evidence');
  await desk.waitForFunction((n) => document.querySelectorAll('#inspections .photo-strip img[src^="blob:"]').length === n, shas.length);
  await desk.screenshot({ path: join(shotsDir, 'inspection-alertlist-detail-1920x1080.png') });
  const [download] = await Promise.all([desk.waitForEvent('download'), desk.click('#export-evidence')]);
  assert.match(download.suggestedFilename(), new RegExp(`^证据_蒙K·P2718_告警${alert.id}_\\d{8}-\\d{4}\\.zip$`));
  const dir = await mkdtemp(join(tmpdir(), 'bw-evidence-'));
  const zip = join(dir, 'bundle.zip');
  await download.saveAs(zip);
  assert.equal((await readFile(zip)).subarray(0, 2).toString(), 'PK');
  await run('unzip', ['-q', zip, '-d', dir]);
  const { stdout } = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dir });
  for (const sha of shas) assert.match(stdout, new RegExp(`photos/${sha}\\.jpg: OK`));
  assert.match(await readFile(join(dir, '说明.txt'), 'utf8'), /查获：未申报货物/);
  assert.deepEqual(errors, []);
});
