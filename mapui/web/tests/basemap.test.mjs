// The offline base map and the shipped font: the wall opens on the district between its panels,
// with China and Mongolia shaded, towns, ONE border line and the zones labelled; Chinese text on
// the page and on the map is drawn with the app's Noto Sans SC, and nothing is fetched from
// anywhere but the server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, launch, mapIdle, newPage, shots, WALL, startServer, uiLogin } from './helpers.mjs';

let server, browser, zones;
before(async () => {
  server = await startServer();
  browser = await launch();
  zones = await apiCall(server.base, await apiLogin(server.base), 'GET', '/zones');
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Records every request that goes anywhere but the server (data: and blob: URLs stay in the page). */
function watchRequests(page) {
  const origin = new URL(server.base).origin;
  const away = [];
  const glyphs = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin + '/') && !u.startsWith('data:') && !u.startsWith('blob:')) away.push(u);
  });
  page.on('response', (r) => {
    if (/\/fonts\/.+\.pbf$/.test(r.url())) glyphs.push({ url: r.url(), status: r.status() });
  });
  return { away, glyphs };
}

/** The fonts chromium drew the text in the elements matching selector (and their descendants) with. */
async function fontsOf(page, selector) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
  const { nodeIds } = await cdp.send('DOM.querySelectorAll', { nodeId: root.nodeId, selector: `${selector}, ${selector} *` });
  assert.ok(nodeIds.length, `no ${selector}`);
  const fonts = [];
  for (const nodeId of nodeIds) fonts.push(...(await cdp.send('CSS.getPlatformFontsForNode', { nodeId })).fonts);
  await cdp.detach();
  return fonts;
}

/** Names of the features drawn on the map in the given layers. */
const drawn = (page, layers) => page.evaluate((l) => [...new Set(window.bwMap.queryRenderedFeatures({ layers: l }).map((f) => f.properties.name))], layers);

