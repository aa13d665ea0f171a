// Zone labels an officer can read: a zone with a hole is named inside the zone, never in its
// hole; a corridor carries one upright label at district zoom in the replay at 1920×1080, not
// Chinese laid along a bent line and repeated.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
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
  await browser?.close();
  await server?.stop();
});

test('labels: a holed zone is named inside it, corridors once and upright at district zoom', async () => {
  const errors = [];
  const page = await newPage(browser, errors);
  await page.setViewportSize({ width: 1920, height: 1080 });
  await uiLogin(page, server.base, '#/replay');
  await page.waitForFunction(() => window.bwMap?.queryRenderedFeatures({ layers: ['port-labels'] }).length > 0);

  const ring = await page.evaluate(async () => (await window.bwMap.getSource('zone-points').getData()).features.find((f) => f.properties.name === '环形堆场')?.geometry.coordinates);
  assert.ok(ring, 'the holed yard has no label point');
  assert.ok(inRing(ring, holed[0]) && !inRing(ring, holed[1]), `label at ${ring}: not inside the yard outside its hole`);
  await page.evaluate(() => window.bwMap.jumpTo({ center: [106.5, 41.5], zoom: 10 }));
  await mapIdle(page);
  const yard = await page.evaluate(() => window.bwMap.queryRenderedFeatures({ layers: ['zone-labels'] }).filter((f) => f.properties.name === '环形堆场').length);
  assert.equal(yard, 1, 'the holed yard is not labelled once at zoom 10');

  // District zoom over Ganqimaodu, where three corridors leave the port.
  await page.evaluate(() => window.bwMap.jumpTo({ center: [107.8, 42.0], zoom: 8.5 }));
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
  await page.close();
});
