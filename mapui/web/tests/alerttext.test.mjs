// What officers read of alerts: the wall's feed and an alert's detail, the alert list and its
// filters, per role and in both languages, from alerts the real rules raise on fixes, a gate
// read and declarations sent to the real server. Each screen's VISIBLE text (innerText) fails
// on internal ids, raw JSON, UTC times, the server's English sentences and missing glyphs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { along, apiCall, apiLogin, feedAll, launch, newPage, PASSWORD, places, shots, sleep, startServer } from './helpers.mjs';

let server, browser, where, token, zoneIds;
const now = Math.floor(Date.now() / 1000) * 1000;

// Vehicle ids unlike any plate, so that one on screen is an id that leaked.
const V = {
  cross: { id: 'veh-alerttext-cross', plate: '蒙B00001', kind: 'truck' },
  gate: { id: 'veh-alerttext-gate', plate: '蒙K12345', kind: 'truck' },
  stop: { id: 'veh-alerttext-stop', plate: '蒙L22222', kind: 'truck' },
  detour: { id: 'veh-alerttext-detour', plate: '蒙H33333', kind: 'truck' },
};

before(async () => {
  server = await startServer();
  browser = await launch();
  where = await places(server);
  token = await apiLogin(server.base);
  for (const role of ['command', 'investigator']) {
    await apiCall(server.base, token, 'POST', '/users', { username: `${role}1`, password: PASSWORD, role });
  }
  const fc = await apiCall(server.base, token, 'GET', '/zones');
  zoneIds = fc.features.map((f) => f.properties.id);
  const corridor = fc.features.find((f) => f.properties.kind === 'corridor' && f.geometry.type === 'LineString');
  const otherPort = fc.features.find((f) => f.properties.kind === 'port' && f.properties.id !== where.port).properties.id;
  for (const v of Object.values(V)) await apiCall(server.base, token, 'POST', '/vehicles', v);
  const decl = (id, vehicle, direction, port, extra = {}) => apiCall(server.base, token, 'POST', '/declarations', {
    id, vehicle_id: vehicle, direction, port_zone_id: port, type: 'normal',
    valid_from: new Date(now - 3 * 3600_000).toISOString(), valid_to: new Date(now + 3 * 3600_000).toISOString(), ...extra,
  });
  // A gate read at one port of a truck declared for another: gate_mismatch.
  await decl('DECL-AT-GATE', V.gate.id, 'inbound', otherPort);
  // Stopped 13 minutes on the corridor on a declaration: unauthorized_stop.
  await decl('DECL-AT-STOP', V.stop.id, 'inbound', where.port, { corridor_zone_id: corridor.properties.id });
  // 5 km off its corridor for 5 minutes before reaching the port: detour.
  await decl('DECL-AT-DETOUR', V.detour.id, 'outbound', where.port, { corridor_zone_id: corridor.properties.id });
  const fixes = [];
  // Across the border far from every port, 4 minutes apart.
  const { at, normal } = where.crossing;
  fixes.push({ id: V.cross.id, lon: at[0] - normal[0] * 0.01, lat: at[1] - normal[1] * 0.01, speed: 30, time: now - 5 * 60_000 });
  fixes.push({ id: V.cross.id, lon: at[0] + normal[0] * 0.01, lat: at[1] + normal[1] * 0.01, speed: 30, time: now - 60_000 });
  // A point of the longest corridor in no zone where stopping is allowed (towns, service areas).
  const long = fc.features.filter((f) => f.properties.kind === 'corridor' && f.geometry.type === 'LineString')
    .sort((x, y) => y.geometry.coordinates.length - x.geometry.coordinates.length)[0].geometry.coordinates;
  const allowed = fc.features.filter((f) => f.geometry.type === 'Polygon' && (f.properties.stop_allowed || ['port', 'yard', 'service_area'].includes(f.properties.kind)));
  let stopAt;
  for (let fr = 0.37; !stopAt; fr += 0.01) {
    const p = along(long, fr);
    if (!allowed.some((z) => inRing(p, z.geometry.coordinates[0]))) stopAt = p;
  }
  const [slon, slat] = stopAt;
  for (let m = 14; m >= 1; m--) fixes.push({ id: V.stop.id, lon: slon, lat: slat, speed: 0, time: now - m * 60_000 });
  const a = along(where.corridor, 0.3);
  const b = along(where.corridor, 0.31);
  const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
  const off = [a[0] - ((b[1] - a[1]) / len) * 0.06, a[1] + ((b[0] - a[0]) / len) * 0.06];
  for (let s = 6 * 60; s >= 60; s -= 30) fixes.push({ id: V.detour.id, lon: off[0] + s * 1e-6, lat: off[1], speed: 40, time: now - s * 1000 });
  await feedAll(server.osmand, fixes, 1);
  await apiCall(server.base, token, 'POST', '/gate-events', { gate_zone_id: where.port, plate: V.gate.plate, direction: 'in', time: new Date(now - 30_000).toISOString() });
  const want = ['border_crossing_outside_port', 'gate_mismatch', 'unauthorized_stop', 'detour'];
  let types = [];
  for (let i = 0; i < 100; i++) {
    const r = await apiCall(server.base, token, 'GET', '/alerts');
    types = r.alerts.map((x) => x.type);
    if (want.every((w) => types.includes(w))) return;
    await sleep(300);
  }
  throw new Error(`alerts raised: ${types}; wanted ${want}:\n${server.log().slice(-3000)}`);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

function inRing(p, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Logs in at hash: straight to the view under test, not through the role's home (a map for most). */
async function loginAs(username, hash, lang = 'zh') {
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/${hash}`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav.topbar');
  if (lang === 'en') {
    await page.click('#account');
    await page.click('#lang');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
  }
  return { page, errors };
}

/** Fails on anything in the visible text of selector an officer could not read. */
async function readable(page, selector, lang = 'zh') {
  const text = await page.$eval(selector, (el) => el.innerText);
  assert.ok(text.trim().length > 0, `${selector} shows nothing`);
  const where = `${selector}: ${text}`;
  assert.doesNotMatch(text, /\b(port|corridor|yard|control|service|gate|road)-[a-z0-9]/i, `internal zone id in ${where}`);
  for (const id of zoneIds) assert.ok(!text.includes(id), `zone id ${id} in ${where}`);
  for (const v of Object.values(V)) assert.ok(!text.includes(v.id), `vehicle id ${v.id} (plate ${v.plate}) in ${where}`);
  assert.doesNotMatch(text, /_zone_id|_m\b|_s\b|disproved_by|declared_port|[{}]"|\{"|":/, `raw field or JSON in ${where}`);
  assert.doesNotMatch(text, /\bUTC\b|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}:\d{2}(:\d{2})?(\.\d+)?Z\b|GMT/, `UTC time in ${where}`);
  // The rules' English sentences (tracker/rules) never reach a screen.
  assert.doesNotMatch(text, /border crossed|outside any zone|off corridor|read at port-|\bdeclaration [A-Z]|\d+(h\d+)?m\d+s\b|in the reader since/, `server message in ${where}`);
  if (lang === 'zh') assert.doesNotMatch(text, /\b(inbound|outbound|critical|warning|open|resolved)\b/, `English word in the Chinese ${where}`);
  // Every character draws a glyph of its own: one that draws like a character no font has is a box.
  const boxes = await page.$eval(selector, (el) => {
    const font = getComputedStyle(el).fontFamily;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 48;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const draw = (c) => {
      ctx.clearRect(0, 0, 48, 48);
      ctx.font = `32px ${font}`;
      ctx.fillText(c, 4, 36);
      return ctx.getImageData(0, 0, 48, 48).data.join(',');
    };
    const missing = draw('\u{10FFFD}'); // private use, plane 16: in no font
    const chars = [...new Set([...el.innerText].filter((c) => c.codePointAt(0) > 0x2e7f))];
    return { checked: chars.length, boxes: chars.filter((c) => draw(c) === missing) };
  });
  assert.deepEqual(boxes.boxes, [], `characters drawn as boxes in ${selector}`);
  if (lang === 'zh') assert.ok(boxes.checked > 5, `only ${boxes.checked} Chinese characters in ${selector}`);
  return text;
}

const feedRows = (page) => page.$$eval('#ticker li', (lis) => lis.map((li) => ({ time: Number(li.dataset.time), text: li.innerText, h: li.getBoundingClientRect().height })));

for (const role of ['command', 'investigator']) {
  test(`alert text: ${role} reads the wall feed and an alert's detail in Chinese, with plates and names`, async () => {
    const { page, errors } = await loginAs(`${role}1`, '#/wall');
    await page.evaluate(() => (location.hash = '#/wall'));
    await page.waitForSelector('#conn.up');
    await page.waitForFunction(() => document.querySelectorAll('#ticker li').length >= 4);
    const rows = await feedRows(page);
    // Newest first, by the alerts' own times, each on one line (a line of the feed is ~34 px).
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1].time >= rows[i].time, `feed order: ${rows.map((r) => r.text)}`);
    for (const r of rows) assert.ok(r.h < 50, `row wraps (${r.h} px): ${r.text}`);
    const feed = await readable(page, '#ticker');
    for (const v of Object.values(V)) assert.ok(feed.includes(v.plate), `plate ${v.plate} in the feed:\n${feed}`);
    assert.match(feed, /\d{2}-\d{2} \d{2}:\d{2}/, 'the date with the time');
    assert.match(feed, /非口岸越境/);

    for (const type of ['border_crossing_outside_port', 'gate_mismatch', 'unauthorized_stop', 'detour']) {
      const id = await page.evaluate(async (type) => {
        const r = await fetch(`/api/v1/alerts?type=${type}`, { headers: { Authorization: `Bearer ${sessionStorage.getItem('bw.token')}` } });
        return String((await r.json()).alerts[0].id);
      }, type);
      // The detail takes the feed's column; × brings the feed back.
      if (await page.isVisible('#alert-detail')) await page.click('#alert-close');
      await page.click(`#ticker li[data-alert="${id}"]`);
      await page.waitForFunction((id) => document.querySelector(`#alert-detail .alert-body[data-alert="${id}"]`), id);
      const detail = await readable(page, '#alert-detail');
      assert.match(detail, /北京时间/);
      assert.match(detail, /轨迹回放/);
      if (type === 'border_crossing_outside_port') {
        assert.match(detail, /蒙B00001 · 货车/);
        assert.match(detail, /在口岸以外(入境|出境)越境/);
        assert.match(detail, /越境口岸\s*不在任何口岸/);
        assert.match(detail, /中蒙边境线/);
        // The map shows the alert and the vehicle's last hour.
        await page.waitForFunction(() => window.bwAlertTrack >= 2);
        if (role === 'command') await shots(page, 'alert-wall-crossing', [1280, 800]);
      }
      if (type === 'gate_mismatch') assert.match(detail, /卡口读取，申报口岸为.+口岸/);
      if (type === 'unauthorized_stop') assert.match(detail, /在不允许停车的地点停留1\d分钟/);
      if (type === 'detour') assert.match(detail, /偏离.+通道，最远\d(\.\d)?\skm/);
    }
    // 轨迹回放 opens the replay of the alert's vehicle at its window.
    await page.click('#alert-replay');
    await page.waitForFunction(() => document.body.dataset.view === 'replay');
    const hash = new URLSearchParams(await page.evaluate(() => location.hash.split('?')[1]));
    assert.equal(hash.get('vehicle'), V.detour.id);
    assert.ok(Date.parse(hash.get('from')) < Date.parse(hash.get('t')) && Date.parse(hash.get('t')) <= Date.parse(hash.get('to')));
    assert.deepEqual(errors, []);
    await page.context().close();
  });
}

