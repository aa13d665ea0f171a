// Tablet view for patrols: touch first, alerts nearest to the tablet's GPS first (or newest first
// with a clear 位置未知), filters, one tap to the vehicle's track, the zone concerned and the
// evidence in words; acknowledge and resolve always on screen.
import * as maplibregl from 'maplibre-gl';
import type { GeoJSONSource } from 'maplibre-gl';
import { AlertStore, severityRank } from './alerts';
import { alertAction, can, getAlert, getAlerts, getPositions, getTrack, getVehicle, type Alert, type Fix, type Me, type ZoneCollection } from './api';
import { h } from './dom';
import { Hold } from './hold';
import { alertZoneIds, evidencePoints, evidenceView } from './evidence';
import { distance, fill, learnVehicle, loadDirectory, paren, plate, setVehicles, severity, time, timeMinute, vehicleLabel, zoneName, zoneNameOr } from './format';
import { haversine, type LonLat } from './geo';
import { fmtDriverCard, t } from './i18n';
import { inBox, Live, padBox, type Subscription } from './live';
import { alertPoint, createMap, empty, VehicleLayer, vehiclePopups } from './map';
import { mountAssignments } from './assignments';
import { alertHandledBy, outcomeRow } from './alertview';
import { inspectionView } from './inspection';

const TRACK_MS = 2 * 3600_000;
// The track shown with an older alert reaches back to half an hour before it, a day at most.
const TRACK_BEFORE_ALERT_MS = 30 * 60_000;
const TRACK_MAX_MS = 24 * 3600_000;
// How many of the nearest alerts the overview fits around the patrol.
const OVERVIEW_ALERTS = 5;
// The list holds still this long after the officer's finger lifts or the list stops scrolling,
// and at most HOLD_MAX_MS for a finger resting on it (or a release the browser never reported).
const HOLD_GRACE_MS = 1500;
const HOLD_MAX_MS = 20_000;

type StatusFilter = 'active' | 'open' | 'acknowledged';

