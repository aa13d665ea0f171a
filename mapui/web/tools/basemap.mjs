// basemap.mjs makes data/basemap.json, the offline base layer of the district's region, from
// public-domain Natural Earth 1:10m data and the customs border line. Run it by hand when a
// source changes; the result is committed and the build copies it (the raw sources are not
// committed):
//
//	7zz x ne_10m_populated_places.7z        # Natural Earth populated places, 2017 release (NAME_ZH)
//	node tools/basemap.mjs ne_10m_populated_places.json > data/basemap.json
//
// Sources:
//   - towns: ne_10m_populated_places (Natural Earth, public domain); its NAME_ZH mixes
//     traditional and simplified characters, so the traditional ones met in the region are mapped
//     to simplified (TRADITIONAL below); towns of the district that Natural Earth lacks or names
//     only in Latin letters are added or named from the scenario (DISTRICT_TOWNS, ZH_NAMES).
//   - China and Mongolia: ne_10m_admin_0_countries as world-atlas 2.0.2 ships it (npm), clipped
//     to the region; their common boundary from 97°E to Mongolia's eastern tip is replaced by
//     the customs border line (geofence/district/data/border.geojson, © OpenStreetMap
//     contributors, ODbL), so the map shows ONE border where the zones are.
//   - Natural Earth's roads and railroads are not included: no copy of them small enough could
//     be brought here (the 1:10m files are 30 MB and more).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { feature } from 'topojson-client';

const require = createRequire(import.meta.url);
const [, , placesPath] = process.argv;
if (!placesPath) {
  console.error('usage: node tools/basemap.mjs ne_10m_populated_places.json > data/basemap.json');
  process.exit(2);
}

// The Inner Mongolia border region: the district (≈97–120°E, 40–47°N) with a margin that fills a
// wall screen fitted to it.
const BOX = [94, 36.5, 124, 50];
const round = (c) => [Math.round(c[0] * 1e3) / 1e3, Math.round(c[1] * 1e3) / 1e3];

const TRADITIONAL = {
  車: '车', 爾: '尔', 彥: '彦', 烏: '乌', 蘇: '苏', 臺: '台', 倫: '伦', 達: '达', 蘭: '兰', 喬: '乔', 關: '关', 銀: '银',
  陽: '阳', 瀋: '沈', 頓: '顿', 圖: '图', 區: '区', 東: '东', 門: '门', 騰: '腾', 額: '额', 濟: '济', 納: '纳', 溫: '温',
  漢: '汉', 興: '兴', 倉: '仓', 嶺: '岭', 寧: '宁', 遼: '辽', 錫: '锡', 鎮: '镇', 縣: '县', 灣: '湾', 賽: '赛', 腦: '脑',
  寶: '宝', 綏: '绥',
};
const simplified = (s) => [...s].map((c) => TRADITIONAL[c] ?? c).join('');

// Natural Earth places of the region that carry no Chinese name.
const ZH_NAMES = {
  Xuanhua: '宣化', Shangdu: '商都', Wuchuan: '武川', 'Hanggin Houqi': '杭锦后旗', Angangxi: '昂昂溪',
  'Ulaan-Uul': '乌兰乌拉', Anxi: '瓜州', Guide: '贵德', Changping: '昌平', 'Alxa Zuoqi': '阿拉善左旗',
  Linxi: '林西', Kailu: '开鲁', 'Bairin Zuoqi': '巴林左旗', Bugt: '博克图', Wuyuan: '五原',
  'Bayan Obo': '白云鄂博', Jining: '集宁', Yuci: '榆次', Jinxi: '锦西', Dulan: '都兰', Hodrogo: '霍德罗戈',
};
// A few Natural Earth names an officer would not use.
const ZH_FIXES = { 路南区: '汉沽', 海拉尔区: '海拉尔' };

