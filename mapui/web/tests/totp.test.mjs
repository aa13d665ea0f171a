import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { launch, newPage, PASSWORD, startServer } from './helpers.mjs';

// The real server requiring administrators' second factor, as `serve` does by default.
let server, browser;
before(async () => {
  server = await startServer({ requireTotp: true });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret at time ms, as an authenticator app computes it. */
function totpCode(secret, ms = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/[\s=]/g, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const o = mac[19] & 0xf;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

const hash = (page) => new URL(page.url()).hash;

/** Signs in as admin at hash (#/wall, or #/daily where what follows the sign-in needs no map). */
async function signIn(page, code, hash = '#/wall') {
  await page.goto(`${server.base}/${hash}`);
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', PASSWORD);
  await page.click('form.login button[type=submit]');
  if (code === undefined) return;
  await page.waitForSelector('input[name=totp]');
  await page.fill('input[name=totp]', code);
  await page.click('form.login button[type=submit]');
}

test('totp: an administrator without a second factor lands on 两步验证, enrols it from the QR screen, and then signs in with a code or a recovery code', async (t) => {
  if (server.kind !== 'real') return t.skip('the stub has no second factor');
  const errors = [];
  const page = await newPage(browser, errors);
  await signIn(page);
  await page.waitForSelector('#totp-start');
  assert.equal(hash(page), '#/totp', 'an administrator who must enrol lands on the two-factor screen');
  assert.match(await page.textContent('.totp .notice'), /必须启用两步验证/);
  assert.equal((await page.$$('nav.topbar a')).length, 0, 'no view links while the second factor must be enrolled');

  await page.click('#totp-start');
  await page.waitForSelector('#totp-qr');
  const dark = await page.evaluate(() => {
    const c = document.getElementById('totp-qr');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] < 128) n++;
    return n / (d.length / 4);
  });
  assert.ok(dark > 0.2 && dark < 0.6, `the QR code is drawn (dark share ${dark})`);
  const secret = (await page.textContent('#totp-secret')).replace(/\s/g, '');
  assert.match(secret, /^[A-Z2-7]{16,}$/);

  await page.fill('input[name=code]', totpCode(secret).replace(/^./, (d) => String((+d + 1) % 10)));
  await page.click('.totp button[type=submit]');
  await page.waitForFunction(() => document.querySelector('.totp .error').textContent !== '');
  assert.equal(await page.textContent('.totp .error'), '验证码不正确或已过期');

  const now = Date.now();
  await page.fill('input[name=code]', totpCode(secret, now));
  await page.click('.totp button[type=submit]');
  await page.waitForSelector('#totp-recovery');
  const recovery = await page.$$eval('.recovery-codes code', (els) => els.map((e) => e.textContent));
  assert.equal(recovery.length, 10);
  await page.click('#totp-done');
  await page.waitForFunction(() => location.hash === '#/wall');
  await page.context().close();

  // Next time: the password, then the code (of the next step: the one used to confirm is spent).
  const again = await newPage(browser, errors);
  await signIn(again, undefined, '#/daily');
  await again.waitForSelector('#totp-row');
  assert.match(await again.textContent('#totp-row'), /6 位验证码/);
  await again.fill('input[name=totp]', totpCode(secret, now + 30_000));
  await again.click('form.login button[type=submit]');
  await again.waitForFunction(() => location.hash === '#/daily');
  await again.context().close();

  const withRecovery = await newPage(browser, errors);
  await signIn(withRecovery, recovery[0], '#/daily');
  await withRecovery.waitForFunction(() => location.hash === '#/daily');
  await withRecovery.context().close();

  const replayed = await newPage(browser, errors);
  await signIn(replayed, recovery[0]);
  await replayed.waitForFunction(() => document.querySelector('form.login .error').textContent !== '');
  assert.equal(hash(replayed).startsWith('#/login'), true, 'a used recovery code is refused');
  await replayed.context().close();
  assert.deepEqual(errors, []);
});
