// The targeting loop end to end on the real server: a truck declared for Ceke crosses at
// Erenhot (crossing_mismatch) → district command targets it on #/targets → its gate read at the
// yard answers hold → command dispatches the Erenhot patrol → the patrol accepts on the tablet,
// arrives, uploads a photo and reports "found" → the order is closed, the alert resolved and the
// hit table counts one hit.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, crossingIn, feedAll, launch, newPage, shots, startServer, uiLogin, until } from './helpers.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

// A 2×2 PNG (what the server's type check reads are its bytes).
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==', 'base64');

const login = (page, user, password, hash) => uiLogin(page, server.base, hash, user, password);

test('targeting: wrong-port crossing → order → hold at the yard gate → patrol inspects on the tablet → hit counted', async () => {
  const admin = await apiLogin(server.base);
  const pw = 'Targeting-Test-2026!';
  await apiCall(server.base, admin, 'POST', '/users', { username: 'zhihui', password: pw, role: 'command', unit: 'district' });
  await apiCall(server.base, admin, 'POST', '/users', { username: 'xuncha', password: pw, role: 'patrol', unit: 'port-erenhot' });
  const plate = '蒙K·T1801';
  await apiCall(server.base, admin, 'POST', '/vehicles', { id: 'TGT1', plate, kind: 'truck' });
  const now = Date.now();
  await apiCall(server.base, admin, 'POST', '/declarations', {
    id: 'decl-tgt1', vehicle_id: 'TGT1', direction: 'inbound', port_zone_id: 'port-ceke',
    valid_from: new Date(now - 3600_000).toISOString(), valid_to: new Date(now + 6 * 3600_000).toISOString(),
  });
  const zones = await apiCall(server.base, admin, 'GET', '/zones');
  const pts = crossingIn(zones, 'port-erenhot');
  // Inbound, as declared: from the Mongolian side into China.
  await feedAll(server.osmand, pts.reverse().map((p, i) => ({ id: 'TGT1', lon: p[0], lat: p[1], speed: 10, time: now - (8 - i) * 60_000 })), 1);
  const alert = await until('the crossing_mismatch alert', async () =>
    (await apiCall(server.base, admin, 'GET', '/alerts?vehicle_id=TGT1&type=crossing_mismatch')).alerts[0]).catch(async (e) => {
    console.log('events of TGT1:', JSON.stringify(await apiCall(server.base, admin, 'GET', '/events?vehicle_id=TGT1')));
    throw e;
  });

  // The patrol's tablet is open before anything is sent to it.
  const errors = [];
  const tablet = await newPage(browser, errors);
  await login(tablet, 'xuncha', pw, '#/tablet');
  await tablet.waitForSelector('#conn.up');

  // District command targets the truck on its screen.
  const desk = await newPage(browser, errors);
  await login(desk, 'zhihui', pw, '#/targets');
  await desk.waitForSelector('#target-issue');
  await desk.waitForFunction(() => document.querySelectorAll('#target-port option').length > 1);
  await desk.fill('#target-plate', plate);
  await desk.selectOption('#target-reason', 'alert');
  await desk.fill('#target-alert', String(alert.id));
  await desk.selectOption('#target-action', 'inspect_at_yard');
  await desk.fill('#target-note', '错口岸入境，到场站查验');
  await desk.click('#target-issue');
  const row = await desk.waitForSelector('#orders tr[data-order]');
  const orderId = await row.getAttribute('data-order');
  assert.equal(await desk.textContent(`#orders tr[data-order="${orderId}"] .order-status`), '布控中');
  assert.equal(await desk.textContent(`#orders tr[data-order="${orderId}"] .plate`), plate);

  // The yard's gate reads the plate: hold, with the order.
  const cmdToken = await apiCall(server.base, admin, 'POST', '/login', { username: 'zhihui', password: pw }).then((s) => s.token);
  const gate = await apiCall(server.base, cmdToken, 'POST', '/gate-events', { gate_zone_id: 'yard-erenhot-1', plate: '蒙KT1801', direction: 'in' });
  assert.equal(gate.hold, true);
  assert.equal(gate.orders[0].id, orderId);
  // The tablet hears of it (the banner, with its sound).
  await tablet.waitForSelector(`.target-banner.kind-fired[data-order="${orderId}"]`);
  await desk.waitForFunction((id) => document.querySelector(`#orders tr[data-order="${id}"] .order-status`)?.textContent === '已命中', orderId);
  await shots(desk, 'targeting-order');

  // Command sends the Erenhot patrol.
  await desk.click(`#orders tr[data-order="${orderId}"] .dispatch-nearest`);
  await desk.click(`tr.nearest-row[data-for="${orderId}"] li[data-patrol="xuncha"] .send`);
  await desk.waitForFunction(() => document.querySelector('#targets-msg')?.textContent.startsWith('已派遣'));

  // The patrol: the assignment comes first on the tablet; accept, arrive, photograph, report.
  const card = `#assignments article[data-order="${orderId}"]`;
  await tablet.waitForSelector(`${card} .accept`);
  assert.equal(await tablet.textContent(`${card} .plate`), plate);
  // The order's banners (it fired; it is assigned) stay until the patrol accepts it.
  await tablet.waitForSelector(`.target-banner.kind-assigned[data-order="${orderId}"]`);
  assert.equal((await tablet.$$(`.target-banner[data-order="${orderId}"]`)).length, 2);
  await tablet.click(`${card} .accept`);
  await tablet.waitForSelector(`.target-banner[data-order="${orderId}"]`, { state: 'detached' });
  await tablet.click(`${card} .arrive`);
  await tablet.setInputFiles(`${card} .photo-input`, { name: '../../etc/passwd.png', mimeType: 'image/png', buffer: PNG });
  await tablet.waitForSelector(`${card} .thumbs img`);
  await tablet.selectOption(`${card} .found`, 'yes');
  await tablet.selectOption(`${card} .category`, 'undeclared_goods');
  await tablet.fill(`${card} .result-note`, '车厢夹层查获未申报货物');
  await shots(tablet, 'targeting-tablet-assignment');
  await tablet.click(`${card} .submit-result`);
  await tablet.waitForSelector(card, { state: 'detached' });

  const order = await apiCall(server.base, cmdToken, 'GET', `/targets/${orderId}`);
  assert.equal(order.status, 'closed');
  assert.equal(order.result.found, true);
  assert.equal(order.result.by, 'xuncha');
  assert.equal(order.photos.length, 1);
  const resolved = await apiCall(server.base, admin, 'GET', `/alerts/${alert.id}`);
  assert.equal(resolved.status, 'resolved');
  const stats = await apiCall(server.base, cmdToken, 'GET', '/stats/hits');
  const hit = stats.rows.find((r) => r.source === 'crossing_mismatch');
  assert.deepEqual([hit.port_id, hit.issued, hit.inspected, hit.found], ['port-erenhot', 1, 1, 1]);

  await desk.reload();
  await desk.waitForSelector('#hits tr[data-source="crossing_mismatch"]');
  assert.equal(await desk.textContent('#hits tr[data-source="crossing_mismatch"] .found'), '1');
  assert.equal(await desk.textContent('#hits tr[data-source="crossing_mismatch"] .rate'), '100.0%');
  await shots(desk, 'targeting-hit-table');
  assert.deepEqual(errors, []);
});
