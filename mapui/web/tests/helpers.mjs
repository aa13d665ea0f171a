// Test harness: the real `borderwatch serve` (built from this tree), Debian's chromium
// through playwright-core, and helpers to log in, feed OsmAnd fixes and take screenshots.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { startStub, stubZones } from './stub-server.mjs';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
export const webDir = resolve(here, '..');
export const repoDir = resolve(webDir, '../..');
export const shotsDir = join(repoDir, 'screenshots');
export const PASSWORD = 'Wall-Test-2026!';
export const zones = stubZones;

let binary; // built once per test file

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

async function ensureDist() {
  if (!existsSync(join(webDir, 'dist', 'app.js'))) await run('node', ['build.mjs'], { cwd: webDir });
}

async function buildBinary(dir) {
  const out = join(dir, 'borderwatch');
  // The web app is embedded at build time, so dist must exist first.
  await run('go', ['build', '-o', out, './cmd/borderwatch'], { cwd: repoDir, maxBuffer: 1 << 24 });
  return out;
}

/**
 * Starts the server for one test file: the real binary when it builds, else (until the
 * server exists, or with BW_WEB_TEST_STUB=1) the stub in this folder. BW_WEB_TEST_REAL=1
 * makes a failed build an error instead.
 */
export async function startServer() {
  await ensureDist();
  const dir = await mkdtemp(join(tmpdir(), 'bw-web-'));
  if (process.env.BW_WEB_TEST_STUB !== '1') {
    try {
      binary ??= await buildBinary(dir);
    } catch (e) {
      if (process.env.BW_WEB_TEST_REAL === '1') throw e;
      console.log(`# real server does not build yet, using the stub: ${String(e.stderr ?? e).split('\n')[0]}`);
    }
  }
  if (!binary) {
    const s = await startStub({ dist: join(webDir, 'dist'), password: PASSWORD });
    return { ...s, kind: 'stub', async stop() { await s.stop(); await rm(dir, { recursive: true, force: true }); } };
  }
  const [http, jt808, gt06, osmand] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const env = {
    ...process.env,
    BW_HTTP_ADDR: `127.0.0.1:${http}`,
    BW_JT808_ADDR: `127.0.0.1:${jt808}`,
    BW_GT06_ADDR: `127.0.0.1:${gt06}`,
    BW_OSMAND_ADDR: `127.0.0.1:${osmand}`,
    BW_DATA_DIR: join(dir, 'data'),
    BW_ADMIN_PASSWORD: PASSWORD,
    BW_ACCEPT_UNKNOWN_DEVICES: 'true',
  };
  const proc = spawn(binary, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => (log += d));
  proc.stderr.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${http}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`borderwatch serve exited ${proc.exitCode}:\n${log}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`borderwatch serve not ready:\n${log}`);
    await sleep(200);
  }
  return {
    kind: 'real',
    base,
    osmand: `http://127.0.0.1:${osmand}`,
    log: () => log,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-swiftshader'],
  });
}

/** A page at 1920×1080 that fails the test on uncaught page errors. */
export async function newPage(browser, errors = []) {
  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, acceptDownloads: true, locale: 'zh-CN', timezoneId: 'Europe/Berlin' });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e));
  return page;
}

/** Logs in through the API and returns the token, for seeding data. */
export async function apiLogin(base) {
  const r = await fetch(`${base}/api/v1/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
  if (!r.ok) throw new Error(`login: ${r.status} ${await r.text()}`);
  return (await r.json()).token;
}

export async function apiCall(base, token, method, path, body) {
  const r = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export async function seedZones(server) {
  if (server.kind === 'stub') return;
  const token = await apiLogin(server.base);
  await apiCall(server.base, token, 'POST', '/zones/import', zones);
}

/** Logs in through the login page. */
export async function uiLogin(page, base, hash = '') {
  await page.goto(`${base}/${hash}`);
  await page.fill('input[name=username]', 'admin');
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav.topbar');
}

/** Sends one OsmAnd fix; speed in km/h (sent as knots, as the protocol wants). */
export async function feed(osmand, { id, lat, lon, time = Date.now(), speed = 0 }, agent) {
  const q = new URLSearchParams({ id, lat: String(lat), lon: String(lon), timestamp: String(Math.floor(time / 1000)), speed: (speed / 1.852).toFixed(2) });
  const r = await fetch(`${osmand}/?${q}`, { method: 'POST', dispatcher: agent });
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`osmand: ${r.status}`);
}

/** Feeds many fixes, a few at a time. */
export async function feedAll(osmand, list, concurrency = 32) {
  let i = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (i < list.length) await feed(osmand, list[i++]);
  }));
}

/** Waits until the map has drawn what it was given. */
export async function mapIdle(page) {
  if (!(await page.$('.maplibregl-map'))) return;
  await page.waitForFunction(() => window.bwMap && window.bwMap.loaded());
  await page.evaluate(() => new Promise((r) => {
    const m = window.bwMap;
    const t = setTimeout(r, 3000);
    m.once('idle', () => { clearTimeout(t); r(); });
    m.triggerRepaint();
  }));
}

/** Screenshots at 1920×1080 and 1024×768 into screenshots/ (git-ignored). */
export async function shots(page, name) {
  await mkdir(shotsDir, { recursive: true });
  await page.setViewportSize({ width: 1920, height: 1080 });
  await mapIdle(page);
  await page.screenshot({ path: join(shotsDir, `${name}-1920x1080.png`) });
  await page.setViewportSize({ width: 1024, height: 768 });
  await page.evaluate(() => window.bwMap?.resize());
  await mapIdle(page);
  await page.screenshot({ path: join(shotsDir, `${name}-1024x768.png`) });
  await page.setViewportSize({ width: 1920, height: 1080 });
}
