// The basemap from shipped data: Natural Earth countries around the world, the district's
// region (China and Mongolia shaded, towns with their Chinese names, from data/basemap.json),
// the deployment's zones with their names, and an optional raster or PMTiles basemap named by
// /api/v1/config. Labels use the app's own Noto Sans SC glyphs (fonts/), so nothing is fetched
// from outside.
import * as maplibregl from 'maplibre-gl';
import type { GeoJSONFeatureDiff, GeoJSONSource, StyleSpecification } from 'maplibre-gl';
import { Protocol } from 'pmtiles';
import polylabel from 'polylabel';
import { getBasemap, getVehicle, getZones, type Alert, type Fix, type ZoneCollection } from './api';
import { h } from './dom';
import { bboxOf, inPolygon, type LonLat } from './geo';
import { kindName, plate as shownPlate, time, vehicleKind } from './format';
import { fmtDriverCard, fmtSeal, getLang, t } from './i18n';

maplibregl.setWorkerUrl(new URL('maplibre-gl-worker.mjs', document.baseURI).href);
maplibregl.addProtocol('pmtiles', new Protocol().tile);

export type Theme = 'dark' | 'light';

/** The glyph set the build makes from Noto Sans SC (tools/fonts.mjs). */
const FONTSTACK = 'NotoSansSC-Regular';

const palette = {
  dark: { bg: '#0b1520', land: '#16222e', landLine: '#3b4f63', cn: '#1d2d3c', mn: '#2a2622', text: '#e6edf3', halo: '#0b1520', town: '#c9d6e3', country: '#7f95ab' },
  light: { bg: '#cfe0ee', land: '#f3f1ea', landLine: '#9aa5b1', cn: '#f7f4ec', mn: '#e2dccf', text: '#1b2733', halo: '#ffffff', town: '#2b3a4a', country: '#6b7785' },
};

export const stateColors: Record<string, string> = {
  moving: '#2ecc71',
  stopped: '#f1c40f',
  alerted: '#ff3b30',
  offline: '#8a96a3',
};

export const zoneColors: Record<string, string> = {
  port: '#3fa9f5',
  control_zone: '#f39c12',
  yard: '#9b59b6',
  service_area: '#1abc9c',
  restricted: '#e74c3c',
  corridor: '#00d2ff',
  mine: '#c8a165',
};

// Lighter tones of zoneColors for text, readable on the dark map.
const zoneLabelColors: Record<string, string> = {
  port: '#9fd6ff',
  control_zone: '#ffc56b',
  yard: '#dcb6f2',
  service_area: '#86e8d4',
  restricted: '#ff8a80',
  corridor: '#86ecff',
  mine: '#e6c89a',
};

const BORDER_COLOR = '#ff5a5f';

/** The kinds the legend explains, in its order. */
const legendKinds = ['port', 'yard', 'corridor', 'control_zone', 'mine', 'border'] as const;

// Metres per pixel at zoom 0 (512 px tiles) near the district's latitude (≈42.5°N).
const M_PER_PX_Z0 = (40075016.686 * Math.cos((42.5 * Math.PI) / 180)) / 512;

export const empty = (): GeoJSON.FeatureCollection => ({ type: 'FeatureCollection', features: [] });

export interface BwMap {
  map: maplibregl.Map;
  zones: Promise<ZoneCollection>;
}

