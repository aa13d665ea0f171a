import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { feedAll, launch, newPage, shots, startServer, uiLogin } from './helpers.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('replay: plays a stored track, reproduces from its URL and exports', async () => {
  const errors = [];
  const page = await newPage(browser, errors);
  // Forty fixes a minute apart from the port towards the yard, slow then fast then stopped.
  const start = Math.floor(Date.now() / 60_000) * 60_000 - 50 * 60_000;
  const track = Array.from({ length: 40 }, (_, i) => ({
    id: 'REP1',
    lat: 43.69 - i * 0.001,
    lon: 111.935 + i * 0.00075,
    speed: i < 10 ? 15 : i < 30 ? 70 : 0,
    time: start + i * 60_000,
  }));
  await feedAll(server.osmand, track, 1);

  const from = new Date(start - 5 * 60_000).toISOString().replace('.000', '');
  const to = new Date(start + 45 * 60_000).toISOString().replace('.000', '');
  await uiLogin(page, server.base, `#/replay?vehicle=REP1&from=${from}&to=${to}`);
  await page.waitForFunction(() => document.querySelector('.view-replay')?.dataset.fixes === '40');
  assert.equal(await page.inputValue('#vehicle'), 'REP1');
  // The period is shown in China Standard Time whatever the browser's zone (Europe/Berlin here).
  const cst = new Date(start - 5 * 60_000 + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');
  assert.equal(await page.inputValue('#from'), cst);
  const t0 = await page.inputValue('#slider');

  // 16×: a minute of track in ~4 s, the end ~2 min away even when frames come seconds apart on a busy machine.
  await page.selectOption('#speed', '16');
  await page.click('#play');
  await page.waitForFunction((t0) => Number(document.querySelector('#slider').value) > Number(t0) + 60_000, t0);
  await page.click('#play');
  assert.equal(await page.getAttribute('.view-replay', 'data-playing'), 'false');
  const url = new URL(page.url());
  const q = new URLSearchParams(url.hash.split('?')[1]);
  assert.equal(q.get('vehicle'), 'REP1');
  const tAt = Date.parse(q.get('t'));
  assert.ok(tAt > start, `t=${q.get('t')} is inside the track`);

  // Step to the next fix: the cursor lands exactly on a fix time.
  await page.click('#step-fwd');
  const stepped = Number(await page.inputValue('#slider'));
  assert.equal((stepped - start) % 60_000, 0, 'stepped onto a fix');
  assert.match(await page.textContent('#cursor-speed'), /\d+ 公里\/时/);
  await shots(page, 'replay');

  // The URL alone brings the same view back.
  const again = await newPage(browser, errors);
  await uiLogin(again, server.base, new URL(page.url()).hash);
  await again.waitForFunction(() => document.querySelector('.view-replay')?.dataset.fixes === '40');
  assert.equal(Number(await again.inputValue('#slider')), stepped);

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button.export[data-format=csv]')]);
  assert.match(download.suggestedFilename(), /^REP1_\d{8}-\d{4}_\d{8}-\d{4}\.csv$/);
  const csv = await readFile(await download.path(), 'utf8');
  assert.ok(csv.trim().split('\n').length >= 40, `csv has ${csv.trim().split('\n').length} lines`);
  const [gj] = await Promise.all([page.waitForEvent('download'), page.click('button.export[data-format=geojson]')]);
  const body = JSON.parse(await readFile(await gj.path(), 'utf8'));
  assert.ok(body.type === 'FeatureCollection' || body.type === 'Feature', `geojson type ${body.type}`);
  assert.deepEqual(errors, []);
});
