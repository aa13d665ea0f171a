// The newest alert types (weighings, emergencies) read fully everywhere an officer reads them:
// the wall's detail, the alert list, the tablet (both orientations) and replay, in Chinese and
// English, from alerts the real server raises on weighbridge readings and declarations. Each
// screen's visible text fails on untranslated keys (sum_weight, ev_net), type ids, zone and
// vehicle ids, UTC times and raw JSON; the screenshots are kept for a person to look at.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { apiCall, apiLogin, feedAll, launch, newPage, WALL, PASSWORD, places, shotsDir, sleep, startServer } from './helpers.mjs';

let server, browser, token, where, zoneIds;
const now = Date.now();
const V = {
  weigh: { id: 'veh-words-weigh', plate: '蒙K55555', kind: 'truck' },
  em: { id: 'veh-words-em', plate: '蒙K66666', kind: 'car' },
  cross: { id: 'veh-words-cross', plate: '蒙K77777', kind: 'truck' },
};
const TYPES = ['weight_mismatch', 'double_weighing', 'emergency_crossing', 'border_crossing_outside_port'];
const alertIds = {};

before(async () => {
  server = await startServer();
  browser = await launch();
  where = await places(server);
  token = await apiLogin(server.base);
  await apiCall(server.base, token, 'POST', '/users', { username: 'auditor1', password: PASSWORD, role: 'auditor' });
  const fc = await apiCall(server.base, token, 'GET', '/zones');
  zoneIds = fc.features.map((f) => f.properties.id);
  const yard = fc.features.find((f) => f.properties.kind === 'yard' && f.properties.port_id === where.port) ?? fc.features.find((f) => f.properties.kind === 'yard');
  for (const v of Object.values(V)) await apiCall(server.base, token, 'POST', '/vehicles', v);
  const window = { valid_from: new Date(now - 3 * 3600_000).toISOString(), valid_to: new Date(now + 3 * 3600_000).toISOString() };
  await apiCall(server.base, token, 'POST', '/declarations', { id: 'DECL-WORDS-W', vehicle_id: V.weigh.id, direction: 'inbound', port_zone_id: where.port,
    yard_zone_id: yard.properties.id, type: 'normal', cargo: '煤炭', declared_net_kg: 30000, ...window });
  // In the port when it is weighed: replay has a track to show the weighings on.
  await feedAll(server.osmand, [3, 2, 1].map((m) => ({ id: V.weigh.id, lon: where.inPort[0], lat: where.inPort[1], speed: 0, time: now - m * 60_000 })), 1);
  // 6.7 % over the declaration at the port; 4.3 % heavier at the yard than at the port.
  await apiCall(server.base, token, 'POST', '/weighings', { scale_id: 'scale-words-port', zone_id: where.port, plate: V.weigh.plate, gross_kg: 47000, tare_kg: 15000, net_kg: 32000, operator: '李四' });
  await apiCall(server.base, token, 'POST', '/weighings', { scale_id: 'scale-words-yard', zone_id: yard.properties.id, plate: V.weigh.plate, gross_kg: 49000, tare_kg: 19000 });
  await apiCall(server.base, token, 'POST', '/declarations', { id: 'DECL-WORDS-EM', vehicle_id: V.em.id, direction: 'inbound', port_zone_id: where.port, type: 'emergency', cargo: '伤员' });
  const { at, normal } = where.crossing;
  await feedAll(server.osmand, [-0.04, -0.02, 0.02, 0.04].map((d, i) => ({ id: V.cross.id, lon: at[0] + normal[0] * d, lat: at[1] + normal[1] * d, speed: 50, time: now - (5 - i) * 60_000 })), 1);
  for (let i = 0; i < 100 && TYPES.some((t) => !alertIds[t]); i++) {
    for (const a of (await apiCall(server.base, token, 'GET', '/alerts')).alerts) alertIds[a.type] ??= String(a.id);
    if (TYPES.some((t) => !alertIds[t])) await sleep(300);
  }
  assert.deepEqual(TYPES.filter((t) => !alertIds[t]), [], `alerts raised: ${Object.keys(alertIds)}`);
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Logs in at hash: straight to the view under test, not through the role's home (a map for most). */
async function loginAs(username, lang, hash, viewport) {
  const errors = [];
  const page = await newPage(browser, errors, WALL);
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(`${server.base}/${hash}`);
  await page.evaluate((l) => localStorage.setItem('bw.lang', l), lang);
  await page.reload();
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav.topbar');
  return { page, errors };
}

/** The visible text of selector, failed on anything an officer could not read. */
async function readable(page, selector, lang) {
  const text = await page.$eval(selector, (el) => el.innerText);
  const at = `${lang} ${selector}:\n${text}`;
  assert.ok(text.trim(), `${selector} shows nothing`);
  assert.doesNotMatch(text, /\b[a-z]+_[a-z_]+\b/, `an untranslated key or type id in ${at}`);
  for (const id of zoneIds) assert.ok(!text.includes(id), `zone id ${id} in ${at}`);
  for (const v of Object.values(V)) assert.ok(!text.includes(v.id), `vehicle id ${v.id} in ${at}`);
  assert.doesNotMatch(text, /\{"|":|\bUTC\b|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}Z\b/, `raw JSON or a UTC time in ${at}`);
  if (lang === 'en') assert.doesNotMatch(text.replace(/蒙K\d{5}/g, '').replace(/[\u4e00-\u9fff]+(口岸|园区|通道|物流园|边境线)/g, ''), /(净重|申报|过磅|紧急|地磅)/, `Chinese sentence words in English ${at}`);
  return text;
}

const shot = (page, name) => page.screenshot({ path: join(shotsDir, `${name}.png`) });

for (const lang of ['zh', 'en']) {
  test(`words (${lang}): weighing and emergency alerts on the wall and the alert list`, async () => {
    const { page, errors } = await loginAs('admin', lang, '#/wall');
    await page.waitForSelector('#conn.up');
    await page.waitForFunction((n) => document.querySelectorAll('#ticker li').length >= n, TYPES.length);
    for (const type of ['weight_mismatch', 'double_weighing', 'emergency_crossing']) {
      if (await page.isVisible('#alert-detail')) await page.click('#alert-close');
      await page.click(`#ticker li[data-alert="${alertIds[type]}"]`);
      await page.waitForFunction((id) => document.querySelector(`#alert-detail .alert-body[data-alert="${id}"]`), alertIds[type]);
      const detail = await readable(page, '#alert-detail', lang);
      if (type === 'weight_mismatch') assert.match(detail, lang === 'zh' ? /称得净重32\.0吨，申报30\.0吨，相差\+2\.0吨（\+6\.7%）/ : /net 32\.0\s+t on .*declared 30\.0\s+t: \+2\.0\s+t \(\+6\.7%\)/);
      if (type === 'double_weighing') assert.match(detail, lang === 'zh' ? /毛重相差\+2\.0吨/ : /weighed \+2\.0\s+t apart/);
      if (type === 'emergency_crossing') assert.match(detail, lang === 'zh' ? /紧急通行：经.+口岸入境，有效至.+期间暂停偏离线路、违规停车/ : /emergency crossing: inbound through .+, valid until .+; .+ suspended meanwhile/);
      await shot(page, `words-wall-${type}-${lang}-1920x1080`);
    }
    await page.evaluate(() => (location.hash = '#/alerts'));
    await page.waitForSelector(`#alert-rows tr[data-alert="${alertIds.double_weighing}"]`);
    await page.click(`#alert-rows tr[data-alert="${alertIds.double_weighing}"]`);
    await page.waitForSelector('#alert-detail:not([hidden]) #evidence');
    await readable(page, '#alert-rows', lang);
    await readable(page, '#alert-detail', lang);
    await shot(page, `words-alertlist-${lang}-1920x1080`);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test(`words (${lang}): the tablet in both orientations and replay`, async () => {
    for (const vp of [{ width: 1280, height: 800 }, { width: 800, height: 1280 }]) {
      const { page, errors } = await loginAs('admin', lang, '#/tablet', vp);
      await page.waitForSelector(`button[data-alert="${alertIds.weight_mismatch}"]`);
      await readable(page, '#alerts', lang);
      await shot(page, `words-tablet-list-${lang}-${vp.width}x${vp.height}`);
      for (const type of ['weight_mismatch', 'emergency_crossing']) {
        await page.click(`button[data-alert="${alertIds[type]}"]`);
        await page.waitForSelector('#evidence');
        const side = await readable(page, '#side', lang);
        assert.match(side, type === 'weight_mismatch' ? (lang === 'zh' ? /相差\+2\.0吨/ : /\+2\.0\s+t/) : (lang === 'zh' ? /紧急通行：/ : /emergency crossing/));
        assert.ok(side.includes(V[type === 'weight_mismatch' ? 'weigh' : 'em'].plate), `the plate on the tablet's detail: ${side}`);
        await shot(page, `words-tablet-${type}-${lang}-${vp.width}x${vp.height}`);
        await page.click('#back');
        await page.waitForSelector('#alerts');
      }
      assert.deepEqual(errors, []);
      await page.context().close();
    }
    const q = new URLSearchParams({ vehicle: V.weigh.plate, from: new Date(now - 2 * 3600_000).toISOString(), to: new Date(now + 600_000).toISOString() });
    const { page, errors } = await loginAs('admin', lang, `#/replay?${q}`);
    await page.waitForFunction(() => document.querySelector('.view-replay')?.dataset.loaded === 'true');
    await page.waitForFunction(() => document.querySelectorAll('#events li').length >= 3);
    const events = await readable(page, '#replay-side', lang);
    assert.match(events, lang === 'zh' ? /过磅 · .+ · scale-words-port · 净重 32\.0吨/ : /Weighbridge reading · .+ · scale-words-port · Net 32\.0\s+t/);
    await shot(page, `words-replay-${lang}-1920x1080`);
    assert.deepEqual(errors, []);
    await page.context().close();
  });

  test(`words (${lang}): the audit view`, async () => {
    const { page, errors } = await loginAs('auditor1', lang, '#/audit');
    await page.waitForSelector('#audit-rows tr');
    await shot(page, `words-audit-${lang}-1920x1080`);
    assert.deepEqual(errors, []);
    await page.context().close();
  });
}