test('alert text: the wall does not take the map from an operator who is panning', async () => {
  const { page, errors } = await loginAs('command1', '#/wall');
  await page.evaluate(() => (location.hash = '#/wall'));
  await page.waitForSelector('#conn.up');
  await page.waitForFunction(() => document.querySelectorAll('#ticker li').length >= 4);
  await page.evaluate(() => { window.bwMap.jumpTo({ center: [100, 48], zoom: 6 }); });
  // The operator drags the map, then a new critical alert arrives.
  const box = await page.$eval('#map', (el) => { const r = el.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; });
  await page.mouse.move(box[0], box[1]);
  await page.mouse.down();
  await page.mouse.move(box[0] + 80, box[1] + 40, { steps: 5 });
  await page.mouse.up();
  const before = await page.evaluate(() => window.bwMap.getCenter().toArray());
  const { at, normal } = where.crossing;
  const t0 = Date.now() - 2 * 60_000;
  await feedAll(server.osmand, [
    { id: 'veh-alerttext-pan', lon: at[0] - normal[0] * 0.01 + 0.02, lat: at[1] - normal[1] * 0.01, speed: 30, time: t0 },
    { id: 'veh-alerttext-pan', lon: at[0] + normal[0] * 0.01 + 0.02, lat: at[1] + normal[1] * 0.01, speed: 30, time: t0 + 60_000 },
  ], 1);
  await page.waitForFunction(() => window.bwLive.stats.alerts > 0);
  await sleep(1500);
  const after = await page.evaluate(() => window.bwMap.getCenter().toArray());
  assert.ok(Math.abs(after[0] - before[0]) < 1e-6 && Math.abs(after[1] - before[1]) < 1e-6, `map moved from ${before} to ${after} under the operator`);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('alert text: the alert list filters, pages and opens the detail, in both languages', async () => {
  const { page, errors } = await loginAs('investigator1', '#/alerts');
  await page.evaluate(() => (location.hash = '#/alerts'));
  await page.waitForFunction(() => Number(document.querySelector('.view-alerts')?.dataset.rows) >= 4);
  const table = await readable(page, '#alert-table');
  for (const v of Object.values(V)) assert.ok(table.includes(v.plate), `plate ${v.plate} in the list`);
  await readable(page, '#alert-filters');
  // A plate, any part of it.
  await page.fill('#f-plate', 'K123');
  await page.click('#alert-filters button[type=submit]');
  await page.waitForFunction(() => document.querySelector('.view-alerts').dataset.rows === '1');
  assert.match(await page.innerText('#alert-rows'), /卡口信息不符\s+蒙K12345 货车\s+\S+口岸\s+在\S+口岸卡口读取，申报口岸为\S+口岸/);
  // Severity and port.
  await page.click('#f-reset');
  await page.selectOption('#f-severity', 'critical');
  await page.click('#alert-filters button[type=submit]');
  await page.waitForFunction(() => [...document.querySelectorAll('#alert-rows tr')].every((tr) => tr.classList.contains('sev-critical')) && document.querySelector('.view-alerts').dataset.rows !== '0');
  await page.click('#f-reset');
  await page.selectOption('#f-port', where.port);
  await page.click('#alert-filters button[type=submit]');
  await page.waitForFunction(() => document.querySelector('.view-alerts').dataset.rows !== '0' && !document.querySelector('#list-msg').textContent);
  const portRows = await page.innerText('#alert-rows');
  assert.doesNotMatch(portRows, /非口岸越境/, 'a crossing outside every port is no port\'s alert');
  // A row opens the detail.
  await page.click('#alert-rows tr');
  await page.waitForSelector('#alert-detail .alert-body');
  await readable(page, '#alert-detail');
  await page.click('#f-reset');
  await page.waitForFunction(() => Number(document.querySelector('.view-alerts')?.dataset.rows) >= 4);
  await shots(page, 'alert-list', [1280, 800]);
  // English.
  const en = await loginAs('investigator1', '#/alerts', 'en');
  await en.page.evaluate(() => (location.hash = '#/alerts'));
  await en.page.waitForFunction(() => Number(document.querySelector('.view-alerts')?.dataset.rows) >= 4);
  const text = await readable(en.page, '#alert-table', 'en');
  assert.match(text, /Crossing outside port/);
  assert.match(text, /crossed the border (inbound|outbound) outside every port/);
  await en.page.click('#alert-rows tr');
  await en.page.waitForSelector('#alert-detail .alert-body');
  assert.match(await readable(en.page, '#alert-detail', 'en'), /CST/);
  assert.deepEqual([...errors, ...en.errors], []);
});
