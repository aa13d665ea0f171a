import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, feedAll, launch, newPage, startServer, uiLogin } from './helpers.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Every frame of the page's live WebSocket, in order, both ways. */
function recordFrames(page) {
  const frames = [];
  page.on('websocket', (ws) => {
    if (!ws.url().includes('/api/v1/live')) return;
    ws.on('framesent', (f) => frames.push({ dir: 'out', data: String(f.payload) }));
    ws.on('framereceived', (f) => frames.push({ dir: 'in', data: String(f.payload) }));
  });
  return frames;
}

/** The messages of received frames, batches unpacked. */
const messages = (frames) => frames.filter((f) => f.dir === 'in').flatMap((f) => {
  const m = JSON.parse(f.data);
  return m.type === 'batch' ? m.messages : [m];
});

const covers = (b, lon, lat) => b && lon >= b[0] && lat >= b[1] && lon <= b[2] && lat <= b[3];

test('live: the tablet subscribes to the area it shows and gets no positions outside it; panning re-subscribes', async () => {
  const errors = [];
  const page = await newPage(browser, errors);
  const frames = recordFrames(page);
  await uiLogin(page, server.base, '#/tablet');
  await page.waitForSelector('#conn.up');
  const here = [111.95, 43.65];
  const away = [116.0, 40.0];
  await page.evaluate((c) => { window.bwMap.jumpTo({ center: c, zoom: 10 }); }, here);
  // The debounced re-subscription after the move, acknowledged by the server.
  const acked = await page.waitForFunction(([lon, lat]) => {
    const b = window.bwLive?.stats.acked?.bbox;
    return b && b[2] - b[0] < 4 && lon >= b[0] && lon <= b[2] && lat >= b[1] && lat <= b[3] ? b : null;
  }, here).then((h) => h.jsonValue());
  assert.ok(!covers(acked, ...away), `bbox ${acked} leaves out ${away}`);
  const sent = frames.filter((f) => f.dir === 'out').map((f) => JSON.parse(f.data));
  assert.ok(sent.some((s) => s.type === 'subscribe' && s.all_alerts === true && JSON.stringify(s.bbox) === JSON.stringify(acked)), 'the app sent the subscription it got acknowledged');
  const ackAt = frames.findIndex((f) => f.dir === 'in' && f.data.includes('"subscribed"') && f.data.includes(JSON.stringify(acked)));
  assert.ok(ackAt >= 0);

  // Outside first, then inside: once IN has arrived, the hub has long decided about OUT.
  const now = Date.now();
  await feedAll(server.osmand, [{ id: 'LIVEOUT', lon: away[0], lat: away[1], speed: 30, time: now - 2000 }], 1);
  await feedAll(server.osmand, [{ id: 'LIVEIN', lon: here[0] + 0.01, lat: here[1], speed: 30, time: now - 1000 }], 1);
  await page.waitForFunction(() => window.bwMap.querySourceFeatures('vehicles').some((f) => f.properties.id === 'LIVEIN'));
  const after = messages(frames.slice(ackAt + 1)).filter((m) => m.type === 'position').map((m) => m.fix.vehicle_id);
  assert.ok(after.includes('LIVEIN'), `positions after the acknowledgement: ${after}`);
  assert.ok(!after.includes('LIVEOUT'), 'no position outside the subscribed area');
  const shown = await page.evaluate(() => window.bwMap.querySourceFeatures('vehicles').map((f) => f.properties.id));
  assert.ok(!shown.includes('LIVEOUT'), `the map shows ${shown}`);

  // Panning to the other vehicle: a new subscription, and the catch-up brings it in.
  await page.evaluate((c) => { window.bwMap.jumpTo({ center: c, zoom: 10 }); }, away);
  await page.waitForFunction(([lon, lat]) => {
    const b = window.bwLive?.stats.acked?.bbox;
    return b && lon >= b[0] && lon <= b[2] && lat >= b[1] && lat <= b[3];
  }, away);
  await page.waitForFunction(() => window.bwMap.querySourceFeatures('vehicles').some((f) => f.properties.id === 'LIVEOUT'));
  await page.context().close();
  assert.deepEqual(errors, []);
});

test('live: a session ended elsewhere closes the socket (4401) and the app asks to log in again', async (t) => {
  if (server.kind === 'stub') return t.skip('the stub does not end sessions');
  const errors = [];
  const page = await newPage(browser, errors);
  const closes = [];
  page.on('websocket', (ws) => ws.on('close', () => closes.push(Date.now())));
  await uiLogin(page, server.base, '#/wall');
  await page.waitForSelector('#conn.up');
  const token = await page.evaluate(() => sessionStorage.getItem('bw.token'));
  const ended = Date.now();
  await apiCall(server.base, token, 'POST', '/logout');
  await page.waitForSelector('input[name=username]');
  assert.ok(closes.length > 0 && closes[0] - ended < 2000, `socket closed ${closes[0] - ended} ms after the logout`);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(closes.length, 1, 'the app did not try to reconnect with the ended session');
  assert.deepEqual(errors, []);
});
