// Supervision screens on the real server (#19): an emergency truck stops outside any allowed
// zone in its window and then arrives in its yard; the review's detail lists what was held back
// in words (type, place name, China time). Three weighbridges weigh the same trips, one of
// them 3% heavy; #/scales shows it drifting in a table and a chart. Chinese and English; never
// an id of a zone, a type's internal name or raw JSON.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, feedAll, launch, newPage, places, shots, sleep, startServer, uiLogin } from './helpers.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const never = ['unauthorized_stop', 'would_have_alerted', 'yard-ceke-2', 'port-ceke', '{"', 'undefined', 'NaN', 'null'];

test('emergency review: the held-back stop in words in the alert detail', async () => {
  const token = await apiLogin(server.base);
  await apiCall(server.base, token, 'POST', '/vehicles', { id: 'EMG1', plate: '蒙M·E0001', kind: 'truck' });
  const now = Date.now();
  await apiCall(server.base, token, 'POST', '/declarations', { id: 'D-EMG1', vehicle_id: 'EMG1', direction: 'inbound', type: 'emergency',
    port_zone_id: 'port-ceke', corridor_zone_id: 'corridor-ceke-yard2', yard_zone_id: 'yard-ceke-2', valid_from: new Date(now - 3600_000).toISOString() });
  // 16 min 3 km north of the Ejin Banner logistics park, then 5 min into it.
  const fixes = [];
  for (let i = 0; i < 33; i++) fixes.push({ id: 'EMG1', lat: 42.02 + (i % 3) * 1e-5, lon: 101.1, time: now - 40 * 60_000 + i * 30_000 });
  for (let i = 0; i <= 14; i++) fixes.push({ id: 'EMG1', lat: 42.02 - 0.03 * Math.min(1, i / 10), lon: 101.1, speed: 40, time: now - 22 * 60_000 + i * 30_000 });
  await feedAll(server.osmand, fixes, 1);
  let reviews = [];
  for (let i = 0; i < 120 && !reviews.length; i++) {
    reviews = (await apiCall(server.base, token, 'GET', '/alerts?vehicle_id=EMG1&type=emergency_review')).alerts;
    if (!reviews.length) await sleep(500);
  }
  assert.ok(reviews.length, 'the window ended with a review');

  const errors = [];
  const page = await newPage(browser, errors);
  await uiLogin(page, server.base, '#/alerts');
  await page.click(`#alert-rows tr[data-alert="${reviews[0].id}"]`);
  await page.waitForSelector('#evidence');
  const text = await page.innerText('.alert-body');
  for (const want of ['紧急通关事后复核', '蒙M·E0001', '紧急通行时段', '暂停执行的规则', '偏离线路、违规停车', '暂缓告警1', '违规停车，', '北京时间', '额济纳旗物流园区']) {
    assert.ok(text.includes(want), `the detail shows ${want}:\n${text}`);
  }
  assert.match(text, /暂缓告警1\s*违规停车，\d{4}-\d\d-\d\d \d\d:\d\d:\d\d 北京时间 – \d\d:\d\d:\d\d，/);
  for (const n of never) assert.ok(!text.includes(n), `the detail does not show ${n}`);
  await shots(page, 'emergency-review', [1280, 800]);
  const [crossing] = (await apiCall(server.base, token, 'GET', '/alerts?vehicle_id=EMG1&type=emergency_crossing')).alerts;
  await page.click(`#alert-rows tr[data-alert="${crossing.id}"]`);
  await page.waitForFunction(() => document.querySelector('#alert-summary')?.textContent?.includes('紧急通行：经'));
  const announced = await page.innerText('.alert-body');
  assert.match(announced, /紧急通行：经策克口岸入境，有效至\d{4}-\d\d-\d\d \d\d:\d\d:\d\d 北京时间/);
  assert.ok(announced.includes('额济纳旗物流园区') && announced.includes('偏离线路、违规停车'), announced);
  for (const n of never) assert.ok(!announced.includes(n), `the announcement does not show ${n}`);

  await page.click('#account');
  await page.click('#lang');
  await page.click(`#alert-rows tr[data-alert="${reviews[0].id}"]`);
  await page.waitForFunction(() => document.querySelector('.alert-body')?.textContent?.includes('Held back 1'));
  const en = await page.innerText('.alert-body');
  assert.match(en, /Held back 1\s*Unauthorized stop, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
  assert.ok(en.includes('Ejin Banner logistics park'), en);
  for (const n of never) assert.ok(!en.includes(n), `the English detail does not show ${n}`);
  await page.click('#account');
  await page.click('#lang');
  await page.context().close();
  assert.deepEqual(errors, []);
});

test('scales: the drifting weighbridge named in a table and a chart', async () => {
  const token = await apiLogin(server.base);
  const now = Date.now();
  const scales = [['SC-A', 'yard-ceke-1'], ['SC-B', 'yard-ceke-2'], ['SC-C', 'port-ceke']];
  for (let i = 0; i < 9; i++) {
    const id = `WT${i}`;
    const plate = `蒙M·W000${i}`;
    await apiCall(server.base, token, 'POST', '/vehicles', { id, plate, kind: 'truck' });
    await apiCall(server.base, token, 'POST', '/declarations', { id: `D-${id}`, vehicle_id: id, direction: 'inbound', port_zone_id: 'port-ceke',
      corridor_zone_id: 'corridor-ceke-yard1', yard_zone_id: 'yard-ceke-1', valid_from: new Date(now - 6 * 3600_000).toISOString(),
      valid_to: new Date(now + 6 * 3600_000).toISOString(), declared_net_kg: 30000 });
    const truth = 45000 + i * 300;
    const pair = [[0, 1], [0, 2], [1, 2]][i % 3];
    for (const [k, s] of pair.entries()) {
      const [scale, zone] = scales[s];
      const gross = Math.round(truth * (scale === 'SC-C' ? 1.03 : 1) + (i % 2 ? 20 : -20));
      await apiCall(server.base, token, 'POST', '/weighings', { scale_id: scale, zone_id: zone, time: new Date(now - 3600_000 + i * 60_000 + k * 1000).toISOString(),
        plate, gross_kg: gross, tare_kg: 15000, operator: '张三' });
    }
  }
  const errors = [];
  const page = await newPage(browser, errors);
  await uiLogin(page, server.base, '#/daily');
  await page.click('#daily-scales');
  await page.waitForSelector('#scales-table');
  assert.ok(!(await page.$('nav.topbar a[href="#/scales"]')), 'the bar stays as it was: the screen opens from the daily picture');
  const text = await page.innerText('#app');
  for (const want of ['地磅计量偏差（近30天）', '地磅', '所属口岸', '比对车次', '平均偏差', '离散（标准差）', '偏差超限，需检定', '策克口岸', '千克']) {
    assert.ok(text.includes(want), `the screen shows ${want}`);
  }
  // Each scale by its name (where it stands) and its port, in the table and in the chart; never by its id.
  const rows = await page.$$eval('#scales-table tbody tr', (trs) => trs.map((tr) => [tr.querySelector('td.name').textContent, tr.querySelector('td.port').textContent]));
  assert.deepEqual(rows, [['策克口岸煤炭物流园地磅', '策克口岸'], ['额济纳旗物流园区地磅', '策克口岸'], ['策克口岸地磅', '策克口岸']]);
  const labels = await page.$$eval('#scales-chart text.name', (ts) => ts.map((x) => x.textContent));
  assert.deepEqual(labels, rows.map(([name]) => name));
  for (const id of ['SC-A', 'SC-B', 'SC-C']) assert.ok(!text.includes(id), `the screen shows the scale id ${id}`);
  assert.equal(await page.getAttribute('#scales-table tr.scale-drifting', 'data-scale'), 'SC-C');
  assert.equal((await page.$$('#scales-table tr.scale-drifting')).length, 1, 'one scale drifts');
  assert.equal((await page.$$('#scales-chart rect.scale-bar.drifting')).length, 1, 'its bar is marked in the chart');
  for (const n of never) assert.ok(!text.includes(n), `the screen does not show ${n}`);
  assert.ok(!text.includes('−0.00'), 'a rounding to zero has no sign');
  // Each bar stays in its row: no other style stretches it.
  const heights = await page.$$eval('#scales-chart rect.scale-bar', (rs) => rs.map((r) => r.getBoundingClientRect().height));
  const rowPx = await page.$eval('#scales-chart', (svg) => (svg.getBoundingClientRect().height / svg.viewBox.baseVal.height) * 34);
  assert.ok(heights.every((hgt) => hgt < rowPx), `bars ${heights} within rows of ${rowPx} px`);
  await shots(page, 'scales', [1280, 800]);
  await page.setViewportSize({ width: 800, height: 1280 });
  await page.screenshot({ path: '../../screenshots/scales-800x1280.png' });
  await page.setViewportSize({ width: 1920, height: 1080 });

  await page.click('#account');
  await page.click('#lang');
  await page.waitForFunction(() => document.querySelector('#scales-title')?.textContent?.includes('Weighbridge drift'));
  await page.waitForSelector('#scales-table');
  const en = await page.innerText('#app');
  for (const want of ['Weighbridge drift (last 30 days)', 'Trips compared', 'Drifting: calibrate', 'Ceke port', 'Ceke port scale']) assert.ok(en.includes(want), `English shows ${want}`);
  await page.click('#account');
  await page.click('#lang');
  await page.context().close();
  assert.deepEqual(errors, []);
});

test('tablet: an officer confirms an alert as an offence; it is resolved and audited', async () => {
  const token = await apiLogin(server.base);
  await apiCall(server.base, token, 'POST', '/vehicles', { id: 'CNF1', plate: '蒙M·F0001', kind: 'truck' });
  const { crossing: { at, normal } } = await places(server);
  const now = Date.now();
  await feedAll(server.osmand, [-0.04, -0.02, 0.02, 0.04].map((d, i) => ({
    id: 'CNF1', lon: at[0] + normal[0] * d, lat: at[1] + normal[1] * d, speed: 50, time: now - (4 - i) * 60_000,
  })), 1);
  let alerts = [];
  for (let i = 0; i < 60 && !alerts.length; i++) {
    alerts = (await apiCall(server.base, token, 'GET', '/alerts?vehicle_id=CNF1&type=border_crossing_outside_port')).alerts;
    if (!alerts.length) await sleep(500);
  }
  assert.ok(alerts.length, 'the crossing outside every port raised its alert');
  const errors = [];
  const page = await newPage(browser, errors);
  await page.setViewportSize({ width: 800, height: 1280 });
  await uiLogin(page, server.base, '#/tablet');
  await page.click(`button[data-alert="${alerts[0].id}"]`);
  await page.waitForSelector('#confirm');
  assert.equal(await page.textContent('#confirm'), '认定违规');
  await page.screenshot({ path: '../../screenshots/tablet-confirm-800x1280.png' });
  await page.fill('#note', '车上查获未申报货物');
  await page.click('#confirm');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent === '已处置');
  const after = (await apiCall(server.base, token, 'GET', `/alerts/${alerts[0].id}`));
  assert.equal(after.status, 'resolved');
  assert.match(after.note, /confirmed as an offence: 车上查获未申报货物/);
  const r = await fetch(`${server.base}/api/v1/alerts/${alerts[0].id}/confirm`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 409, 'confirmed once only');
  assert.deepEqual(errors, []);
});
