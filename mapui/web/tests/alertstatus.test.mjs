// An alert's status follows its handling live on every screen that shows it: the wall's detail
// and ticker line, the alert list's row and detail, the tablet's detail, with who and when in
// China time and the outcome in words; a port's officer hears nothing of an alert outside the
// port, and a forged live message breaks nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, feedAll, launch, newPage, PASSWORD, places, shots, sleep, startServer, uiLogin, WALL } from './helpers.mjs';

let server, browser, admin, where;
const alertOf = {};

/** An officer's token, for handling alerts from another session (a tablet, a desk). */
async function login(username) {
  const r = await fetch(`${server.base}/api/v1/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password: PASSWORD }) });
  assert.equal(r.status, 200, `login ${username}`);
  return (await r.json()).token;
}

/** "2026-12-05 22:40:00 CST": how the app writes a time, in China time whatever the browser's zone. */
function cst(iso) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    .formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

before(async () => {
  server = await startServer();
  where = await places(server);
  browser = await launch();
  admin = await apiLogin(server.base);
  const port = where.port;
  for (const [username, role, unit] of [['zhihui', 'command', 'district'], ['xuncha', 'patrol', 'district'], ['xuncha2', 'patrol', 'district'], ['kouan', 'command', port]]) {
    await apiCall(server.base, admin, 'POST', '/users', { username, password: PASSWORD, role, unit });
  }
  // Trucks cross the border far from every port, each raising its own alert (one for each test
  // that handles an alert, which then leaves the open set).
  const { at, normal } = where.crossing;
  const now = Date.now();
  for (const [i, id] of ['STA1', 'STA2', 'STA3', 'STA4', 'STA5', 'STA6'].entries()) {
    await apiCall(server.base, admin, 'POST', '/vehicles', { id, plate: `蒙M·S000${i + 1}`, kind: 'truck' });
    await feedAll(server.osmand, [-0.04, -0.02, 0.02, 0.04].map((d, k) => ({
      id, lon: at[0] + normal[0] * d + i * 0.001, lat: at[1] + normal[1] * d, speed: 50, time: now - (4 - k) * 60_000,
    })), 1);
  }
  for (const id of ['STA1', 'STA2', 'STA3', 'STA4', 'STA5', 'STA6']) {
    for (let i = 0; i < 60 && !alertOf[id]; i++) {
      alertOf[id] = (await apiCall(server.base, admin, 'GET', `/alerts?vehicle_id=${id}&type=border_crossing_outside_port`)).alerts[0];
      if (!alertOf[id]) await sleep(500);
    }
    assert.ok(alertOf[id], `the crossing of ${id} outside every port raised its alert`);
  }
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The visible text of selector, failing on what an operator could not read. */
async function readable(page, selector) {
  const text = await page.$eval(selector, (el) => el.innerText);
  for (const bad of [/status_/, /\[object/, /undefined|null|NaN/, /[{}]/, /\d{4}-\d\d-\d\dT\d\d/]) assert.doesNotMatch(text, bad, `${selector}: ${text}`);
  return text;
}

/**
 * The district commander's wall at 1920×1080 with the feed showing, logged in once for the tests
 * that only watch it (a page's first map is what costs); its page errors are those of all of them.
 */
let districtWall;
const districtErrors = [];
async function commandWall() {
  if (!districtWall) {
    districtWall = await newPage(browser, districtErrors, WALL);
    await uiLogin(districtWall, server.base, '#/wall', 'zhihui');
  }
  await districtWall.waitForSelector('#conn.up');
  if (await districtWall.isVisible('#alert-detail')) await districtWall.click('#alert-close');
  return districtWall;
}

/** A wall logged in as the district's commander with alert a's detail open, its live socket
 *  routed through the test: route.sock is the page's side; while route.cut, reconnects fail. */
async function wallOnAlert(a, errors) {
  const wall = await newPage(browser, errors, WALL);
  const route = { sock: null, cut: false };
  await wall.routeWebSocket(/\/api\/v1\/live/, (ws) => {
    if (route.cut) return ws.close();
    ws.connectToServer();
    route.sock = ws;
  });
  await uiLogin(wall, server.base, '#/wall', 'zhihui');
  await wall.waitForSelector('#conn.up');
  await wall.click(`#ticker li[data-alert="${a.id}"]`);
  await wall.waitForSelector(`#alert-detail .alert-body[data-alert="${a.id}"]`);
  return { wall, route };
}

test('wall: the open detail and the ticker line follow an alert acknowledged and resolved on a tablet, as the tablet showing it does', async () => {
  const errors = districtErrors;
  const wall = await commandWall();
  const a = alertOf.STA1;
  const line = `#ticker li[data-alert="${a.id}"]`;
  await wall.click(line);
  await wall.waitForSelector(`#alert-detail .alert-body[data-alert="${a.id}"]`);
  assert.equal(await wall.textContent('#alert-status'), '未处理');
  await wall.waitForSelector('#alert-detail #nearest-patrols');

  // Another patrol has the alert open on a tablet.
  const tablet = await newPage(browser, errors);
  await tablet.setViewportSize({ width: 800, height: 1280 });
  await uiLogin(tablet, server.base, '#/tablet', 'xuncha2');
  await tablet.waitForSelector('#conn.up');
  await tablet.click(`button[data-alert="${a.id}"]`);
  await tablet.waitForSelector('#ack');

  // The patrol on the spot acknowledges on their tablet (the API, another session).
  const pressed = await wall.$(line);
  const patrol = await login('xuncha');
  const acked = await apiCall(server.base, patrol, 'POST', `/alerts/${a.id}/ack`, { note: '巡查3组正在前往' });
  const ackText = `已确认 · xuncha · ${cst(acked.acked_at)} 北京时间`;
  await wall.waitForFunction((want) => document.querySelector('#alert-status')?.textContent === want, ackText, { timeout: 15_000 })
    .catch(async () => assert.fail(`wall detail shows «${await wall.textContent('#alert-status')}», not «${ackText}»`));
  assert.match(await wall.textContent(line), /已确认/);
  assert.ok(await pressed.evaluate((li) => li.isConnected), 'the line changed in place: a click on it while the alert changed would be lost');

  const resolved = await apiCall(server.base, patrol, 'POST', `/alerts/${a.id}/resolve`, { note: '司机迷路，已护送返回' });
  const want = `已处置 · xuncha · ${cst(resolved.resolved_at)} 北京时间`;
  await wall.waitForFunction((w) => document.querySelector('#alert-status')?.textContent === w, want, { timeout: 15_000 })
    .catch(async () => assert.fail(`wall detail shows «${await wall.textContent('#alert-status')}», not «${want}»`));
  assert.equal(await wall.innerText('#alert-outcome'), '巡查3组正在前往\n司机迷路，已护送返回', 'the notes, one a line');
  assert.match(await wall.textContent(line), /已处置/);
  assert.ok(await wall.$eval(line, (li) => li.classList.contains('selected')), 'the line stays the one selected');
  assert.equal(await wall.$$eval(line, (x) => x.length), 1, 'one line for the alert');
  // A patrol is not sent to an alert already dealt with: the dispatch list goes, and does not come
  // back when the alert is opened again.
  assert.equal(await wall.$('#alert-detail #nearest-patrols'), null, 'dispatch offered for a resolved alert');
  await wall.click('#alert-close');
  await wall.click(line);
  await wall.waitForSelector(`#alert-detail .alert-body[data-alert="${a.id}"]`);
  assert.equal(await wall.$('#alert-detail #nearest-patrols'), null, 'dispatch offered for a resolved alert opened again');
  await readable(wall, '#alert-detail');
  await readable(wall, '#ticker');
  await shots(wall, 'alertstatus-wall-resolved');

  // The tablet showing it says so too, and offers no more handling.
  await tablet.waitForFunction(() => document.querySelector('#status')?.textContent === '已处置', null, { timeout: 15_000 });
  assert.equal(await tablet.textContent('#status-by'), `xuncha · ${cst(resolved.resolved_at)} 北京时间`);
  assert.equal(await tablet.$('#resolve'), null, 'no resolve button on a resolved alert');
  await readable(tablet, '#side');
  await tablet.screenshot({ path: '../../screenshots/alertstatus-tablet-resolved-800x1280.png' });
  assert.deepEqual(errors, []);
  await tablet.context().close();
});

test('wall: an inspection\'s result recorded on the order resolves the open alert live, the result in words', async () => {
  const a = alertOf.STA5;
  const errors = districtErrors;
  const wall = await commandWall();
  await wall.click(`#ticker li[data-alert="${a.id}"]`);
  await wall.waitForSelector(`#alert-detail .alert-body[data-alert="${a.id}"]`);
  assert.equal(await wall.textContent('#alert-status'), '未处理');

  const cmd = await login('zhihui');
  const order = await apiCall(server.base, cmd, 'POST', '/targets', { alert_id: a.id, reason: 'alert', action: 'inspect_next_crossing', note: '下次过卡查验' });
  const gate = await apiCall(server.base, cmd, 'POST', '/gate-events', { gate_zone_id: 'port-erenhot', plate: '蒙M·S0005', direction: 'out' });
  assert.equal(gate.hold, true, 'the order fired at the gate');
  const patrol = await login('xuncha');
  await apiCall(server.base, patrol, 'POST', `/targets/${order.id}/result`, { found: false, note: '' });
  const now = await apiCall(server.base, admin, 'GET', `/alerts/${a.id}`);
  assert.equal(now.status, 'resolved');
  const want = `已处置 · xuncha · ${cst(now.resolved_at)} 北京时间`;
  await wall.waitForFunction((w) => document.querySelector('#alert-status')?.textContent === w, want, { timeout: 15_000 })
    .catch(async () => assert.fail(`wall detail shows «${await wall.textContent('#alert-status')}», not «${want}»`));
  assert.equal(await wall.innerText('#alert-outcome'), '查验结果：未发现问题');
  await wall.waitForFunction(() => /未发现问题/.test(document.querySelector('#inspections')?.textContent ?? ''), null, { timeout: 15_000 });
  await readable(wall, '#alert-detail');
  await shots(wall, 'alertstatus-wall-inspected');
  assert.deepEqual(errors, []);
});

test('alert list (English): the row and the open detail follow an alert confirmed as an offence on the tablet', async () => {
  const errors = [];
  const desk = await newPage(browser, errors);
  await uiLogin(desk, server.base, '#/alerts', 'zhihui');
  await desk.click('#account');
  await desk.click('#lang');
  await desk.waitForFunction(() => document.documentElement.lang === 'en');
  await desk.goto(`${server.base}/#/alerts?plate=S0002`);
  const a = alertOf.STA2;
  const row = `#alert-rows tr[data-alert="${a.id}"]`;
  await desk.click(row);
  await desk.waitForSelector(`#alert-detail .alert-body[data-alert="${a.id}"]`);
  assert.equal(await desk.textContent('#alert-status'), 'Open');
  await sleep(1000); // the list's live socket is up

  // The patrol confirms it as an offence through the tablet's own button.
  const tablet = await newPage(browser, errors);
  await tablet.setViewportSize({ width: 800, height: 1280 });
  await uiLogin(tablet, server.base, '#/tablet', 'xuncha');
  await tablet.click(`button[data-alert="${a.id}"]`);
  await tablet.fill('#note', '车上查获未申报货物');
  await tablet.click('#confirm');
  await tablet.waitForFunction(() => document.querySelector('#status')?.textContent === '已处置');
  assert.equal(await tablet.innerText('#alert-outcome'), '认定违规：车上查获未申报货物');

  const now = await apiCall(server.base, admin, 'GET', `/alerts/${a.id}`);
  const want = `Resolved · xuncha · ${cst(now.resolved_at)} CST`;
  await desk.waitForFunction((w) => document.querySelector('#alert-status')?.textContent === w, want, { timeout: 15_000 })
    .catch(async () => assert.fail(`list detail shows «${await desk.textContent('#alert-status')}», not «${want}»`));
  assert.equal(await desk.textContent(`${row} td.st`), 'Resolved');
  assert.equal(await desk.innerText('#alert-outcome'), 'Confirm offence: 车上查获未申报货物');
  await readable(desk, '#alert-detail');
  await readable(desk, '#alert-table');
  await shots(desk, 'alertstatus-list-en');
  // A row opened again after the change shows it as heard, not as the page was loaded.
  await desk.click('#alert-close');
  await desk.click(row);
  assert.equal(await desk.textContent('#alert-status'), want);
  assert.deepEqual(errors, []);
  await desk.context().close();
  await tablet.context().close();
});

test('wall: an alert resolved while the wall was disconnected shows resolved once it is back', async () => {
  const a = alertOf.STA6;
  const errors = [];
  const { wall, route } = await wallOnAlert(a, errors);
  const line = `#ticker li[data-alert="${a.id}"]`;
  assert.equal(await wall.textContent('#alert-status'), '未处理');

  // The wall's connection drops; meanwhile a patrol resolves the alert; then the wall is back.
  route.cut = true;
  await route.sock.close();
  await wall.waitForSelector('#conn.down', { state: 'attached' }).catch(() => assert.fail('the wall did not see its connection drop'));
  const patrol = await login('xuncha');
  const resolved = await apiCall(server.base, patrol, 'POST', `/alerts/${a.id}/resolve`, { note: '货物核验无误' });
  await sleep(500);
  assert.equal(await wall.textContent('#alert-status'), '未处理', 'no live change reached the disconnected wall');
  route.cut = false;
  await wall.waitForSelector('#conn.up', { state: 'attached', timeout: 60_000 }).catch(() => assert.fail('the wall did not reconnect'));
  const want = `已处置 · xuncha · ${cst(resolved.resolved_at)} 北京时间`;
  await wall.waitForFunction((w) => document.querySelector('#alert-status')?.textContent === w, want, { timeout: 15_000 })
    .catch(async () => assert.fail(`after reconnecting the wall's detail shows «${await wall.textContent('#alert-status')}», not «${want}»`));
  assert.match(await wall.textContent(line), /已处置/, 'the ticker line says the alert is resolved');
  assert.equal(await wall.$$eval(line, (x) => x.length), 1, 'one line for the alert');
  assert.equal(await wall.$('#alert-detail #nearest-patrols'), null, 'dispatch offered for a resolved alert');
  await readable(wall, '#ticker');
  assert.deepEqual(errors, []);
  await wall.context().close();
});

test('attack: a port officer hears nothing of an alert outside the port being resolved', async () => {
  const a = alertOf.STA3;
  const kouan = await login('kouan');
  const r = await fetch(`${server.base}/api/v1/alerts/${a.id}`, { headers: { Authorization: `Bearer ${kouan}` } });
  assert.equal(r.status, 404, 'the alert is outside the port officer\'s area');

  const errors = districtErrors;
  const frames = [];
  const port = await newPage(browser, errors, WALL);
  port.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
  await uiLogin(port, server.base, '#/wall', 'kouan');
  await port.waitForSelector('#conn.up');
  const district = await commandWall();
  await sleep(1000);

  await apiCall(server.base, admin, 'POST', `/alerts/${a.id}/resolve`, { note: '误报' });
  // The district's wall hears it: the change was sent.
  await district.waitForFunction((id) => /已处置/.test(document.querySelector(`#ticker li[data-alert="${id}"]`)?.textContent ?? ''), a.id, { timeout: 15_000 });
  await readable(district, '#ticker');
  await shots(district, 'alertstatus-wall-ticker');
  assert.ok(frames.length > 0, 'the port\'s socket is live');
  for (const f of frames) assert.ok(!f.includes('STA3') && !f.includes(`"id":${a.id},`), `the port officer's socket carried the alert: ${f.slice(0, 200)}`);
  assert.equal(await port.$(`#ticker li[data-alert="${a.id}"]`), null);
  assert.equal(await port.evaluate(() => window.bwLive.stats.alerts), 0);
  assert.deepEqual(errors, []);
  await port.context().close();
});

test('attack: forged and malformed live messages neither break the wall nor show', async () => {
  const a = alertOf.STA4;
  const errors = [];
  const { wall, route } = await wallOnAlert(a, errors);
  const sock = route.sock;
  const line = `#ticker li[data-alert="${a.id}"]`;

  const real = await apiCall(server.base, admin, 'GET', `/alerts/${a.id}`);
  const forged = (over) => ({ type: 'alert', alert: { ...real, ...over } });
  for (const m of [
    'not json',
    '{"type":"alert"}',
    '{"type":"alert","alert":null}',
    '{"type":"batch","messages":null}',
    '{"type":"batch"}',
    JSON.stringify(forged({ status: 'hacked' })),
    JSON.stringify(forged({ status: '<img src=x onerror=window.pwned=1>' })),
    JSON.stringify(forged({ id: { $gt: 0 } })),
    JSON.stringify(forged({ time: 'yesterday' })),
    JSON.stringify(forged({ id: 999999, vehicle_id: 7 })),
  ]) sock.send(m);
  // A batch whose first message is broken still delivers the rest: here a genuine-looking change.
  sock.send(JSON.stringify({ type: 'batch', messages: [{ type: 'alert', alert: null }, 42, forged({ status: 'acknowledged', acked_by: 'xuncha', acked_at: real.time })] }));
  await wall.waitForFunction(() => /^已确认/.test(document.querySelector('#alert-status')?.textContent ?? ''), null, { timeout: 15_000 });
  await sleep(500);
  assert.equal(await wall.evaluate(() => window.pwned), undefined);
  assert.equal(await wall.$(`#ticker li[data-alert="999999"]`), null, 'a forged alert is not shown');
  assert.equal(await wall.$$eval(line, (x) => x.length), 1);
  const detail = await readable(wall, '#alert-detail');
  assert.doesNotMatch(detail, /hacked|img|onerror/);
  await readable(wall, '#ticker');
  assert.ok(await wall.$('#conn.up'), 'still connected');
  assert.deepEqual(errors, []);
  await wall.context().close();
});
