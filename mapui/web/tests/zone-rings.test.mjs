// The zone editor with holes and MultiPolygons: every ring is drawn, a hole's vertex is dragged,
// a hole is removed and drawn anew (a right click takes a vertex out), a part is added to a
// MultiPolygon (refused in words while it has too few vertices), the only outer ring stays;
// each save goes through the zone API and is read back from it. Nothing leaves localhost.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiCall, apiLogin, launch, newPage, shots, startServer, uiLogin } from './helpers.mjs';

let server, browser, token;
const square = (x0, y0, x1, y1) => [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
before(async () => {
  server = await startServer();
  browser = await launch();
  token = await apiLogin(server.base);
  await apiCall(server.base, token, 'POST', '/zones', { type: 'Feature', properties: { id: 'yard-holed', name: '带洞堆场', kind: 'yard' },
    geometry: { type: 'Polygon', coordinates: [square(106.4, 41.4, 106.6, 41.6), square(106.47, 41.47, 106.53, 41.53)] } });
  await apiCall(server.base, token, 'POST', '/zones', { type: 'Feature', properties: { id: 'yard-two', name: '两片堆场', kind: 'yard' },
    geometry: { type: 'MultiPolygon', coordinates: [[square(107.0, 41.0, 107.1, 41.1)], [square(107.2, 41.0, 107.3, 41.1)]] } });
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

const body = (page) => page.evaluate(() => ({ ...document.querySelector('.admin-body').dataset }));
const zone = (id) => apiCall(server.base, token, 'GET', `/zones/${id}`);
const pixel = (page, c) => page.evaluate((c) => {
  const p = window.bwMap.project(c);
  const r = document.querySelector('#zone-map').getBoundingClientRect();
  return { x: r.x + p.x, y: r.y + p.y };
}, c);

async function edit(page, id) {
  await page.click(`#admin-zones tr[data-id="${id}"] button.edit`);
  await page.waitForFunction((id) => document.querySelector('.admin-body').dataset.editing === id, id);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

async function save(page) {
  await page.evaluate(() => (document.querySelector('.admin-msg').textContent = ''));
  await page.click('#zone-editor button[type=submit]');
  await page.waitForFunction(() => document.querySelector('.admin-msg')?.textContent);
  return page.textContent('.admin-msg');
}

test('zone editor: holes and MultiPolygons are edited on the map and saved through the zone API', async () => {
  const errors = [];
  const page = await newPage(browser, errors);
  const origin = new URL(server.base).origin;
  const away = [];
  page.on('request', (r) => !r.url().startsWith(origin + '/') && !/^(data|blob):/.test(r.url()) && away.push(r.url()));
  await uiLogin(page, server.base, '#/admin?tab=zones');
  await page.waitForFunction(() => document.querySelector('.admin-body')?.dataset.ready === 'true');

  // Every ring drawn: the outer ring and the hole (dashed), the hole left unfilled.
  await edit(page, 'yard-holed');
  assert.deepEqual([(await body(page)).rings, (await body(page)).parts, (await body(page)).vertices], ['2', '1', '8']);
  const lines = await page.evaluate(() => window.bwMap.queryRenderedFeatures({ layers: ['edit-line'] }).map((f) => f.properties.hole));
  assert.deepEqual([...new Set(lines)].sort(), [false, true]);
  const centre = await pixel(page, [106.5, 41.5]);
  const fillAtHole = await page.evaluate((p) => {
    const r = document.querySelector('#zone-map').getBoundingClientRect();
    return window.bwMap.queryRenderedFeatures([p.x - r.x, p.y - r.y], { layers: ['edit-fill'] }).length;
  }, centre);
  assert.equal(fillAtHole, 0, 'the hole is filled');

  // Drag the hole's south-east vertex 50 px east; the outer ring stays.
  await page.waitForFunction(() => window.bwMap.queryRenderedFeatures({ layers: ['edit-vertex'] }).length === 8);
  const se = await pixel(page, [106.53, 41.47]);
  await page.mouse.move(se.x, se.y);
  await page.mouse.down();
  await page.mouse.move(se.x + 25, se.y, { steps: 3 });
  await page.mouse.move(se.x + 50, se.y, { steps: 3 });
  await page.mouse.up();
  assert.equal((await body(page)).vertices, '8');
  await shots(page, 'admin-zone-holes', [1280, 800]);
  assert.match(await save(page), /^已保存 · 带洞堆场$/);
  let z = await zone('yard-holed');
  assert.equal(z.geometry.type, 'Polygon');
  assert.deepEqual(z.geometry.coordinates[0], square(106.4, 41.4, 106.6, 41.6));
  assert.equal(z.geometry.coordinates[1].length, 5);
  assert.ok(z.geometry.coordinates[1].some((c) => c[0] > 106.535 && Math.abs(c[1] - 41.47) < 0.005), `hole vertex moved east: ${JSON.stringify(z.geometry.coordinates[1])}`);

  // Remove the hole, then draw a new one of four clicks and take one vertex out with a right click.
  await edit(page, 'yard-holed');
  await page.selectOption('#zone-ring', '0.1');
  await page.click('#ring-remove');
  assert.equal((await body(page)).rings, '1');
  assert.match(await save(page), /^已保存/);
  z = await zone('yard-holed');
  assert.equal(z.geometry.coordinates.length, 1);

  await edit(page, 'yard-holed');
  await page.click('#ring-add-hole');
  const c = await pixel(page, [106.5, 41.5]);
  for (const [dx, dy] of [[-30, -30], [30, -30], [30, 30], [-30, 30]]) await page.mouse.click(c.x + dx, c.y + dy);
  // The map draws what it is given a moment later: right-click the vertex once it is drawn.
  await page.waitForFunction(() => window.bwMap.queryRenderedFeatures({ layers: ['edit-vertex'] }).length === 8);
  await page.mouse.click(c.x - 30, c.y + 30, { button: 'right' });
  await page.waitForFunction(() => document.querySelector('.admin-body').dataset.vertices === '7');
  assert.match(await page.textContent('#vertex-count'), /^内洞 1 · 顶点数：3$/);
  assert.match(await save(page), /^已保存/);
  z = await zone('yard-holed');
  assert.equal(z.geometry.coordinates.length, 2);
  assert.equal(z.geometry.coordinates[1].length, 4);

  // The only outer ring cannot go.
  await edit(page, 'yard-holed');
  await page.selectOption('#zone-ring', '0.0');
  await page.click('#ring-remove');
  assert.match(await page.textContent('.admin-msg'), /^操作失败：区域至少要有一个外环$/);
  await page.click('#zone-editor button:has-text("取消")');

  // A MultiPolygon: both parts drawn; a third part is refused while empty, then drawn between them.
  await edit(page, 'yard-two');
  assert.deepEqual([(await body(page)).parts, (await body(page)).rings], ['2', '2']);
  await page.click('#ring-add-part');
  assert.match(await save(page), /^操作失败：多边形 3 · 外环：至少需要 3 个顶点$/);
  assert.equal((await zone('yard-two')).geometry.coordinates.length, 2);
  const gap = await pixel(page, [107.15, 41.05]);
  for (const [dx, dy] of [[-12, -12], [12, -12], [0, 12]]) await page.mouse.click(gap.x + dx, gap.y + dy);
  assert.match(await save(page), /^已保存 · 两片堆场$/);
  z = await zone('yard-two');
  assert.equal(z.geometry.type, 'MultiPolygon');
  assert.equal(z.geometry.coordinates.length, 3);
  assert.ok(z.geometry.coordinates[2][0].every(([x]) => x > 107.1 && x < 107.2), JSON.stringify(z.geometry.coordinates[2]));

  assert.deepEqual(errors, []);
  assert.deepEqual(away, []);
  await page.context().close();
});
