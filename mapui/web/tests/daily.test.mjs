// The daily report on the real server: a registered truck crosses the border far from every
// port and another truck's terminal never reports; the wall's panel counts today, and #/daily
// shows the day in Chinese with plates, port names and China time, never an id or raw JSON.
// Three trucks crossing Erenhot together on three days make a group on #/groups; a control
// truck crossing there on other hours does not.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, crossingIn, feedAll, launch, newPage, places, shots, sleep, startServer, uiLogin } from './helpers.mjs';

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

test('daily report: the wall panel and #/daily read the day in Chinese', async () => {
  // The report is of the China day: its fixes (up to 4 min old) and the checks (a minute or two)
  // must fall on one day, so a run just before or after midnight in Beijing waits for 00:05.
  const intoDay = (Date.now() + 8 * 3600_000) % 86_400_000;
  if (intoDay < 300_000 || intoDay > 86_400_000 - 180_000) await sleep((86_400_000 + 305_000 - intoDay) % 86_400_000);
  const token = await apiLogin(server.base);
  await apiCall(server.base, token, 'POST', '/vehicles', { id: 'DAY1', plate: '蒙K·D0001', kind: 'truck' });
  await apiCall(server.base, token, 'POST', '/vehicles', { id: 'DAY2', plate: '蒙K·D0002', kind: 'truck' });
  await apiCall(server.base, token, 'POST', '/devices', { id: '13900000002', protocol: 'jt808', vehicle_id: 'DAY2' });
  const { at, normal } = where.crossing;
  const now = Date.now();
  await feedAll(server.osmand, [-0.04, -0.02, 0.02, 0.04].map((d, i) => ({
    id: 'DAY1', lon: at[0] + normal[0] * d, lat: at[1] + normal[1] * d, speed: 50, time: now - (4 - i) * 60_000,
  })), 1);
  let alerts = [];
  for (let i = 0; i < 60 && !alerts.length; i++) {
    alerts = (await apiCall(server.base, token, 'GET', '/alerts?vehicle_id=DAY1&type=border_crossing_outside_port')).alerts;
    if (!alerts.length) await sleep(500);
  }
  assert.ok(alerts.length, 'the crossing outside every port raised its alert');

  const errors = [];
  const page = await newPage(browser, errors);
  await uiLogin(page, server.base, '#/wall');
  await page.waitForFunction(() => /出境\s*1/.test(document.querySelector('#daily-figures')?.textContent ?? ''));
  const panel = await page.textContent('#daily-panel');
  assert.match(panel, /今日 · 监管日报/);
  assert.match(panel, /当日告警\s*1/);
  await shots(page, 'daily-wall');

  await page.click('#daily-open');
  await page.waitForSelector('#daily-report h1');
  await page.waitForFunction(() => document.querySelector('#daily-report')?.textContent?.includes('蒙K·D0001'));
  await shots(page, 'daily-report');
  const text = await page.textContent('#daily-report');
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
  for (const want of [`监管日报 ${today}`, '全关区', '二连浩特口岸', '非口岸越境', '风险车辆前20名', '30天内非口岸越境 1 次', '蒙K·D0002', '从未上报定位', '北京时间']) {
    assert.ok(text.includes(want), `the report shows ${want}`);
  }
  for (const never of ['DAY1', 'DAY2', 'port-erenhot', 'border_crossing_outside_port', '{"', 'undefined', 'NaN']) {
    assert.ok(!text.includes(never), `the report does not show ${never}`);
  }
  // The generated time is China time: the hour read in Shanghai, not the browser's Berlin.
  const cstHour = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', hourCycle: 'h23' }).format(new Date());
  assert.match(text, new RegExp(`生成时间：${today} ${cstHour}:`));
  assert.ok(await page.$('#daily-report svg.trend-chart rect.bar.today'), 'each alert type has its 30-day chart');

  const download = page.waitForEvent('download');
  await page.click('#daily-csv');
  const csv = await (await download).createReadStream();
  let body = '';
  for await (const chunk of csv) body += chunk;
  assert.ok(body.startsWith('\ufeff监管日报'), 'the CSV starts with a BOM and a Chinese title');
  assert.ok(body.includes('蒙K·D0001') && !body.includes('DAY1'));

  // In English the risk reasons are English, made from the report's facts (the server's are
  // Chinese), and the ports go by their English names.
  await page.click('#account');
  await page.click('#lang');
  await page.waitForFunction(() => document.querySelector('.daily-risk')?.innerText.includes('in 30 days'));
  const risk = await page.$eval('.daily-risk', (el) => el.innerText);
  assert.match(risk, /Crossing outside port: 1 in 30 days/);
  assert.doesNotMatch(risk.replace(/蒙K·D\d{4}/g, ''), /[\u4e00-\u9fff]/, `Chinese in the English risk list: ${risk}`);
  assert.match(await page.textContent('#daily-report'), /Erenhot port/);
  // The date is typed as YYYY-MM-DD in any browser language; a browser-style date is refused in words.
  assert.equal(await page.inputValue('#daily-date'), today);
  await page.fill('#daily-date', '12/05/2026');
  await page.dispatchEvent('#daily-date', 'change');
  await page.waitForFunction(() => /YYYY-MM-DD/.test(document.querySelector('.daily-controls')?.textContent ?? ''));
  await page.context().close();
  assert.deepEqual(errors, []);
});

