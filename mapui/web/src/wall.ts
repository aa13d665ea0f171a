// Wall view: the whole district live on a dark map, readable from 5 m.
import type * as maplibregl from 'maplibre-gl';
import { AlertStore, severityRank } from './alerts';
import { getAlert, getPositions, type Alert, type Fix, type Me } from './api';
import { alertDetail, focusAlert, type AlertFocus } from './alertview';
import { PortCounter } from './counters';
import { mountDailyPanel } from './daily';
import { h } from './dom';
import { Hold } from './hold';
import { alertSummary } from './evidence';
import { fill, learnVehicle, loadDirectory, plate, portOf, ports as portList, setZones, severity, timeOfDay, timeShort, zoneName } from './format';
import { t } from './i18n';
import { inBox, isAlert, Live, padBox, type Subscription } from './live';
import { bboxOf, type BBox } from './geo';
import { alertPoint, createMap, fitDistrict, stateColors, VehicleLayer, vehiclePopups } from './map';
import { nearestPatrols, PatrolLayer, patrolColors, patrolName, patrolWhere } from './patrols';
import { onNotice } from './targeting';

const FLY_MS = 15_000;
const TICKER_MAX = 50;
// The ticker holds still while the operator's pointer moves, scrolls or is pressed over it, and
// this long after: a line about to be clicked is not pushed down by a new alert at that moment. A
// pointer resting there holds nothing, so a wall left with the mouse on the ticker still shows
// every alert; a press holds it TICKER_PRESS_MAX_MS at most (a release the browser never reports).
const TICKER_HOLD_MS = 1500;
const TICKER_PRESS_MAX_MS = 20_000;
// A new alert never takes the map from an operator who touched it this recently.
const HANDS_OFF_MS = 10_000;

// Patrols move with their cars' live fixes; their states and ages are re-read this often.
const PATROL_REFRESH_MS = 30_000;

