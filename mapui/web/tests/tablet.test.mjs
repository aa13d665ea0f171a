import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, crossingAlert, feedAll, launch, newPage, places, shots, sleep, startServer, uiLogin, until } from './helpers.mjs';

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

const crossing = (token, id, along, plate) => crossingAlert(server, where, token, id, along, plate);

/** A tablet 800×1280 in portrait, the patrol just inside the border at the test's crossing point. */
async function tabletPage(errors) {
  const page = await newPage(browser, errors, { width: 800, height: 1280 });
  await page.context().grantPermissions(['geolocation']);
  const { at, normal } = where.crossing;
  await page.context().setGeolocation({ latitude: at[1] - normal[1] * 0.005, longitude: at[0] - normal[0] * 0.005 });
  await uiLogin(page, server.base, '#/tablet', 'admin');
  await page.waitForSelector('#conn.up');
  return page;
}

const rowOrder = (page) => page.$$eval('#alerts button[data-alert]', (xs) => xs.map((x) => x.dataset.alert));

test('tablet: a nearer alert arriving while the officer presses a row neither moves the row nor steals the tap', async () => {
  const errors = [];
  const token = await apiLogin(server.base);
  const a = await crossing(token, 'TRA', 0.01, '蒙M·T0001');
  const c = await crossing(token, 'TRC', 0.02, '蒙M·T0003');
  const page = await tabletPage(errors);
  const rowA = `button[data-alert="${a.id}"]`;
  await page.waitForSelector(rowA);
  await page.waitForSelector(`button[data-alert="${c.id}"]`);
  const before = await rowOrder(page);
  assert.ok(before.indexOf(String(a.id)) < before.indexOf(String(c.id)), `nearest first: ${before}`);

  // The officer's finger comes down on the row of TRA's alert...
  const box = await page.locator(rowA).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  const held = await page.$(rowA);
  // ...and while it is down, a truck crosses nearer to the patrol: its alert reaches the tablet.
  const b = await crossing(token, 'TRB', 0, '蒙M·T0002');
  await sleep(2500); // the list redraws at most once a second
  const during = {
    order: await rowOrder(page),
    banner: await page.$eval('#list-banner', (x) => (x.hidden ? '' : x.textContent)).catch(() => 'no banner'),
    same: await held.evaluate((x) => x.isConnected),
  };
  if (process.env.BW_WEB_SHOTS === '1') await page.screenshot({ path: '../../screenshots/tablet-held-800x1280.png' });
  await page.mouse.up();

  // The tap opens the alert pressed, not the one that arrived under the finger.
  await page.waitForSelector('#ack', { timeout: 15_000 }).catch(() => assert.fail('the tap was lost: no alert opened'));
  assert.equal(await page.textContent('#vehicle'), '蒙M·T0001 · 货车', 'the alert opened is the one pressed');
  assert.deepEqual(during.order, before, 'the rows did not move or change while pressed');
  assert.ok(during.same, 'the row pressed is the same element throughout');
  assert.equal(during.banner, '有1条新告警，松手后显示');

  // Back in the list, the new alert is there, nearest first; the rows kept are the same elements.
  await page.click('#back');
  await page.waitForSelector(`button[data-alert="${b.id}"]`);
  const after = await rowOrder(page);
  assert.ok(after.indexOf(String(b.id)) < after.indexOf(String(a.id)), `the new, nearer alert first: ${after}`);
  assert.ok(await held.evaluate((x) => x.isConnected), 'the row of the alert pressed was kept, not rebuilt');
  assert.equal(await page.isVisible('#list-banner'), false);
  // The plate may follow the row (looked up when the alert came without it).
  await page.waitForFunction((sel) => /蒙M·T0002/.test(document.querySelector(sel)?.textContent ?? ''), `button[data-alert="${b.id}"]`, { timeout: 10_000 }).catch(() => {});
  const text = await page.innerText(`button[data-alert="${b.id}"]`);
  assert.match(text, /蒙M·T0002/);
  assert.match(text, /\d{4}-\d\d-\d\d \d\d:\d\d/);
  assert.doesNotMatch(await page.innerText('#side'), /TRB|status_|undefined|NaN|list_new/);
  await shots(page, 'tablet-list-nearest', [800, 1280]);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('tablet: a row focused from the keyboard keeps the focus when the patrol moves and it goes to the top', async () => {
  const errors = [];
  const token = await apiLogin(server.base);
  const d = await crossing(token, 'TRD', -0.03, '蒙M·T0004');
  const e = await crossing(token, 'TRE', -0.05, '蒙M·T0005');
  const page = await tabletPage(errors);
  const rowE = `button[data-alert="${e.id}"]`;
  await page.waitForSelector(rowE);
  await page.waitForSelector(`button[data-alert="${d.id}"]`);
  assert.notEqual((await rowOrder(page))[0], String(e.id), 'TRE is not the nearest yet');
  // Reached from the keyboard, as an officer with a keyboard cover would (Tab shows the ring).
  await page.focus(rowE);
  await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset?.alert), String(e.id), 'Tab came back to the row');

  // The patrol drives along the border to TRE's crossing: its row goes to the top of the list.
  const { at, normal } = where.crossing;
  const tangent = [normal[1], -normal[0]];
  await page.context().setGeolocation({ latitude: at[1] - normal[1] * 0.005 - tangent[1] * 0.06, longitude: at[0] - normal[0] * 0.005 - tangent[0] * 0.06 });
  await page.waitForFunction((id) => document.querySelector('#alerts button[data-alert]')?.dataset.alert === id, String(e.id), { timeout: 15_000 })
    .catch(async () => assert.fail(`TRE's row did not go to the top: ${await rowOrder(page)}`));
  assert.equal(await page.evaluate(() => document.activeElement?.dataset?.alert ?? document.activeElement?.tagName), String(e.id), 'the focus stayed on the row moved');
  const ring = await page.evaluate(() => { const s = getComputedStyle(document.activeElement); return `${s.outlineStyle} ${s.outlineWidth}`; });
  assert.equal(ring, 'solid 3px', 'the focused row shows a ring of its own');
  await shots(page, 'tablet-list-focused', [800, 1280]);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#ack');
  assert.equal(await page.textContent('#vehicle'), '蒙M·T0005 · 货车', 'Enter opens the row focused');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('attack: a flood of alerts while the officer holds the list is coalesced; a release never reported does not freeze the list', async () => {
  const errors = [];
  const token = await apiLogin(server.base);
  const page = await tabletPage(errors);
  await page.waitForSelector('#alerts button[data-alert]');
  const rows = (await rowOrder(page)).length;
  const nodes = () => page.$$eval('#side *', (x) => x.length);
  const nodesBefore = await nodes();

  // Held with the mouse on the first row while 40 trucks cross, each raising an alert.
  const box = await page.locator('#alerts button[data-alert]').first().boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  const ids = Array.from({ length: 40 }, (_, i) => `TRF${String(i).padStart(2, '0')}`);
  const fixes = [];
  const { at, normal } = where.crossing;
  const now = Date.now();
  for (const [i, id] of ids.entries()) {
    for (const [k, d] of [-0.04, -0.02, 0.02, 0.04].entries()) fixes.push({ id, lon: at[0] + normal[0] * d - normal[1] * 0.0005 * (i + 1), lat: at[1] + normal[1] * d + normal[0] * 0.0005 * (i + 1), speed: 50, time: now - (4 - k) * 60_000 + i });
  }
  // Each truck's fixes in order, trucks side by side.
  await Promise.all(ids.map((id) => feedAll(server.osmand, fixes.filter((f) => f.id === id), 1)));
  await until('40 alerts at the server', async () => {
    const open = (await apiCall(server.base, token, 'GET', '/alerts?status=open&limit=500')).alerts;
    return ids.every((id) => open.some((x) => x.vehicle_id === id));
  });
  // Every alert reaches the tablet (live, so later than the server has it: 39 of 40 after 2.5 s
  // once in make test) and is only counted.
  await page.waitForFunction(() => document.querySelector('#list-banner')?.textContent === '有40条新告警，松手后显示', null, { timeout: 15_000 })
    .catch(async () => assert.fail(`the banner says «${await page.textContent('#list-banner')}»`));
  const t0 = Date.now();
  assert.equal(await page.evaluate(() => 1), 1);
  assert.ok(Date.now() - t0 < 2000, `the page answered in ${Date.now() - t0} ms`);
  assert.equal((await rowOrder(page)).length, rows, 'no row added while held');
  assert.equal(await nodes(), nodesBefore + 0, 'nothing added under the list while held');

  // The finger slides off the row and lifts: no tap, and every alert shows after the grace.
  await page.mouse.move(box.x + box.width / 2, 5);
  await page.mouse.up();
  await page.waitForFunction((n) => document.querySelectorAll('#alerts button[data-alert]').length === n, rows + 40, { timeout: 10_000 });
  assert.equal(await page.isVisible('#list-banner'), false);
  assert.equal(await page.$('#ack'), null, 'the release opened no alert');

  // A press whose release the browser never reports holds the list 20 s at most.
  await page.$eval('#alerts button[data-alert]', (x) => x.dispatchEvent(new PointerEvent('pointerdown', { bubbles: true, pointerId: 77 })));
  const stuck = await crossing(token, 'TRS', -0.01);
  await sleep(2500);
  assert.equal(await page.$(`button[data-alert="${stuck.id}"]`), null, 'held while pressed');
  assert.ok(await page.isVisible('#list-banner'));
  await page.waitForSelector(`button[data-alert="${stuck.id}"]`, { timeout: 30_000 });
  assert.deepEqual(errors, []);
  await page.context().close();
});
