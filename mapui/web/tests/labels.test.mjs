// Zone labels an officer can read: a zone with a hole is named inside the zone, never in its
// hole; a corridor carries one upright label at district zoom in the replay at 1920×1080, not
// Chinese laid along a bent line and repeated; a zone an administrator names with characters
// none of the app's sources hold is drawn with them (the glyphs cover GB2312).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PbfReader } from 'pbf';
import { apiCall, apiLogin, inRing, launch, mapIdle, newPage, shots, startServer, uiLogin } from './helpers.mjs';

let server, browser, token;
const square = (x0, y0, x1, y1) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
// A ring yard around a hole holding its bounding box's centre.
const holed = [square(106.4, 41.4, 106.6, 41.6), square(106.45, 41.45, 106.55, 41.55)];
before(async () => {
  server = await startServer();
  browser = await launch();
  token = await apiLogin(server.base);
  await apiCall(server.base, token, 'POST', '/zones', { type: 'Feature', properties: { id: 'yard-ring', name: '环形堆场', kind: 'yard' },
    geometry: { type: 'Polygon', coordinates: holed } });
});
after(async () => {
  await district?.close();
  await browser?.close();
  await server?.stop();
});

/**
 * The replay at 1920×1080, logged in once for the two tests that only move its map and read its
 * labels (a page's first map is what costs), with the page errors of both.
 */
let district;
const districtErrors = [];
async function districtReplay() {
  if (!district) {
    district = await newPage(browser, districtErrors);
    await district.setViewportSize({ width: 1920, height: 1080 });
    await uiLogin(district, server.base, '#/replay');
    await district.waitForFunction(() => window.bwMap?.queryRenderedFeatures({ layers: ['port-labels'] }).length > 0);
  }
  return { page: district, errors: districtErrors };
}

test('labels: a holed zone is named inside it, corridors once and upright at district zoom', async () => {
  const { page, errors } = await districtReplay();

  const ring = await page.evaluate(async () => (await window.bwMap.getSource('zone-points').getData()).features.find((f) => f.properties.name === '环形堆场')?.geometry.coordinates);
  assert.ok(ring, 'the holed yard has no label point');
  assert.ok(inRing(ring, holed[0]) && !inRing(ring, holed[1]), `label at ${ring}: not inside the yard outside its hole`);
  await page.evaluate(() => { window.bwMap.jumpTo({ center: [106.5, 41.5], zoom: 10 }); });
  await mapIdle(page);
  const yard = await page.evaluate(() => window.bwMap.queryRenderedFeatures({ layers: ['zone-labels'] }).filter((f) => f.properties.name === '环形堆场').length);
  assert.equal(yard, 1, 'the holed yard is not labelled once at zoom 10');

  // District zoom over Ganqimaodu, where three corridors leave the port.
  await page.evaluate(() => { window.bwMap.jumpTo({ center: [107.8, 42.0], zoom: 8.5 }); });
  await mapIdle(page);
  const labels = await page.evaluate(() => window.bwMap.queryRenderedFeatures({ layers: ['corridor-labels', 'zone-labels', 'port-labels'] })
    .map((f) => ({ layer: f.layer.id, name: f.properties.name })));
  const corridors = labels.filter((l) => l.layer === 'corridor-labels').map((l) => l.name);
  assert.ok(corridors.length > 0, `no corridor labelled at district zoom: ${JSON.stringify(labels)}`);
  assert.equal(new Set(corridors).size, corridors.length, `a corridor labelled more than once: ${corridors}`);
  const layout = await page.evaluate(() => window.bwMap.getLayoutProperty('corridor-labels', 'symbol-placement') ?? 'point');
  assert.equal(layout, 'point');
  await shots(page, 'labels-replay-district', [1920, 1080]);
  assert.deepEqual(errors, []);
});

