import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launch, newPage, PASSWORD, shots, startServer } from './helpers.mjs';

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('login: refuses a wrong password, signs in, switches language and keeps it', async () => {
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/#/wall`);
  await page.waitForSelector('form.login');
  assert.equal(await page.textContent('form.login button[type=submit]'), '登录');
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', 'wrong-password');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.querySelector('.login .error')?.textContent !== '');
  assert.match(await page.textContent('.login .error'), /登录失败/);
  await shots(page, 'login');
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav.topbar');
  assert.equal(new URL(page.url()).hash, '#/wall', 'login returns to the view asked for');
  assert.ok(await page.evaluate(() => sessionStorage.getItem('bw.token')), 'token kept in sessionStorage');
  assert.match(await page.textContent('#user'), /admin · 系统管理员/);

  await page.click('#account'); // the account menu holds the language, password and second factor
  await page.click('#lang');
  await page.waitForFunction(() => document.querySelector('#lang')?.textContent === '中文');
  await page.reload();
  await page.waitForSelector('nav.topbar');
  assert.equal(await page.textContent('#lang'), '中文', 'English kept after a reload');
  assert.equal(await page.textContent('nav .active'), 'Wall');
  await page.click('#account');
  await page.click('#lang');

  await page.click('#logout');
  await page.waitForSelector('form.login');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('bw.token')), null);
  assert.deepEqual(errors, []);
});
