// The basemap from shipped data (Natural Earth countries, the deployment's zones),
// plus an optional raster or PMTiles basemap named by /api/v1/config. No glyphs:
// labels are HTML markers, so nothing is fetched from outside.
import * as maplibregl from 'maplibre-gl';
import type { GeoJSONFeatureDiff, GeoJSONSource, StyleSpecification } from 'maplibre-gl';
import { Protocol } from 'pmtiles';
import { getBasemap, getVehicle, getZones, type Alert, type Fix, type ZoneCollection } from './api';
import { h } from './dom';
import { fmtDriverCard, fmtSeal, fmtTime, t } from './i18n';

maplibregl.setWorkerUrl(new URL('maplibre-gl-worker.mjs', document.baseURI).href);
maplibregl.addProtocol('pmtiles', new Protocol().tile);

export type Theme = 'dark' | 'light';

const palette = {
  dark: { bg: '#0b1520', land: '#16222e', landLine: '#3b4f63', text: '#e6edf3' },
  light: { bg: '#cfe0ee', land: '#f3f1ea', landLine: '#9aa5b1', text: '#1b2733' },
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
};

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
  const style: StyleSpecification = {
    version: 8,
    sources: {
      countries: { type: 'geojson', data: data('countries.json'), attribution: 'Natural Earth' },
      borders: { type: 'geojson', data: data('borders.json') },
      zones: { type: 'geojson', data: empty() },
    },
    layers: [
      { id: 'bg', type: 'background', paint: { 'background-color': p.bg } },
      { id: 'countries', type: 'fill', source: 'countries', paint: { 'fill-color': p.land, 'fill-opacity': basemap ? 0.25 : 1 } },
      { id: 'country-borders', type: 'line', source: 'borders', paint: { 'line-color': p.landLine, 'line-width': 1 } },
      {
        id: 'zone-fill',
        type: 'fill',
        source: 'zones',
        filter: ['==', ['geometry-type'], 'Polygon'],
        paint: {
          'fill-color': ['match', ['get', 'kind'], ...Object.entries(zoneColors).flat(), '#888'] as any,
          'fill-opacity': 0.18,
        },
      },
      {
        id: 'zone-outline',
        type: 'line',
        source: 'zones',
        filter: ['==', ['geometry-type'], 'Polygon'],
        paint: { 'line-color': ['match', ['get', 'kind'], ...Object.entries(zoneColors).flat(), '#888'] as any, 'line-width': 1.5 },
      },
      {
        // A corridor is drawn as wide as it is on the ground: width_m either side of its line.
        id: 'corridor',
        type: 'line',
        source: 'zones',
        filter: ['all', ['==', ['geometry-type'], 'LineString'], ['==', ['get', 'kind'], 'corridor']],
        layout: { 'line-cap': 'round', 'line-join': 'round' },
        paint: {
          'line-color': zoneColors.corridor,
          'line-opacity': 0.25,
          'line-width': [
            'interpolate', ['exponential', 2], ['zoom'],
            0, ['max', 1, ['/', ['*', 2, ['coalesce', ['get', 'width_m'], 500]], M_PER_PX_Z0]],
            22, ['/', ['*', 2, ['coalesce', ['get', 'width_m'], 500]], M_PER_PX_Z0 / 2 ** 22],
          ],
        },
      },
      {
        id: 'corridor-center',
        type: 'line',
        source: 'zones',
        filter: ['all', ['==', ['geometry-type'], 'LineString'], ['==', ['get', 'kind'], 'corridor']],
        paint: { 'line-color': zoneColors.corridor, 'line-width': 1, 'line-dasharray': [2, 2] },
      },
      {
        id: 'border',
        type: 'line',
        source: 'zones',
        filter: ['==', ['get', 'kind'], 'border'],
        paint: { 'line-color': '#ff5a5f', 'line-width': 3 },
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
    ...opts,
  });
  // The current map, for the browser tests and the console.
  (window as unknown as { bwMap: maplibregl.Map }).bwMap = map;
  const loaded = new Promise<void>((r) => map.once('load', () => r()));
  const zones = Promise.all([getZones(), loaded]).then(([z]) => {
    (map.getSource('zones') as GeoJSONSource).setData(z);
    addPortLabels(map, z);
    return z;
  });
  await loaded;
  return { map, zones };
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

function addPortLabels(map: maplibregl.Map, z: ZoneCollection): void {
  for (const f of z.features) {
    if (f.properties?.kind !== 'port' || !f.geometry) continue;
    const el = document.createElement('div');
    el.className = 'port-label';
    el.textContent = f.properties.name ?? f.properties.id;
    const [lon, lat] = labelPoint(f.geometry);
    new maplibregl.Marker({ element: el, anchor: 'bottom' }).setLngLat([lon, lat]).addTo(map);
  }
}

function labelPoint(g: GeoJSON.Geometry): [number, number] {
  if (g.type === 'Point') return g.coordinates as [number, number];
  const ring = g.type === 'Polygon' ? g.coordinates[0] : g.type === 'MultiPolygon' ? g.coordinates[0][0] : [];
  let lon = 0;
  let lat = -90;
  for (const [x, y] of ring) if (y > lat) [lon, lat] = [x, y];
  return [lon, lat];
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
    const plate = h('b', { class: 'plate' }, id);
    const kind = h('dd', {}, '—');
    const driver = h('dd', { class: 'driver' }, '—');
    const state = sealState(f.attributes);
    const seal = state ? fmtSeal(state, f.attributes?.battery_low === true) : '';
    const body = h('div', { class: 'veh-detail', 'data-vehicle': id },
      plate,
      h('dl', {},
        h('dt', {}, t('kind')), kind,
        h('dt', {}, t('speed')), h('dd', {}, `${Math.round(f.speed_kmh)} ${t('kmh')}`),
        h('dt', {}, t('time')), h('dd', {}, `${fmtTime(f.time)} ${t('cst')}`),
        h('dt', {}, t('driver')), driver,
        seal ? h('dt', {}, t('seal')) : null,
        seal ? h('dd', { class: `seal seal-${sealOf(f)}` }, seal) : null));
    popup.setLngLat([f.lon, f.lat]).setDOMContent(body).addTo(map);
    getVehicle(id).then((v) => {
      if (v.plate) plate.textContent = v.plate;
      if (v.kind) kind.textContent = t(`kind_${v.kind}`);
      if (v.driver) driver.textContent = fmtDriverCard(v.driver);
    }).catch(() => {});
  });
}
