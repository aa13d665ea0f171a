// The app reads the same whatever the browser: chromium started in American English in New York
// time still shows and takes China time as YYYY-MM-DD HH:mm, 24 h, in replay; and the command
// role's top bar (eight views) stays one line at 1024×768 in Chinese and English, the views that
// do not fit under 更多, each still reachable.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { apiCall, apiLogin, contextOptions, feedAll, launch, launchArgs, newPage, PASSWORD, shotsDir, startServer } from './helpers.mjs';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';

await mkdir(shotsDir, { recursive: true });

let server;
let start;
before(async () => {
  server = await startServer();
  const token = await apiLogin(server.base);
  await apiCall(server.base, token, 'POST', '/users', { username: 'command1', password: PASSWORD, role: 'command' });
  start = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;
  await feedAll(server.osmand, Array.from({ length: 6 }, (_, i) => ({ id: 'LOC1', lat: 43.6 + i * 0.001, lon: 111.9, speed: 30, time: start + i * 60_000 })), 1);
});
after(async () => server?.stop());

/** "2026-12-05 08:30" in China time. */
const cst = (ms) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');

async function login(page, username, hash = '') {
  await page.goto(`${server.base}/${hash}`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav.topbar');
}

test('replay takes and shows China time, 24 h, YYYY-MM-DD HH:mm, in an American browser in New York', async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...launchArgs(), '--lang=en-US'],
    env: { ...process.env, TZ: 'America/New_York', LANG: 'en_US.UTF-8', LANGUAGE: 'en_US' },
  });
  try {
    const errors = [];
    const open = async () => {
      // The suite's pixels and motion; the browser's own language and zone, not contextOptions' ones.
      const { deviceScaleFactor, reducedMotion } = contextOptions();
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor, reducedMotion });
      page.setDefaultTimeout(240_000);
      page.on('pageerror', (e) => errors.push(e));
      await page.goto(`${server.base}/`);
      return page;
    };
    let page = await open();
    // The browser is what the test says it is: English, New York, 12-hour clock.
    const env = await page.evaluate(() => ({ lang: navigator.language, tz: Intl.DateTimeFormat().resolvedOptions().timeZone, clock: new Date(Date.UTC(2026, 0, 1, 15)).toLocaleTimeString() }));
    assert.equal(env.lang, 'en-US');
    assert.equal(env.tz, 'America/New_York');
    assert.match(env.clock, /^10:00:00 AM$/, 'the browser itself writes New York time on a 12-hour clock');

    for (const lang of ['zh', 'en']) {
      if (lang === 'en') page = await open(); // a new session: the login screen again
      await page.evaluate((l) => localStorage.setItem('bw.lang', l), lang);
      await page.reload();
      const q = new URLSearchParams({ vehicle: 'LOC1', from: new Date(start - 60_000).toISOString(), to: new Date(start + 10 * 60_000).toISOString() });
      await login(page, 'admin', `#/replay?${q}`);
      await page.waitForFunction(() => document.querySelector('.view-replay')?.dataset.fixes === '6');
      assert.equal(await page.inputValue('#from'), cst(start - 60_000), `${lang}: from in China time`);
      assert.equal(await page.inputValue('#to'), cst(start + 10 * 60_000), `${lang}: to in China time`);
      assert.equal(await page.getAttribute('#from', 'type'), 'text', 'not the browser\'s own date picker');
      assert.equal(await page.getAttribute('#from', 'placeholder'), 'YYYY-MM-DD HH:mm');
      const label = await page.$eval('#cursor-time', (el) => el.textContent);
      assert.doesNotMatch(label, /AM|PM/);

      // Typed as an officer would, an afternoon in 24 h: loads exactly that China-time window.
      const day = cst(start).slice(0, 10);
      await page.fill('#from', `${day} 00:00`);
      await page.fill('#to', `${day} 23:59`);
      await page.click('#load');
      await page.waitForFunction(() => document.querySelector('.view-replay')?.dataset.loaded === 'true');
      const url = new URL(page.url().replace('#/', ''));
      const from = new URLSearchParams(url.hash.split('?')[1] ?? page.url().split('?')[1]).get('from');
      assert.equal(new Date(from).toISOString(), new Date(`${day}T00:00:00+08:00`).toISOString(), `${lang}: the from field read as China time`);

      // A browser-style time is refused in words, nothing loaded.
      await page.fill('#from', '12/05/2026 02:30 PM');
      await page.click('#load');
      await page.waitForFunction(() => /YYYY-MM-DD HH:mm/.test(document.querySelector('#replay-msg')?.textContent ?? ''));
      await page.screenshot({ path: join(shotsDir, `replay-en-US-browser-${lang}-1280x800.png`) });
      await page.close();
    }
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('the top bar is one line for command and admin at 800, 1024 and 1280 px in both languages; the views that do not fit are under 更多', async () => {
  const browser = await launch();
  try {
    // One login a user and language; the bar is fitted again at each width as the window is
    // resized (the same fitting as at load), widest first: at 800 px a view opens from 更多.
    for (const [user, hash, views] of [['command1', '#/daily', 8], ['admin', '#/admin', 7]]) for (const lang of ['zh', 'en']) {
      const errors = [];
      const page = await newPage(browser, errors);
      await page.setViewportSize({ width: 1280, height: 768 });
      await page.goto(`${server.base}/`);
      await page.evaluate((l) => localStorage.setItem('bw.lang', l), lang);
      await page.reload();
      await login(page, user, hash);
      await page.waitForFunction((v) => document.body.dataset.view === v, hash.slice(2));
      await page.evaluate(() => document.fonts.ready);
      for (const width of [1280, 1024, 800]) {
        await page.setViewportSize({ width, height: 768 });
        await page.waitForTimeout(300); // the bar is fitted on the next frame
        const bar = await page.$eval('nav.topbar', (nav) => {
          const shown = [...nav.children].filter((c) => c.getClientRects().length && !c.hidden);
          const r = nav.getBoundingClientRect();
          return {
            fits: nav.scrollWidth <= nav.clientWidth + 1,
            oneLine: shown.every((c) => { const b = c.getBoundingClientRect(); return b.top >= r.top && b.bottom <= r.bottom && b.right <= r.right + 1; }),
            height: r.height,
            inBar: [...nav.querySelectorAll(':scope > a')].map((a) => a.getAttribute('href')),
            inMore: [...nav.querySelectorAll('#more-menu a')].map((a) => a.getAttribute('href')),
            moreShown: !nav.querySelector('#more-menu').hidden,
            userCut: (() => { const u = nav.querySelector('#user'); return u.scrollWidth > u.clientWidth + 1; })(),
          };
        });
        const what = `${user} ${lang} ${width} px`;
        assert.ok(bar.fits && bar.oneLine, `${what}: the bar fits one line: ${JSON.stringify(bar)}`);
        assert.ok(!bar.userCut, `${what}: the user's name is whole: ${JSON.stringify(bar)}`);
        assert.ok(bar.height < 60, `${what}: one line high (${bar.height}px)`);
        assert.equal(bar.inBar.length + bar.inMore.length, views, `${what}: all ${views} views offered: ${JSON.stringify(bar)}`);
        assert.ok(bar.inBar.includes(hash), `${what}: the open view stays in the bar`);
        assert.equal(bar.moreShown, bar.inMore.length > 0, `${what}: 更多 shows when it holds views`);
        await mkdir(shotsDir, { recursive: true });
        await page.screenshot({ path: join(shotsDir, `topbar-${user}-${lang}-${width}.png`), clip: { x: 0, y: 0, width, height: 200 } });
        // Each view under 更多 opens from it.
        if (bar.inMore.length && width === 800) {
          const target = bar.inMore[0];
          await page.click('#more');
          await page.screenshot({ path: join(shotsDir, `topbar-${user}-more-${lang}-${width}.png`), clip: { x: 0, y: 0, width, height: 420 } });
          await page.click(`#more-menu a[href="${target}"]`);
          await page.waitForFunction((v) => document.body.dataset.view === v, target.slice(2));
          // Now open, it is in the bar; the bar still fits.
          await page.waitForTimeout(300);
          assert.ok(await page.$eval('nav.topbar', (nav) => nav.scrollWidth <= nav.clientWidth + 1));
          assert.ok(await page.$(`nav.topbar > a.active[href="${target}"]`), 'the view opened from 更多 shows in the bar');
        }
      }
      assert.deepEqual(errors, []);
      await page.context().close();
    }
  } finally {
    await browser.close();
  }
});