export async function createMap(container: HTMLElement, theme: Theme, opts: Partial<maplibregl.MapOptions> = {}): Promise<BwMap> {
  const p = palette[theme];
  const basemap = await getBasemap();
  const data = (name: string) => new URL(`data/${name}`, document.baseURI).href;
  // The label in the user's language: Chinese names, English ones when English is chosen.
  const name = getLang() === 'en' ? ['coalesce', ['get', 'name_en'], ['get', 'name']] : ['get', 'name'];
  const kindColor = ['match', ['get', 'kind'], ...Object.entries(zoneColors).flat(), '#888'] as any;
  const labelColor = ['match', ['get', 'kind'], ...Object.entries(zoneLabelColors).flat(), '#ccc'] as any;
  const style: StyleSpecification = {
    version: 8,
    glyphs: new URL('fonts/', document.baseURI).href + '{fontstack}/{range}.pbf',
    sources: {
      countries: { type: 'geojson', data: data('countries.json'), attribution: 'Natural Earth' },
      borders: { type: 'geojson', data: data('borders.json') },
      region: { type: 'geojson', data: data('basemap.json'), attribution: 'Natural Earth; border © OpenStreetMap contributors' },
      zones: { type: 'geojson', data: empty() },
      'zone-points': { type: 'geojson', data: empty() },
    },
    layers: [
      { id: 'bg', type: 'background', paint: { 'background-color': p.bg } },
      {
        id: 'countries',
        type: 'fill',
        source: 'countries',
        paint: { 'fill-color': ['match', ['get', 'name'], 'China', p.cn, 'Mongolia', p.mn, p.land] as any, 'fill-opacity': basemap ? 0.25 : 1 },
      },
      { id: 'country-borders', type: 'line', source: 'borders', paint: { 'line-color': p.landLine, 'line-width': 1 } },
      {
        // China and Mongolia at 1:10m, meeting on the customs border line.
        id: 'region-countries',
        type: 'fill',
        source: 'region',
        filter: ['==', ['get', 'layer'], 'country'],
        paint: { 'fill-color': ['match', ['get', 'name_en'], 'China', p.cn, p.mn] as any, 'fill-opacity': basemap ? 0.25 : 1 },
      },
      {
        id: 'zone-fill',
        type: 'fill',
        source: 'zones',
        filter: ['==', ['geometry-type'], 'Polygon'],
        // Control zones are large (15 km around a port): a tint, so what lies inside reads.
        paint: { 'fill-color': kindColor, 'fill-opacity': ['match', ['get', 'kind'], 'control_zone', 0.1, 0.3] },
      },
      {
        id: 'zone-outline',
        type: 'line',
        source: 'zones',
        filter: ['all', ['==', ['geometry-type'], 'Polygon'], ['!=', ['get', 'kind'], 'border']],
        paint: { 'line-color': kindColor, 'line-width': ['interpolate', ['linear'], ['zoom'], 6, 1, 10, 2] },
      },
      {
        // A corridor is drawn as wide as it is on the ground (width_m either side of its line),
        // and never thinner than 2 px, so it reads as a road at district zoom.
        id: 'corridor',
        type: 'line',
        source: 'zones',
        filter: ['all', ['==', ['geometry-type'], 'LineString'], ['==', ['get', 'kind'], 'corridor']],
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: {
          'line-color': zoneColors.corridor,
          'line-opacity': ['interpolate', ['linear'], ['zoom'], 6, 0.8, 11, 0.3],
          'line-width': [
            'interpolate', ['exponential', 2], ['zoom'],
            0, ['max', 2, ['/', ['*', 2, ['coalesce', ['get', 'width_m'], 500]], M_PER_PX_Z0]],
            22, ['/', ['*', 2, ['coalesce', ['get', 'width_m'], 500]], M_PER_PX_Z0 / 2 ** 22],
          ],
        },
      },
      {
        id: 'corridor-center',
        type: 'line',
        source: 'zones',
        minzoom: 9,
        filter: ['all', ['==', ['geometry-type'], 'LineString'], ['==', ['get', 'kind'], 'corridor']],
        paint: { 'line-color': zoneColors.corridor, 'line-width': 1, 'line-dasharray': [2, 2] },
      },
      {
        // A dark casing, so the border reads on both shades and across corridors.
        id: 'border-casing',
        type: 'line',
        source: 'zones',
        filter: ['==', ['get', 'kind'], 'border'],
        layout: { 'line-join': 'round' },
        paint: { 'line-color': p.halo, 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 4, 10, 7], 'line-opacity': 0.7 },
      },
      {
        id: 'border',
        type: 'line',
        source: 'zones',
        filter: ['==', ['get', 'kind'], 'border'],
        layout: { 'line-join': 'round' },
        paint: { 'line-color': BORDER_COLOR, 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 2, 10, 4] },
      },
      {
        id: 'country-labels',
        type: 'symbol',
        source: 'region',
        // Each tier from its zoom on (evaluated at whole zoom levels).
        filter: ['all', ['==', ['get', 'layer'], 'country_label'], ['>=', ['zoom'], ['get', 'minzoom']]],
        layout: {
          'text-field': name as any,
          'text-font': [FONTSTACK],
          'text-size': ['interpolate', ['linear'], ['zoom'], 4, 18, 8, 24],
          'text-letter-spacing': 0.4,
          'text-padding': 2,
        },
        paint: { 'text-color': p.country, 'text-halo-color': p.halo, 'text-halo-width': 1 },
      },
      {
        id: 'towns',
        type: 'circle',
        source: 'region',
        filter: ['==', ['get', 'layer'], 'town'],
        paint: {
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 4, ['case', ['<=', ['get', 'rank'], 4], 3.5, 2.5], 9, ['case', ['<=', ['get', 'rank'], 4], 6, 4]],
          'circle-color': p.town,
          'circle-stroke-color': p.halo,
          'circle-stroke-width': 1,
        },
      },
      {
        // Ports, yards and service areas as a dot where their polygons are too small to see.
        id: 'zone-dots',
        type: 'circle',
        source: 'zone-points',
        maxzoom: 10,
        filter: ['match', ['get', 'kind'], ['port', 'yard', 'service_area'], true, false],
        paint: {
          'circle-radius': ['match', ['get', 'kind'], 'port', 7, 4.5],
          'circle-color': kindColor,
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': ['match', ['get', 'kind'], 'port', 2, 1],
        },
      },
      {
        id: 'zone-labels',
        type: 'symbol',
        source: 'zone-points',
        minzoom: 7,
        filter: ['match', ['get', 'kind'], ['yard', 'service_area', 'control_zone', 'restricted', 'mine'], true, false],
        layout: {
          'text-field': name as any,
          'text-font': [FONTSTACK],
          'text-size': ['interpolate', ['linear'], ['zoom'], 7, 13, 12, 17],
          'text-variable-anchor': ['top', 'bottom', 'left', 'right'],
          'text-radial-offset': 0.8,
          'text-max-width': 16,
          'symbol-sort-key': ['match', ['get', 'kind'], 'yard', 1, 'service_area', 2, 3],
        },
        paint: { 'text-color': theme === 'dark' ? labelColor : kindColor, 'text-halo-color': p.halo, 'text-halo-width': 2 },
      },
      {
        id: 'corridor-labels',
        type: 'symbol',
        minzoom: 8,
        // One label per corridor, upright beside the middle of its line: Chinese laid along a
        // line that bends at district zoom came out as overlapping, turned glyphs, repeated.
        source: 'zone-points',
        filter: ['==', ['get', 'kind'], 'corridor'],
        layout: {
          'text-field': name as any,
          'text-font': [FONTSTACK],
          'text-size': ['interpolate', ['linear'], ['zoom'], 8, 13, 12, 16],
          'text-variable-anchor': ['left', 'right', 'top', 'bottom'],
          'text-radial-offset': 0.8,
          'text-max-width': 12,
          'text-padding': 4,
        },
        paint: { 'text-color': theme === 'dark' ? zoneLabelColors.corridor : zoneColors.corridor, 'text-halo-color': p.halo, 'text-halo-width': 2 },
      },
      {
        id: 'town-labels',
        type: 'symbol',
        source: 'region',
        filter: ['==', ['get', 'layer'], 'town'],
        layout: {
          'text-field': name as any,
          'text-font': [FONTSTACK],
          'text-size': ['interpolate', ['linear'], ['zoom'], 4, ['case', ['<=', ['get', 'rank'], 4], 15, 13], 9, ['case', ['<=', ['get', 'rank'], 4], 20, 16]],
          'text-variable-anchor': ['left', 'right', 'top', 'bottom'],
          'text-radial-offset': 0.6,
          'symbol-sort-key': ['get', 'rank'],
        },
        paint: { 'text-color': p.town, 'text-halo-color': p.halo, 'text-halo-width': 1.5 },
      },
      {
        id: 'port-labels',
        type: 'symbol',
        source: 'zone-points',
        filter: ['==', ['get', 'kind'], 'port'],
        layout: {
          'text-field': name as any,
          'text-font': [FONTSTACK],
          'text-size': ['interpolate', ['linear'], ['zoom'], 4, 17, 10, 22],
          // The top symbol layer, placed first: a port's name always shows.
          'text-variable-anchor': ['bottom', 'top', 'left', 'right'],
          'text-radial-offset': 0.7,
        },
        paint: { 'text-color': '#ffffff', 'text-halo-color': '#0b1520', 'text-halo-width': 2 },
      },
    ],
  };
  if (basemap) addBasemap(style, basemap);
  const map = new maplibregl.Map({
    container,
    style,
    center: [108.5, 43],
    zoom: 5,
    attributionControl: { compact: true },
    // Chinese labels from the shipped glyphs, not from whatever font the machine has.
    localIdeographFontFamily: false,
    ...opts,
  });
  // The current map, for the browser tests and the console.
  (window as unknown as { bwMap: maplibregl.Map }).bwMap = map;
  const key = legend(theme);
  container.append(key);
  const loaded = new Promise<void>((r) => map.once('load', () => r()));
  void loaded.then(() => keepLabelsOffLegend(map, key));
  const zones = Promise.all([getZones(), loaded]).then(([z]) => {
    (map.getSource('zones') as GeoJSONSource).setData(z);
    (map.getSource('zone-points') as GeoJSONSource).setData(zonePoints(z));
    return z;
  });
  await loaded;
  return { map, zones };
}

