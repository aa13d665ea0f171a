// Administration screens against the real server: an administrator registers a vehicle and a
// device, binds them, draws and edits a zone, declares, creates a user and looks at webhook
// deliveries; the auditor then finds each of those actions in words in the audit view. A patrol
// officer is offered none of it and a direct URL is refused. Attacks: HTML in a plate, a huge
// and a malformed GeoJSON import.
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, launch, newPage, PASSWORD, shotsDir, startServer } from './helpers.mjs';

const notesShots = process.env.BW_NOTES_SHOTS; // also copy the screenshots there when set
let server, browser, token;
const XSS_PLATE = '<img src=x onerror="window.__xss=1">';

before(async () => {
  server = await startServer();
  browser = await launch();
  token = await apiLogin(server.base);
  for (const [username, role] of [['auditor1', 'auditor'], ['patrol1', 'patrol'], ['simulator', 'command']]) {
    await apiCall(server.base, token, 'POST', '/users', { username, password: PASSWORD, role });
  }
  await apiCall(server.base, token, 'POST', '/vehicles', { id: 'XSS-1', plate: XSS_PLATE, kind: 'car' });
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Logs in at hash: straight to the view under test, not through the role's home (a map for most). */
async function loginAs(username, hash = '#/') {
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/${hash}`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav.topbar');
  return { page, errors };
}

async function tab(page, name) {
  await page.evaluate((n) => (location.hash = `#/admin?tab=${n}`), name);
  await page.waitForFunction((n) => document.querySelector('main.view-admin')?.dataset.tab === n, name);
}

const message = (page) => page.waitForFunction(() => document.querySelector('.admin-msg')?.textContent).then(() => page.textContent('.admin-msg'));
async function submitted(page, form) {
  await page.evaluate(() => (document.querySelector('.admin-msg').textContent = ''));
  await page.click(`${form} button[type=submit]`);
  const m = await message(page);
  assert.match(m, /已保存/, `${form}: ${m}`);
}

/** As helpers' shots(): the walk through 1920×1080 and 1280×800 with BW_WEB_SHOTS=1 or
 *  BW_NOTES_SHOTS set, else one screenshot at the page's own size (each size redraws the map). */
async function snap(page, name) {
  await mkdir(shotsDir, { recursive: true });
  const before = page.viewportSize();
  const walk = process.env.BW_WEB_SHOTS === '1' || notesShots;
  for (const [w, hgt] of walk ? [[1920, 1080], [1280, 800]] : [[before.width, before.height]]) {
    await page.setViewportSize({ width: w, height: hgt });
    await page.evaluate(() => { if (document.querySelector('main .maplibregl-map')) window.bwMap.resize(); });
    await page.waitForFunction(() => !document.querySelector('main .maplibregl-map') || window.bwMap.loaded());
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const file = join(shotsDir, `admin-${name}-${w}x${hgt}.png`);
    await page.screenshot({ path: file });
    if (notesShots) await copyFile(file, join(notesShots, `admin-${name}-${w}x${hgt}.png`));
  }
  await page.setViewportSize(before);
}

/** The visible text of the main view must carry no internal id, no raw JSON, no UTC time. */
async function readable(page, where) {
  const text = await page.textContent('main');
  assert.doesNotMatch(text, /\b(port|corridor|yard)-[a-z]/, `${where}: an internal zone id`);
  assert.doesNotMatch(text, /[{"]\s*"?[a-z_]+"\s*:/, `${where}: raw JSON`);
  assert.doesNotMatch(text, /\d{4}-\d\d-\d\dT\d\d:\d\d/, `${where}: an ISO/UTC time`);
}

test('admin: registers, binds, draws, declares and creates a user through the screens; the auditor reads it in Chinese', async () => {
  const { page, errors } = await loginAs('admin', '#/admin?tab=vehicles');
  const nav = await page.$$eval('nav.topbar a', (as) => as.map((a) => a.getAttribute('href')));
  assert.ok(nav.includes('#/admin'), `admin menu offered: ${nav}`);
  await tab(page, 'vehicles');
  const tabs = await page.$$eval('.admin-tabs a', (as) => as.map((a) => a.textContent));
  assert.deepEqual(tabs, ['车辆与终端', '区域', '申报', '用户与角色', '推送']);

  // A vehicle, then a device not yet bound, then the binding from the device's row.
  await page.fill('#vehicle-form input[name=vehicle_id]', 'TRK-ADM-1');
  await page.fill('#vehicle-form input[name=plate]', '蒙B12345');
  await submitted(page, '#vehicle-form');
  await page.waitForSelector('#admin-vehicles tr[data-id="TRK-ADM-1"]');
  await page.fill('#device-form input[name=device_id]', '13900000001');
  await submitted(page, '#device-form');
  await page.waitForSelector('#admin-devices tr[data-id="13900000001"]');
  await page.click('#admin-devices tr[data-id="13900000001"] button.bind-open');
  await page.selectOption('#admin-devices tr[data-id="13900000001"] select', 'TRK-ADM-1');
  await page.click('#admin-devices tr[data-id="13900000001"] button.bind');
  await page.waitForFunction(() => document.querySelector('#admin-vehicles tr[data-id="TRK-ADM-1"] td:nth-child(3)')?.textContent.startsWith('13900000001'));
  const row = await page.$$eval('#admin-vehicles tr[data-id="TRK-ADM-1"] td', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(row.slice(0, 4), ['蒙B12345', '货车', '13900000001 · JT/T 808', '从未']);
  assert.equal((await apiCall(server.base, token, 'GET', '/devices/13900000001')).vehicle_id, 'TRK-ADM-1');

  // A refusal reads as the server's reason, not JSON.
  await page.fill('#device-form input[name=device_id]', '0123');
  await page.click('#device-form button[type=submit]');
  await page.waitForFunction(() => /操作失败/.test(document.querySelector('.admin-msg').textContent));
  assert.match(await page.textContent('.admin-msg'), /^操作失败：a jt808 device id .* \(400\)$/);

  // HTML in a plate is text.
  const xss = await page.textContent('#admin-vehicles tr[data-id="XSS-1"] td.plate');
  assert.equal(xss, XSS_PLATE);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await readable(page, 'vehicles');
  await snap(page, 'vehicles');

  // Zones: draw a square of four vertices on the map, name it, save.
  await tab(page, 'zones');
  await page.waitForFunction(() => document.querySelector('.admin-body')?.dataset.ready === 'true');
  const names = await page.$$eval('#admin-zones td.name', (tds) => tds.map((td) => td.textContent));
  assert.ok(names.includes('策克口岸'), `zone list by Chinese name: ${names}`);
  await page.click('#zone-draw');
  await page.evaluate(() => { window.bwMap.jumpTo({ center: [106.5, 41.5], zoom: 10 }); });
  const box = await page.$eval('#zone-map', (el) => { const r = el.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; });
  for (const [dx, dy] of [[-80, -80], [80, -80], [80, 80], [-80, 80]]) await page.mouse.click(box.x + dx, box.y + dy);
  await page.waitForFunction(() => document.querySelector('.admin-body').dataset.vertices === '4');
  await page.fill('#zone-editor input[name=zone_id]', 'yard-admin-test');
  await page.fill('#zone-editor input[name=zone_name]', '测试堆场');
  await page.selectOption('#zone-editor select[name=zone_kind]', 'yard');
  await submitted(page, '#zone-editor');
  await page.waitForSelector('#admin-zones tr[data-id="yard-admin-test"]');
  const drawn = await apiCall(server.base, token, 'GET', '/zones/yard-admin-test');
  assert.equal(drawn.geometry.coordinates[0].length, 5);
  assert.equal(drawn.properties.name, '测试堆场');

  // Edit it: drag one vertex 60 px right, save; the stored corner moved east.
  await page.click('#admin-zones tr[data-id="yard-admin-test"] button.edit');
  await page.waitForFunction(() => document.querySelector('.admin-body').dataset.editing === 'yard-admin-test');
  // The corners are grabbed where they are drawn: wait for the frame that draws them.
  await page.waitForFunction(() => window.bwMap.queryRenderedFeatures({ layers: ['edit-vertex'] }).length >= 4);
  const corner = drawn.geometry.coordinates[0][1];
  const px = await page.evaluate((c) => { const p = window.bwMap.project(c); const r = document.querySelector('#zone-map').getBoundingClientRect(); return { x: r.x + p.x, y: r.y + p.y }; }, corner);
  await page.mouse.move(px.x, px.y);
  await page.mouse.down();
  await page.mouse.move(px.x + 30, px.y, { steps: 3 });
  await page.mouse.move(px.x + 60, px.y, { steps: 3 });
  await page.mouse.up();
  await snap(page, 'zone-editor');
  await submitted(page, '#zone-editor');
  const edited = await apiCall(server.base, token, 'GET', '/zones/yard-admin-test');
  assert.ok(edited.geometry.coordinates[0][1][0] > corner[0] + 0.001, `vertex moved east: ${corner} → ${edited.geometry.coordinates[0][1]}`);
  assert.equal(edited.geometry.coordinates[0].length, 5);

  // Imports that must fail readably: a file over the limit, a file that is not GeoJSON, a zone the server refuses.
  const importFile = async (name, buffer) => {
    await page.evaluate(() => (document.querySelector('.admin-msg').textContent = ''));
    await page.setInputFiles('#zone-import', { name, mimeType: 'application/json', buffer });
    return message(page);
  };
  assert.match(await importFile('huge.geojson', Buffer.alloc(9 << 20, 32)), /^操作失败：文件过大（上限 8 MB）: 9\.0 MB$/);
  assert.match(await importFile('broken.geojson', Buffer.from('{"type":"FeatureCollection","features":[')), /^操作失败：文件不是有效的 GeoJSON: broken\.geojson$/);
  const badZone = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { id: 'bad', name: '<b>坏</b>', kind: 'yard' }, geometry: { type: 'LineString', coordinates: [[106, 41], [106.1, 41]] } }] };
  assert.match(await importFile('bad.geojson', Buffer.from(JSON.stringify(badZone))), /^操作失败：.*Polygon.*\(422\)$/);
  const good = { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { id: 'yard-imported', name: '<i>导入堆场</i>', kind: 'yard' }, geometry: { type: 'Polygon', coordinates: [[[106, 41], [106.1, 41], [106.1, 41.1], [106, 41]]] } }] };
  assert.equal(await importFile('good.geojson', Buffer.from(JSON.stringify(good))), '已导入区域 · <i>导入堆场</i>');
  await page.waitForSelector('#admin-zones tr[data-id="yard-imported"]');
  assert.equal(await page.textContent('#admin-zones tr[data-id="yard-imported"] td.name'), '<i>导入堆场</i>');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#zone-export')]);
  assert.match(download.suggestedFilename(), /^zones-\d{4}-\d\d-\d\d\.geojson$/);
  await readable(page, 'zones');

  // A declaration picked by plate and zone names.
  await tab(page, 'declarations');
  await page.waitForFunction(() => document.querySelector('#declaration-form select[name=vehicle] option[value="TRK-ADM-1"]'));
  await page.fill('#declaration-form input[name=declaration_id]', 'D-ADMIN-1');
  await page.selectOption('#declaration-form select[name=vehicle]', { label: '蒙B12345 · 货车' });
  await page.selectOption('#declaration-form select[name=port]', { label: '策克口岸' });
  await page.fill('#declaration-form input[name=seal_id]', 'SEAL-9');
  await page.fill('#declaration-form input[name=cargo]', '煤炭');
  await page.fill('#declaration-form input[name=net_kg]', '30000');
  await submitted(page, '#declaration-form');
  await page.waitForSelector('#admin-declarations tr[data-id="D-ADMIN-1"]');
  const decl = await page.$$eval('#admin-declarations tr[data-id="D-ADMIN-1"] td', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual([decl[1], decl[2], decl[3], decl[6], decl[7]], ['蒙B12345', '出境', '策克口岸', '煤炭 · 30.0吨', '有效']);
  await readable(page, 'declarations');

  // A user.
  await tab(page, 'users');
  await page.fill('#user-form input[name=username]', 'patrol2');
  await page.fill('#user-form input[name=password]', PASSWORD);
  await submitted(page, '#user-form');
  await page.waitForSelector('#admin-users tr[data-user="patrol2"]');
  assert.match(await page.textContent('#admin-users tr[data-user="patrol2"]'), /^patrol2巡查员全关区正常/);

  // Webhooks: no receiver and no delivery in this run (webhooks.test.mjs adds receivers).
  await tab(page, 'webhooks');
  await page.waitForFunction(() => document.querySelector('.admin-body')?.dataset.deliveries === '0');
  assert.match(await page.textContent('main'), /推送接收方.*推送记录/);
  assert.deepEqual(errors, []);
  await page.context().close();

  // The simulator's account acts too (as the demo's does).
  const simToken = (await (await fetch(`${server.base}/api/v1/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'simulator', password: PASSWORD }) })).json()).token;
  await apiCall(server.base, simToken, 'POST', '/declarations', { id: 'D-SIM-1', vehicle_id: 'TRK-ADM-1', direction: 'inbound', port_zone_id: 'port-ceke', valid_from: new Date().toISOString(), valid_to: new Date(Date.now() + 3600_000).toISOString() });

  const auditor = await loginAs('auditor1', '#/audit');
  const a = auditor.page;
  await a.waitForFunction(() => document.querySelector('.view-audit')?.dataset.records > 0);
  const rows = () => a.$$eval('#audit-rows tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  const people = await rows();
  const said = people.map((r) => `${r[1]} ${r[2]} ${r[3]}`);
  for (const want of ['admin 登记车辆 车辆 蒙B12345', 'admin 登记终端 终端 13900000001', 'admin 修改终端 终端 13900000001', 'admin 新建区域 区域 测试堆场',
    'admin 修改区域 区域 测试堆场', 'admin 导入区域 区域 <i>导入堆场</i>', 'admin 新建申报 申报 D-ADMIN-1', 'admin 创建用户 用户 patrol2']) {
    assert.ok(said.includes(want), `audit has "${want}": ${JSON.stringify(said.slice(0, 30))}`);
  }
  assert.ok(people.every((r) => r[0].match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/) && r[5] === '人员操作'));
  assert.ok(!said.some((s) => s.startsWith('simulator')), 'the simulator is not among people');
  await a.selectOption('#audit-source', 'simulator');
  const sim = await rows();
  assert.ok(sim.length >= 2 && sim.every((r) => r[1] === 'simulator' && r[5] === '模拟器'), JSON.stringify(sim));
  assert.ok(sim.some((r) => r[2] === '新建申报' && r[3] === '申报 D-SIM-1'));
  await a.selectOption('#audit-source', 'people');
  await readable(a, 'audit');
  await snap(a, 'audit');
  // In English when chosen (the language is in the account menu).
  await a.click('#account');
  await a.click('#lang');
  await a.waitForFunction(() => document.querySelector('.view-audit')?.dataset.records > 0 && document.querySelector('#audit-source option[value=people]')?.textContent === 'People');
  const english = (await rows()).map((r) => `${r[2]} ${r[3]}`);
  assert.ok(english.includes('register vehicle vehicle 蒙B12345') && english.includes('create zone zone 测试堆场'), JSON.stringify(english.slice(0, 20)));
  assert.deepEqual(auditor.errors, []);
  await a.context().close();
});

test('admin: a patrol officer is offered no administration and a direct URL is refused', async () => {
  const { page, errors } = await loginAs('patrol1', '#/admin?tab=vehicles');
  const nav = await page.$$eval('nav.topbar a', (as) => as.map((a) => a.getAttribute('href')));
  assert.ok(!nav.includes('#/admin'), `no admin menu for patrol: ${nav}`);
  for (const t of ['vehicles', 'zones', 'users']) {
    await page.evaluate((n) => (location.hash = `#/admin?tab=${n}`), t);
    await page.waitForSelector('main.view-admin .forbidden');
    assert.equal(await page.textContent('main.view-admin .forbidden'), '当前角色无权访问此页面');
  }
  // The server refuses anyway.
  const patrolToken = (await (await fetch(`${server.base}/api/v1/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'patrol1', password: PASSWORD }) })).json()).token;
  const r = await fetch(`${server.base}/api/v1/vehicles`, { method: 'POST', headers: { Authorization: `Bearer ${patrolToken}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ id: 'P-1', kind: 'truck' }) });
  assert.equal(r.status, 403);
  assert.deepEqual(errors, []);
});

test('admin: the security administrator gets only users and roles, and changes a role there', async () => {
  await apiCall(server.base, token, 'POST', '/users', { username: 'security1', password: PASSWORD, role: 'security' });
  await apiCall(server.base, token, 'POST', '/users', { username: 'command9', password: PASSWORD, role: 'command' });
  const { page, errors } = await loginAs('security1');
  await page.waitForFunction(() => document.querySelector('main.view-admin')?.dataset.tab === 'users');
  assert.deepEqual(await page.$$eval('.admin-tabs a', (as) => as.map((a) => a.textContent)), ['用户与角色']);
  await page.waitForSelector('#admin-users tr[data-user="command9"]');
  await page.selectOption('#admin-users tr[data-user="command9"] select[name=role]', 'investigator');
  await page.click('#admin-users tr[data-user="command9"] button.role');
  await page.waitForFunction(() => /调查员/.test(document.querySelector('#admin-users tr[data-user="command9"] td:nth-child(2)')?.textContent));
  const users = await apiCall(server.base, token, 'GET', '/users');
  assert.equal(users.users.find((u) => u.username === 'command9').role, 'investigator');
  // The security administrator creates no accounts: the form is not offered.
  assert.equal(await page.$('#user-form'), null);
  await page.evaluate(() => (location.hash = '#/admin?tab=vehicles'));
  await page.waitForSelector('main.view-admin .forbidden');
  assert.deepEqual(errors, []);
});