test('gang graph: vehicles that crossed together, by plate, open their replay', async () => {
  const token = await apiLogin(server.base);
  const gang = [['GNG1', '蒙K·G0001'], ['GNG2', '蒙K·G0002'], ['GNG3', '蒙K·G0003'], ['CTL1', '蒙K·C0001']];
  for (const [id, plate] of gang) await apiCall(server.base, token, 'POST', '/vehicles', { id, plate, kind: 'truck' });
  const pts = crossingIn(await apiCall(server.base, token, 'GET', '/zones'), 'port-erenhot');
  const now = Date.now();
  const fixes = [];
  for (const d of [1, 2, 3]) {
    const start = now - d * 86_400_000;
    gang.forEach(([id], k) => {
      // The control crosses five hours after the others.
      const t0 = start + (id === 'CTL1' ? 5 * 3600_000 : k * 40_000);
      pts.forEach((p, i) => fixes.push({ id, lon: p[0], lat: p[1], speed: 10, time: t0 + i * 20_000 }));
    });
  }
  for (const [id] of gang) await feedAll(server.osmand, fixes.filter((f) => f.id === id), 1);
  let groups = [];
  for (let i = 0; i < 60 && !groups.length; i++) {
    groups = (await apiCall(server.base, token, 'GET', '/groups')).groups;
    if (!groups.length) await sleep(500);
  }
  assert.equal(groups.length, 1, 'one group');

  const errors = [];
  const page = await newPage(browser, errors);
  await uiLogin(page, server.base, '#/groups');
  await page.waitForSelector('.group-graph .node');
  await shots(page, 'groups');
  const text = await page.textContent('main');
  for (const want of ['蒙K·G0001', '蒙K·G0002', '蒙K·G0003', '二连浩特口岸', '入境', '北京时间']) assert.ok(text.includes(want), `the graph view shows ${want}`);
  for (const never of ['蒙K·C0001', 'GNG1', 'CTL1', 'port-erenhot', 'inbound', '{"']) assert.ok(!text.includes(never), `the graph view does not show ${never}`);
  assert.equal(await page.$$eval('.group-graph .node', (n) => n.length), 3);
  assert.equal(await page.$$eval('.group-graph .edge', (n) => n.length), 3);
  await page.click('.group-graph .node[data-vehicle="GNG2"]');
  await page.waitForFunction(() => location.hash.startsWith('#/replay?vehicle=GNG2&from='));
  assert.deepEqual(errors, []);
});
