import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, launch, newPage, shots, startServer, uiLogin } from './helpers.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const IMEI = '860470067873061';

/** Sends GT06 frames (hex) on one connection and waits for an answer to each. */
async function sendGT06(...frames) {
  await new Promise((resolve, reject) => {
    const s = connect(server.gt06, () => s.write(Buffer.from(frames.shift(), 'hex')));
    s.on('error', reject);
    s.on('close', resolve);
    s.on('data', () => (frames.length ? s.write(Buffer.from(frames.shift(), 'hex')) : s.end()));
  });
}

test('sos: a GT06 SOS without a position is on the wall ticker by plate, its evidence in words', async (t) => {
  if (server.kind !== 'real') return t.skip('the stub has no GT06 gateway');
  const token = await apiLogin(server.base);
  await apiCall(server.base, token, 'POST', '/vehicles', { id: 'SOS1', plate: '蒙K·E1001', kind: 'resident_car' });
  await apiCall(server.base, token, 'POST', '/devices', { id: IMEI, protocol: 'gt06', vehicle_id: 'SOS1' });
  const errors = [];
  const page = await newPage(browser, errors);
  await uiLogin(page, server.base, '#/wall');
  await page.waitForSelector('#conn.up');
  // Traccar's GT06 login (IMEI 860470067873061) and 0x19 SOS with a cell and no position.
  await sendGT06('78780d01086047006787306105d4e2970d0a', '78781219028f0a29e10036f12003040102000875dc0d0a');
  const li = await page.waitForSelector('#ticker li');
  await page.waitForFunction(() => document.querySelector('#ticker li .veh')?.textContent === '蒙K·E1001');
  assert.match(await li.textContent(), /紧急求救（SOS）/);
  assert.doesNotMatch(await li.textContent(), /SOS1/);
  await li.click();
  await page.waitForSelector('#alert-detail #evidence');
  const ev = await page.textContent('#alert-detail');
  assert.match(ev, /地点位置未知/);
  assert.match(ev, /报告中的位置报告未含位置/);
  assert.match(ev, /终端860470067873061/);
  assert.match(ev, /基站MCC 655 MNC 10 LAC 10721 CI 14065/);
  assert.match(ev, /北京时间/);
  assert.doesNotMatch(ev, /[{}]|unknown in the report|device_id/);
  const ports = await page.$$eval('#ports [data-port] td:nth-child(4)', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual([...new Set(ports)], ['0'], 'an SOS with no place known is no port\'s alert');
  await shots(page, 'sos-wall', [1280, 800]);
  assert.deepEqual(errors, []);
});
