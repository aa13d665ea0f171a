// Every alert and event type the server can produce has words in both languages: the list is read
// from the Go source (tracker/*.go, tracker/rules/*.go: the Alert…/Event… constants), not written
// here, so a new type on the server without a sentence in the app fails this test. The app's
// formatters are bundled with esbuild and run in node (no browser: it is the words, not the page).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(web, '..', '..');

/** The string constants named Alert… and Event… in the Go packages where the types live. */
async function goTypes() {
  const alerts = new Set();
  const events = new Set();
  for (const dir of ['tracker', 'tracker/rules']) {
    for (const f of await readdir(join(repo, dir))) {
      if (!f.endsWith('.go') || f.endsWith('_test.go')) continue;
      const src = await readFile(join(repo, dir, f), 'utf8');
      for (const [, kind, value] of src.matchAll(/^\s*(?:const\s+)?(Alert|Event)[A-Z]\w*\s*=\s*"([a-z0-9_]+)"/gm)) (kind === 'Alert' ? alerts : events).add(value);
    }
  }
  return { alerts: [...alerts].sort(), events: [...events].sort() };
}

/** evidence.ts, format.ts and i18n.ts in one module, with the little of a browser they touch. */
async function loadApp() {
  const dir = await mkdtemp(join(tmpdir(), 'bw-wording-'));
  const out = join(dir, 'app.mjs');
  await build({
    stdin: { contents: "export * from './src/evidence'; export * from './src/format'; export { setLang, t } from './src/i18n'; export { riskReasons } from './src/daily';", resolveDir: web, loader: 'ts' },
    bundle: true, format: 'esm', platform: 'neutral', outfile: out, logLevel: 'error', external: ['maplibre-gl'],
  });
  const store = new Map();
  globalThis.localStorage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, String(v)), removeItem: (k) => store.delete(k) };
  globalThis.document = { documentElement: {}, createElement: () => { throw new Error('no DOM here'); } };
  const app = await import(pathToFileURL(out).href);
  await rm(dir, { recursive: true });
  return app;
}

const ID = /\b[a-z]+_[a-z_]+\b/; // an untranslated key or type id (zone_enter, sum_weight) in what a person reads

test('every alert and event type the server defines has a sentence in Chinese and English', async () => {
  const { alerts, events } = await goTypes();
  // The scan itself must find what is known to be there, or it proves nothing.
  for (const known of ['detour', 'sos', 'weight_mismatch', 'emergency_review', 'border_crossing_unverified']) assert.ok(alerts.includes(known), `scan found ${known}: ${alerts}`);
  for (const known of ['zone_enter', 'border_cross', 'gate_read', 'weighing', 'device_alarm']) assert.ok(events.includes(known), `scan found ${known}: ${events}`);
  assert.ok(alerts.length >= 18 && events.length >= 11, `${alerts.length} alert and ${events.length} event types`);

  const app = await loadApp();
  const toldAlerts = new Set(app.toldAlertTypes());
  const toldEvents = new Set(app.toldEventTypes());
  const missing = [];
  for (const lang of ['zh', 'en']) {
    app.setLang(lang);
    for (const type of alerts) {
      if (!toldAlerts.has(type)) missing.push(`${lang} alert ${type}: no sentence in evidence.ts`);
      if (app.t(type) === type) missing.push(`${lang} alert ${type}: no name in i18n.ts`);
      const d = app.describe({ id: 1, type, severity: 'warning', status: 'open', vehicle_id: 'v1', time: '2026-12-05T00:00:00Z', evidence: {}, lat: null, lon: null });
      for (const text of [d.summary, ...d.rows.map(([k]) => app.t(k))]) if (ID.test(text)) missing.push(`${lang} alert ${type}: "${text}"`);
    }
    for (const type of events) {
      if (!toldEvents.has(type)) missing.push(`${lang} event ${type}: no words in evidence.ts`);
      const text = app.eventText({ type, time: '2026-12-05T00:00:00Z', vehicle_id: 'v1', inserted: true });
      if (app.t(type) === type) missing.push(`${lang} event ${type}: no name in i18n.ts`);
      if (!text || ID.test(text) || text.startsWith(type)) missing.push(`${lang} event ${type}: "${text}"`);
    }
  }
  assert.deepEqual(missing, []);
});

