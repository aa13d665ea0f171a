import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, feedAll, launch, newPage, places, shots, sleep, startServer, uiLogin } from './helpers.mjs';

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

test('tablet: an alert raised by the server reaches the tablet and is acknowledged there', async () => {
  const errors = [];
  const page = await newPage(browser, errors);
  await page.context().grantPermissions(['geolocation']);
  const { at, normal } = where.crossing;
  // The patrol is 20 km inside, the alert will be the nearest.
  await page.context().setGeolocation({ latitude: at[1] - normal[1] * 0.2, longitude: at[0] - normal[0] * 0.2 });
  await uiLogin(page, server.base, '#/tablet');
  await page.waitForSelector('#conn.up');

  // A truck drives straight across the border line far from every port.
  const now = Date.now();
  const track = [-0.04, -0.02, 0.02, 0.04].map((d, i) => ({
    id: 'TAB1', lon: at[0] + normal[0] * d, lat: at[1] + normal[1] * d, speed: 50, time: now - (4 - i) * 60_000,
  }));
  for (const f of track) await feedAll(server.osmand, [f], 1);

  const token = await apiLogin(server.base);
  let open = [];
  for (let i = 0; i < 30 && !open.length; i++) {
    open = (await apiCall(server.base, token, 'GET', '/alerts?status=open&vehicle_id=TAB1')).alerts;
    if (!open.length) await sleep(500);
  }
  assert.ok(open.length, 'the server raised an alert for the border crossing outside every port');
  const alert = open[0];
  const item = `button[data-alert="${alert.id}"]`;
  await page.waitForSelector(item);
  assert.equal(await page.$$eval(item, (x) => x.length), 1, 'one alert, shown once');

  // The connection drops and comes back: the catch-up refetch must not duplicate it.
  await page.context().setOffline(true);
  await page.evaluate(() => window.dispatchEvent(new Event('offline')));
  await sleep(1000);
  await page.context().setOffline(false);
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await page.waitForSelector('#conn.up');
  await sleep(1000);
  assert.equal(await page.$$eval(item, (x) => x.length), 1, 'still once after reconnecting');
  await shots(page, 'tablet-list');

  await page.click(item);
  await page.waitForSelector('#ack');
  assert.equal(await page.textContent('#vehicle'), 'TAB1');
  await page.waitForFunction(() => Number(document.querySelector('#side')?.dataset.trackPoints) >= 2);
  assert.ok(await page.$('#evidence, .evidence'), 'evidence shown');
  await shots(page, 'tablet-alert');

  await page.fill('#note', 'Patrol 3 on the way');
  await page.click('#ack');
  await page.waitForFunction(() => document.querySelector('#msg')?.textContent === '已提交');
  const after = (await apiCall(server.base, token, 'GET', '/alerts?vehicle_id=TAB1')).alerts.find((a) => String(a.id) === String(alert.id));
  assert.equal(after.status, 'acknowledged');
  assert.equal(await page.textContent('#status'), '已确认');

  await page.fill('#note', 'Driver lost, escorted back');
  await page.click('#resolve');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent === '已处置');
  await page.click('#back');
  await page.waitForFunction((sel) => !document.querySelector(sel), item);
  assert.deepEqual(errors, []);
});
