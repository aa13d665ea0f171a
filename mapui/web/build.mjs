// Builds the web app into dist/: the bundle, MapLibre's worker and CSS, index.html, the
// basemap data (the world from world-atlas TopoJSON, the district's region from data/, made by
// tools/basemap.mjs) and the fonts (tools/fonts.mjs).
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { feature, mesh } from 'topojson-client';
import { buildFonts } from './tools/fonts.mjs';

const require = createRequire(import.meta.url);
const out = new URL('./dist/', import.meta.url);
const here = new URL('./', import.meta.url);

// Keep dist/README.md (committed) and replace everything else.
await mkdir(out, { recursive: true });
for (const name of await readdir(out)) {
  if (name !== 'README.md') await rm(new URL(name, out), { recursive: true, force: true });
}
await mkdir(new URL('data/', out), { recursive: true });

await build({
  entryPoints: [new URL('src/main.ts', here).pathname],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  outfile: new URL('app.js', out).pathname,
  logLevel: 'warning',
});

const mlDist = require.resolve('maplibre-gl/dist/maplibre-gl.css').replace(/maplibre-gl\.css$/, '');
await copyFile(mlDist + 'maplibre-gl-worker.mjs', new URL('maplibre-gl-worker.mjs', out));
await copyFile(mlDist + 'maplibre-gl.css', new URL('maplibre-gl.css', out));
await copyFile(new URL('src/style.css', here), new URL('style.css', out));
await copyFile(new URL('index.html', here), new URL('index.html', out));

// Countries around the district only, rounded to ~100 m: the wall needs context, not the world.
const bbox = [60, 15, 150, 60];
const round = (c) => (typeof c[0] === 'number' ? [Math.round(c[0] * 1e3) / 1e3, Math.round(c[1] * 1e3) / 1e3] : c.map(round));
const inBox = (g) => {
  let hit = false;
  const walk = (c) => {
    if (hit) return;
    if (typeof c[0] === 'number') {
      if (c[0] >= bbox[0] && c[0] <= bbox[2] && c[1] >= bbox[1] && c[1] <= bbox[3]) hit = true;
    } else c.forEach(walk);
  };
  walk(g.coordinates);
  return hit;
};
const topo = JSON.parse(await readFile(require.resolve('world-atlas/countries-50m.json'), 'utf8'));
const countries = feature(topo, topo.objects.countries);
countries.features = countries.features
  .filter((f) => f.geometry && inBox(f.geometry))
  .map((f) => ({ type: 'Feature', properties: { name: f.properties.name }, geometry: { type: f.geometry.type, coordinates: round(f.geometry.coordinates) } }));
// No China–Mongolia boundary: the map draws the customs border line there (zones), and only it.
const cnmn = new Set(['China', 'Mongolia']);
const borders = mesh(topo, topo.objects.countries, (a, b) => a !== b && !(cnmn.has(a.properties.name) && cnmn.has(b.properties.name)));
borders.coordinates = round(borders.coordinates).filter((line) => inBox({ coordinates: line }));
await writeFile(new URL('data/countries.json', out), JSON.stringify(countries));
await writeFile(new URL('data/borders.json', out), JSON.stringify({ type: 'Feature', properties: {}, geometry: borders }));
await copyFile(new URL('data/basemap.json', here), new URL('data/basemap.json', out));
await writeFile(new URL('data/ATTRIBUTION.txt', out), 'Countries, towns: Natural Earth (public domain), countries via world-atlas 2.0.2.\n' +
  'China–Mongolia border line: © OpenStreetMap contributors, ODbL 1.0 (geofence/district/data/NOTICE.md).\n' +
  'Font: Noto Sans SC, SIL Open Font License 1.1, via @fontsource/noto-sans-sc.\n');

const fonts = await buildFonts(here.pathname, new URL('fonts/', out).pathname);
console.log(`fonts: ${fonts.codePoints} characters, ${fonts.woff2Files} WOFF2 files (${fonts.woff2Bytes} B), ${fonts.pbfFiles} glyph PBFs (${fonts.pbfBytes} B)`);
