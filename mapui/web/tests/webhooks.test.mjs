// Webhook receivers from the screen: the administrator adds one (the secret the server makes is
// shown that once, never in the list), sees a receiver of the settings read-only, is refused a
// receiver on this machine or the metadata address in words, enables, disables and deletes; the
// auditor reads it all in Chinese. A commander has no webhooks tab and the API refuses him.
// Nothing leaves localhost.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, launch, newPage, PASSWORD, shots, startServer, uiLogin } from './helpers.mjs';

let server, browser, token;
before(async () => {
  server = await startServer();
  browser = await launch();
  token = await apiLogin(server.base);
  for (const [username, role] of [['auditor1', 'auditor'], ['command1', 'command']]) {
    await apiCall(server.base, token, 'POST', '/users', { username, password: PASSWORD, role });
  }
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function loginAs(username) {
  const errors = [];
  const page = await newPage(browser, errors);
  const origin = new URL(server.base).origin;
  const away = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(origin + '/') && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) away.push(r.url());
  });
  await page.goto(`${server.base}/#/`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav.topbar');
  return { page, errors, away };
}

const message = async (page) => {
  await page.waitForFunction(() => document.querySelector('.admin-msg')?.textContent);
  return page.textContent('.admin-msg');
};

async function add(page, { name, url, secret = '', enabled = true, types = [], ports = [] }) {
  await page.evaluate(() => (document.querySelector('.admin-msg').textContent = ''));
  await page.fill('#receiver-form input[name=hook_name]', name);
  await page.fill('#receiver-form input[name=hook_url]', url);
  await page.fill('#receiver-form input[name=hook_secret]', secret);
  await page.setChecked('#receiver-form input[name=hook_enabled]', enabled);
  await page.selectOption('#receiver-form select[name=hook_types]', types);
  await page.selectOption('#receiver-form select[name=hook_ports]', ports);
  await page.click('#receiver-form button[type=submit]');
  return message(page);
}

test('webhooks: the administrator adds, disables and deletes receivers on the screen; secrets stay hidden', async () => {
  const { page, errors, away } = await loginAs('admin');
  await page.evaluate(() => (location.hash = '#/admin?tab=webhooks'));
  await page.waitForFunction(() => document.querySelector('.admin-body')?.dataset.receivers === '0');
  await page.waitForFunction(() => document.querySelectorAll('#receiver-form select[name=hook_ports] option').length >= 4);

  // Refused in words: this machine, the metadata service, another scheme.
  for (const [url, why] of [['http://127.0.0.1:5432/', /this machine/], ['http://169.254.169.254/latest/meta-data/', /link-local/], ['ftp://203.0.113.7/', /http/]]) {
    const m = await add(page, { name: 'bad', url });
    assert.match(m, /^操作失败：url: /, m);
    assert.match(m, why, m);
  }
  assert.equal(await page.$$eval('#admin-receivers tr[data-name]', (r) => r.length), 0);

  // Added disabled (nothing is sent to the documentation address 203.0.113.7 in this test), the
  // secret made by the server shown once.
  const m = await add(page, { name: '指挥中心', url: 'https://203.0.113.7/open-apis/bot/v2/hook/0123456789abcdef0123', enabled: false,
    types: ['border_crossing_outside_port', 'detour'], ports: ['port-erenhot'] });
  assert.match(m, /已保存 · 指挥中心/);
  const shown = await page.textContent('.hook-secret');
  const secret = shown.match(/：(\S+)$/)?.[1];
  assert.ok(secret && secret.length >= 16, shown);
  await page.waitForSelector('#admin-receivers tr[data-name="指挥中心"]');
  const row = await page.textContent('#admin-receivers tr[data-name="指挥中心"]');
  assert.match(row, /^指挥中心已停用启用删除https:\/\/203\.0\.113\.7\/open-apis\/bot\/v2\/hook\/…0123非口岸越境、偏离线路 · 二连浩特口岸是 ··\S{4}admin\d{4}-\d\d-\d\d \d\d:\d\d/, row);
  assert.ok(!(await page.textContent('main')).replace(shown, '').includes(secret), 'the secret appears outside its one-time box');

  // Enable, disable, delete.
  await page.click('#admin-receivers tr[data-name="指挥中心"] button.enable');
  await page.waitForSelector('#admin-receivers tr[data-name="指挥中心"] button.disable');
  await shots(page, 'admin-webhooks', [1280, 800]);
  await page.reload();
  await page.waitForSelector('#admin-receivers tr[data-name="指挥中心"]');
  assert.ok(!(await page.content()).includes(secret), 'the secret comes back after a reload');
  await page.click('#admin-receivers tr[data-name="指挥中心"] button.disable');
  await page.waitForSelector('#admin-receivers tr[data-name="指挥中心"].disabled');
  page.once('dialog', (d) => d.accept());
  await page.click('#admin-receivers tr[data-name="指挥中心"] button.delete');
  await page.waitForFunction(() => document.querySelector('.admin-body')?.dataset.receivers === '0');
  assert.deepEqual(errors, []);
  assert.deepEqual(away, []);
  await page.context().close();

  // The auditor reads it in Chinese.
  const auditor = await loginAs('auditor1');
  await auditor.page.waitForFunction(() => document.querySelector('.view-audit')?.dataset.records > 0);
  const said = await auditor.page.$$eval('#audit-rows tr', (trs) => trs.map((tr) => [...tr.children].slice(1, 4).map((td) => td.textContent).join(' ')));
  for (const want of ['admin 新增推送接收方 推送接收方 指挥中心', 'admin 启用推送接收方 推送接收方 指挥中心', 'admin 停用推送接收方 推送接收方 指挥中心', 'admin 删除推送接收方 推送接收方 指挥中心']) {
    assert.ok(said.includes(want), `audit has "${want}": ${JSON.stringify(said.slice(0, 12))}`);
  }
  await auditor.page.context().close();
});

test('webhooks: a commander has no webhooks tab, and the API refuses his receiver', async () => {
  const { page, errors } = await loginAs('command1');
  await page.evaluate(() => (location.hash = '#/admin?tab=webhooks'));
  await page.waitForSelector('main.view-admin');
  assert.equal(await page.$('a[data-tab=webhooks]'), null);
  assert.equal(await page.$('#receiver-form'), null);
  const status = await page.evaluate(async () => {
    const r = await fetch('/api/v1/webhooks/receivers', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${sessionStorage.getItem('bw.token') ?? localStorage.getItem('bw.token') ?? ''}` },
      body: JSON.stringify({ name: 'mine', url: 'https://203.0.113.7/' }) });
    return r.status;
  });
  assert.ok(status === 401 || status === 403, `status ${status}`);
  const t = await apiCall(server.base, token, 'GET', '/webhooks/receivers');
  assert.ok(!t.receivers.some((r) => r.name === 'mine'), JSON.stringify(t.receivers));
  assert.deepEqual(errors, []);
  await page.context().close();
});
