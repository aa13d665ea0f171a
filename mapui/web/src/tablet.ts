// Tablet view for patrols: touch first, open alerts nearest first, one tap to the
// vehicle, its last two hours and the evidence; acknowledge and resolve on the spot.
import * as maplibregl from 'maplibre-gl';
import type { GeoJSONSource } from 'maplibre-gl';
import { AlertStore } from './alerts';
import { alertAction, can, getPositions, getTrack, getVehicle, type Fix, type Me } from './api';
import { h } from './dom';
import { evidencePoints, evidenceView, hasSentences } from './evidence';
import { haversine, type LonLat } from './geo';
import { fmtDistance, fmtDriver, fmtTime, t } from './i18n';
import { inBox, Live, padBox, type Subscription } from './live';
import { alertPoint, createMap, empty, VehicleLayer, vehiclePopups } from './map';
import { mountAssignments } from './assignments';

const TRACK_MS = 2 * 3600_000;

export function mountTablet(root: HTMLElement, me: Me): () => void {
  const mapEl = h('div', { class: 'map', id: 'map' });
  const side = h('section', { class: 'side', id: 'side' });
  const conn = h('div', { class: 'conn down', id: 'conn' }, t('reconnecting'));
  root.append(side, h('div', { class: 'mapwrap' }, mapEl, conn));
  const stopAssignments = mountAssignments(root, me, () => mapRef);

  const alerts = new AlertStore();
  let here: LonLat | null = null;
  let selected: string | null = null;
  let following: string | null = null;
  let live: Live | null = null;
  let layer: VehicleLayer | null = null;
  let mapRef: maplibregl.Map | null = null;
  let watch: number | null = null;
  let closed = false;
  let listTimer: number | undefined;

  if ('geolocation' in navigator) {
    watch = navigator.geolocation.watchPosition(
      (p) => {
        here = [p.coords.longitude, p.coords.latitude];
        if (!selected) renderList();
      },
      () => {},
      { enableHighAccuracy: true, maximumAge: 30_000 },
    );
  }

  const origin = (): LonLat => {
    if (here) return here;
    const c = mapRef?.getCenter();
    return c ? [c.lng, c.lat] : [108.5, 43];
  };

  function renderList(): void {
    if (selected) return;
    const o = origin();
    const rows = alerts.open()
      .map((a) => ({ a, pt: alertPoint(a, layer?.fixes ?? new Map()) }))
      .map((x) => ({ ...x, d: x.pt ? haversine(o, x.pt) : Infinity }))
      .sort((x, y) => x.d - y.d);
    side.replaceChildren(
      h('h2', {}, `${t('open_alerts')} (${rows.length})`),
      rows.length
        ? h('ul', { class: 'alert-list', id: 'alerts' }, ...rows.map(({ a, d }) =>
            h('li', {},
              h('button', { class: `alert-item sev-${a.severity}`, 'data-alert': String(a.id), onclick: () => select(String(a.id)) },
                h('span', { class: 'type' }, t(a.type)),
                h('span', { class: 'dist' }, Number.isFinite(d) ? fmtDistance(d) : '—'),
                h('span', { class: 'veh' }, a.vehicle_id),
                h('span', { class: 'time' }, fmtTime(a.time).slice(5, 16))))))
        : h('p', { class: 'empty' }, t('no_alerts')),
    );
  }

  async function select(id: string): Promise<void> {
    const a = alerts.byId.get(id);
    if (!a || !mapRef) return;
    selected = id;
    const map = mapRef;
    const note = h('textarea', { id: 'note', rows: 3, placeholder: t('note') });
    const msg = h('p', { class: 'msg', id: 'msg', role: 'status' });
    const act = async (kind: 'ack' | 'resolve') => {
      msg.textContent = '…';
      try {
        const r = await alertAction(a.id, kind, note.value);
        alerts.upsert(r && typeof r === 'object' && 'id' in r ? r : { ...a, status: kind === 'ack' ? 'acknowledged' : 'resolved' });
        msg.textContent = t('done');
        layer?.setAlerted(alerts.alertedVehicles());
        renderDetail();
      } catch (e) {
        msg.textContent = `${t('failed')}: ${(e as Error).message}`;
      }
    };
    const followBtn = h('button', { class: 'big', id: 'follow', onclick: () => {
      following = following === a.vehicle_id ? null : a.vehicle_id;
      resubscribe();
      followBtn.textContent = t(following ? 'unfollow' : 'follow');
      const f = layer?.fixes.get(a.vehicle_id);
      if (following && f) map.easeTo({ center: [f.lon, f.lat] });
    } }, t(following === a.vehicle_id ? 'unfollow' : 'follow'));

    // The driver comes with the vehicle's record, fetched once per selection.
    const driver = h('dd', { id: 'driver' }, '');
    getVehicle(a.vehicle_id).then((v) => { driver.textContent = v.driver ? fmtDriver(v.driver) : ''; }).catch(() => {});

    const renderDetail = () => {
      const cur = alerts.byId.get(id) ?? a;
      side.replaceChildren(
        h('button', { class: 'big back', id: 'back', onclick: () => { selected = null; clearTrack(); renderList(); } }, `← ${t('back')}`),
        h('h2', { class: `sev-${cur.severity}` }, t(cur.type)),
        h('dl', { class: 'facts' },
          h('dt', {}, t('vehicle')), h('dd', { id: 'vehicle' }, cur.vehicle_id), h('dt', {}, ''), driver,
          h('dt', {}, t('severity')), h('dd', { class: `sev-${cur.severity}` }, t(`sev_${cur.severity}`)),
          h('dt', {}, t('status')), h('dd', { id: 'status' }, t(`status_${cur.status}`)),
          h('dt', {}, t('time')), h('dd', {}, `${fmtTime(cur.time)} ${t('cst')}${cur.late ? ` (${t('late')})` : ''}`),
          cur.message && !hasSentences(cur) ? h('dt', {}, '') : null, cur.message && !hasSentences(cur) ? h('dd', {}, cur.message) : null),
        h('h3', {}, t('evidence')),
        evidenceView(cur),
        can(me.role, 'ack') && cur.status !== 'resolved'
          ? h('div', { class: 'actions' }, note,
              cur.status === 'open' ? h('button', { class: 'big primary', id: 'ack', onclick: () => act('ack') }, t('ack')) : null,
              h('button', { class: 'big', id: 'resolve', onclick: () => act('resolve') }, t('resolve')))
          : '',
        followBtn,
        msg,
      );
    };
    renderDetail();

    const pt = alertPoint(a, layer?.fixes ?? new Map());
    const evPts = evidencePoints(a.evidence);
    (map.getSource('evidence') as GeoJSONSource).setData({ type: 'FeatureCollection', features: evPts.map((c) => ({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: c } })) });
    if (pt) map.easeTo({ center: pt, zoom: Math.max(map.getZoom(), 11) });
    try {
      const now = new Date();
      const fixes = await getTrack(a.vehicle_id, new Date(now.getTime() - TRACK_MS), now);
      if (selected !== id) return;
      const coords = fixes.map((f) => [f.lon, f.lat]);
      (map.getSource('track') as GeoJSONSource).setData(coords.length > 1
        ? { type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: coords } }
        : empty());
      const all = [...coords, ...evPts, ...(pt ? [pt] : [])] as [number, number][];
      if (all.length > 1 && !following) {
        const b = all.reduce((bb, c) => bb.extend(c), new maplibregl.LngLatBounds(all[0], all[0]));
        map.fitBounds(b, { padding: 60, maxZoom: 14, duration: 600 });
      }
      side.dataset.trackPoints = String(fixes.length);
    } catch (e) {
      console.warn('track', e);
    }
  }

  function clearTrack(): void {
    (mapRef?.getSource('track') as GeoJSONSource | undefined)?.setData(empty());
    (mapRef?.getSource('evidence') as GeoJSONSource | undefined)?.setData(empty());
  }

  // The tablet hears every alert, but positions only of the area on its screen (with a margin
  // for panning) or, while following, of the followed vehicle wherever it goes.
  const wanted = (): Subscription => {
    if (following) return { vehicles: [following], all_alerts: true };
    const b = mapRef!.getBounds();
    return { bbox: padBox([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], 0.5), all_alerts: true };
  };
  const wants = (f: Fix): boolean => {
    const s = live?.stats.acked;
    if (s?.vehicles) return s.vehicles.includes(f.vehicle_id);
    return inBox(s?.bbox, f.lon, f.lat);
  };
  let subTimer: number | undefined;
  const resubscribe = () => {
    clearTimeout(subTimer);
    subTimer = window.setTimeout(() => live?.subscribe(wanted()), 700);
  };

  renderList();
  createMap(mapEl, 'dark').then(({ map }) => {
    if (closed) return map.remove();
    mapRef = map;
    map.addSource('track', { type: 'geojson', data: empty() });
    map.addLayer({ id: 'track', type: 'line', source: 'track', paint: { 'line-color': '#00e5ff', 'line-width': 4 } });
    map.addSource('evidence', { type: 'geojson', data: empty() });
    map.addLayer({ id: 'evidence', type: 'circle', source: 'evidence', paint: { 'circle-color': '#ff3b30', 'circle-radius': 7, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
    layer = new VehicleLayer(map, 'vehicles', [3, 8], 500);
    const vl = layer;
    vehiclePopups(map, vl);
    map.on('moveend', () => {
      if (!here) renderList();
      if (!following) resubscribe();
    });

    let listDirty = false;
    listTimer = window.setInterval(() => {
      if (listDirty) renderList();
      listDirty = false;
    }, 1000);

    const catchUp = async () => {
      const [positions] = await Promise.all([getPositions(), alerts.refetchOpen()]);
      vl.retain(wants);
      for (const f of positions) if (wants(f)) vl.update(f);
      vl.setAlerted(alerts.alertedVehicles());
      if (selected && !alerts.byId.has(selected)) selected = null;
      renderList();
    };
    live = new Live({
      position: (f: Fix) => {
        if (vl.update(f) && following === f.vehicle_id) map.easeTo({ center: [f.lon, f.lat], duration: 500 });
      },
      alert: (a) => {
        alerts.upsert(a);
        vl.setAlerted(alerts.alertedVehicles());
        listDirty = true;
      },
      connected: () => void catchUp().catch((e) => console.warn('catch-up failed', e)),
      status: (up) => {
        conn.className = `conn ${up ? 'up' : 'down'}`;
        conn.textContent = t(up ? 'connected' : 'reconnecting');
      },
    }, wanted());
  });

  return () => {
    closed = true;
    stopAssignments();
    live?.close();
    layer?.destroy();
    clearInterval(listTimer);
    clearTimeout(subTimer);
    if (watch !== null) navigator.geolocation.clearWatch(watch);
    mapRef?.remove();
  };
}