export function mountWall(root: HTMLElement, me: Me, params = new URLSearchParams()): () => void {
  // A district user shows the whole district or one port (?port=, kept in the URL); a port's
  // users see their port's area only, as the server sends it.
  const district = !me.unit || me.unit === 'district';
  let port = district ? params.get('port') ?? '' : '';
  const mayDispatch = !!me.permissions?.includes('targets.dispatch');
  const scopeSelect = h('select', { id: 'wall-scope', 'aria-label': t('wall_scope'), onchange: () => {
    location.hash = scopeSelect.value ? `#/wall?port=${encodeURIComponent(scopeSelect.value)}` : '#/wall';
  } }, h('option', { value: '' }, t('wall_whole_district')));
  const patrolBox = h('ol', { class: 'wall-patrols', id: 'wall-patrols' });
  const mapEl = h('div', { class: 'map', id: 'map' });
  const stateBox = h('div', { class: 'states', id: 'states' });
  const portBody = h('tbody');
  const ports = h('table', { class: 'ports', id: 'ports' },
    h('thead', {}, h('tr', {}, h('th', {}, t('port')), h('th', {}, t('in_port')), h('th', {}, t('on_corridor')), h('th', {}, t('open_alerts')))),
    portBody);
  const ticker = h('ol', { class: 'ticker', id: 'ticker' });
  const tickerBanner = h('div', { class: 'ticker-banner', id: 'ticker-banner', role: 'status', hidden: true });
  const clock = h('div', { class: 'clock', id: 'clock' });
  const conn = h('div', { class: 'conn down', id: 'conn' }, t('reconnecting'));
  const detail = h('section', { class: 'panel alert-detail', id: 'alert-detail', hidden: true });
  const dailyPanel = h('div', { class: 'daily-panel', id: 'daily-panel' });
  const stopDaily = mountDailyPanel(dailyPanel);
  const leftPanel = h('section', { class: 'panel left' },
    district ? h('label', { class: 'wall-scope' }, t('wall_scope'), scopeSelect) : null,
    stateBox, ports,
    mayDispatch ? h('h2', { class: 'patrols-title' }, t('patrols')) : null, mayDispatch ? patrolBox : null,
    dailyPanel);
  const rightPanel = h('section', { class: 'panel right' }, h('h2', {}, t('new_alerts')), tickerBanner, ticker);
  root.append(mapEl, leftPanel, rightPanel,
    detail,
    h('div', { class: 'status' }, clock, conn));

  let live: Live | null = null;
  let layer: VehicleLayer | null = null;
  let closed = false;
  let mapRef: maplibregl.Map | null = null;
  let stopFly = () => {};
  let stopPatrols = () => {};
  let movePatrol: (f: Fix) => void = () => {};
  const timers: number[] = [];
  const alerts = new AlertStore();

  // New alerts wait here, by id, while the ticker is held; releaseTicker shows them.
  const tickerWaiting = new Map<string, Alert>();
  let releaseTicker = () => {};
  const tickerHold = new Hold(TICKER_HOLD_MS, TICKER_PRESS_MAX_MS, () => releaseTicker());
  tickerHold.pressOn(ticker);
  tickerHold.touchOn(ticker, ['pointermove', 'wheel']);

  let focus: AlertFocus | null = null;
  let shownBody: HTMLElement | null = null;
  // A ticker line opens the alert: what happened, to which vehicle, when, and the evidence; the
  // map shows where, with the vehicle's last hour.
  const showAlert = (a: Alert) => {
    shownBody = alertDetail(a, me);
    detail.hidden = false;
    // The detail takes the feed's column; closing it brings the feed back.
    root.classList.add('detail-open');
    detail.replaceChildren(
      h('button', { class: 'close', id: 'alert-close', 'aria-label': '×', onclick: () => {
        detail.hidden = true;
        root.classList.remove('detail-open');
        focus?.clear();
      } }, '×'),
      shownBody,
      // Command sends a patrol from here: the nearest first, with how old their position is; not
      // to an alert already dealt with, which would send a patrol for nothing.
      ...(mayDispatch && a.status !== 'resolved' ? [nearestPatrols({ alert_id: Number(a.id) })] : []));
    for (const li of ticker.children) li.classList.toggle('selected', (li as HTMLElement).dataset.alert === String(a.id));
    focus?.show(a);
  };

  const tick = () => (clock.textContent = `${timeOfDay(Date.now())} ${t('cst')}`);
  tick();
  timers.push(window.setInterval(tick, 1000));

  createMap(mapEl, 'dark', { attributionControl: false }).then(async ({ map, zones }) => {
    if (closed) return map.remove();
    mapRef = map;
    // The operator's last touch of the map: a flight to a new alert waits until they let go.
    let touched = 0;
    const touch = () => (touched = Date.now());
    for (const ev of ['mousedown', 'wheel', 'touchstart', 'keydown']) mapEl.addEventListener(ev, touch, { passive: true, capture: true });
    map.on('movestart', (e) => { if ((e as { originalEvent?: Event }).originalEvent) touch(); });
    const handsOff = () => Date.now() - touched < HANDS_OFF_MS;
    layer = new VehicleLayer(map, 'vehicles', [3.5, 10]);
    const vl = layer;
    vehiclePopups(map, vl);
    // The vehicle layer's own cost counters, for the browser tests and the console.
    (window as unknown as { bwVehicles: VehicleLayer }).bwVehicles = vl;
    // The alert is seen in the widest part of the map the panels leave free: right of the left
    // panel, or below it when that strip is too narrow.
    const between = (): [number, number] => {
      const m = mapEl.getBoundingClientRect();
      const l = leftPanel.getBoundingClientRect();
      const r = (detail.hidden ? rightPanel : detail).getBoundingClientRect();
      const box = r.left - l.right >= 360 ? [l.right, m.top, r.left, m.bottom - 80] : [m.left, l.bottom, r.left, m.bottom - 80];
      return [(box[0] + box[2]) / 2 - (m.left + m.right) / 2, (box[1] + box[3]) / 2 - (m.top + m.bottom) / 2];
    };
    focus = focusAlert(map, () => vl.fixes, between);
    const zc = await zones;
    setZones(zc);
    for (const p of portList()) scopeSelect.append(h('option', { value: p.id }, p.name));
    if (!portList().some((p) => p.id === port)) port = '';
    scopeSelect.value = port;
    // The port's own zones: the port, and what is tied to it (control zone, yards, corridors).
    const scoped = port ? { ...zc, features: zc.features.filter((f) => f.properties.id === port || f.properties.port_id === port) } : zc;
    // The wall opens on the whole district, or the port chosen, in the map between its side panels.
    fitDistrict(map, scoped, [...root.querySelectorAll<HTMLElement>('.panel.left, .panel.right')]);
    if (mayDispatch) {
      const patrols = new PatrolLayer(map, (p) => !port || p.unit === port);
      const renderPatrols = () => patrolBox.replaceChildren(...patrols.patrols.map((p) =>
        h('li', { class: `patrol st-${p.status}${p.stale ? ' stale' : ''}`, 'data-patrol': p.username },
          h('i', { class: 'dot', style: `background:${patrolColors[p.stale ? 'stale' : p.status] ?? '#fff'}` }),
          h('span', { class: 'pname' }, patrolName(p)),
          h('span', { class: 'punit' }, p.unit === 'district' ? t('level_district') : zoneName(p.unit)),
          h('span', { class: 'pstatus' }, t(`patrol_${p.status}`)),
          h('span', { class: 'page' }, patrolWhere(p)))));
      const load = () => patrols.refresh().then(renderPatrols).catch((e) => console.warn('patrols', e));
      movePatrol = (f) => {
        if (patrols.move(f)) renderPatrols();
      };
      void load();
      const timer = window.setInterval(load, PATROL_REFRESH_MS);
      const off = onNotice(() => void load());
      stopPatrols = () => {
        clearInterval(timer);
        off();
      };
    }
    await loadDirectory().catch((e) => console.warn('vehicles not loaded', e));
    if (closed) return;
    const counter = new PortCounter(zc);
    // The wall watches the whole district (its zones, with a margin) and whatever else the
    // operator pans to; positions elsewhere are not sent. Every alert is.
    const area: BBox | null = scoped.features.length ? bboxOf(scoped.features.map((f) => (f.geometry as GeoJSON.Polygon | null)?.coordinates ?? []), port ? 0.2 : 0.5) : null;
    // One port: its alerts only (by the zone they name, else by where they happened).
    const inScope = (a: Alert) => !port || (a.zone_id ? portOf(a.zone_id) === port : a.lon != null && a.lat != null && !!area && inBox(area, a.lon, a.lat));
    const wanted = (): Subscription => {
      const b = map.getBounds();
      const view = padBox([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], 0.25);
      const box = area ? padBox([Math.min(area[0], view[0]), Math.min(area[1], view[1]), Math.max(area[2], view[2]), Math.max(area[3], view[3])], 0) : view;
      return { bbox: box, all_alerts: !port };
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
      const rows = counter.count(vl.fixes.values(), alerts.byId.values(), vl.fixes).filter((r) => !port || r.id === port);
      portBody.replaceChildren(...rows.map((r) =>
        h('tr', { 'data-port': r.id }, h('td', {}, zoneName(r.id)), h('td', {}, String(r.inPort)), h('td', {}, String(r.onCorridor)),
          h('td', { class: r.openAlerts ? 'hot' : '' }, String(r.openAlerts)))));
    };
    vl.onFlush(renderCounts);

    // One line per alert, newest first by the alert's own time (a backfilled alert goes where
    // its time puts it), the date kept: 12-05 08:30 · 严重 · 非口岸越境 · 蒙B00001.
    const tickerItem = (a: Alert) =>
      h('li', { class: `sev-${a.severity}`, 'data-alert': String(a.id), 'data-time': String(Date.parse(a.time)), title: alertSummary(a),
        onclick: () => showAlert(alerts.byId.get(String(a.id)) ?? a) },
        h('span', { class: 'time' }, timeShort(a.time)),
        h('span', { class: 'sev' }, severity(a.severity)),
        h('span', { class: 'type' }, t(a.type), a.late ? h('small', { class: 'late' }, ` · ${t('late')}`) : null,
          a.status !== 'open' ? h('small', { class: 'st' }, ` · ${t(`status_${a.status}`)}`) : null),
        h('span', { class: 'veh' }, plate(a.vehicle_id, a.plate)));

    const insertTicker = (a: Alert) => {
      const at = Date.parse(a.time);
      const li = tickerItem(a);
      const after = [...ticker.children].find((x) => Number((x as HTMLElement).dataset.time) < at);
      ticker.insertBefore(li, after ?? null);
      if (!a.plate) void learnVehicle(a.vehicle_id).then((known) => {
        const veh = li.querySelector('.veh');
        if (known && veh) veh.textContent = plate(a.vehicle_id);
      });
      while (ticker.children.length > TICKER_MAX) ticker.lastElementChild!.remove();
    };
    const pushTicker = (a: Alert) => {
      if (tickerHold.left() > 0) {
        tickerWaiting.set(String(a.id), a);
        tickerBanner.textContent = fill('ticker_new_alerts', { n: String(tickerWaiting.size) });
        tickerBanner.hidden = false;
        return;
      }
      insertTicker(a);
    };
    releaseTicker = () => {
      for (const [id, a] of tickerWaiting) insertTicker(alerts.byId.get(id) ?? a);
      tickerWaiting.clear();
      tickerBanner.hidden = true;
    };

    // A new critical alert takes the map for FLY_MS, unless the operator is at the map or reading
    // an alert; then the wall returns to where it was, unless the operator took the map meanwhile.
    let home: maplibregl.CameraOptions | null = null;
    let flyTimer: number | undefined;
    const flyTo = (a: Alert) => {
      if (handsOff() || !detail.hidden || !alertPoint(a, vl.fixes)) return;
      home ??= { center: map.getCenter(), zoom: map.getZoom(), bearing: map.getBearing(), pitch: map.getPitch() };
      focus?.show(a);
      clearTimeout(flyTimer);
      flyTimer = window.setTimeout(() => {
        if (home && !handsOff() && detail.hidden) {
          map.flyTo({ ...home, speed: 1.6 });
          focus?.clear();
        }
        home = null;
      }, FLY_MS);
    };

    // A change of a known alert (acknowledged, resolved, from any screen): its ticker line and,
    // when open, its detail say so at once; the map stays where the operator has it.
    const followAlert = (a: Alert) => {
      const id = String(a.id);
      const li = [...ticker.children].find((x) => (x as HTMLElement).dataset.alert === id) as HTMLElement | undefined;
      if (li) {
        // Changed in place, not replaced: a press or a click on the line while the alert changes
        // (the rule's next fix, a patrol's acknowledgement) still lands on it.
        const fresh = tickerItem(a);
        const veh = li.querySelector('.veh')?.textContent;
        if (veh) fresh.querySelector('.veh')!.textContent = veh;
        fresh.classList.toggle('selected', li.classList.contains('selected'));
        li.className = fresh.className;
        li.title = fresh.title;
        if (li.innerHTML !== fresh.innerHTML) li.replaceChildren(...fresh.childNodes);
      }
      if (!detail.hidden && shownBody?.dataset.alert === id) {
        const body = alertDetail(a, me);
        shownBody.replaceWith(body);
        shownBody = body;
        if (a.status === 'resolved') detail.querySelector('#nearest-patrols')?.remove();
      }
    };

    const onAlert = (a: Alert, fromLive: boolean) => {
      if (!inScope(a)) return;
      const fresh = alerts.upsert(a);
      vl.setAlerted(alerts.alertedVehicles());
      if (fresh) {
        pushTicker(a);
        if (fromLive && a.status === 'open' && (severityRank[a.severity] ?? 0) >= severityRank.critical) flyTo(a);
      } else followAlert(alerts.byId.get(String(a.id)) ?? a);
    };

    const catchUp = async () => {
      const [positions, { gone }] = await Promise.all([getPositions(), alerts.refetchOpen()]);
      // Alerts handled while the wall was away: their lines and the open detail say how, as
      // they would have live.
      const shown = new Set([...ticker.children].map((li) => (li as HTMLElement).dataset.alert));
      await Promise.all(gone.filter((id) => shown.has(id)).map(async (id) => {
        const a = await getAlert(id).catch(() => undefined);
        if (a && isAlert(a) && inScope(a)) {
          alerts.upsert(a);
          followAlert(a);
        }
      }));
      const box = live?.stats.acked?.bbox;
      vl.retain((f) => inBox(box, f.lon, f.lat));
      for (const f of positions) if (inBox(box, f.lon, f.lat)) vl.update(f);
      vl.setAlerted(alerts.alertedVehicles());
      const missing = alerts.open().filter((a) => !shown.has(String(a.id)) && inScope(a));
      for (const a of missing) pushTicker(a);
    };

    live = new Live({
      position: (f) => {
        vl.update(f);
        movePatrol(f);
      },
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
      focus?.clear();
      clearTimeout(flyTimer);
      clearTimeout(subTimer);
      clearTimeout(countTimer);
    };
  });

  return () => {
    closed = true;
    stopDaily();
    stopPatrols();
    live?.close();
    layer?.destroy();
    stopFly();
    timers.forEach(clearInterval);
    tickerHold.stop();
    mapRef?.remove();
  };
}