// Towns of the district Natural Earth lacks (positions from shared/SCENARIO.md, ≈ a few km).
const DISTRICT_TOWNS = [
  { zh: '额济纳旗', en: 'Ejin Banner (Dalaihob)', at: [101.07, 41.96], rank: 6 },
  { zh: '乌拉特中旗', en: 'Urad Middle Banner (Haliut)', at: [108.52, 41.57], rank: 6 },
  { zh: '巴彦淖尔', en: 'Bayannur (Linhe)', at: [107.387, 40.743], rank: 5 },
  { zh: '扎门乌德', en: 'Zamyn-Üüd', at: [111.9, 43.72], rank: 6 },
  { zh: '嘎顺苏海图', en: 'Gashuun Sukhait', at: [107.569, 42.415], rank: 7 },
  { zh: '西伯库伦', en: 'Shivee Khuren', at: [101.29, 42.6], rank: 7 },
];

const inBox = ([x, y]) => x >= BOX[0] && x <= BOX[2] && y >= BOX[1] && y <= BOX[3];

function towns() {
  const ne = JSON.parse(readFileSync(placesPath, 'utf8'));
  const out = [];
  for (const f of ne.features) {
    const p = f.properties;
    const at = f.geometry.coordinates;
    if (!inBox(at)) continue;
    const zh = ZH_FIXES[p.NAME_ZH] ?? (p.NAME_ZH ? simplified(p.NAME_ZH) : ZH_NAMES[p.NAME]);
    if (!zh) throw new Error(`no Chinese name for ${p.NAME}: add it to ZH_NAMES`);
    out.push(town(zh, p.NAME_EN || p.NAME, at, p.SCALERANK, p.POP_MAX, p.ADM0CAP === 1 || p.FEATURECLA.startsWith('Admin-1')));
  }
  for (const t of DISTRICT_TOWNS) out.push(town(t.zh, t.en, t.at, t.rank, 0, false));
  // Larger places first: MapLibre places symbols in this order when they collide.
  return out.sort((a, b) => a.properties.rank - b.properties.rank || b.properties.pop - a.properties.pop);
}

function town(zh, en, at, rank, pop, capital) {
  return { type: 'Feature', properties: { layer: 'town', name: zh, name_en: en, rank, pop, capital }, geometry: { type: 'Point', coordinates: round(at) } };
}

// Sutherland–Hodgman against each edge of BOX: enough for filling the region (rings stay closed).
function clipRing(ring) {
  const edges = [
    [(p) => p[0] >= BOX[0], (a, b) => cut(a, b, 0, BOX[0])],
    [(p) => p[0] <= BOX[2], (a, b) => cut(a, b, 0, BOX[2])],
    [(p) => p[1] >= BOX[1], (a, b) => cut(a, b, 1, BOX[1])],
    [(p) => p[1] <= BOX[3], (a, b) => cut(a, b, 1, BOX[3])],
  ];
  let pts = ring.slice(0, -1);
  for (const [inside, at] of edges) {
    const next = [];
    for (let i = 0; i < pts.length; i++) {
      const a = pts[(i + pts.length - 1) % pts.length];
      const b = pts[i];
      if (inside(b)) {
        if (!inside(a)) next.push(at(a, b));
        next.push(b);
      } else if (inside(a)) next.push(at(a, b));
    }
    pts = next;
    if (!pts.length) return null;
  }
  return [...pts, pts[0]];
}
function cut(a, b, axis, v) {
  const t = (v - a[axis]) / (b[axis] - a[axis]);
  return axis === 0 ? [v, a[1] + t * (b[1] - a[1])] : [a[0] + t * (b[0] - a[0]), v];
}