/**
 * MapLibre places labels without knowing of the legend and the attribution over the map's foot,
 * so the lowest ones could sit under them. An invisible icon each one's size, where it is, on top
 * of the zone labels' layers, takes that space in their collision index: a label with other
 * anchors (the corridors') moves beside it, one without is left out rather than hidden behind it.
 */
function keepLabelsOffLegend(map: maplibregl.Map, key: HTMLElement): void {
  map.addSource('legend-space', { type: 'geojson', data: empty() });
  map.addLayer({ id: 'legend-space', type: 'symbol', source: 'legend-space',
    layout: { 'icon-image': ['get', 'image'] as any, 'icon-allow-overlap': true, 'icon-ignore-placement': false, 'icon-padding': 0 } });
  const sizes = new Map<string, string>();
  const place = () => {
    const src = map.getSource('legend-space') as GeoJSONSource | undefined;
    if (!src) return;
    const m = map.getContainer().getBoundingClientRect();
    const chrome = [key, map.getContainer().querySelector<HTMLElement>('.maplibregl-ctrl-bottom-right')];
    const features: GeoJSON.Feature[] = [];
    chrome.forEach((el, i) => {
      const r = el?.getBoundingClientRect();
      if (!r?.width || !r.height) return;
      const [w, h, image] = [Math.ceil(r.width), Math.ceil(r.height), `legend-space-${i}`];
      if (sizes.get(image) !== `${w}x${h}`) {
        if (map.hasImage(image)) map.removeImage(image);
        map.addImage(image, new ImageData(w, h));
        sizes.set(image, `${w}x${h}`);
      }
      const at = map.unproject([r.left + r.width / 2 - m.left, r.top + r.height / 2 - m.top]);
      features.push({ type: 'Feature', properties: { image }, geometry: { type: 'Point', coordinates: [at.lng, at.lat] } });
    });
    src.setData({ type: 'FeatureCollection', features });
  };
  place();
  map.on('moveend', place);
  map.on('resize', place);
}