export function mountTablet(root: HTMLElement, me: Me): () => void {
  const mapEl = h('div', { class: 'map', id: 'map' });
  const side = h('section', { class: 'side', id: 'side' });
  const conn = h('div', { class: 'conn down', id: 'conn' }, t('reconnecting'));
  const herePill = h('div', { class: 'here-pill unknown', id: 'here-pill' }, t('here_unknown'));
  root.append(side, h('div', { class: 'mapwrap' }, mapEl, conn, herePill));
  // An assignment opens its alert, even one outside the patrol's area it was sent to.
  const stopAssignments = mountAssignments(root, me, () => mapRef, (id) => void openAlert(id).catch((e) => console.warn('alert', e)));

  const alerts = new AlertStore();
  const filter = { severity: '', type: '', status: 'active' as StatusFilter };
  let zones: ZoneCollection | null = null;
  let here: LonLat | null = null;
  let hereMarker: maplibregl.Marker | null = null;
  let zoneLabel: maplibregl.Marker | null = null;
  let selected: string | null = null;
  // Redraws the selected alert's detail from the store: a change heard live shows at once.
  let redrawDetail = () => {};
  let following: string | null = null;
  let live: Live | null = null;
  let layer: VehicleLayer | null = null;
  let mapRef: maplibregl.Map | null = null;
  let watch: number | null = null;
  let closed = false;
  let listTimer: number | undefined;

  loadDirectory().then(() => (selected ? null : renderList())).catch(() => {});

  const showHere = () => {
    herePill.className = `here-pill ${here ? 'known' : 'unknown'}`;
    herePill.textContent = here ? `${t('here')} ${here[1].toFixed(4)}, ${here[0].toFixed(4)}` : t('here_unknown');
    if (!here || !mapRef) return;
    if (!hereMarker) hereMarker = new maplibregl.Marker({ element: h('div', { class: 'you-are-here', title: t('here') }) }).setLngLat(here).addTo(mapRef);
    else hereMarker.setLngLat(here);
  };

  if ('geolocation' in navigator) {
    watch = navigator.geolocation.watchPosition(
      (p) => {
        here = [p.coords.longitude, p.coords.latitude];
        showHere();
        if (!selected) renderList();
      },
      () => {
        // Refused or no fix: say so rather than measure from somewhere else.
        here = null;
        showHere();
        if (!selected) renderList();
      },
      { enableHighAccuracy: true, maximumAge: 30_000 },
    );
  }

  // A vehicle registered after the page loaded is asked for once; the list shows its plate then.
  const vehicleText = (a: Pick<Alert, 'vehicle_id'> & { plate?: string; vehicle_kind?: string }) => {
    const id = a.vehicle_id;
    if (!a.plate && plate(id) === id) learnVehicle(id).then((known) => (known && !selected ? renderList() : null)).catch(() => {});
    return vehicleLabel(id, a.plate, a.vehicle_kind);
  };

  const statusOk = (a: Alert) => (filter.status === 'active' ? a.status === 'open' || a.status === 'acknowledged' : a.status === filter.status);

  // The list's parts live as long as the view: an alert arriving re-renders the rows only, so a
  // filter being picked stays open and a scrolled list stays where the officer left it.
  const pick = (id: string, value: string, opts: Array<[string, string]>, set: (v: string) => void) => {
    const s = h('select', { id, onchange: () => { set(s.value); renderList(true); } }, ...opts.map(([v, label]) => h('option', { value: v }, label)));
    s.value = value;
    return s;
  };
  const typeSel = pick('f-type', '', [['', t('all_types')]], (v) => (filter.type = v));
  let typesShown = '';
  const filterEl = h('div', { class: 'filters', id: 'filters' },
    pick('f-severity', '', [['', t('all_severities')], ...(['critical', 'warning', 'info'].map((s) => [s, severity(s)]) as Array<[string, string]>)], (v) => (filter.severity = v)),
    typeSel,
    pick('f-status', filter.status, [['active', t('status_active')], ['open', t('status_open')], ['acknowledged', t('status_acknowledged')]], (v) => (filter.status = v as StatusFilter)));
  const hereLine = h('p', { class: 'here-line', id: 'here' });
  const heading = h('h2', {});
  const listBox = h('div', {});
  const listView = h('div', { class: 'side-scroll' }, hereLine, filterEl, heading, listBox);

  /** The type filter offers the types of the alerts not yet resolved (and the one picked). */
  function syncTypes(): void {
    const types = [...new Set([...alerts.byId.values()].filter((a) => a.status !== 'resolved').map((a) => a.type).concat(filter.type ? [filter.type] : []))]
      .sort((a, b) => t(a).localeCompare(t(b), 'zh-CN'));
    if (types.join() === typesShown) return;
    typesShown = types.join();
    typeSel.replaceChildren(h('option', { value: '' }, t('all_types')), ...types.map((x) => h('option', { value: x }, t(x))));
    typeSel.value = filter.type;
  }

  // Rows kept by alert id: an alert's row is one element for as long as it is listed, updated in
  // place, so a tap lands on the element it started on. While the officer touches or scrolls the
  // list (and for a moment after), the rows neither move nor change: what arrived meanwhile waits,
  // coalesced into one redraw when the finger lifts, and a banner says how many new alerts wait.
  type Row = { li: HTMLLIElement; btn: HTMLButtonElement; sev: HTMLElement; type: Text; dist: HTMLElement; veh: HTMLElement; time: HTMLElement; where: HTMLElement };
  const rowEls = new Map<string, Row>();
  const ul = h('ul', { class: 'alert-list', id: 'alerts' });
  const emptyEl = h('p', { class: 'empty' }, t('no_alerts'));
  const banner = h('div', { class: 'list-banner', id: 'list-banner', role: 'status', hidden: true });
  const setText = (el: Node, s: string) => {
    if (el.textContent !== s) el.textContent = s;
  };
  let deferred = false;
  // What waited is applied once the hold is over.
  const hold = new Hold(HOLD_GRACE_MS, HOLD_MAX_MS, () => {
    if (deferred) renderList();
  });
  hold.pressOn(listBox);
  hold.touchOn(listView, ['scroll']);

  const shown = (a: Alert) => statusOk(a) && (!filter.severity || a.severity === filter.severity) && (!filter.type || a.type === filter.type);

  function rowOf(id: string): Row {
    let r = rowEls.get(id);
    if (r) return r;
    const sev = h('b', {});
    const type = document.createTextNode('');
    const btn = h('button', { class: 'alert-item', 'data-alert': id, onclick: () => select(id) },
      h('span', { class: 'type' }, sev, ' ', type));
    r = { li: h('li', {}, btn), btn, sev, type, dist: h('span', { class: 'dist' }), veh: h('span', { class: 'veh' }), time: h('span', { class: 'time' }), where: h('span', { class: 'where', hidden: true }) };
    btn.append(r.dist, r.veh, r.time, r.where);
    rowEls.set(id, r);
    return r;
  }

  /** Redraws the list, unless the officer is touching or scrolling it (force: the officer's own change of view). */
  function renderList(force = false): void {
    if (selected) return;
    if (!force && hold.left() > 0) {
      deferred = true;
      let fresh = 0;
      for (const [id, a] of alerts.byId) if (!rowEls.has(id) && shown(a)) fresh++;
      if (fresh) setText(banner, fill('list_new_alerts', { n: String(fresh) }));
      banner.hidden = !fresh;
      hold.settle();
      return;
    }
    deferred = false;
    banner.hidden = true;
    const rows = [...alerts.byId.values()]
      .filter(shown)
      .map((a) => {
        const pt = alertPoint(a, layer?.fixes ?? new Map());
        return { a, d: here && pt ? haversine(here, pt) : Infinity };
      })
      // Nearest first where the tablet knows where it is; otherwise the most severe, then the newest.
      .sort((x, y) => x.d - y.d || (severityRank[y.a.severity] ?? 0) - (severityRank[x.a.severity] ?? 0) || Date.parse(y.a.time) - Date.parse(x.a.time));
    syncTypes();
    hereLine.className = `here-line ${here ? 'known' : 'unknown'}`;
    setText(hereLine, here ? t('here_sorted') : t('time_sorted'));
    setText(heading, `${t('tablet_alerts')}${paren(String(rows.length))}`);
    const keep = new Set(rows.map(({ a }) => String(a.id)));
    for (const [id, r] of rowEls) {
      if (keep.has(id)) continue;
      r.li.remove();
      rowEls.delete(id);
    }
    // A row moved is taken out and put back, which drops the keyboard's focus: given back below.
    const focused = ul.contains(document.activeElement) ? document.activeElement as HTMLElement : null;
    let cur = ul.firstElementChild;
    for (const { a, d } of rows) {
      const r = rowOf(String(a.id));
      const cls = `alert-item sev-${a.severity}`;
      if (r.btn.className !== cls) r.btn.className = cls;
      if (r.sev.className !== `sev-word sev-${a.severity}`) r.sev.className = `sev-word sev-${a.severity}`;
      setText(r.sev, severity(a.severity));
      if (r.type.data !== t(a.type)) r.type.data = t(a.type);
      setText(r.dist, Number.isFinite(d) ? distance(d) : '');
      setText(r.veh, vehicleText(a));
      setText(r.time, timeMinute(a.time));
      const where = a.zone_id || a.status !== 'open' ? [zoneNameOr(a.zone_id), a.status !== 'open' ? t(`status_${a.status}`) : ''].filter(Boolean).join(' · ') : '';
      setText(r.where, where);
      r.where.hidden = !where;
      // Moved only when out of place: a row already where it belongs is not touched.
      if (r.li === cur) cur = cur.nextElementSibling;
      else ul.insertBefore(r.li, cur);
    }
    if (focused?.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
    const body = rows.length ? ul : emptyEl;
    if (listBox.firstChild !== body || listBox.childNodes.length !== 1) listBox.replaceChildren(body);
    if (side.firstChild !== listView || side.lastChild !== banner || side.childNodes.length !== 2) side.replaceChildren(listView, banner);
  }

  async function select(id: string): Promise<void> {
    const a = alerts.byId.get(id);
    if (!a || !mapRef) return;
    selected = id;
    const map = mapRef;
    const note = h('textarea', { id: 'note', rows: 2, placeholder: t('note') });
    const msg = h('p', { class: 'msg', id: 'msg', role: 'status' });
    const act = async (kind: 'ack' | 'resolve' | 'confirm') => {
      msg.textContent = '…';
      try {
        const r = await alertAction(a.id, kind, note.value);
        alerts.upsert(r && typeof r === 'object' && 'id' in r ? r : { ...a, status: kind === 'ack' ? 'acknowledged' : 'resolved' });
        note.value = '';
        layer?.setAlerted(alerts.alertedVehicles());
        renderDetail();
        msg.textContent = t('done');
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
    const driver = h('dd', { id: 'driver' }, '—');
    const vehicle = h('dd', { id: 'vehicle' }, vehicleText(a));
    getVehicle(a.vehicle_id).then((v) => {
      setVehicles([v]);
      vehicle.textContent = vehicleText(a);
      driver.textContent = v.driver ? fmtDriverCard(v.driver) : '—';
    }).catch(() => {});

    // The actions stay at the foot of the panel, whatever the evidence's length above them.
    const bar = h('div', { class: 'actions', id: 'actions' });
    const body = h('div', { class: 'side-scroll detail' });
    side.replaceChildren(
      h('button', { class: 'big back', id: 'back', onclick: () => { selected = null; clearDetail(); renderList(true); overview(); } }, `← ${t('back')}`),
      body,
      bar);
    const renderDetail = () => {
      const cur = alerts.byId.get(id) ?? a;
      const zone = zoneNameOr(cur.zone_id);
      const handledBy = alertHandledBy(cur);
      body.replaceChildren(
        h('h2', { class: `sev-${cur.severity}` }, h('b', { class: `sev-word sev-${cur.severity}` }, severity(cur.severity)), ' ', t(cur.type)),
        h('dl', { class: 'facts' },
          h('dt', {}, t('vehicle')), vehicle,
          h('dt', {}, t('driver')), driver,
          h('dt', {}, t('status')), h('dd', { id: 'status' }, t(`status_${cur.status}`)),
          handledBy ? h('dt', {}, t('handled_by')) : null, handledBy ? h('dd', { id: 'status-by' }, handledBy) : null,
          ...outcomeRow(cur),
          h('dt', {}, t('time')), h('dd', {}, `${time(cur.time)}${cur.late ? `（${t('late')}）` : ''}`),
          zone ? h('dt', {}, t('zone')) : null, zone ? h('dd', { id: 'zone' }, zone) : null),
        h('h3', {}, t('evidence')),
        evidenceView(cur),
        inspectionView(cur, me));
      bar.replaceChildren(
        ...(can(me.role, 'ack') && cur.status !== 'resolved'
          ? [note, h('div', { class: 'buttons' },
              h('button', { class: 'big primary', id: 'ack', disabled: cur.status !== 'open', onclick: () => act('ack') }, t('ack')),
              h('button', { class: 'big', id: 'resolve', onclick: () => act('resolve') }, t('resolve')),
              h('button', { class: 'big danger', id: 'confirm', title: t('confirm_offence_hint'), onclick: () => act('confirm') }, t('confirm_offence')))]
          : []),
        followBtn,
        msg);
    };
    renderDetail();
    redrawDetail = renderDetail;

    const pt = alertPoint(a, layer?.fixes ?? new Map());
    const evPts = evidencePoints(a.evidence);
    (map.getSource('evidence') as GeoJSONSource).setData({ type: 'FeatureCollection', features: evPts.map((c) => ({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: c } })) });
    showZones(a, pt);
    if (pt) map.easeTo({ center: pt, zoom: Math.max(map.getZoom(), 11) });
    try {
      const now = Date.now();
      const from = Math.max(now - TRACK_MAX_MS, Math.min(now - TRACK_MS, Date.parse(a.time) - TRACK_BEFORE_ALERT_MS));
      const fixes = await getTrack(a.vehicle_id, new Date(from), new Date(now));
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

  /** Outlines the zones the alert is about and labels the first with its name, next to the alert. */
  function showZones(a: Alert, pt: LonLat | null): void {
    const map = mapRef;
    if (!map || !zones) return;
    const ids = alertZoneIds(a);
    const feats = zones.features.filter((f) => ids.includes(f.properties.id));
    (map.getSource('alert-zone') as GeoJSONSource).setData({ type: 'FeatureCollection', features: feats });
    zoneLabel?.remove();
    zoneLabel = null;
    const first = ids.map((id) => feats.find((f) => f.properties.id === id)).find(Boolean);
    if (!first?.geometry) return;
    const at = nearestVertex(first.geometry, pt);
    if (!at) return;
    zoneLabel = new maplibregl.Marker({ element: h('div', { class: 'zone-label', id: 'zone-label' }, zoneName(first.properties.id)), anchor: 'bottom' })
      .setLngLat(at).addTo(map);
  }

  /** The patrol and the nearest alerts in one view: where the list starts and where "back" returns. */
  function overview(): void {
    if (!mapRef || following) return;
    const fixes = layer?.fixes ?? new Map<string, Fix>();
    const nearest = [...alerts.byId.values()].filter(statusOk)
      .map((a) => ({ a, p: alertPoint(a, fixes) }))
      .filter((x): x is { a: Alert; p: LonLat } => !!x.p)
      .sort((x, y) => (here ? haversine(here, x.p) - haversine(here, y.p) : 0))
      .slice(0, OVERVIEW_ALERTS);
    // Where each alert was raised and where its vehicle is now.
    const pts: LonLat[] = nearest.flatMap(({ a, p }) => {
      const f = fixes.get(a.vehicle_id);
      return f ? [p, [f.lon, f.lat] as LonLat] : [p];
    });
    if (here) pts.push(here);
    if (!pts.length) return;
    const b = pts.reduce((bb, c) => bb.extend(c), new maplibregl.LngLatBounds(pts[0], pts[0]));
    mapRef.fitBounds(b, { padding: 80, maxZoom: 12, duration: 600 });
  }

  function clearDetail(): void {
    (mapRef?.getSource('track') as GeoJSONSource | undefined)?.setData(empty());
    (mapRef?.getSource('evidence') as GeoJSONSource | undefined)?.setData(empty());
    (mapRef?.getSource('alert-zone') as GeoJSONSource | undefined)?.setData(empty());
    zoneLabel?.remove();
    zoneLabel = null;
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

  async function openAlert(id: number): Promise<void> {
    if (!alerts.byId.has(String(id))) alerts.upsert(await getAlert(id));
    await select(String(id));
  }

  /** Acknowledged alerts still need the patrol: fetched with the open ones, dropped once resolved elsewhere. */
  async function refetchAcknowledged(): Promise<void> {
    const acked = await getAlerts({ status: 'acknowledged' });
    const seen = new Set(acked.map((a) => String(a.id)));
    for (const [id, a] of alerts.byId) if (a.status === 'acknowledged' && !seen.has(id)) alerts.byId.delete(id);
    for (const a of acked) alerts.upsert(a);
  }

  renderList();
  createMap(mapEl, 'dark').then(({ map, zones: zp }) => {
    if (closed) return map.remove();
    mapRef = map;
    zp.then((z) => (zones = z)).catch(() => {});
    map.addSource('alert-zone', { type: 'geojson', data: empty() });
    map.addLayer({ id: 'alert-zone-fill', type: 'fill', source: 'alert-zone', filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#ffd60a', 'fill-opacity': 0.18 } });
    map.addLayer({ id: 'alert-zone-line', type: 'line', source: 'alert-zone', paint: { 'line-color': '#ffd60a', 'line-width': 3 } });
    map.addSource('track', { type: 'geojson', data: empty() });
    map.addLayer({ id: 'track', type: 'line', source: 'track', paint: { 'line-color': '#00e5ff', 'line-width': 4 } });
    map.addSource('evidence', { type: 'geojson', data: empty() });
    map.addLayer({ id: 'evidence', type: 'circle', source: 'evidence', paint: { 'circle-color': '#ff3b30', 'circle-radius': 7, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } });
    layer = new VehicleLayer(map, 'vehicles', [3, 8], 500);
    const vl = layer;
    vehiclePopups(map, vl);
    showHere();
    if (here) map.jumpTo({ center: here, zoom: 9 });
    map.on('moveend', () => {
      if (!following) resubscribe();
    });

    let listDirty = false;
    listTimer = window.setInterval(() => {
      if (listDirty) renderList();
      listDirty = false;
    }, 1000);

    // The view the map opened with: the overview takes it only while nobody has moved the map.
    const opened = { center: map.getCenter().toArray().join(), zoom: map.getZoom() };
    const untouched = () => map.getCenter().toArray().join() === opened.center && map.getZoom() === opened.zoom;
    let overviewed = false;
    const catchUp = async () => {
      const [positions] = await Promise.all([getPositions(), alerts.refetchOpen(), refetchAcknowledged(), loadDirectory().catch(() => {})]);
      vl.retain(wants);
      for (const f of positions) if (wants(f)) vl.update(f);
      vl.setAlerted(alerts.alertedVehicles());
      if (selected && !alerts.byId.has(selected)) selected = null;
      renderList();
      // Once, at the start: later the officer's own panning is not taken over.
      if (!overviewed && !selected && untouched()) overview();
      overviewed = true;
    };
    live = new Live({
      position: (f: Fix) => {
        if (vl.update(f) && following === f.vehicle_id) map.easeTo({ center: [f.lon, f.lat], duration: 500 });
      },
      alert: (a) => {
        alerts.upsert(a);
        vl.setAlerted(alerts.alertedVehicles());
        listDirty = true;
        if (selected === String(a.id)) redrawDetail();
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
    hold.stop();
    clearTimeout(subTimer);
    if (watch !== null) navigator.geolocation.clearWatch(watch);
    mapRef?.remove();
  };
}

/** The vertex of a zone's outline or line nearest to p (its first without p): where its label goes. */
function nearestVertex(g: GeoJSON.Geometry, p: LonLat | null): LonLat | null {
  const pts: LonLat[] = [];
  const walk = (c: unknown): void => {
    if (!Array.isArray(c)) return;
    if (typeof c[0] === 'number') pts.push([c[0], c[1] as number]);
    else c.forEach(walk);
  };
  if ('coordinates' in g) walk(g.coordinates);
  if (!pts.length) return null;
  if (!p) return pts[0];
  return pts.reduce((best, q) => (haversine(p, q) < haversine(p, best) ? q : best));
}