/** The code points a glyph PBF holds glyphs with ink for (MapLibre's glyphs.proto: stack 1, glyph 3, id 1, bitmap 2). */
function inkedGlyphs(buf) {
  const ids = new Set();
  const glyph = (tag, g, pbf) => {
    if (tag === 1) g.id = pbf.readVarint();
    else if (tag === 2) g.ink = pbf.readBytes().length > 0;
  };
  const stack = (tag, _, pbf) => {
    if (tag !== 3) return;
    const g = pbf.readMessage(glyph, { id: -1, ink: false });
    if (g.ink) ids.add(g.id);
  };
  new PbfReader(buf).readFields((tag, _, pbf) => tag === 1 && pbf.readMessage(stack, {}), {});
  return ids;
}

test('glyphs: a zone named with characters the app\'s sources lack is drawn with them', async () => {
  // 鑫磊焱淼钰嵘: GB2312 (level 1 and 2), in none of the sources the build reads.
  const name = '鑫磊焱淼钰嵘堆场';
  const rare = [...'鑫磊焱淼钰嵘'];
  await apiCall(server.base, token, 'POST', '/zones', { type: 'Feature', properties: { id: 'yard-rare', name, kind: 'yard' },
    geometry: { type: 'Polygon', coordinates: [square(107.0, 41.7, 107.1, 41.8)] } });
  const errors = [];
  const page = await newPage(browser, errors);
  const served = new Map(); // glyph range URL → status
  page.on('response', (r) => /\/fonts\/.*\.pbf$/.test(r.url()) && served.set(new URL(r.url()).pathname, r.status()));
  await uiLogin(page, server.base, '#/replay');
  await page.waitForFunction(() => window.bwMap?.queryRenderedFeatures({ layers: ['port-labels'] }).length > 0);
  await page.evaluate(() => { window.bwMap.jumpTo({ center: [107.05, 41.75], zoom: 11 }); });
  await mapIdle(page);
  await page.waitForFunction((n) => window.bwMap.queryRenderedFeatures({ layers: ['zone-labels'] }).some((f) => f.properties.name === n), name);
  for (const ch of rare) {
    const cp = ch.codePointAt(0);
    const start = cp - (cp % 256);
    const path = `/fonts/NotoSansSC-Regular/${start}-${start + 255}.pbf`;
    assert.equal(served.get(path), 200, `the map asked for ${path} (for ${ch}) and got it: ${JSON.stringify([...served])}`);
    const res = await fetch(server.base + path);
    assert.equal(res.status, 200, path);
    assert.ok(inkedGlyphs(new Uint8Array(await res.arrayBuffer())).has(cp), `${path} has no glyph for ${ch} (U+${cp.toString(16)})`);
  }
  await shots(page, 'labels-rare-characters', [1280, 800]);
  assert.deepEqual(errors, []);
  await page.close();
});

test('labels: none under the legend or the attribution at district zoom in the replay at 1920×1080', async () => {
  const { page, errors } = await districtReplay();
  // Over Ganqimaodu, where the corridor to Baotou runs south under the legend's corner.
  await page.evaluate(() => { window.bwMap.jumpTo({ center: [107.8, 42.0], zoom: 8.5 }); });
  await mapIdle(page);
  // The labels MapLibre placed (their collision boxes) inside the legend's and the attribution's
  // boxes on the canvas.
  const labels = () => page.evaluate(() => {
    const m = window.bwMap.getContainer().getBoundingClientRect();
    return ['#map-legend', '.maplibregl-ctrl-bottom-right'].flatMap((sel) => {
      const l = document.querySelector(sel).getBoundingClientRect();
      return window.bwMap.queryRenderedFeatures([[l.left - m.left, l.top - m.top], [l.right - m.left, l.bottom - m.top]],
        { layers: ['corridor-labels', 'zone-labels', 'port-labels'] }).map((f) => `${sel}: ${f.properties.name}`);
    });
  });
  await shots(page, 'labels-legend-replay', [1280, 800]);
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.evaluate(() => { window.bwMap.jumpTo({ center: [107.8, 42.0], zoom: 8.5 }); });
  await mapIdle(page);
  assert.deepEqual(await labels(), [], 'labels drawn under the legend or the attribution');
  assert.deepEqual(errors, []);
});
