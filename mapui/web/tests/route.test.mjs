// The tablet's route to a targeted vehicle (src/route.ts), on the district's real corridors
// (geofence/district/testdata/district.geojson): along the corridors where they lead there,
// the straight line where no known road helps, and a base map's roads layer when it has one.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { build } from 'esbuild';
import { repoDir, webDir } from './helpers.mjs';

let R, zones;
before(async () => {
  const out = await build({ entryPoints: [join(webDir, 'src/route.ts')], bundle: true, format: 'esm', write: false, logLevel: 'warning' });
  R = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
  zones = JSON.parse(await readFile(join(repoDir, 'geofence/district/testdata/district.geojson'), 'utf8'));
});

const rad = Math.PI / 180;
const hav = (a, b) => {
  const h = Math.sin(((b[1] - a[1]) * rad) / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(((b[0] - a[0]) * rad) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
};
const lerp = (a, b, u) => [a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u];
const corridor = (id) => zones.features.find((f) => f.properties.id === id).geometry.coordinates;

test('along one corridor: through its bends, its length, at road speed', () => {
  const c = corridor('corridor-ganqimaodu-yard3'); // the port to Baotou, 8 vertices
  const from = lerp(c[1], c[2], 0.5);
  const to = lerp(c[5], c[6], 0.5);
  const r = R.route(R.roadLines(zones, null), from, to);
  assert.equal(r.straight, false);
  assert.deepEqual(r.coords[0], from);
  assert.deepEqual(r.coords.at(-1), to);
  for (const v of c.slice(2, 6)) assert.ok(r.coords.some((p) => hav(p, v) < 1), `route misses the corridor's bend ${v}`);
  const along = hav(from, c[2]) + hav(c[2], c[3]) + hav(c[3], c[4]) + hav(c[4], c[5]) + hav(c[5], to);
  assert.ok(Math.abs(r.metres - along) < 50, `route ${r.metres} m, along the corridor ${along} m`);
  assert.ok(r.metres > hav(from, to) * 1.05, 'the route is the straight line');
  assert.ok(Math.abs(r.minutes - (along / 1000 / R.ROAD_KMH) * 60) < 0.5, `ETA ${r.minutes} min`);
});

test('from one corridor to another of the same port: through the port where they meet', () => {
  const c1 = corridor('corridor-ganqimaodu-yard1');
  const c2 = corridor('corridor-ganqimaodu-yard2');
  const from = lerp(c1[0], c1[1], 0.8);
  const to = lerp(c2[1], c2[2], 0.3);
  const r = R.route(R.roadLines(zones, null), from, to);
  assert.equal(r.straight, false);
  assert.ok(r.coords.some((p) => hav(p, c1[0]) < 1), 'the route does not pass the port');
  assert.ok(r.coords.some((p) => hav(p, c2[1]) < 1), 'the route does not follow the second corridor');
});

test('a patrol off the road: a straight leg to the corridor, then along it', () => {
  const c = corridor('corridor-ganqimaodu-yard3');
  const on = lerp(c[3], c[4], 0.5);
  const from = [on[0] + 0.03, on[1] + 0.02]; // ~3.4 km off
  const to = lerp(c[5], c[6], 0.5);
  const r = R.route(R.roadLines(zones, null), from, to);
  assert.equal(r.straight, false);
  assert.ok(r.metres > r.roadMetres + 1000, 'no leg off the road counted');
  assert.ok(r.minutes > (r.roadMetres / 1000 / R.ROAD_KMH) * 60, 'the leg off the road is not slower');
});

test('no known road near: the straight line', () => {
  const from = [104.0, 41.0]; // the Badain Jaran desert, far from every corridor
  const to = [104.3, 41.2];
  for (const lines of [R.roadLines(zones, null), []]) {
    const r = R.route(lines, from, to);
    assert.equal(r.straight, true);
    assert.deepEqual(r.coords, [from, to]);
    assert.ok(Math.abs(r.metres - hav(from, to)) < 1);
    assert.ok(Math.abs(r.minutes - (hav(from, to) / 1000 / R.OFFROAD_KMH) * 60) < 0.01);
  }
});

test('a road far round is no help: the straight line', () => {
  // A road down one valley and up the next: its two ends 4 km apart, 200 km apart along it.
  const road = [[110.0, 41.0], [110.0, 40.0], [110.05, 40.0], [110.05, 41.0]];
  const from = [110.001, 40.99];
  const to = [110.049, 40.99];
  const r = R.route([road], from, to);
  assert.equal(r.straight, true, `route of ${r.metres} m taken for ${hav(from, to)} m`);
  // Near the bend, the same road is the way.
  const mid = R.route([road], [110.001, 40.01], [110.049, 40.01]);
  assert.equal(mid.straight, false);
});

test("the base map's roads layer is followed when there is one; towns and borders are not roads", () => {
  const road = [[111.0, 41.0], [111.2, 41.3], [111.5, 41.3]];
  const basemap = { type: 'FeatureCollection', features: [
    { type: 'Feature', properties: { layer: 'road', name: 'G208' }, geometry: { type: 'LineString', coordinates: road } },
    { type: 'Feature', properties: { layer: 'town', name: '某镇' }, geometry: { type: 'Point', coordinates: [111.1, 41.1] } },
    { type: 'Feature', properties: { layer: 'country', name: 'China' }, geometry: { type: 'Polygon', coordinates: [[[110, 40], [112, 40], [112, 42], [110, 40]]] } },
  ] };
  const lines = R.roadLines({ type: 'FeatureCollection', features: zones.features.filter((f) => f.properties.kind === 'border') }, basemap);
  assert.deepEqual(lines, [road], 'the border line or a town taken for a road');
  const r = R.route(lines, lerp(road[0], road[1], 0.2), lerp(road[1], road[2], 0.7));
  assert.equal(r.straight, false);
  assert.ok(r.coords.some((p) => hav(p, road[1]) < 1));
});
