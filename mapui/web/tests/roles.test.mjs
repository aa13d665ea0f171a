import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, feedAll, launch, newPage, PASSWORD, shots, startServer } from './helpers.mjs';

let server, browser, replayHash;
before(async () => {
  server = await startServer();
  browser = await launch();
  const token = await apiLogin(server.base);
  for (const role of ['command', 'patrol', 'investigator', 'auditor']) {
    await apiCall(server.base, token, 'POST', '/users', { username: `${role}1`, password: PASSWORD, role });
  }
  // A short stored track, so that the replay has something to export (or not).
  const start = Math.floor(Date.now() / 60_000) * 60_000 - 20 * 60_000;
  await feedAll(server.osmand, Array.from({ length: 5 }, (_, i) => ({ id: 'ROLE1', lat: 43.6 + i * 0.001, lon: 111.9, speed: 30, time: start + i * 60_000 })), 1);
  const q = new URLSearchParams({ vehicle: 'ROLE1', from: new Date(start - 60_000).toISOString(), to: new Date(start + 10 * 60_000).toISOString() });
  replayHash = `#/replay?${q}`;
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function loginAs(username) {
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/#/`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav.topbar');
  return { page, errors };
}

const navViews = (page) => page.$$eval('nav.topbar a', (as) => as.map((a) => a.getAttribute('href').slice(2)));
const view = (page) => page.evaluate(() => document.body.dataset.view);

/** Opens a view by URL: either the view itself or the refusal. */
async function open(page, hash) {
  await page.evaluate((h) => (location.hash = h), hash);
  await page.waitForFunction((name) => document.querySelector(`main.view-${name}`), hash.slice(2).split('?')[0]);
  return !(await page.$('main .forbidden'));
}

async function exportButtons(page) {
  await page.evaluate((h) => (location.hash = h), replayHash);
  await page.waitForFunction(() => document.querySelector('.view-replay')?.dataset.fixes === '5');
  return page.$$eval('button.export', (bs) => bs.map((b) => b.dataset.format));
}

// What each role sees follows mapui/access/roles.go: view (wall, tablet, replay), export for
// investigators and administrators, the audit for the auditor only (separation of duties),
// targeting (#/targets) for command.
const matrix = {
  admin: { label: '系统管理员', home: 'wall', nav: ['wall', 'tablet', 'replay', 'alerts', 'daily', 'groups', 'admin'], exports: true },
  command: { label: '指挥员', home: 'wall', nav: ['wall', 'tablet', 'replay', 'targets', 'alerts', 'daily', 'groups', 'admin'], exports: false },
  patrol: { label: '巡查员', home: 'tablet', nav: ['tablet', 'replay'], exports: false },
  investigator: { label: '调查员', home: 'replay', nav: ['wall', 'replay', 'alerts', 'daily', 'groups'], exports: true },
  auditor: { label: '安全审计员', home: 'audit', nav: ['audit'], exports: null },
};

for (const [role, want] of Object.entries(matrix)) {
  test(`roles: ${role} sees ${want.nav.join(', ')} and may do what the role matrix allows`, async () => {
    const { page, errors } = await loginAs(role === 'admin' ? 'admin' : `${role}1`);
    await page.waitForFunction((v) => document.body.dataset.view === v, want.home);
    assert.equal(await view(page), want.home, 'lands on its home view');
    assert.deepEqual(await navViews(page), want.nav);
    assert.match(await page.textContent('#user'), new RegExp(`· ${want.label}$`));
    for (const v of ['wall', 'tablet', 'replay', 'audit', 'targets', 'alerts', 'daily', 'groups', 'admin']) {
      assert.equal(await open(page, `#/${v}`), want.nav.includes(v), `${role} opening #/${v}`);
    }
    if (want.exports !== null) {
      const formats = await exportButtons(page);
      assert.deepEqual(formats, want.exports ? ['geojson', 'gpx', 'kml', 'csv'] : [], `${role} export buttons`);
    }
    if (want.nav.includes('audit')) {
      await open(page, '#/audit');
      await page.waitForFunction(() => document.querySelector('.view-audit')?.dataset.records > 0);
      assert.equal(await page.getAttribute('.view-audit', 'data-verified'), 'true');
      assert.match(await page.textContent('#audit-verify'), /哈希链完整 · \d+/);
      const actions = await page.$$eval('#audit-rows tr td:nth-child(3)', (tds) => tds.map((td) => td.textContent));
      assert.ok(actions.includes('创建用户'), `audit shows the users created: ${[...new Set(actions)]}`);
      // Newest first.
      const seqs = await page.$$eval('#audit-rows tr', (trs) => trs.map((tr) => Number(tr.dataset.seq)));
      assert.ok(seqs[0] > seqs[seqs.length - 1]);
      await page.fill('#audit-filter', 'user.create');
      await page.waitForFunction(() => document.querySelector('.view-audit').dataset.records === '4');
      if (role === 'auditor') await shots(page, 'audit');
    }
    assert.deepEqual(errors, []);
  });
}