function addBasemap(style: StyleSpecification, b: NonNullable<Awaited<ReturnType<typeof getBasemap>>>): void {
  const src: maplibregl.RasterSourceSpecification = {
    type: 'raster',
    tileSize: b.tile_size ?? 256,
    attribution: b.attribution ?? '',
    maxzoom: b.max_zoom ?? 18,
  };
  if (b.type === 'pmtiles' && b.url) src.url = `pmtiles://${new URL(b.url, document.baseURI).href}`;
  else if (b.tiles?.length) src.tiles = b.tiles.map((t) => (t.startsWith('/') ? location.origin + t : t));
  else return;
  style.sources.basemap = src;
  style.layers.splice(1, 0, { id: 'basemap', type: 'raster', source: 'basemap' });
}

/**
 * A point per polygon zone for its dot and label at low zoom: the middle of its box, or for a
 * control zone the middle of its southern edge, clear of the port at its centre.
 */
function zonePoints(z: ZoneCollection): GeoJSON.FeatureCollection {
  const out: GeoJSON.Feature[] = [];
  for (const f of z.features) {
    const g = f.geometry;
    const kind = f.properties?.kind;
    let at: LonLat | undefined;
    if (g && (g.type === 'Polygon' || g.type === 'MultiPolygon') && kind !== 'border') at = polygonLabel(g, kind === 'control_zone');
    if (g?.type === 'LineString' && kind === 'corridor') at = midpoint(g.coordinates as LonLat[]);
    if (!at) continue;
    out.push({ type: 'Feature', properties: { kind, name: f.properties?.name, name_en: f.properties?.name_en }, geometry: { type: 'Point', coordinates: at } });
  }
  return { type: 'FeatureCollection', features: out };
}