const dist2 = (a, b) => (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2;
const nearest = (ring, p) => ring.reduce((best, q, i) => (dist2(q, p) < dist2(ring[best], p) ? i : best), 0);
const length = (pts) => pts.reduce((s, p, i) => (i ? s + Math.sqrt(dist2(p, pts[i - 1])) : 0), 0);

// Replaces the stretch of ring between the vertices nearest the border line's ends (the shorter
// way round that matches the line) with the line itself.
function withBorder(ring, line) {
  const open = ring.slice(0, -1);
  const n = open.length;
  const i = nearest(open, line[0]);
  const j = nearest(open, line[line.length - 1]);
  const forward = []; // i → j
  for (let k = i; ; k = (k + 1) % n) {
    forward.push(open[k]);
    if (k === j) break;
  }
  const backward = []; // j → i
  for (let k = j; ; k = (k + 1) % n) {
    backward.push(open[k]);
    if (k === i) break;
  }
  const want = length(line);
  // Keep the way round that is NOT the shared stretch, then close it along the border line:
  // j → i then the line from its start; or i → j then the line from its end.
  const out = Math.abs(length(forward) - want) < Math.abs(length(backward) - want)
    ? [...backward, ...line]
    : [...forward, ...[...line].reverse()];
  out.push(out[0]);
  return out;
}

function countries(line) {
  const topo = require('world-atlas/countries-10m.json');
  const all = feature(topo, topo.objects.countries).features;
  const out = [];
  for (const [name, zh, en] of [['China', '中国', 'China'], ['Mongolia', '蒙古国', 'Mongolia']]) {
    const g = all.find((f) => f.properties.name === name).geometry;
    const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
    // The mainland is the polygon with the most vertices; islands are far from the region.
    const main = polys.reduce((a, b) => (b[0].length > a[0].length ? b : a));
    const ring = clipRing(withBorder(main[0], line));
    out.push({ type: 'Feature', properties: { layer: 'country', name: zh, name_en: en }, geometry: { type: 'Polygon', coordinates: [ring.map(round)] } });
  }
  return out;
}

// The country names on both sides of the border, so a screen fitted to any stretch of it shows
// both: every 0.25° along the line, China to its right (the line runs with China on its right),
// Mongolia to its left. Three tiers, each from its zoom on (minzoom): every 4° far from the
// line, every 1° nearer, every 0.25° close to it.
const TIERS = [
  { every: 16, minzoom: 0, offset: 0.45 },
  { every: 4, minzoom: 7, offset: 0.15 },
  { every: 1, minzoom: 9, offset: 0.04 },
];
function countryLabels(line) {
  const out = [];
  const cos = Math.cos((43 * Math.PI) / 180);
  let along = 0;
  let next = 1; // the first label 1° in from the line's western end
  let n = 0;
  for (let k = 1; k < line.length; k++) {
    along += Math.hypot((line[k][0] - line[k - 1][0]) * cos, line[k][1] - line[k - 1][1]);
    if (along < next) continue;
    next += 0.25;
    const tier = TIERS.find((t) => n % t.every === 0);
    n++;
    // The line's direction over a few vertices either side, in a plane where a degree of
    // longitude is as long as it is on the ground.
    const a = line[Math.max(0, k - 4)];
    const b = line[Math.min(line.length - 1, k + 4)];
    const dx = (b[0] - a[0]) * cos;
    const dy = b[1] - a[1];
    const len = Math.hypot(dx, dy) || 1;
    const [rx, ry] = [dy / len, -dx / len]; // to the right of the direction
    const at = (side) => [line[k][0] + (side * rx * tier.offset) / cos, line[k][1] + side * ry * tier.offset];
    out.push(label('中国', 'China', at(1), tier.minzoom), label('蒙古国', 'Mongolia', at(-1), tier.minzoom));
  }
  return out;
}
const label = (zh, en, at, minzoom) => ({ type: 'Feature', properties: { layer: 'country_label', name: zh, name_en: en, minzoom }, geometry: { type: 'Point', coordinates: round(at) } });

const border = JSON.parse(readFileSync(new URL('../../../geofence/district/data/border.geojson', import.meta.url), 'utf8'));
const line = border.geometry.coordinates;
const fc = {
  type: 'FeatureCollection',
  properties: {
    source: 'Natural Earth 1:10m (public domain): populated places 4.0, admin 0 countries via world-atlas 2.0.2; ' +
      'the China–Mongolia boundary is the customs border line (© OpenStreetMap contributors, ODbL)',
    made_by: 'mapui/web/tools/basemap.mjs',
    bbox: BOX,
  },
  features: [...countries(line), ...countryLabels(line), ...towns()],
};
process.stdout.write(JSON.stringify(fc) + '\n');
