// Patrols as command dispatches them (GET /api/v1/patrols): where each patrol's tablet last
// reported (OsmAnd, through the device linked to the user), what they are doing, and how far
// they are from an alert or an order. The wall draws them as their own markers; an alert's
// detail and the orders' table list them nearest first, with a button to send one.
import type { GeoJSONSource, Map as MapLibre } from 'maplibre-gl';
import { api, getZones, type Fix } from './api';
import { h } from './dom';
import { ago, distance, ports, setZones, zoneName } from './format';
import { t } from './i18n';
import { assign } from './targeting';

export interface Patrol {
  username: string;
  unit: string;
  device_id?: string;
  vehicle_id?: string;
  plate?: string;
  name?: string;
  status: 'free' | 'assigned' | 'en_route' | 'arrived' | string;
  assignment_id?: string;
  order_id?: string;
  lat?: number;
  lon?: number;
  time?: string;
  age_s?: number;
  stale: boolean;
  distance_m?: number;
}

/** What the patrols are measured from: an alert, an order's vehicle, or none. */
export type Near = { alert_id: number } | { order_id: string } | Record<string, never>;

export async function listPatrols(near: Near = {}): Promise<Patrol[]> {
  const q = new URLSearchParams(Object.entries(near).map(([k, v]) => [k, String(v)]));
  // A patrol's unit is shown by its port's name: the zones are read once where no view has.
  if (!ports().length) setZones(await getZones());
  return (await api<{ patrols: Patrol[] }>(`/patrols?${q}`)).patrols ?? [];
}

/** The colours of a patrol's state on the map and in lists; a stale position is grey. */
export const patrolColors: Record<string, string> = { free: '#30d158', assigned: '#ffd60a', en_route: '#0a84ff', arrived: '#bf5af2', stale: '#8e8e93' };

/** 二连浩特巡逻一组, else the patrol car's plate, else the officer's account. */
export const patrolName = (p: Patrol) => p.name || p.plate || p.username;

/** "3 km · 2分钟前", "无定位", with the stale flag said in words. */
export function patrolWhere(p: Patrol): string {
  if (p.lat === undefined) return t(p.device_id ? 'patrol_no_position' : 'patrol_no_device');
  const age = ago(Date.now() - (p.age_s ?? 0) * 1000);
  return [p.distance_m !== undefined ? distance(p.distance_m) : '', age].filter(Boolean).join(' · ');
}

/**
 * The nearest patrols to an alert or an order, each with its distance, the age of its position
 * (stale ones flagged) and a button that sends it. onSent runs after a dispatch.
 */
export function nearestPatrols(near: Near, onSent: (p: Patrol) => void = () => {}): HTMLElement {
  const list = h('ol', { class: 'patrol-list' });
  const msg = h('p', { class: 'msg', role: 'status' });
  const box = h('section', { class: 'nearest-patrols', id: 'nearest-patrols' }, h('h3', {}, t('patrol_nearest')), list, msg);
  const load = async () => {
    const ps = await listPatrols(near);
    list.replaceChildren(...(ps.length ? ps.map(row) : [h('li', { class: 'empty' }, t('patrol_none'))]));
  };
  const row = (p: Patrol) => {
    const busy = p.status !== 'free';
    return h('li', { class: `patrol st-${p.status}${p.stale ? ' stale' : ''}`, 'data-patrol': p.username },
      h('i', { class: 'dot', style: `background:${patrolColors[p.stale ? 'stale' : p.status] ?? '#fff'}` }),
      h('div', { class: 'who' },
        h('strong', {}, patrolName(p)),
        h('small', {}, [p.plate && p.plate !== patrolName(p) ? p.plate : '', p.username, p.unit === 'district' ? t('level_district') : zoneName(p.unit)].filter(Boolean).join(' · '))),
      h('div', { class: 'where' },
        h('span', { class: 'dist' }, patrolWhere(p)),
        p.stale ? h('span', { class: 'stale-flag', title: t('patrol_stale') }, `⚠ ${t('patrol_stale')}`) : null),
      h('span', { class: 'pstatus' }, t(`patrol_${p.status}`)),
      h('button', { class: `send${busy ? '' : ' primary'}`, onclick: async () => {
        msg.textContent = '…';
        try {
          await assign({ ...near, user: p.username });
          msg.textContent = `${t('dispatched')}: ${patrolName(p)}`;
          onSent(p);
          await load();
        } catch (x) {
          msg.textContent = `${t('failed')}: ${(x as Error).message}`;
        }
      } }, t('dispatch')));
  };
  load().catch((x) => (msg.textContent = `${t('failed')}: ${(x as Error).message}`));
  return box;
}

