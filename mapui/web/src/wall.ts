// Wall view: the whole district live on a dark map, readable from 5 m.
import type * as maplibregl from 'maplibre-gl';
import { AlertStore, severityRank } from './alerts';
import { getPositions, getVehicle, getVehicles, type Alert, type Me } from './api';
import { PortCounter } from './counters';
import { mountDailyPanel } from './daily';
import { h } from './dom';
import { evidenceView, hasSentences } from './evidence';
import { fmtClock, fmtTime, t } from './i18n';
import { inBox, Live, padBox, type Subscription } from './live';
import { bboxOf, type BBox } from './geo';
import { alertPoint, createMap, stateColors, VehicleLayer, vehiclePopups } from './map';

const FLY_MS = 15_000;
const TICKER_MAX = 30;

export function mountWall(root: HTMLElement, _me: Me): () => void {
  const mapEl = h('div', { class: 'map', id: 'map' });
  const stateBox = h('div', { class: 'states', id: 'states' });
  const portBody = h('tbody');
  const ports = h('table', { class: 'ports', id: 'ports' },
    h('thead', {}, h('tr', {}, h('th', {}, t('port')), h('th', {}, t('in_port')), h('th', {}, t('on_corridor')), h('th', {}, t('open_alerts')))),
    portBody);
  const ticker = h('ol', { class: 'ticker', id: 'ticker' });
  const clock = h('div', { class: 'clock', id: 'clock' });
  const conn = h('div', { class: 'conn down', id: 'conn' }, t('reconnecting'));
  const detail = h('section', { class: 'panel alert-detail', id: 'alert-detail', hidden: true });
  const dailyPanel = h('div', { class: 'daily-panel', id: 'daily-panel' });
  const stopDaily = mountDailyPanel(dailyPanel);
  root.append(mapEl,
    h('section', { class: 'panel left' }, stateBox, ports, dailyPanel),
    h('section', { class: 'panel right' }, h('h2', {}, t('new_alerts')), ticker),
    detail,
    h('div', { class: 'status' }, clock, conn));

  let live: Live | null = null;
  let layer: VehicleLayer | null = null;
  let closed = false;
  let mapRef: maplibregl.Map | null = null;
  let stopFly = () => {};
  const timers: number[] = [];
  const alerts = new AlertStore();

  // The ticker names vehicles by plate: every plate once, then a vehicle registered since by
  // its record; the id only where there is no plate.
  const plates = new Map<string, Promise<string>>();
  const platesLoaded = getVehicles().then((vs) => vs.forEach((v) => plates.set(v.id, Promise.resolve(v.plate ?? '')))).catch(() => {});
  const nameVehicle = (el: HTMLElement, id: string) =>
    void platesLoaded.then(() => {
      if (!plates.has(id)) plates.set(id, getVehicle(id).then((v) => v.plate ?? '', () => ''));
      return plates.get(id)!;
    }).then((plate) => { if (plate) el.textContent = plate; });

  // A ticker line opens the alert: what happened, to which vehicle, when, and the evidence.
  const showAlert = (a: Alert) => {
    detail.hidden = false;
    detail.replaceChildren(
      h('button', { class: 'close', id: 'alert-close', onclick: () => (detail.hidden = true) }, '×'),
      h('h2', { class: `sev-${a.severity}` }, t(a.type)),
      h('dl', { class: 'facts' },
        h('dt', {}, t('vehicle')), h('dd', {}, a.vehicle_id),
        h('dt', {}, t('severity')), h('dd', { class: `sev-${a.severity}` }, t(`sev_${a.severity}`)),
        h('dt', {}, t('time')), h('dd', {}, `${fmtTime(a.time)} ${t('cst')}${a.late ? ` (${t('late')})` : ''}`),
        a.message && !hasSentences(a) ? h('dt', {}, '') : null, a.message && !hasSentences(a) ? h('dd', {}, a.message) : null),
      h('h3', {}, t('evidence')),
      evidenceView(a));
  };

  const tick = () => (clock.textContent = `${fmtClock(Date.now())} ${t('cst')}`);
  tick();
  timers.push(window.setInterval(tick, 1000));

  createMap(mapEl, 'dark', { attributionControl: false }).then(async ({ map, zones }) => {
    if (closed) return map.remove();
    mapRef = map;
    layer = new VehicleLayer(map, 'vehicles', [3.5, 10]);
    const vl = layer;
    vehiclePopups(map, vl);
    // The vehicle layer's own cost counters, for the browser tests and the console.
    (window as unknown as { bwVehicles: VehicleLayer }).bwVehicles = vl;
    const zc = await zones;
    const counter = new PortCounter(zc);
    // The wall watches the whole district (its zones, with a margin) and whatever else the
    // operator pans to; positions elsewhere are not sent. Every alert is.
    const district: BBox | null = zc.features.length ? bboxOf(zc.features.map((f) => (f.geometry as GeoJSON.Polygon | null)?.coordinates ?? []), 0.5) : null;
    const wanted = (): Subscription => {
      const b = map.getBounds();
      const view = padBox([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], 0.25);
      const box = district ? padBox([Math.min(district[0], view[0]), Math.min(district[1], view[1]), Math.max(district[2], view[2]), Math.max(district[3], view[3])], 0) : view;
      return { bbox: box, all_alerts: true };
    };

    // The counters are read from across the room: once a second is often enough, and counting
    // 5,000 vehicles at every map update would cost more than the update itself.
    let lastStates = 0;
    let countTimer: number | undefined;
    const renderCounts = () => {
      const now = Date.now();
      if (now - lastStates < 1000) {
        countTimer ??= window.setTimeout(() => {
          countTimer = undefined;
          renderCounts();
        }, 1000 - (now - lastStates));
        return;
      }
      lastStates = now;
      const byState: Record<string, number> = { moving: 0, stopped: 0, alerted: 0, offline: 0 };
      for (const f of vl.fixes.values()) byState[vl.state(f, now)]++;
      stateBox.replaceChildren(
        h('div', { class: 'state total' }, h('b', { 'data-count': 'total' }, String(vl.fixes.size)), t('vehicles')),
        ...Object.entries(byState).map(([s, n]) =>
          h('div', { class: 'state' }, h('i', { style: `background:${stateColors[s]}` }), h('b', { 'data-count': s }, String(n)), t(s))));
      const rows = counter.count(vl.fixes.values(), alerts.byId.values(), vl.fixes);
      portBody.replaceChildren(...rows.map((r) =>
        h('tr', { 'data-port': r.id }, h('td', {}, r.name), h('td', {}, String(r.inPort)), h('td', {}, String(r.onCorridor)),
          h('td', { class: r.openAlerts ? 'hot' : '' }, String(r.openAlerts)))));
    };
    vl.onFlush(renderCounts);

    const tickerItem = (a: Alert) => {
      const veh = h('span', { class: 'veh' }, a.vehicle_id);
      nameVehicle(veh, a.vehicle_id);
      return h('li', { class: `sev-${a.severity}`, 'data-alert': String(a.id), onclick: () => showAlert(alerts.byId.get(String(a.id)) ?? a) },
        h('span', { class: 'time' }, fmtClock(a.time)),
        h('span', { class: 'sev' }, t(`sev_${a.severity}`)),
        h('span', { class: 'type' }, t(a.type)),
        veh,
        a.late ? h('span', { class: 'late' }, t('late')) : null);
    };

    const pushTicker = (a: Alert) => {
      ticker.prepend(tickerItem(a));
      while (ticker.children.length > TICKER_MAX) ticker.lastElementChild!.remove();
    };

    // A new critical alert takes the map for FLY_MS, then the wall returns to where it was.
    let home: maplibregl.CameraOptions | null = null;
    let flyTimer: number | undefined;
    const flyTo = (a: Alert) => {
      const pt = alertPoint(a, vl.fixes);
      if (!pt) return;
      home ??= { center: map.getCenter(), zoom: map.getZoom(), bearing: map.getBearing(), pitch: map.getPitch() };
      map.flyTo({ center: pt, zoom: Math.max(map.getZoom(), 11), speed: 1.6 });
      clearTimeout(flyTimer);
      flyTimer = window.setTimeout(() => {
        if (home) map.flyTo({ ...home, speed: 1.6 });
        home = null;
      }, FLY_MS);
    };

    const onAlert = (a: Alert, fromLive: boolean) => {
      const fresh = alerts.upsert(a);
      vl.setAlerted(alerts.alertedVehicles());
      if (fresh) {
        pushTicker(a);
        if (fromLive && a.status === 'open' && (severityRank[a.severity] ?? 0) >= severityRank.critical) flyTo(a);
      }
    };

    const catchUp = async () => {
      const [positions] = await Promise.all([getPositions(), alerts.refetchOpen()]);
      const box = live?.stats.acked?.bbox;
      vl.retain((f) => inBox(box, f.lon, f.lat));
      for (const f of positions) if (inBox(box, f.lon, f.lat)) vl.update(f);
      vl.setAlerted(alerts.alertedVehicles());
      const known = new Set([...ticker.children].map((li) => (li as HTMLElement).dataset.alert));
      const missing = alerts.open().filter((a) => !known.has(String(a.id))).sort((x, y) => Date.parse(x.time) - Date.parse(y.time));
      for (const a of missing) pushTicker(a);
    };

    live = new Live({
      position: (f) => vl.update(f),
      alert: (a) => onAlert(a, true),
      connected: () => void catchUp().catch((e) => console.warn('catch-up failed', e)),
      status: (up) => {
        conn.className = `conn ${up ? 'up' : 'down'}`;
        conn.textContent = t(up ? 'connected' : 'reconnecting');
      },
    }, wanted());
    // Re-subscribe once the map has settled; a flight to an alert and back is not a change of
    // area worth a refetch, and small pans stay inside the padded box.
    let subTimer: number | undefined;
    map.on('moveend', () => {
      clearTimeout(subTimer);
      subTimer = window.setTimeout(() => live?.subscribe(wanted()), 1000);
    });
    stopFly = () => {
      clearTimeout(flyTimer);
      clearTimeout(subTimer);
      clearTimeout(countTimer);
    };
  });

  return () => {
    closed = true;
    stopDaily();
    live?.close();
    layer?.destroy();
    stopFly();
    timers.forEach(clearInterval);
    mapRef?.remove();
  };
}
