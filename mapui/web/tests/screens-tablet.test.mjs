// The patrol tablet (1280×800 and 800×1280) and the investigator's replay as their users read
// them: the visible text of the tablet's list, an alert's detail and replay's events carries
// plates, zone names and China time, never internal ids, raw JSON, UTC or missing-glyph boxes.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, feedAll, km, launch, mapIdle, newPage, places, shotsDir, sleep, startServer, uiLogin, WALL } from './helpers.mjs';

let server, browser, where, token;
before(async () => {
  server = await startServer();
  where = await places(server);
  browser = await launch();
  token = await apiLogin(server.base);
  for (const [id, plate] of [['tab-truck-1', '蒙B00001'], ['rep-truck-2', '蒙B00002']]) {
    await apiCall(server.base, token, 'POST', '/vehicles', { id, plate, kind: 'truck' });
  }
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const ZONE_ID = /\b(?:port|corridor|yard|control|service)-[a-z]|cn-mn-border/;
const VEHICLE_ID = /tab-truck-1|rep-truck-2/;
const RAW_JSON = /[{[]\s*"\w+"\s*:|"\w+"\s*:\s*["{[\d]/;
const UTC_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d|\d\d:\d\d(?::\d\d)?(?:\.\d+)?Z\b|\bUTC\b|\bGMT\b/;
const RAW_WORDS = /\b(?:inbound|outbound|border_cross|zone_enter|zone_exit|stop_start|stop_end|critical|warning|undefined|null|NaN)\b/;

/** Fails on what an officer must never read: internal ids, raw JSON, UTC times, English codes. */
function assertReadable(text, where) {
  for (const [re, what] of [[ZONE_ID, 'a zone id'], [VEHICLE_ID, 'a vehicle id where a plate exists'], [RAW_JSON, 'raw JSON'], [UTC_TIME, 'a UTC time'], [RAW_WORDS, 'an untranslated code']]) {
    const m = re.exec(text);
    assert.equal(m, null, `${where} shows ${what} (${m?.[0]}):\n${text}`);
  }
}

/**
 * The characters of an element's visible text that render as the missing glyph: each drawn in the
 * element's font and compared, pixel for pixel, with an unassigned code point (U+0378).
 */
async function missingGlyphs(page, selector) {
  return page.$eval(selector, (el) => {
    const c = document.createElement('canvas');
    c.width = c.height = 48;
    const ctx = c.getContext('2d', { willReadFrequently: true });
    ctx.font = `32px ${getComputedStyle(el).fontFamily}`;
    const draw = (ch) => {
      ctx.clearRect(0, 0, 48, 48);
      ctx.fillText(ch, 4, 36);
      return ctx.getImageData(0, 0, 48, 48).data.join();
    };
    const missing = draw('\u0378');
    return [...new Set(el.innerText)].filter((ch) => ch.trim() && draw(ch) === missing);
  });
}

async function assertScreen(page, selector, name) {
  const text = await page.$eval(selector, (el) => el.innerText);
  assertReadable(text, name);
  assert.deepEqual(await missingGlyphs(page, selector), [], `${name}: characters drawn as boxes`);
  return text;
}

const cst = (ms) => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai', dateStyle: 'short', timeStyle: 'medium' }).format(ms);

async function tabletPage(viewport, geolocation) {
  const errors = [];
  const page = await newPage(browser, errors, viewport, { hasTouch: true });
  if (geolocation) {
    await page.context().grantPermissions(['geolocation']);
    await page.context().setGeolocation(geolocation);
  }
  return { page, errors };
}

async function shot(page, name) {
  await mkdir(shotsDir, { recursive: true });
  await mapIdle(page);
  await page.screenshot({ path: join(shotsDir, `${name}.png`) });
}

/** Whole and inside the viewport: a button an officer can press without scrolling. */
async function onScreen(page, selector) {
  const box = await page.locator(selector).boundingBox();
  const vp = page.viewportSize();
  return !!box && box.y >= 0 && box.y + box.height <= vp.height && box.x >= 0 && box.x + box.width <= vp.width;
}

test('tablet: nearest alerts with plates and severity words, detail in words, actions always on screen, both orientations', async () => {
  const { at, normal } = where.crossing;
  // The patrol 20 km inside China from where the truck will cross.
  const patrol = { latitude: at[1] - normal[1] * 0.2, longitude: at[0] - normal[0] * 0.2 };
  const { page, errors } = await tabletPage({ width: 1280, height: 800 }, patrol);
  await uiLogin(page, server.base, '#/tablet');
  await page.waitForSelector('#conn.up');
  await page.waitForFunction(() => document.querySelector('#here-pill')?.classList.contains('known'));

  // A filter being picked is not replaced when an alert arrives (its list would close).
  const severityFilter = await page.$('#f-severity');
  // The registered truck 蒙B00001 drives across the border far from every port.
  const now = Date.now();
  await feedAll(server.osmand, [-0.04, -0.02, 0.02, 0.04].map((d, i) => ({
    id: 'tab-truck-1', lon: at[0] + normal[0] * d, lat: at[1] + normal[1] * d, speed: 50, time: now - (4 - i) * 60_000,
  })), 1);
  let alert;
  for (let i = 0; i < 60 && !alert; i++) {
    alert = (await apiCall(server.base, token, 'GET', '/alerts?status=open&vehicle_id=tab-truck-1')).alerts.find((a) => a.type === 'border_crossing_outside_port');
    if (!alert) await sleep(500);
  }
  assert.ok(alert, 'the server raised border_crossing_outside_port for the truck');
  const item = `button[data-alert="${alert.id}"]`;
  await page.waitForSelector(item);
  await page.waitForFunction((sel) => document.querySelector(sel)?.innerText.includes('蒙B00001'), item);

  assert.ok(await severityFilter.evaluate((el) => el.isConnected), 'the filter survived the new alert');
  const list = await assertScreen(page, '#side', 'the tablet list');
  const row = await page.$eval(item, (el) => el.innerText);
  assert.match(row, /严重/, 'severity in words');
  assert.match(row, /非口岸越境/);
  assert.match(row, /蒙B00001 · 货车/, 'plate and kind');
  assert.match(row, /\b\d+(\.\d)?\skm\b/, 'distance from the patrol, rounded');
  assert.ok(row.includes(cst(Date.parse(alert.time)).slice(0, 16)), `time in China time with the date: ${row}`);
  assert.match(list, /按距我的距离排序/);
  for (const f of ['#f-severity', '#f-type', '#f-status']) assert.ok(await page.isVisible(f), `${f} filter shown`);
  // Filtering to warnings hides the critical crossing, back to all shows it.
  await page.selectOption('#f-severity', 'warning');
  await page.waitForFunction((sel) => !document.querySelector(sel), item);
  await page.selectOption('#f-severity', '');
  await page.waitForSelector(item);
  await shot(page, 'tablet-list-1280x800');

  await page.click(item);
  await page.waitForSelector('#ack');
  await page.waitForFunction(() => Number(document.querySelector('#side')?.dataset.trackPoints) >= 2);
  await page.waitForFunction(() => document.querySelector('#vehicle')?.textContent === '蒙B00001 · 货车');
  const detail = await assertScreen(page, '#side', 'the alert detail');
  assert.match(detail, /入境|出境/, 'direction in words');
  assert.match(detail, /不在任何口岸/, 'the crossing outside every port said in words');
  assert.ok(detail.includes(`${cst(Date.parse(alert.time))} 北京时间`), 'the alert time in China time');
  // The zone concerned is outlined on the map and named there in Chinese.
  const zoneName = await page.textContent('#zone-label');
  assert.match(zoneName, /边境/);
  assertReadable(zoneName, 'the zone label');
  assert.ok(await onScreen(page, '#ack') && await onScreen(page, '#resolve'), '确认 and 处置完成 on screen');
  // However far the evidence is scrolled, the actions stay.
  await page.$eval('#side .side-scroll', (el) => el.scrollTo(0, el.scrollHeight));
  assert.ok(await onScreen(page, '#ack') && await onScreen(page, '#resolve'), '确认 and 处置完成 still on screen after scrolling');
  await shot(page, 'tablet-alert-1280x800');

  // Portrait: the top bar is one line, the account's buttons in its menu, the actions on screen.
  await page.setViewportSize({ width: 800, height: 1280 });
  await page.evaluate(() => { window.bwMap?.resize(); });
  const bar = await page.$eval('nav.topbar', (nav) => {
    const kids = [...nav.children].filter((k) => k.getBoundingClientRect().height > 0);
    const tops = kids.map((k) => Math.round(k.getBoundingClientRect().top));
    const logout = nav.querySelector('#logout').getBoundingClientRect().height;
    const cs = getComputedStyle(nav);
    return { height: nav.getBoundingClientRect().height, inner: nav.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom), tops, logout, scroll: nav.scrollWidth - nav.clientWidth };
  });
  assert.ok(bar.inner <= bar.logout + 1, `top bar one line high: ${JSON.stringify(bar)}`);
  assert.ok(Math.max(...bar.tops) - Math.min(...bar.tops) < bar.logout / 2, `top bar items on one line: ${JSON.stringify(bar)}`);
  assert.equal(bar.scroll, 0, 'nothing cut off at the right');
  assert.ok(await page.$('#password') && await page.$('#totp'), '修改密码 and 两步验证 present');
  await page.click('#account');
  assert.ok(await page.isVisible('#password') && await page.isVisible('#totp'), 'the menu opens on them');
  assert.equal(await page.textContent('#password'), '修改密码');
  assert.equal(await page.textContent('#totp'), '两步验证');
  await page.click('#account');
  assert.ok(await onScreen(page, '#ack') && await onScreen(page, '#resolve'), '确认 and 处置完成 on screen in portrait');
  await assertScreen(page, '#side', 'the alert detail in portrait');
  await shot(page, 'tablet-alert-800x1280');

  await page.fill('#note', '巡逻三组前往');
  await page.click('#ack');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent === '已确认');
  assert.equal((await apiCall(server.base, token, 'GET', `/alerts/${alert.id}`)).status, 'acknowledged');
  // Acknowledged still needs the patrol: it stays in the list (not resolved), marked.
  await page.click('#back');
  await page.waitForFunction((sel) => document.querySelector(sel)?.innerText.includes('已确认'), item);
  await assertScreen(page, '#side', 'the tablet list in portrait');
  await shot(page, 'tablet-list-800x1280');
  await page.selectOption('#f-status', 'open');
  await page.waitForFunction((sel) => !document.querySelector(sel), item);
  await page.selectOption('#f-status', 'active');
  await page.click(item);
  await page.click('#resolve');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent === '已处置');
  await page.click('#back');
  await page.waitForFunction((sel) => !document.querySelector(sel), item);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('tablet: without the GPS it says 位置未知 and sorts by time, not by a guessed distance', async () => {
  const { page, errors } = await tabletPage({ width: 1280, height: 800 }, null);
  await uiLogin(page, server.base, '#/tablet');
  await page.waitForSelector('#conn.up');
  assert.equal(await page.textContent('#here-pill'), '位置未知');
  assert.match(await page.textContent('#here'), /位置未知/);
  for (const d of await page.$$eval('#alerts .dist', (els) => els.map((e) => e.textContent))) assert.equal(d, '', 'no distance without a position');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('replay: plate in the URL, timeline fits the fixes, events in Chinese and counted right, 跳过停留, export by plate in China time', async () => {
  const errors = [];
  const page = await newPage(browser, errors, WALL);
  const context = page.context();

  // 蒙B00002 drives along the corridor into its port, stops there 8 minutes, is dark while it
  // drives (at 60 km/h, so the rules believe the jump) to a stretch of border far from every
  // port, and crosses it there.
  const { at: x, normal } = where.crossing;
  const darkMin = Math.max(20, Math.ceil(km(where.inPort, x)));
  const start = Math.floor(Date.now() / 60_000) * 60_000 - (darkMin + 40) * 60_000;
  const fixes = [];
  const at = (i) => start + i * 60_000;
  const approach = where.onCorridor.slice(0, 10).reverse();
  approach.forEach((p, i) => fixes.push({ lon: p[0], lat: p[1], speed: 40, time: at(i) }));
  for (let i = 0; i < 9; i++) fixes.push({ lon: where.inPort[0], lat: where.inPort[1], speed: i ? 0 : 10, time: at(10 + i) });
  const gapEnd = at(19 + darkMin);
  [-0.04, -0.02, 0.02, 0.04].forEach((d, i) => fixes.push({ lon: x[0] + normal[0] * d, lat: x[1] + normal[1] * d, speed: 50, time: gapEnd + i * 60_000 }));
  await feedAll(server.osmand, fixes.map((f) => ({ id: 'rep-truck-2', ...f })), 1);
  const first = fixes[0].time;
  const last = fixes[fixes.length - 1].time;

  const from = new Date(first - 60 * 60_000).toISOString();
  const to = new Date(last + 60 * 60_000).toISOString();
  // The route the wall links to: a plate (or id) and the window, RFC 3339.
  await uiLogin(page, server.base, `#/replay?vehicle=${encodeURIComponent('蒙B00002')}&from=${from}&to=${to}`);
  await page.waitForFunction((n) => document.querySelector('.view-replay')?.dataset.fixes === String(n), fixes.length);
  assert.equal(await page.inputValue('#vehicle'), '蒙B00002', 'the plate in the vehicle field');
  assert.equal(Number(await page.getAttribute('#slider', 'min')), first, 'the timeline starts at the first fix, not the period');
  assert.equal(Number(await page.getAttribute('#slider', 'max')), last, 'and ends at the last');
  assert.equal(await page.textContent('#view-start'), `${cst(first)} 北京时间`);

  // The rules' events arrive as they judge the fixes: wait for the crossing.
  let events = [];
  for (let i = 0; i < 60 && !events.some((e) => e.type === 'border_cross'); i++) {
    events = (await apiCall(server.base, token, 'GET', `/events?vehicle_id=rep-truck-2&from=${from}&to=${to}`)).events;
    if (!events.some((e) => e.type === 'border_cross')) await sleep(500);
  }
  assert.ok(events.some((e) => e.type === 'border_cross'), `the server recorded the crossing: ${JSON.stringify(events.map((e) => [e.type, e.zone_id, e.time]))}`);
  await page.click('#load');
  await page.waitForFunction(() => document.querySelector('.view-replay')?.dataset.loaded === 'true');
  await page.waitForFunction(() => document.querySelectorAll('#events li').length > 0);
  const text = await assertScreen(page, '#replay-side', 'replay events');
  const rows = await page.$$eval('#events li', (li) => li.length);
  assert.equal(await page.textContent('#events-head'), `事件 / 告警（${rows}）`, 'the count is the rows listed');
  assert.match(text, /越境 · (入境|出境) · 不在任何口岸/, 'the crossing in words');
  assert.match(text, /进入区域 · \S*口岸/, 'zones by their Chinese names');
  assert.match(text, /非口岸越境 · 严重/, 'the alert by its rule name');
  assert.match(text, /停留（[1-9]）/, 'the stop in the port listed');
  await page.click('#step-fwd');
  const sel = await page.$eval('#cursor-time', (el) => el.textContent);
  assertReadable(sel, 'the cursor time');
  assert.match(sel, /北京时间$/);
  await shot(page, 'replay-1920x1080');

  // 跳过停留: from inside the dark minutes, playing at 1× reaches the next fix at once.
  await page.selectOption('#speed', '1');
  assert.ok(await page.isChecked('#skip-stops'), '跳过停留 on by default');
  await page.$eval('#slider', (s, t) => { s.value = String(t); s.dispatchEvent(new Event('input')); }, at(19) + 60_000);
  await page.click('#play');
  await page.waitForFunction((t) => Number(document.querySelector('#slider').value) >= t, gapEnd);
  await page.click('#play');

  // The vehicle field takes the plate as typed, spaced and in lower case.
  await page.fill('#vehicle', '蒙b 00002');
  await page.click('#load');
  await page.waitForFunction(() => document.querySelector('.view-replay')?.dataset.loaded === 'true' && document.querySelector('#vehicle').value === '蒙B00002');
  assert.equal(Number(await page.getAttribute('.view-replay', 'data-fixes')), fixes.length);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button.export[data-format=csv]')]);
  assert.match(download.suggestedFilename(), /^蒙B00002_\d{8}-\d{4}_\d{8}-\d{4}\.csv$/);
  const csv = await readFile(await download.path(), 'utf8');
  assert.ok(csv.startsWith('\uFEFF车牌,'), 'UTF-8 BOM and a Chinese header');
  const lines = csv.trim().split('\n');
  assert.equal(lines.length, fixes.length + 1);
  assert.ok(lines[1].startsWith(`蒙B00002,rep-truck-2,rep-truck-2,${cst(first)},`), `first row in China time: ${lines[1]}`);
  assert.equal(UTC_TIME.exec(csv), null, 'no UTC time in the CSV');

  // A plate nobody has: said in words, nothing loaded.
  await page.fill('#vehicle', '蒙Z99999');
  await page.click('#load');
  await page.waitForFunction(() => document.querySelector('#replay-msg')?.textContent.includes('未找到'));
  assert.deepEqual(errors, []);
  await context.close();
});
