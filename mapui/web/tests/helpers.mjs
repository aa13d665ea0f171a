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

/**
 * A port free now, below the kernel's ephemeral range (32768–60999 on Linux), so that the Go
 * tests running beside this suite, whose servers take ports the kernel hands out, never pick it
 * between our check and the server's bind. Two browser files may still meet on one: the server
 * then exits at once and startServer starts it again.
 */
async function freePort() {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const s = createServer();
    const ok = await new Promise((r) => {
      s.once('error', () => r(false));
      s.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise((r) => s.close(r));
      return port;
    }
  }
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
 * Starts the server for one test file: the real binary (BW_BINARY names a built one, else it is
 * built from this tree), or, while the server does not build (or with BW_WEB_TEST_STUB=1), the
 * stub in this folder. BW_WEB_TEST_REAL=1 makes a failed build an error instead.
 * generatedPassword: the real server generates the admin's first password (to be changed at the
 * first login) and the answer's adminPassword is the one it printed.
 * requireTotp: the real server requires a second factor of administrators, as `serve` does by
 * default; off otherwise, so that tests not about it log in as admin with the password alone.
 */
export async function startServer({ generatedPassword = false, requireTotp = false } = {}) {
  await ensureDist();
  const dir = await mkdtemp(join(tmpdir(), 'bw-web-'));
  binary ??= process.env.BW_BINARY;
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
  // Ports are picked free and then bound by the server, so the test file running beside this one
  // can take one in between: the server then exits at once and is started again on others.
  let started;
  for (let attempt = 1; !started; attempt++) {
    try {
      started = await spawnServer(join(dir, `data-${attempt}`), { generatedPassword, requireTotp });
    } catch (e) {
      if (attempt === 5 || !/address already in use/.test(String(e))) throw e;
    }
  }
  const { proc, base, osmand, jt600, gt06, deadline } = started;
  const log = () => started.log;
  let adminPassword = PASSWORD;
  if (generatedPassword) {
    // Printed once, after the listeners are up.
    while (!(adminPassword = /Log in as admin with the password (\S+)/.exec(log())?.[1])) {
      if (Date.now() > deadline) throw new Error(`borderwatch serve printed no admin password:\n${log()}`);
      await sleep(100);
    }
  }
  return {
    kind: 'real',
    base,
    adminPassword,
    osmand,
    jt600,
    gt06,
    log,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `borderwatch serve` on free ports and waits until it is ready. */
async function spawnServer(dataDir, { generatedPassword, requireTotp }) {
  const [http, jt808, gt06, jt600, osmand] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const env = {
    ...process.env,
    BW_HTTP_ADDR: `127.0.0.1:${http}`,
    BW_JT808_ADDR: `127.0.0.1:${jt808}`,
    BW_GT06_ADDR: `127.0.0.1:${gt06}`,
    BW_JT600_ADDR: `127.0.0.1:${jt600}`,
    BW_OSMAND_ADDR: `127.0.0.1:${osmand}`,
    BW_DATA_DIR: dataDir,
    BW_ACCEPT_UNKNOWN_DEVICES: 'true',
    BW_REQUIRE_TOTP_ADMINS: String(requireTotp),
    // The rules' timers every 2 s, not 30: a meeting or an emergency's review shows as soon as
    // it has happened, instead of each test waiting up to half a minute for it.
    BW_CHECK_EVERY: '2s',
  };
  if (generatedPassword) delete env.BW_ADMIN_PASSWORD;
  else env.BW_ADMIN_PASSWORD = PASSWORD;
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
  return { proc, base, deadline, osmand: `http://127.0.0.1:${osmand}`, jt600: { host: '127.0.0.1', port: jt600 }, gt06: { host: '127.0.0.1', port: gt06 }, get log() { return log; } };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The features playwright-core (1.65) disables, with its reasons in its chromiumSwitches.ts, and
 * ours: chromium keeps only the last --disable-features, so ours replaces its list, here whole.
 */
const playwrightDisabled = [
  'AvoidUnnecessaryBeforeUnloadCheckSync', 'DestroyProfileOnBrowserClose', 'HttpsUpgrades', 'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay', 'MediaRouter', 'PaintHolding', 'ThirdPartyStoragePartitioning', 'AvoidCorsURLLoaderRestartOnRedirect',
  'TcpPortRandomizationWin', 'OptimizationHints', 'NetworkTimeServiceQuerying', 'AimEnabled', 'PreconnectToSearch',
  'msForceBrowserSignIn', 'msEdgeUpdateLaunchServicesPreferredVersion',
];
/**
 * Chromium 156 headless opens each context's window with the omnibox's popups as WebUI pages
 * (chrome://omnibox-popup.top-chrome/), rendered though never shown: ~2 CPU-s a context.
 */
const disabledFeatures = [...playwrightDisabled, 'WebUIOmniboxPopup', 'WebUIOmniboxAimPopup', 'WebUIOmniboxFullPopup', 'PreloadTopChromeWebUI'];

/** Chromium's flags; BW_CHROMIUM_ARGS replaces the GL flags (to compare software GL settings). */
export function launchArgs() {
  const gl = process.env.BW_CHROMIUM_ARGS?.split(/\s+/).filter(Boolean) ?? ['--disable-gpu', '--enable-unsafe-swiftshader'];
  return ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--disable-features=${disabledFeatures.join(',')}`, ...gl];
}

export async function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: launchArgs() });
}

/** The command center's wall screen. */
export const WALL = { width: 1920, height: 1080 };
/**
 * An office screen (the administrator's, the investigator's), wider than the layout's narrowest
 * breakpoint (1400 px): the same layout as the wall's at 60% of its pixels, which is what software
 * GL spends its time on (the suite is CPU-bound).
 */
export const DESK = { width: 1440, height: 900 };

/**
 * What every test's browser context shares: Chinese, a browser far from China (times must still
 * read in China time), and the cheapest pixels. Software GL spends the suite's time on pixels: a
 * frame of the map at 1920×1080 costs SwiftShader ~0.3 CPU-s and a page's first drawing ~8, in
 * proportion to the pixels drawn. So pages render at half the device pixels (CSS layout, what the
 * tests read and click, is unchanged) and without camera animations (the officer's "reduce
 * motion" setting, which MapLibre honours: a fly-to is a jump), unless BW_WEB_SHOTS=1, which
 * writes the screenshots at full size for a person to look at.
 */
export function contextOptions(extra = {}) {
  const full = process.env.BW_WEB_SHOTS === '1';
  return { locale: 'zh-CN', timezoneId: 'Europe/Berlin', deviceScaleFactor: full ? 1 : 0.5, reducedMotion: full ? 'no-preference' : 'reduce', ...extra };
}

/**
 * A page (DESK unless viewport is given) that fails the test on uncaught page errors and on
 * anything the server's Content-Security-Policy refuses (chromium reports those on the console);
 * options go to its browser context (hasTouch, …).
 */
export async function newPage(browser, errors = [], viewport = DESK, options = {}) {
  const context = await browser.newContext(contextOptions({ viewport, acceptDownloads: true, ...options }));
  const page = await context.newPage();
  // Generous: software GL on a busy CI machine is slow; these are waits, not timing assertions.
  page.setDefaultTimeout(240_000);
  // Conditions are asked every 100 ms rather than every animation frame (playwright's default),
  // which keeps the page and the compositor drawing frames for as long as the test waits (sos.test:
  // 24.8 and 19.4 CPU-s before, 20.3 and 16.7 after, loaded). Timings pass { polling: 'raf' }.
  const waitForFunction = page.waitForFunction.bind(page);
  page.waitForFunction = (f, arg, options) => waitForFunction(f, arg, { polling: 100, ...options });
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(new Error(m.text()));
  });
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

/**
 * The places the tests drive through, taken from the server's own zones (the real server ships
 * the district's): a corridor, the port it starts at, and a stretch of border far from every port.
 */
export async function places(server) {
  const token = await apiLogin(server.base);
  let fc = await apiCall(server.base, token, 'GET', '/zones');
  if (!fc.features.some((f) => f.properties.kind === 'corridor')) {
    await apiCall(server.base, token, 'POST', '/zones/import', zones);
    fc = await apiCall(server.base, token, 'GET', '/zones');
  }
  const ports = fc.features.filter((f) => f.properties.kind === 'port' && f.geometry.type === 'Polygon');
  const center = (f) => {
    const ring = f.geometry.coordinates[0];
    return [ring.reduce((s, c) => s + c[0], 0) / ring.length, ring.reduce((s, c) => s + c[1], 0) / ring.length];
  };
  const corridor = fc.features.find((f) => f.properties.kind === 'corridor' && f.geometry.type === 'LineString');
  const line = corridor.geometry.coordinates;
  const port = ports.reduce((best, p) => (km(center(p), line[0]) < km(center(best), line[0]) ? p : best));
  const inPort = center(port);
  if (!inRing(inPort, port.geometry.coordinates[0])) throw new Error(`centre of ${port.properties.id} is outside it`);
  // A point on the longest border line at least 40 km from every port, and the line's normal there.
  const border = fc.features.filter((f) => f.properties.kind === 'border').sort((a, b) => b.geometry.coordinates.length - a.geometry.coordinates.length)[0];
  let crossing;
  const bl = border.geometry.coordinates;
  // From the line's middle on, so the crossing is well inside the line, not at its end.
  for (const p of sample(bl.slice(Math.floor(bl.length / 2) - 1), 0.02)) {
    if (ports.every((q) => km(center(q), p.at) > 40)) {
      crossing = p;
      break;
    }
  }
  // Points along the corridor outside every port zone, in order.
  const onCorridor = [];
  for (let f = 0.05; f < 0.99; f += 0.01) {
    const p = along(line, f);
    if (!ports.some((q) => inRing(p, q.geometry.coordinates[0]))) onCorridor.push(p);
  }
  return { port: port.properties.id, inPort, corridor: line, onCorridor, crossing };
}

/** Points along a line every step degrees, each with the unit normal there. */
function* sample(line, step) {
  for (let i = 1; i < line.length; i++) {
    const [a, b] = [line[i - 1], line[i]];
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (!len) continue;
    const normal = [-(b[1] - a[1]) / len, (b[0] - a[0]) / len];
    for (let u = 0; u < len; u += step) yield { at: [a[0] + ((b[0] - a[0]) * u) / len, a[1] + ((b[1] - a[1]) * u) / len], normal };
  }
}

/** The point a fraction f of the way along a line (by vertex distance). */
export function along(line, f) {
  const seg = line.slice(1).map((b, i) => Math.hypot(b[0] - line[i][0], b[1] - line[i][1]));
  let d = f * seg.reduce((s, x) => s + x, 0);
  for (let i = 0; i < seg.length; i++) {
    if (d <= seg[i]) return [line[i][0] + ((line[i + 1][0] - line[i][0]) * d) / seg[i], line[i][1] + ((line[i + 1][1] - line[i][1]) * d) / seg[i]];
    d -= seg[i];
  }
  return line[line.length - 1];
}

export function km(a, b) {
  const r = Math.PI / 180;
  const h = Math.sin(((b[1] - a[1]) * r) / 2) ** 2 + Math.cos(a[1] * r) * Math.cos(b[1] * r) * Math.sin(((b[0] - a[0]) * r) / 2) ** 2;
  return 12742 * Math.asin(Math.sqrt(h));
}

/** Whether p is inside the polygon ring (even-odd rule). */
export function inRing(p, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Logs in through the login page, as admin unless user and password are given, and opens hash. */
export async function uiLogin(page, base, hash = '', user = 'admin', password = PASSWORD) {
  await page.goto(`${base}/${hash}`);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('nav.topbar');
}

/** f's first truthy answer, asked every half second for up to 30 s; what names it in the error. */
/**
 * A truck crossing the border outside every port, `along` degrees along the line from the
 * test's crossing point (`where` from places), and its alert once the server has raised it.
 */
export async function crossingAlert(server, where, token, id, along, plate) {
  const { at, normal } = where.crossing;
  const tangent = [normal[1], -normal[0]];
  if (plate) await apiCall(server.base, token, 'POST', '/vehicles', { id, plate, kind: 'truck' });
  const now = Date.now();
  await feedAll(server.osmand, [-0.04, -0.02, 0.02, 0.04].map((d, k) => ({
    id, lon: at[0] + normal[0] * d + tangent[0] * along, lat: at[1] + normal[1] * d + tangent[1] * along, speed: 50, time: now - (4 - k) * 60_000,
  })), 1);
  return until(`the alert of ${id}`, async () => (await apiCall(server.base, token, 'GET', `/alerts?status=open&vehicle_id=${id}`)).alerts[0]);
}

export async function until(what, f) {
  for (let i = 0; i < 60; i++) {
    const v = await f();
    if (v) return v;
    await sleep(500);
  }
  throw new Error(`gave up waiting for ${what}`);
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

/**
 * Screenshots into screenshots/ (git-ignored). With BW_WEB_SHOTS=1 (`make shots`), for a person to
 * look at: at 1920×1080 and a second size (1024×768 unless given), then the page's own size again.
 * Otherwise one at the page's own size: each other size redraws the whole map (software GL), and
 * the walk through the two cost ~4.3 CPU-s a call (seal.test: 63.3 CPU-s with its five, 41.9
 * without), ~190 of the suite's; it asserted nothing but the page errors collected meanwhile.
 */
export async function shots(page, name, [width, height] = [1024, 768]) {
  await mkdir(shotsDir, { recursive: true });
  if (process.env.BW_WEB_SHOTS !== '1') {
    const { width: w, height: h } = page.viewportSize();
    await mapIdle(page);
    await page.screenshot({ path: join(shotsDir, `${name}-${w}x${h}.png`) });
    return;
  }
  const before = page.viewportSize();
  await page.setViewportSize(WALL);
  await mapIdle(page);
  await page.screenshot({ path: join(shotsDir, `${name}-1920x1080.png`) });
  await page.setViewportSize({ width, height });
  await page.evaluate(() => { window.bwMap?.resize(); });
  await mapIdle(page);
  await page.screenshot({ path: join(shotsDir, `${name}-${width}x${height}.png`) });
  await page.setViewportSize(before);
}

/** A point where the border line runs through the port zone, and four points across it inside the zone. */
export function crossingIn(zones, portId) {
  const port = zones.features.find((f) => f.properties.id === portId);
  const ring = port.geometry.coordinates[0];
  for (const b of zones.features.filter((f) => f.properties.kind === 'border')) {
    const line = b.geometry.coordinates;
    for (let i = 1; i < line.length; i++) {
      const [a, c] = [line[i - 1], line[i]];
      const len = Math.hypot(c[0] - a[0], c[1] - a[1]);
      for (let u = 0; u <= 1; u += 0.05) {
        const at = [a[0] + (c[0] - a[0]) * u, a[1] + (c[1] - a[1]) * u];
        if (!inRing(at, ring)) continue;
        const n = [-(c[1] - a[1]) / len, (c[0] - a[0]) / len];
        for (const d of [0.004, 0.002, 0.001]) {
          const pts = [-2, -1, 1, 2].map((k) => [at[0] + n[0] * d * k, at[1] + n[1] * d * k]);
          if (pts.every((p) => inRing(p, ring))) return pts;
        }
      }
    }
  }
  throw new Error(`no border crossing inside ${portId}`);
}
