import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, launch, newPage, places, shots, sleep, startServer, uiLogin } from './helpers.mjs';

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

const DEVICE = '2050018634';
const VEHICLE = 'SEAL1';

/**
 * A Jointech JT701 P45 lock event: the card-unlock frame of Traccar's Jt600ProtocolDecoderTest
 * ("(2050018634,P45,051124,204046,9.861502,N,83.950336,W,A,1,0,1,1,0012260888,0,0,0)") with
 * this test's time and place.
 */
function p45(time, [lon, lat], index, device = DEVICE) {
  const d = new Date(time);
  const two = (n) => String(n).padStart(2, '0');
  const date = `${two(d.getUTCDate())}${two(d.getUTCMonth() + 1)}${String(d.getUTCFullYear()).slice(2)}`;
  const clock = `${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}`;
  return `(${device},P45,${date},${clock},${lat.toFixed(6)},N,${lon.toFixed(6)},E,A,1,0,1,1,0012260888,0,0,${index})`;
}

async function sendJT600(frame) {
  await new Promise((resolve, reject) => {
    const s = connect(server.jt600, () => s.write(frame, () => setTimeout(() => s.end(), 300)));
    s.on('error', reject);
    s.on('close', resolve);
    s.on('data', () => {});
  });
}

test('seal: an unlocked e-seal shows on the wall, the tablet and in the replay', async (t) => {
  if (server.kind !== 'real') return t.skip('the stub has no JT600 gateway');
  const token = await apiLogin(server.base);
  await apiCall(server.base, token, 'POST', '/vehicles', { id: VEHICLE, plate: '蒙K·S7701', kind: 'truck' });
  await apiCall(server.base, token, 'POST', '/devices', { id: DEVICE, protocol: 'jt600', vehicle_id: VEHICLE });
  const at = where.onCorridor[10];
  const time = Math.floor(Date.now() / 1000) * 1000 - 120_000;
  await sendJT600(p45(time, at, 1));
  // The fix is stored with the seal's event (the lock event carries no state), and the live
  // positions carry it.
  let pos;
  for (let i = 0; i < 50 && !pos; i++) {
    const r = await apiCall(server.base, token, 'GET', '/positions');
    pos = r.positions.find((f) => f.vehicle_id === VEHICLE);
    if (!pos) await sleep(200);
  }
  assert.ok(pos, `no position for ${VEHICLE}:\n${server.log().slice(-2000)}`);
  assert.equal(pos.attributes?.seal_event, 'unlocked', JSON.stringify(pos));

  const errors = [];
  const page = await newPage(browser, errors);
  await uiLogin(page, server.base, '#/wall');
  await page.waitForSelector('#conn.up');
  await page.evaluate((c) => { window.bwMap.jumpTo({ center: c, zoom: 11 }); }, at);
  await page.waitForFunction((id) => window.bwMap.querySourceFeatures('vehicles').some((f) => f.properties.id === id && f.properties.seal === 'open'), VEHICLE);
  const openPopup = async () => {
    await page.evaluate(() => new Promise((r) => (window.bwMap.loaded() ? r() : window.bwMap.once('idle', () => r()))));
    const px = await page.evaluate((c) => { const p = window.bwMap.project(c); const r = window.bwMap.getCanvas().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }, at);
    await page.mouse.click(px[0], px[1]);
    await page.waitForFunction(() => document.querySelector('.veh-detail .seal')?.textContent === '已解封' && document.querySelector('.veh-detail .plate')?.textContent === '蒙K·S7701');
  };
  await openPopup();
  const wall = await page.textContent('.veh-detail');
  assert.match(wall, /货车/);
  assert.match(wall, /北京时间/);
  assert.doesNotMatch(wall, /unlocked|seal_state|\{/);
  await shots(page, 'seal-wall', [800, 1280]);

  await page.evaluate(() => (location.hash = '#/tablet'));
  await page.waitForSelector('#conn.up');
  await page.evaluate((c) => { window.bwMap.jumpTo({ center: c, zoom: 11 }); }, at);
  await page.waitForFunction((id) => window.bwMap.querySourceFeatures('vehicles').some((f) => f.properties.id === id && f.properties.seal === 'open'), VEHICLE);
  await openPopup();
  await shots(page, 'seal-tablet', [800, 1280]);

  const from = new Date(time - 10 * 60_000).toISOString().replace('.000', '');
  const to = new Date(time + 10 * 60_000).toISOString().replace('.000', '');
  await page.evaluate((h) => (location.hash = h), `#/replay?vehicle=${VEHICLE}&from=${from}&to=${to}&t=${new Date(time + 60_000).toISOString()}`);
  await page.waitForFunction(() => document.querySelector('.view-replay')?.dataset.fixes === '1');
  await page.waitForFunction(() => document.querySelector('#cursor-seal')?.textContent === '关锁 已解封');
  const events = await page.textContent('#events');
  assert.match(events, /关锁状态 · 已解封/);
  assert.match(events, /关锁解封 · 刷卡/);
  await shots(page, 'seal-replay', [800, 1280]);
  await page.context().close();
  assert.deepEqual(errors, []);
});

test('seal: a seal opened outside the declared port shows its alert evidence in words', async (t) => {
  if (server.kind !== 'real') return t.skip('the stub has no JT600 gateway');
  const token = await apiLogin(server.base);
  const device = '2050018635';
  await apiCall(server.base, token, 'POST', '/vehicles', { id: 'SEAL2', plate: '蒙K·S7702', kind: 'truck' });
  await apiCall(server.base, token, 'POST', '/devices', { id: device, protocol: 'jt600', vehicle_id: 'SEAL2' });
  const now = Date.now();
  await apiCall(server.base, token, 'POST', '/declarations', {
    id: 'DECL-SEAL2', vehicle_id: 'SEAL2', direction: 'inbound', port_zone_id: where.port, type: 'normal', seal_id: device,
    valid_from: new Date(now - 3600_000).toISOString(), valid_to: new Date(now + 3600_000).toISOString(),
  });
  const errors = [];
  const page = await newPage(browser, errors);
  await uiLogin(page, server.base, '#/wall');
  await page.waitForSelector('#conn.up');
  // Opened on the corridor, far from the port: a critical seal_opened alert.
  await sendJT600(p45(Math.floor(now / 1000) * 1000 - 30_000, where.onCorridor.at(-1), 1, device));
  const li = await page.waitForSelector('#ticker li');
  assert.match(await li.textContent(), /关锁途中开启/);
  await li.click();
  await page.waitForSelector('#alert-detail #evidence');
  const ev = await page.textContent('#alert-detail');
  assert.match(ev, /地点/);
  assert.match(ev, /方式刷卡（0012260888）/);
  assert.match(ev, /状态关锁 已解封/);
  assert.match(ev, /申报单DECL-SEAL2/);
  assert.doesNotMatch(ev, /[{}]|seal_state|unlocked|declaration_id/);
  await shots(page, 'seal-alert-wall', [800, 1280]);

  await page.evaluate(() => (location.hash = '#/tablet'));
  await page.click('#alerts button[data-alert]');
  await page.waitForSelector('#side #evidence');
  const tab = await page.textContent('#side');
  assert.match(tab, /方式刷卡（0012260888）/);
  assert.doesNotMatch(tab, /[{}]|seal_state|unlocked|outside the declared/);
  await shots(page, 'seal-alert-tablet', [800, 1280]);
  assert.deepEqual(errors, []);
});