test('basemap: the wall opens on the district, readable, in the shipped font, all from the server', async () => {
  const errors = [];
  const page = await newPage(browser, errors, WALL);
  const { away, glyphs } = watchRequests(page);
  await uiLogin(page, server.base, '#/wall');
  await page.waitForFunction(() => window.bwMap?.queryRenderedFeatures({ layers: ['port-labels'] }).length > 0);
  await mapIdle(page);

  // Fitted: every port lies in the map between the side panels, and the view is the district's.
  const ports = zones.features.filter((f) => f.properties.kind === 'port');
  assert.ok(ports.length >= 4, `${ports.length} ports`);
  const at = await page.evaluate((pts) => {
    const left = document.querySelector('.panel.left').getBoundingClientRect();
    const right = document.querySelector('.panel.right').getBoundingClientRect();
    return { left: left.right, right: right.left, zoom: window.bwMap.getZoom(), px: pts.map((p) => window.bwMap.project(p)) };
  }, ports.map((f) => f.geometry.coordinates[0][0]));
  for (const [i, p] of at.px.entries()) {
    assert.ok(p.x > at.left && p.x < at.right && p.y > 0 && p.y < 1080, `${ports[i].properties.name} at ${Math.round(p.x)},${Math.round(p.y)}: not between the panels (${at.left}–${at.right})`);
  }
  assert.ok(at.zoom > 4 && at.zoom < 7, `zoom ${at.zoom}`);

  // The base layers at district zoom.
  const countries = await drawn(page, ['region-countries']);
  assert.deepEqual(countries.sort(), ['中国', '蒙古国']);
  const countryLabels = await drawn(page, ['country-labels']);
  assert.deepEqual(countryLabels.sort(), ['中国', '蒙古国']);
  const towns = await drawn(page, ['town-labels']);
  for (const town of ['二连浩特', '呼和浩特', '包头']) assert.ok(towns.includes(town), `${town} not labelled: ${towns}`);
  assert.ok(towns.length >= 15, `${towns.length} towns labelled`);
  const portLabels = await drawn(page, ['port-labels']);
  assert.deepEqual(portLabels.sort(), ports.map((f) => f.properties.name).sort());
  assert.ok((await drawn(page, ['zone-dots'])).length >= ports.length);
  // ONE border line: the customs one; the world's China–Mongolia boundary is not drawn.
  const borders = await page.evaluate(() => window.bwMap.queryRenderedFeatures({ layers: ['border', 'country-borders'] }).map((f) => f.layer.id));
  assert.ok(borders.includes('border'), 'customs border not drawn');
  const others = await page.evaluate((pts) => {
    // The ports' box with a margin of a degree: where the world's boundary ran, several km off.
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    const a = window.bwMap.project([Math.min(...xs) - 1, Math.max(...ys) + 1]);
    const b = window.bwMap.project([Math.max(...xs) + 1, Math.min(...ys) - 1]);
    return window.bwMap.queryRenderedFeatures([[a.x, a.y], [b.x, b.y]], { layers: ['country-borders'] }).length;
  }, ports.map((f) => f.geometry.coordinates[0][0]));
  assert.equal(others, 0, 'another border line is drawn in the district');

  // The legend names every kind, in Chinese.
  const legend = await page.$$eval('#map-legend span', (s) => s.map((x) => [x.dataset.kind, x.textContent]));
  assert.deepEqual(legend.slice(0, 6).map(([k]) => k), ['port', 'yard', 'corridor', 'control_zone', 'mine', 'border']);
  assert.deepEqual(legend.slice(0, 6).map(([, v]) => v), ['口岸', '堆场 / 物流园', '监管通道', '监管区', '矿区（境外装货地）', '国境线']);

  // Page text: the shipped font holds the glyphs, and chromium drew Chinese with it alone.
  assert.ok(await page.evaluate(async () => {
    await document.fonts.ready;
    return document.fonts.check('16px "BW Noto Sans SC"', '口岸国境线堆场');
  }));
  for (const sel of ['#map-legend', '.ports thead', 'nav.topbar']) {
    const fonts = await fontsOf(page, sel);
    assert.ok(fonts.length > 0, sel);
    for (const f of fonts) assert.ok(f.isCustomFont && /Noto Sans SC/.test(f.familyName), `${sel}: drawn with ${JSON.stringify(f)}`);
  }

  // Map labels: glyphs from the app's PBFs (no local fallback), with ink for the towns' names.
  // MapLibre keeps a glyph it drew from a local font at double resolution; one from a PBF not.
  const ink = await page.evaluate((chars) => {
    const stack = window.bwMap.style.glyphManager.entries['NotoSansSC-Regular'];
    return chars.map((c) => {
      const g = stack?.glyphs.default[c];
      return { c, width: g?.bitmap?.width ?? 0, local: !!g?.metrics?.isDoubleResolution };
    });
  }, [...'二连浩特']);
  for (const g of ink) assert.ok(g.width > 6 && !g.local, `glyph ${JSON.stringify(g)}`);
  assert.ok(glyphs.some((g) => g.url.endsWith('/NotoSansSC-Regular/19968-20223.pbf') && g.status === 200), JSON.stringify(glyphs));
  assert.deepEqual(glyphs.filter((g) => g.status !== 200), []);

  await shots(page, 'basemap-wall', [1280, 800]);
  assert.deepEqual(away, [], 'requests left the server');
  assert.deepEqual(errors, []);
  await page.close();
});

test('basemap: the tablet at 1280×800 shows the same base map, all from the server', async () => {
  const errors = [];
  const page = await newPage(browser, errors);
  const { away } = watchRequests(page);
  await page.setViewportSize({ width: 1280, height: 800 });
  await uiLogin(page, server.base, '#/tablet');
  await page.waitForFunction(() => window.bwMap?.loaded());
  // A patrol near Erenhot.
  await page.evaluate(() => { window.bwMap.jumpTo({ center: [111.95, 43.6], zoom: 9 }); });
  await mapIdle(page);
  const towns = await drawn(page, ['town-labels']);
  assert.ok(towns.includes('二连浩特'), `${towns}`);
  assert.ok((await drawn(page, ['port-labels'])).includes('二连浩特口岸'));
  assert.ok((await drawn(page, ['zone-labels'])).length > 0, 'no zone labelled at zoom 9');
  await shots(page, 'basemap-tablet', [1280, 800]);
  assert.deepEqual(away, [], 'requests left the server');
  assert.deepEqual(errors, []);
  await page.close();
});
