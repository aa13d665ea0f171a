import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, launch, newPage, shots, startServer } from './helpers.mjs';

// The real server with a generated admin password: the first login may only change it.
const NEW_PASSWORD = 'Border-Watch-2026';
const SECURITY_PASSWORD = 'Security-Test-2026!';

let server, browser;
before(async () => {
  server = await startServer({ generatedPassword: true });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const hash = (page) => new URL(page.url()).hash;
const apiLoginAs = (username, password) => fetch(`${server.base}/api/v1/login`, {
  method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, password }),
});

async function signIn(page, username, password) {
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

/** Submits the change form and waits for its error line. */
async function refused(page, { old, next, again = next }) {
  await page.fill('input[name=old]', old);
  await page.fill('input[name=new]', next);
  await page.fill('input[name=again]', again);
  await page.evaluate(() => (document.querySelector('form.password .error').textContent = ''));
  await page.click('form.password button[type=submit]');
  await page.waitForFunction(() => document.querySelector('form.password .error').textContent !== '');
  const text = await page.textContent('form.password .error');
  assert.doesNotMatch(text, /[{}"]|[A-Za-z]{3,}/, `a sentence in Chinese, not the server's answer: ${text}`);
  return text;
}

test('password: the generated first password leads to the change screen, which refuses bad input in Chinese, then opens the wall; the old password is refused', async (t) => {
  if (server.kind !== 'real') return t.skip('the stub has no password change');
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/#/wall`);
  await page.waitForSelector('form.login');
  await signIn(page, 'admin', server.adminPassword);
  await page.waitForSelector('form.password');
  assert.equal(hash(page), '#/password', 'a must-change login lands on the change screen, not the wall it asked for');
  assert.match(await page.textContent('form.password .notice'), /首次登录或密码已过期/);
  assert.equal((await page.$$('nav.topbar a')).length, 0, 'no view links while the password must be changed');
  const formText = await page.innerText('form.password');
  assert.doesNotMatch(formText, /[A-Za-z]/, `nothing English on the form in Chinese mode: ${formText}`);
  assert.match(formText, /至少 10 个字符/, 'the policy is on the form');
  const mustChangeToken = await page.evaluate(() => sessionStorage.getItem('bw.token'));

  // Should the app believe the session may open the wall (a stale /me), the wall's first call is
  // refused with 403 password_change_required and the app comes here.
  const other = await newPage(browser, errors);
  await other.addInitScript((tk) => sessionStorage.setItem('bw.token', tk), mustChangeToken);
  await other.route('**/api/v1/me', async (route) => {
    const response = await route.fetch();
    route.fulfill({ response, json: { ...(await response.json()), must_change: false } });
  }, { times: 1 });
  await other.goto(`${server.base}/#/wall`);
  await other.waitForSelector('form.password');
  assert.equal(hash(other), '#/password');
  assert.match(await other.textContent('form.password .notice'), /首次登录或密码已过期/);
  await other.context().close();

  // Typing a view's address changes nothing.
  await page.evaluate(() => (location.hash = '#/replay'));
  await page.waitForFunction(() => location.hash === '#/password' && document.querySelector('form.password'));

  // The server's refusals, each as a sentence.
  assert.equal(await refused(page, { old: server.adminPassword, next: NEW_PASSWORD, again: `${NEW_PASSWORD}x` }), '两次输入的新密码不一致');
  assert.equal(await refused(page, { old: 'Not-The-Password-1', next: NEW_PASSWORD }), '当前密码不正确');
  assert.match(await refused(page, { old: server.adminPassword, next: 'Short-1' }), /新密码太短/);
  assert.match(await refused(page, { old: server.adminPassword, next: 'onlylowercaseletters' }), /至少三类/);
  assert.match(await refused(page, { old: server.adminPassword, next: server.adminPassword }), /不能与当前密码相同/);
  await shots(page, 'password', [800, 1280]);

  await page.fill('input[name=old]', server.adminPassword);
  await page.fill('input[name=new]', NEW_PASSWORD);
  await page.fill('input[name=again]', NEW_PASSWORD);
  await page.click('form.password button[type=submit]');
  await page.waitForSelector('main.view-wall');
  assert.equal(hash(page), '#/wall', 'the new session goes to the home view');
  assert.deepEqual(await page.$$eval('nav.topbar a', (as) => as.map((a) => a.getAttribute('href'))), ['#/wall', '#/tablet', '#/replay', '#/alerts', '#/daily', '#/groups', '#/admin']);
  assert.equal(await page.textContent('#password'), '修改密码', 'the top bar offers the change to every user');
  const token = await page.evaluate(() => sessionStorage.getItem('bw.token'));
  assert.ok(token && token !== mustChangeToken, 'the new session is kept');

  // The old session has ended, the old password is refused, the new one is a full login.
  assert.equal((await fetch(`${server.base}/api/v1/me`, { headers: { Authorization: `Bearer ${mustChangeToken}` } })).status, 401);
  assert.equal((await apiLoginAs('admin', server.adminPassword)).status, 401);
  const r = await apiLoginAs('admin', NEW_PASSWORD);
  assert.equal(r.status, 200);
  assert.equal((await r.json()).must_change, false);
  await page.click('#logout');
  await page.waitForSelector('form.login');
  await signIn(page, 'admin', server.adminPassword);
  await page.waitForFunction(() => /登录失败/.test(document.querySelector('.login .error')?.textContent ?? ''));
  await signIn(page, 'admin', NEW_PASSWORD);
  await page.waitForSelector('main.view-wall');
  await page.context().close();
  assert.deepEqual(errors, []);
});

test('password: the security administrator, whose one screen is users and roles, changes its password by choice', async (t) => {
  if (server.kind !== 'real') return t.skip('the stub has no password change');
  const errors = [];
  const page = await newPage(browser, errors);
  const admin = await (await apiLoginAs('admin', NEW_PASSWORD)).json();
  await apiCall(server.base, admin.token, 'POST', '/users', { username: 'security1', password: SECURITY_PASSWORD, role: 'security' });
  await page.goto(`${server.base}/#/`);
  await page.waitForSelector('form.login');
  await signIn(page, 'security1', SECURITY_PASSWORD);
  await page.waitForSelector('nav.topbar');
  await page.waitForSelector('main.view-admin #admin-users');
  await page.click('#account');
  await page.click('#password');
  await page.waitForSelector('form.password');
  assert.equal(await page.$('form.password .notice'), null, 'a change by choice needs no reason');
  await page.fill('input[name=old]', SECURITY_PASSWORD);
  await page.fill('input[name=new]', `${SECURITY_PASSWORD}2`);
  await page.fill('input[name=again]', `${SECURITY_PASSWORD}2`);
  await page.click('form.password button[type=submit]');
  await page.waitForFunction(() => location.hash !== '#/password' && document.querySelector('main.view-admin'));
  assert.equal((await apiLoginAs('security1', `${SECURITY_PASSWORD}2`)).status, 200);
  assert.deepEqual(errors, []);
});