/**
 * Where a zone's name goes: the middle of its largest part (a control zone's near its southern
 * edge, clear of its port's name in the middle), or, where that falls outside the zone (in a
 * hole, or a bent zone's bay), the point inside farthest from every edge.
 */
function polygonLabel(g: GeoJSON.Polygon | GeoJSON.MultiPolygon, low: boolean): LonLat {
  const parts = (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as LonLat[][][];
  const area = (p: LonLat[][]) => {
    const b = bboxOf(p[0]);
    return (b[2] - b[0]) * (b[3] - b[1]);
  };
  const main = parts.reduce((a, b) => (area(b) > area(a) ? b : a));
  const b = bboxOf(main[0]);
  const at: LonLat = [(b[0] + b[2]) / 2, low ? b[1] + (b[3] - b[1]) * 0.08 : (b[1] + b[3]) / 2];
  if (inPolygon(at, { type: 'Polygon', coordinates: main })) return at;
  const p = polylabel(main, Math.max(b[2] - b[0], b[3] - b[1]) / 200);
  return [p[0], p[1]];
}

/** The point halfway along a line, by length in degrees (near enough for a label). */
function midpoint(line: LonLat[]): LonLat {
  const seg = line.slice(1).map((p, i) => Math.hypot(p[0] - line[i][0], p[1] - line[i][1]));
  let rest = seg.reduce((a, b) => a + b, 0) / 2;
  for (let i = 0; i < seg.length; i++) {
    if (rest <= seg[i] && seg[i] > 0) {
      const f = rest / seg[i];
      return [line[i][0] + f * (line[i + 1][0] - line[i][0]), line[i][1] + f * (line[i + 1][1] - line[i][1])];
    }
    rest -= seg[i];
  }
  return line[line.length - 1];
}

/** The map's key: what each colour means, in the user's language. */
function legend(theme: Theme): HTMLElement {
  const p = palette[theme];
  const swatch = (kind: string) => {
    if (kind === 'border') return h('i', { class: 'line', style: `background:${BORDER_COLOR}` });
    if (kind === 'corridor') return h('i', { class: 'line thick', style: `background:${zoneColors.corridor}` });
    if (kind === 'port') return h('i', { class: 'dot', style: `background:${zoneColors.port}` });
    return h('i', { class: 'area', style: `border-color:${zoneColors[kind]};background:${zoneColors[kind]}55` });
  };
  return h('div', { class: `map-legend ${theme}`, id: 'map-legend' },
    ...legendKinds.map((k) => h('span', { 'data-kind': k }, swatch(k), t(`legend_${k}`))),
    h('span', { 'data-kind': 'town' }, h('i', { class: 'dot small', style: `background:${p.town}` }), t('legend_town')),
    h('span', { 'data-kind': 'cn' }, h('i', { class: 'area', style: `background:${p.cn}` }), t('legend_cn')),
    h('span', { 'data-kind': 'mn' }, h('i', { class: 'area', style: `background:${p.mn}` }), t('legend_mn')));
}

/**
 * Fits the map to the district (its zones other than the border line) in the part of the map
 * the given panels leave free.
 */
export function fitDistrict(map: maplibregl.Map, z: ZoneCollection, panels: HTMLElement[]): void {
  let [w, s, e, n] = [180, 90, -180, -90];
  const walk = (c: unknown): void => {
    if (!Array.isArray(c)) return;
    if (typeof c[0] === 'number') {
      [w, s, e, n] = [Math.min(w, c[0]), Math.min(s, c[1] as number), Math.max(e, c[0]), Math.max(n, c[1] as number)];
    } else c.forEach(walk);
  };
  for (const f of z.features) if (f.properties?.kind !== 'border' && f.geometry && 'coordinates' in f.geometry) walk(f.geometry.coordinates);
  if (w > e) return;
  const box = map.getContainer().getBoundingClientRect();
  const pad = { top: 40, bottom: 60, left: 40, right: 40 };
  for (const el of panels) {
    const r = el.getBoundingClientRect();
    if (!r.width) continue;
    if (r.left + r.width / 2 < box.left + box.width / 2) pad.left = Math.max(pad.left, r.right - box.left + 30);
    else pad.right = Math.max(pad.right, box.right - r.left + 30);
  }
  // A view narrower than the panels: fit the whole map rather than nothing.
  if (pad.left + pad.right > box.width - 100) [pad.left, pad.right] = [40, 40];
  map.fitBounds([[w, s], [e, n]], { padding: pad, duration: 0 });
}

const OFFLINE_MS = 10 * 60_000;

/** A fix as the API sends it, with the device's attributes (e-seal state among them). */
export type AttrFix = Fix & { attributes?: Record<string, unknown> };

export const sealColors = { open: '#ff9500', locked: '#3fa9f5' };

const SEAL_OPEN = new Set(['unlocked', 'rope_cut', 'shell_opened']);

/**
 * The e-seal's state a fix tells: its state, or the opening it reports (a JT701 lock event
 * carries the event alone; the state follows in the next report); '' without a seal.
 */
export function sealState(attrs: Record<string, unknown> | undefined): string {
  const s = attrs?.seal_state;
  if (typeof s === 'string' && s) return s;
  const e = attrs?.seal_event;
  return typeof e === 'string' && SEAL_OPEN.has(e) ? e : '';
}

/** 'open', 'locked', or '' for a vehicle whose latest fix carries no seal. */
function sealOf(f: AttrFix): string {
  const s = sealState(f.attributes);
  return s ? (SEAL_OPEN.has(s) ? 'open' : 'locked') : '';
}
const STOPPED_KMH = 3;

/** Main-thread cost of the vehicle layer, for the browser tests and the console. */
export interface LayerPerf {
  flushes: number;
  full: number; // flushes that replaced the whole source
  flushMs: number; // JS time spent building and handing over updates
  listenersMs: number; // JS time of the views' onFlush work (counters)
  features: number; // features handed to the map in total
}

/**
 * Latest fix of every vehicle in ONE GeoJSON source (feature id = vehicle id). Updates only
 * collect the changed vehicles; at most one hand-over to the map runs per animation frame and
 * per minIntervalMs, and it carries only what changed (updateData), so 5,000 vehicles every
 * 5 s cost a few small diffs a second. The whole source is replaced only when every state may
 * change at once (alerts, offline timeouts, a new area).
 */
export class VehicleLayer {
  readonly fixes = new Map<string, Fix>();
  readonly alerted = new Set<string>();
  readonly perf: LayerPerf = { flushes: 0, full: 0, flushMs: 0, listenersMs: 0, features: 0 };
  // Device and reception times parsed once per fix, not at every state check.
  private times = new Map<string, { t: number; seen: number }>();
  private changed = new Set<string>();
  private shown = new Set<string>();
  private all = true;
  private raf = 0;
  private last = 0;
  private timers: number[];
  private listeners: Array<() => void> = [];

  constructor(private map: maplibregl.Map, private sourceId = 'vehicles', radius: [number, number] = [3, 9], private minIntervalMs = 250) {
    map.addSource(sourceId, { type: 'geojson', data: empty(), promoteId: 'id' });
    map.addLayer({
      id: sourceId,
      type: 'circle',
      source: sourceId,
      paint: {
        'circle-color': ['match', ['get', 'state'], ...Object.entries(stateColors).flat(), '#fff'] as any,
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 4, radius[0], 12, radius[1]],
        // A seal that no longer holds rings the vehicle in orange, a locked one in blue.
        'circle-stroke-color': ['match', ['get', 'seal'], 'open', sealColors.open, 'locked', sealColors.locked, '#000'] as any,
        'circle-stroke-width': ['match', ['get', 'seal'], 'open', 3, 'locked', 2, 0.5] as any,
      },
      // Alerted vehicles drawn on top of the crowd.
      layout: { 'circle-sort-key': ['match', ['get', 'state'], 'alerted', 3, 'moving', 2, 'stopped', 1, 0] as any },
    });
    // Offline is a matter of time passing, not of messages arriving.
    this.timers = [window.setInterval(() => this.invalidate(), 30_000)];
    this.schedule();
  }

  /** Keeps the newer fix of a vehicle (device time orders fixes; backfills arrive late). */
  update(f: Fix): boolean {
    const t = Date.parse(f.time);
    const old = this.times.get(f.vehicle_id);
    if (old && old.t > t) return false;
    this.fixes.set(f.vehicle_id, f);
    this.times.set(f.vehicle_id, { t, seen: f.received_at ? Date.parse(f.received_at) : t });
    this.changed.add(f.vehicle_id);
    this.schedule();
    return true;
  }

  /** Forgets the vehicles keep refuses (those outside a new subscription). */
  retain(keep: (f: Fix) => boolean): void {
    for (const [id, f] of this.fixes) {
      if (keep(f)) continue;
      this.fixes.delete(id);
      this.times.delete(id);
    }
    this.invalidate();
  }

  setAlerted(ids: Iterable<string>): void {
    const next = new Set(ids);
    if (next.size === this.alerted.size && [...next].every((id) => this.alerted.has(id))) return;
    this.alerted.clear();
    for (const id of next) this.alerted.add(id);
    this.invalidate();
  }

  state(f: Fix, now = Date.now()): keyof typeof stateColors {
    if (this.alerted.has(f.vehicle_id)) return 'alerted';
    const seen = this.times.get(f.vehicle_id)?.seen ?? Date.parse(f.received_at || f.time);
    if (now - seen > OFFLINE_MS) return 'offline';
    return f.speed_kmh < STOPPED_KMH ? 'stopped' : 'moving';
  }

  onFlush(f: () => void): void {
    this.listeners.push(f);
  }

  private invalidate(): void {
    this.all = true;
    this.schedule();
  }

  private schedule(): void {
    if (this.raf) return;
    this.raf = requestAnimationFrame((ts) => {
      this.raf = 0;
      if (ts - this.last < this.minIntervalMs) {
        this.schedule();
        return;
      }
      this.last = ts;
      this.flush();
    });
  }

  private flush(): void {
    if (!this.all && !this.changed.size) return;
    const t0 = performance.now();
    const src = this.map.getSource(this.sourceId) as GeoJSONSource | undefined;
    if (!src) return;
    const now = Date.now();
    const feature = (f: Fix): GeoJSON.Feature => ({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [f.lon, f.lat] },
      properties: { id: f.vehicle_id, state: this.state(f, now), speed: f.speed_kmh, seal: sealOf(f) },
    });
    let n = 0;
    if (this.all) {
      const features: GeoJSON.Feature[] = [];
      for (const f of this.fixes.values()) features.push(feature(f));
      src.setData({ type: 'FeatureCollection', features });
      this.shown = new Set(this.fixes.keys());
      this.perf.full++;
      n = features.length;
    } else {
      const add: GeoJSON.Feature[] = [];
      const update: GeoJSONFeatureDiff[] = [];
      for (const id of this.changed) {
        const f = this.fixes.get(id);
        if (!f) continue;
        if (!this.shown.has(id)) {
          add.push(feature(f));
          this.shown.add(id);
        } else {
          update.push({
            id,
            newGeometry: { type: 'Point', coordinates: [f.lon, f.lat] },
            addOrUpdateProperties: [{ key: 'state', value: this.state(f, now) }, { key: 'speed', value: f.speed_kmh }, { key: 'seal', value: sealOf(f) }],
          });
        }
      }
      src.updateData({ add, update });
      n = add.length + update.length;
    }
    this.all = false;
    this.changed.clear();
    const t1 = performance.now();
    for (const l of this.listeners) l();
    this.perf.flushes++;
    this.perf.features += n;
    this.perf.flushMs += t1 - t0;
    this.perf.listenersMs += performance.now() - t1;
  }

  destroy(): void {
    this.timers.forEach(clearInterval);
    cancelAnimationFrame(this.raf);
  }
}