/**
 * The patrols on a map: a ringed square in the colour of their state (grey when the position is
 * stale), labelled with the patrol car's plate and the state. refresh re-reads them; only
 * those show (a port on the wall shows its own patrols).
 */
export class PatrolLayer {
  patrols: Patrol[] = [];
  constructor(private map: MapLibre, private only: (p: Patrol) => boolean = () => true) {
    map.addSource('patrols', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    // A square, where vehicles are dots: drawn as a distance field so each takes its state's colour.
    if (!map.hasImage('patrol-square')) map.addImage('patrol-square', squareSDF(32, 9), { sdf: true });
    map.addLayer({ id: 'patrols', type: 'symbol', source: 'patrols',
      layout: { 'icon-image': 'patrol-square', 'icon-size': 1, 'icon-allow-overlap': true, 'icon-ignore-placement': true,
        'text-field': ['get', 'label'] as any, 'text-font': ['NotoSansSC-Regular'], 'text-size': 15, 'text-offset': [0, 1.2], 'text-anchor': 'top',
        'text-max-width': 30, 'text-allow-overlap': true, 'text-optional': true },
      paint: { 'icon-color': ['get', 'color'] as any, 'icon-halo-color': '#ffffff', 'icon-halo-width': 2.5,
        'text-color': '#ffffff', 'text-halo-color': '#000000', 'text-halo-width': 2 } });
  }

  async refresh(): Promise<void> {
    this.patrols = (await listPatrols()).filter(this.only);
    this.draw();
  }

  /**
   * Moves a patrol to a fix of its car from the live socket, between refreshes; false when the
   * fix is no patrol's. A live fix is fresh (a late one is history and moves nothing).
   */
  move(f: Fix): boolean {
    const p = this.patrols.find((x) => x.vehicle_id === f.vehicle_id);
    if (!p || f.late || f.valid === false) return false;
    Object.assign(p, { lat: f.lat, lon: f.lon, time: f.time, age_s: 0, stale: false });
    this.draw();
    return true;
  }

  private draw(): void {
    const features: GeoJSON.Feature[] = this.patrols.filter((p) => p.lat !== undefined).map((p) => ({
      type: 'Feature',
      properties: { id: p.username, color: patrolColors[p.stale ? 'stale' : p.status] ?? '#fff',
        label: `${p.plate || patrolName(p)} ${t(`patrol_${p.status}`)}${p.stale ? ` · ${ago(Date.now() - (p.age_s ?? 0) * 1000)}` : ''}` },
      geometry: { type: 'Point', coordinates: [p.lon!, p.lat!] },
    }));
    (this.map.getSource('patrols') as GeoJSONSource | undefined)?.setData({ type: 'FeatureCollection', features });
  }
}

/** A square of half side r (pixels) in a size×size signed distance field: alpha 192 at its edge. */
function squareSDF(size: number, r: number): ImageData {
  const data = new Uint8ClampedArray(size * size * 4);
  const c = (size - 1) / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = r - Math.max(Math.abs(x - c), Math.abs(y - c)); // > 0 inside
      data[(y * size + x) * 4 + 3] = Math.max(0, Math.min(255, 192 + d * 16));
    }
  }
  return new ImageData(data, size, size);
}
