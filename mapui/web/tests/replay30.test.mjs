// A month of one truck's fixes every 10 s (259,200), fed over OsmAnd into the real server, then
// loaded, drawn and scrubbed in the replay. Figures go to screenshots/replay-30d.json.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { apiLogin, feedAll, launch, newPage, shots, WALL, shotsDir, startServer, uiLogin } from './helpers.mjs';

const DAYS = 30;
const STEP_MS = 10_000;
const N = (DAYS * 24 * 3600_000) / STEP_MS;

// A measurement, not a check the suite needs each time (feeding the month takes minutes): run it
// with BW_WEB_BENCH=1 (make bench-web). The ordinary replay test covers the same code path.
const skip = process.env.BW_WEB_BENCH === '1' ? false : 'a 30-day measurement taking minutes: set BW_WEB_BENCH=1 (make bench-web)';

let server, browser;
before(async () => {
  if (skip) return;
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * The truck drives a 280 km loop inside the district from 06:00 to 18:00 CST at a speed that
 * wanders between ~20 and ~100 km/h, with a short halt now and then, and parks overnight
 * (its GPS drifting a few metres). Deterministic: the same month every run.
 */
function month(start) {
  const fixes = [];
  let dist = 0;
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const [cx, cy, rx, ry] = [111.3, 43.0, 0.45, 0.3];
  const loopKm = 2 * Math.PI * Math.sqrt(((rx * 81) ** 2 + (ry * 111) ** 2) / 2);
  for (let i = 0; i < N; i++) {
    const time = start + i * STEP_MS;
    const hourCst = ((time / 3600_000 + 8) % 24 + 24) % 24;
    const driving = hourCst >= 6 && hourCst < 18 && (i % 360) > 12; // a 2-minute halt every hour
    const speed = driving ? Math.max(0, 60 + 35 * Math.sin(i / 97) + 10 * (rnd() - 0.5)) : 0;
    dist += (speed * STEP_MS) / 3600_000;
    const a = (2 * Math.PI * dist) / loopKm;
    const jitter = driving ? 0 : (rnd() - 0.5) * 4e-5;
    fixes.push({ id: 'MONTH1', lon: cx + rx * Math.cos(a) + jitter, lat: cy + ry * Math.sin(a) + jitter, speed, time });
  }
  return fixes;
}

async function heapMB(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  await cdp.detach();
  return metrics.find((m) => m.name === 'JSHeapUsedSize').value / 2 ** 20;
}

test(`replay: ${N.toLocaleString('en')} fixes over ${DAYS} days load, draw and scrub`, { skip }, async (t) => {
  const errors = [];
  const end = Math.floor(Date.now() / 3600_000) * 3600_000 - 3600_000;
  const start = end - N * STEP_MS;
  const fed0 = Date.now();
  await feedAll(server.osmand, month(start), 64);
  const feedSecs = (Date.now() - fed0) / 1000;

  // The stored month, through the API, in both formats: what the compact one saves.
  const token = await apiLogin(server.base);
  const q = `from=${new Date(start - 60_000).toISOString()}&to=${new Date(end + 60_000).toISOString()}`;
  const sizeAndTime = async (format) => {
    const t0 = Date.now();
    const r = await fetch(`${server.base}/api/v1/vehicles/MONTH1/track?${q}${format ? `&format=${format}` : ''}`, { headers: { Authorization: `Bearer ${token}` } });
    const body = await r.text();
    const ms = Date.now() - t0;
    const p0 = performance.now();
    const parsed = JSON.parse(body);
    return { bytes: body.length, fetch_ms: ms, node_parse_ms: Math.round(performance.now() - p0), n: parsed.count ?? parsed.fixes.length };
  };
  const columns = await sizeAndTime('columns');
  const json = await sizeAndTime('');
  assert.equal(columns.n, N, 'every fix stored');
  assert.equal(json.n, N);

  const page = await newPage(browser, errors, WALL);
  const from = new Date(start - 60_000).toISOString().replace('.000', '');
  const to = new Date(end + 60_000).toISOString().replace('.000', '');
  await uiLogin(page, server.base, '#/replay');
  await page.waitForSelector('#map canvas');
  const heapBefore = await heapMB(page);
  const t0 = Date.now();
  await page.evaluate(([v, f, tt]) => (location.hash = `#/replay?vehicle=${v}&from=${f}&to=${tt}`), ['MONTH1', from, to]);
  await page.waitForFunction(() => document.querySelector('.view-replay')?.dataset.loaded === 'true', null, { timeout: 300_000, polling: 'raf' });
  const openMs = Date.now() - t0;
  assert.equal(await page.getAttribute('.view-replay', 'data-fixes'), String(N));
  const perf = await page.evaluate(() => window.bwReplayPerf);
  const heapAfter = await heapMB(page);

  // Scrubbing: drag the slider through the month in 60 steps, each waiting for the frame that
  // shows it; what a step costs is what a user dragging it would feel.
  const scrub = await page.evaluate(async () => {
    const s = document.querySelector('#slider');
    const [lo, hi] = [Number(s.min), Number(s.max)];
    const per = [];
    for (let i = 1; i <= 60; i++) {
      const t0 = performance.now();
      s.value = String(lo + ((hi - lo) * i) / 61);
      s.dispatchEvent(new Event('input'));
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      per.push(performance.now() - t0);
    }
    per.sort((a, b) => a - b);
    return { median_ms: per[30], p90_ms: per[54], max_ms: per[59] };
  });
  // The app's own work per slider step (cursor and chart); the rest of a step is the frame.
  const seekWork = await page.evaluate(() => ({ mean_ms: window.bwReplayPerf.seekMs / window.bwReplayPerf.seeks, max_ms: window.bwReplayPerf.seekMaxMs }));
  // Step lands on the next fix, 10 s on.
  const before = Number(await page.inputValue('#slider'));
  await page.click('#step-fwd');
  const stepped = Number(await page.inputValue('#slider'));
  assert.ok(stepped > before && stepped - before <= STEP_MS, `stepped ${stepped - before} ms`);
  assert.equal((stepped - start) % STEP_MS, 0, 'onto a fix');

  const figures = {
    conditions: 'headless chromium 1920x1080, software GL (SwiftShader), shared 2-core machine under other engineers\' load; the server on the same machine with its SQLite store',
    fixes: N,
    days: DAYS,
    feed: { seconds: Math.round(feedSecs), fixes_per_s: Math.round(N / feedSecs), via: 'OsmAnd HTTP, 64 at a time' },
    api: { columns, json },
    browser: {
      open_to_drawn_ms: openMs,
      fetch_and_parse_ms: Math.round(perf.fetchMs),
      build_ms: Math.round(perf.buildMs),
      drawn_ms_after_data: Math.round(perf.drawMs),
      line_features: perf.segments,
      line_vertices: perf.vertices,
      js_heap_mb: { before: +heapBefore.toFixed(1), after: +heapAfter.toFixed(1) },
      scrub_step_to_frame: scrub,
      scrub_app_js_per_step: seekWork,
    },
  };
  const line = `30-day replay: ${N} fixes; open → drawn ${openMs} ms (fetch+parse ${figures.browser.fetch_and_parse_ms} ms, lines ${figures.browser.build_ms} ms, ` +
    `drawn ${figures.browser.drawn_ms_after_data} ms after the data), ${perf.segments} lines / ${perf.vertices} vertices, JS heap ${heapBefore.toFixed(0)} → ${heapAfter.toFixed(0)} MB, ` +
    `scrub step → next frame median ${scrub.median_ms.toFixed(0)} ms p90 ${scrub.p90_ms.toFixed(0)} ms (app JS ${seekWork.mean_ms.toFixed(1)} ms mean, ${seekWork.max_ms.toFixed(1)} max); API columns ${(columns.bytes / 1e6).toFixed(1)} MB in ${columns.fetch_ms} ms vs json ${(json.bytes / 1e6).toFixed(1)} MB in ${json.fetch_ms} ms; fed at ${figures.feed.fixes_per_s}/s`;
  t.diagnostic(line);
  console.log(`# ${line}`);
  await mkdir(shotsDir, { recursive: true });
  await writeFile(join(shotsDir, 'replay-30d.json'), JSON.stringify(figures, null, 2));
  await shots(page, 'replay-30d');
  assert.deepEqual(errors, []);
});