test('the new alert types read from their evidence, both languages', async () => {
  const app = await loadApp();
  const a = (type, evidence) => ({ id: 1, type, severity: 'warning', status: 'open', vehicle_id: 'v1', time: '2026-12-05T00:00:00Z', evidence });
  const cases = {
    weight_mismatch: a('weight_mismatch', { scale_id: 'S-1', net_kg: 36200, declared_net_kg: 30000, difference_kg: 6200, difference_pct: 20.67, tolerance_pct: 3, gross_kg: 51200, tare_kg: 15000, cargo: '煤炭' }),
    double_weighing: a('double_weighing', { readings: [{ scale_id: 'S-1', gross_kg: 50000, time: '2026-12-05T01:00:00Z' }, { scale_id: 'S-2', gross_kg: 46000, time: '2026-12-05T02:00:00Z' }], difference_kg: -4000, difference_pct: -8, tolerance_pct: 1, drifting_scales: [{ scale_id: 'S-2', bias_pct: -7.5, trips: 12 }] }),
    emergency_review: a('emergency_review', { from: '2026-12-05T00:00:00Z', to: '2026-12-05T02:00:00Z', suspended_rules: ['detour', 'unauthorized_stop'], would_have_alerted: [{ type: 'unauthorized_stop', time: '2026-12-05T01:00:00Z', evidence: { duration_s: 1800 } }] }),
  };
  app.setLang('zh');
  assert.match(app.describe(cases.weight_mismatch).summary, /净重36\.2吨.*申报30\.0吨.*\+6\.2吨（\+20\.7%）/);
  assert.match(app.describe(cases.double_weighing).summary, /S-1.*S-2.*4\.0吨.*S-2.*校准/, 'scales without a zone named by their numbers');
  const review = app.describe(cases.emergency_review);
  assert.match(review.summary, /1条/);
  assert.match(review.rows.find(([k]) => k === '暂缓告警1')[1], /违规停车.*30分钟/);
  app.setLang('en');
  assert.match(app.describe(cases.weight_mismatch).summary, /net 36\.2\u00a0t .*declared 30\.0\u00a0t/);
  assert.match(app.describe(cases.emergency_review).rows.find(([k]) => k === 'ev_suspended')[1], /Detour|detour/);
  // Times in China time, never UTC, whatever this process's zone.
  assert.match(app.describe(cases.emergency_review).summary, /2026-12-05 08:00:00/);
});

test('China-time fields read YYYY-MM-DD HH:mm, 24 h, and refuse anything else', async () => {
  const app = await loadApp();
  assert.equal(app.readTime('2026-12-05 08:30').toISOString(), '2026-12-05T00:30:00.000Z');
  assert.equal(app.readTime('2026-12-05 23:59').toISOString(), '2026-12-05T15:59:00.000Z');
  assert.equal(app.readTime('2026-12-05', true).toISOString(), '2026-12-05T15:59:00.000Z');
  assert.equal(app.readTime('2026-12-05').toISOString(), '2026-12-04T16:00:00.000Z');
  for (const bad of ['12/05/2026 08:30 AM', '2026-12-05 8:30 PM', '2026-02-30 10:00', '2026-12-05 24:00', '2026-12-05 10:60', '', 'now']) assert.equal(app.readTime(bad), null, bad);
  assert.equal(app.timeMinute('2026-12-05T15:59:00Z'), '2026-12-05 23:59');
});

test('risk reasons follow the language, from the facts', async () => {
  const app = await loadApp();
  const v = { plate: '蒙K1', kind: 'truck', score: 9, alerts: { detour: 1, border_crossing_outside_port: 2 }, crossings_7d: 3,
    group: { plates: ['蒙K2', '蒙K3'], trips: 4 }, offence: { findings: 1, last: '2026-03-12T20:00:00Z', category: 'undeclared_goods', via_plate: '蒙K9', card: 'C-9' },
    ants: { week: 16, own_weekly: 3, peer_median: 3, z: 8.8 } };
  app.setLang('en');
  const en = app.riskReasons(v);
  assert.equal(en[0], 'Crossing outside a port: 2 in 30 days'.replace('Crossing outside a port', app.t('border_crossing_outside_port')));
  assert.ok(en.every((r) => !/[\u4e00-\u9fff]/.test(r.replace(/蒙K\d/g, ''))), `no Chinese but plates: ${en}`);
  assert.match(en.join('; '), /2026-03-13 \(Undeclared goods\)/, 'the finding day in China time');
  app.setLang('zh');
  assert.deepEqual(app.riskReasons(v).slice(1, 3), ['30天内偏离线路 1 次', '7天内跨境 3 次']);
});
