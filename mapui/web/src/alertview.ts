// An alert's detail (the wall's panel, the alert list's) and its place on a map: the alert
// ringed, the vehicle's last hour of track, and "轨迹回放" opening the replay at its window.
import type * as maplibregl from 'maplibre-gl';
import type { GeoJSONSource } from 'maplibre-gl';
import { can, getTrack, type Alert, type Fix, type Me } from './api';
import { h } from './dom';
import { alertSummary, alertVehicle, evidenceView } from './evidence';
import { inspectionView } from './inspection';
import { colon, paren, severity, time } from './format';
import { t } from './i18n';
import { alertPoint, empty } from './map';

const HOUR = 3600_000;

/** The period a replay of the alert opens at: an hour before it to half an hour after (not past now). */
export function replayWindow(a: Alert, now = Date.now()): { from: Date; to: Date } {
  const at = Date.parse(a.time);
  return { from: new Date(at - HOUR), to: new Date(Math.min(now, at + HOUR / 2)) };
}

export function replayHash(a: Alert): string {
  const { from, to } = replayWindow(a);
  const q = new URLSearchParams({ vehicle: a.vehicle_id, from: from.toISOString(), to: to.toISOString(), t: new Date(a.time).toISOString() });
  return `#/replay?${q}`;
}

/** Who acknowledged or resolved the alert and when (China time): "patrol1 · 2026-12-05 22:40:00 CST". */
export function alertHandledBy(a: Alert): string {
  const [by, at] = a.status === 'resolved' ? [a.resolved_by, a.resolved_at] : a.status === 'acknowledged' ? [a.acked_by, a.acked_at] : [];
  return [by ?? '', time(at)].filter(Boolean).join(' · ');
}

/** The alert's status in words with who set it and when; an open alert's is the word alone. */
export function alertStatusText(a: Alert): string {
  return [t(`status_${a.status}`), alertHandledBy(a)].filter(Boolean).join(' · ');
}

/**
 * The alert's notes, one line each as the store appends them: the officers' own, and the
 * server's (tracker.ConfirmedNote, the inspection's result in targets.go) in the reader's words.
 */
export function alertOutcome(note: string | undefined): string[] {
  return (note ?? '').split('\n').map((l) => l.trim()).filter(Boolean).map((n) => {
    if (n === 'inspection: nothing found') return `${t('insp_result')}${colon()}${t('result_nothing')}`;
    const found = /^inspection: found (\w+)$/.exec(n);
    if (found) return `${t('insp_result')}${colon()}${t('result_found')}${paren(t(`cat_${found[1]}`))}`;
    const confirmed = /^confirmed as an offence(?:: (.*))?$/.exec(n);
    if (confirmed) return confirmed[1] ? `${t('confirm_offence')}${colon()}${confirmed[1]}` : t('confirm_offence');
    return n;
  });
}

/** The alert's notes as lines of a definition, or nothing when it has none. */
export function outcomeRow(a: Alert): HTMLElement[] {
  const lines = alertOutcome(a.note);
  return lines.length ? [h('dt', {}, t('alert_outcome')), h('dd', { id: 'alert-outcome' }, ...lines.map((l) => h('div', {}, l)))] : [];
}

/** What happened, to which vehicle, when, its status, the evidence, and the replay button. */
export function alertDetail(a: Alert, me: Me): HTMLElement {
  return h('div', { class: 'alert-body', 'data-alert': String(a.id), 'data-status': a.status },
    h('h2', { class: `sev-${a.severity}` }, t(a.type)),
    h('p', { class: 'summary', id: 'alert-summary' }, alertSummary(a)),
    h('dl', { class: 'facts' },
      h('dt', {}, t('vehicle')), h('dd', { id: 'alert-vehicle' }, alertVehicle(a)),
      h('dt', {}, t('severity')), h('dd', { class: `sev-${a.severity}` }, severity(a.severity)),
      h('dt', {}, t('time')), h('dd', {}, `${time(a.time)}${a.late ? ` · ${t('late')}` : ''}`),
      h('dt', {}, t('status')), h('dd', { id: 'alert-status' }, alertStatusText(a)),
      ...outcomeRow(a)),
    h('h3', {}, t('evidence')),
    evidenceView(a),
    inspectionView(a, me),
    can(me.role, 'replay') ? h('div', { class: 'alert-actions' },
      h('a', { class: 'button primary', id: 'alert-replay', href: replayHash(a) }, t('replay_alert'))) : null);
}

export interface AlertFocus {
  /** Rings the alert, takes the map there and draws the vehicle's last hour. */
  show(a: Alert): void;
  clear(): void;
}

/**
 * The alert's layers on map; fixes gives the vehicles' latest fixes for alerts without a
 * position, offset where on the map (pixels from its centre) the alert is seen between panels.
 */
export function focusAlert(map: maplibregl.Map, fixes: () => Map<string, Fix>, offset: () => [number, number] = () => [0, 0]): AlertFocus {
  map.addSource('alert-track', { type: 'geojson', data: empty() });
  map.addSource('alert-focus', { type: 'geojson', data: empty() });
  map.addLayer({ id: 'alert-track', type: 'line', source: 'alert-track', layout: { 'line-cap': 'round', 'line-join': 'round' },
    paint: { 'line-color': '#ffd60a', 'line-width': 4, 'line-opacity': 0.9 } });
  map.addLayer({ id: 'alert-focus', type: 'circle', source: 'alert-focus',
    paint: { 'circle-radius': 22, 'circle-color': 'rgba(255,59,48,0.15)', 'circle-stroke-color': '#ff3b30', 'circle-stroke-width': 4 } });
  let shown = '';
  const set = (id: string, data: GeoJSON.FeatureCollection) => (map.getSource(id) as GeoJSONSource | undefined)?.setData(data);
  return {
    show(a) {
      const pt = alertPoint(a, fixes());
      shown = String(a.id);
      set('alert-focus', pt ? { type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: pt }, properties: {} }] } : empty());
      set('alert-track', empty());
      if (pt) map.flyTo({ center: pt, zoom: Math.max(map.getZoom(), 10), speed: 1.6, offset: offset() });
      const to = new Date(Math.min(Date.now(), Date.parse(a.time) + HOUR / 2));
      getTrack(a.vehicle_id, new Date(to.getTime() - HOUR), to).then((track) => {
        if (shown !== String(a.id) || track.length < 2) return;
        set('alert-track', { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {},
          geometry: { type: 'LineString', coordinates: track.filter((f) => f.valid !== false).map((f) => [f.lon, f.lat]) } }] });
        (window as unknown as { bwAlertTrack: number }).bwAlertTrack = track.length;
      }).catch((e) => console.warn('alert track', e));
    },
    clear() {
      shown = '';
      set('alert-focus', empty());
      set('alert-track', empty());
    },
  };
}