/** Where an alert is: its place, or its vehicle's newest fix when the rule knew none (0, 0). */
export function alertPoint(a: Alert, fixes: Map<string, Fix>): [number, number] | null {
  if (a.lon != null && a.lat != null && (a.lon !== 0 || a.lat !== 0)) return [a.lon, a.lat];
  const f = fixes.get(a.vehicle_id);
  return f ? [f.lon, f.lat] : null;
}

/**
 * A click on a vehicle opens a popup with what an officer asks first: plate, kind, speed, the
 * fix's time in China time, the driver and the e-seal. The vehicle's record is fetched per click.
 */
export function vehiclePopups(map: maplibregl.Map, layer: VehicleLayer, layerId = 'vehicles'): void {
  const popup = new maplibregl.Popup({ closeButton: true, className: 'veh-popup', maxWidth: '320px' });
  map.on('mouseenter', layerId, () => (map.getCanvas().style.cursor = 'pointer'));
  map.on('mouseleave', layerId, () => (map.getCanvas().style.cursor = ''));
  map.on('click', layerId, (e) => {
    const id = e.features?.[0]?.properties?.id as string | undefined;
    const f = id ? (layer.fixes.get(id) as AttrFix | undefined) : undefined;
    if (!id || !f) return;
    const plate = h('b', { class: 'plate' }, shownPlate(id));
    const kind = h('dd', {}, vehicleKind(id) || '—');
    const driver = h('dd', { class: 'driver' }, '—');
    const state = sealState(f.attributes);
    const seal = state ? fmtSeal(state, f.attributes?.battery_low === true) : '';
    const body = h('div', { class: 'veh-detail', 'data-vehicle': id },
      plate,
      h('dl', {},
        h('dt', {}, t('kind')), kind,
        h('dt', {}, t('speed')), h('dd', {}, `${Math.round(f.speed_kmh)} ${t('kmh')}`),
        h('dt', {}, t('time')), h('dd', {}, time(f.time)),
        h('dt', {}, t('driver')), driver,
        seal ? h('dt', {}, t('seal')) : null,
        seal ? h('dd', { class: `seal seal-${sealOf(f)}` }, seal) : null));
    popup.setLngLat([f.lon, f.lat]).setDOMContent(body).addTo(map);
    getVehicle(id).then((v) => {
      if (v.plate) plate.textContent = v.plate;
      if (v.kind) kind.textContent = kindName(v.kind);
      if (v.driver) driver.textContent = fmtDriverCard(v.driver);
    }).catch(() => {});
  });
}
