// Replay view for investigators: one vehicle over a period, played back with its
// stops, zone visits, crossings and alerts; the URL reproduces the view.
import * as maplibregl from 'maplibre-gl';
import type { GeoJSONSource } from 'maplibre-gl';
import { can, download, getAlerts, getEvents, getTrack, getVehicles, type Alert, type BwEvent, type Fix, type Me } from './api';
import { h } from './dom';
import { fmtDuration, fmtTime, fromCstInput, t, toCstInput } from './i18n';
import { createMap, empty } from './map';

const SPEEDS = [1, 2, 4, 8, 16, 32, 64, 128];
const DAY = 24 * 3600_000;

// Blue (slow) to red (fast).
const speedRamp: [number, string][] = [[0, '#2c7bb6'], [30, '#00a6ca'], [60, '#90eb9d'], [80, '#f9d057'], [100, '#f29e2e'], [120, '#d7191c']];

const markColors: Record<string, string> = {
  stop_start: '#f1c40f',
  stop_end: '#f1c40f',
  zone_enter: '#3fa9f5',
  zone_exit: '#3fa9f5',
  border_cross: '#e056fd',
  alert: '#ff3b30',
};

interface Mark {
  time: number;
  kind: string;
  label: string;
  lon?: number;
  lat?: number;
}

interface Stop {
  start: number;
  end: number;
  ongoing: boolean;
  lon?: number;
  lat?: number;
}

function speedColor(v: number): string {
  let c = speedRamp[0][1];
  for (const [s, col] of speedRamp) if (v >= s) c = col;
  return c;
}

export function mountReplay(root: HTMLElement, me: Me, params: URLSearchParams): () => void {
  const now = Date.now();
  const p0 = {
    vehicle: params.get('vehicle') ?? '',
    from: Date.parse(params.get('from') ?? '') || now - DAY,
    to: Date.parse(params.get('to') ?? '') || now,
    t: Date.parse(params.get('t') ?? ''),
  };

  const vehicleIn = h('input', { id: 'vehicle', list: 'vehicle-list', value: p0.vehicle, placeholder: t('pick_vehicle') });
  const vehicleList = h('datalist', { id: 'vehicle-list' });
  const fromIn = h('input', { id: 'from', type: 'datetime-local', value: toCstInput(new Date(p0.from)) });
  const toIn = h('input', { id: 'to', type: 'datetime-local', value: toCstInput(new Date(p0.to)) });
  const loadBtn = h('button', { id: 'load', class: 'primary', type: 'submit' }, t('load'));
  const form = h('form', { class: 'replay-controls', onsubmit: (e: Event) => { e.preventDefault(); load(); } },
    h('label', {}, t('vehicle'), vehicleIn, vehicleList),
    h('label', {}, `${t('from')} (${t('cst')})`, fromIn),
    h('label', {}, `${t('to')} (${t('cst')})`, toIn),
    loadBtn);

  const mapEl = h('div', { class: 'map', id: 'map' });
  const playBtn = h('button', { id: 'play', onclick: () => togglePlay() }, t('play'));
  const speedSel = h('select', { id: 'speed' }, ...SPEEDS.map((s) => h('option', { value: String(s) }, `${s}×`)));
  speedSel.value = '8';
  const followCb = h('input', { id: 'follow', type: 'checkbox', checked: true });
  const slider = h('input', { id: 'slider', type: 'range', min: 0, max: 1, step: 1, value: 0 });
  const marksEl = h('div', { class: 'marks', id: 'marks' });
  const clockEl = h('span', { class: 'cursor-time', id: 'cursor-time' });
  const speedEl = h('span', { class: 'cursor-speed', id: 'cursor-speed' });
  const chart = h('canvas', { class: 'chart', id: 'chart', height: 120 });
  const side = h('aside', { class: 'replay-side', id: 'replay-side' });
  const exportBox = h('div', { class: 'exports', id: 'exports' });
  const msg = h('p', { class: 'msg', id: 'replay-msg' });

  root.append(form,
    h('div', { class: 'replay-body' },
      h('div', { class: 'replay-main' },
        mapEl,
        h('div', { class: 'timeline' },
          h('div', { class: 'buttons' },
            h('button', { id: 'step-back', onclick: () => step(-1), title: t('step_back') }, '◀'),
            playBtn,
            h('button', { id: 'step-fwd', onclick: () => step(1), title: t('step_fwd') }, '▶'),
            speedSel,
            h('label', { class: 'follow' }, followCb, t('follow')),
            clockEl, speedEl),
          h('div', { class: 'slider-wrap' }, marksEl, slider),
          chart)),
      h('div', { class: 'replay-side-wrap' }, exportBox, msg, side)));

  let map: maplibregl.Map | null = null;
  let fixes: Fix[] = [];
  let times: number[] = [];
  let marks: Mark[] = [];
  let cur = 0;
  let playing = false;
  let raf = 0;
  let lastFrame = 0;
  let lastUrl = 0;
  let closed = false;
  let vehicleId = '';
  let range = { from: p0.from, to: p0.to };

  getVehicles().then((vs) => vehicleList.replaceChildren(...vs.map((v) => h('option', { value: v.id }, v.plate ? `${v.plate}` : v.id)))).catch(() => {});

  const mapReady = createMap(mapEl, 'light').then(({ map: m }) => {
    if (closed) {
      m.remove();
      return;
    }
    map = m;
    m.addSource('track', { type: 'geojson', data: empty() });
    m.addLayer({ id: 'track', type: 'line', source: 'track', layout: { 'line-cap': 'round', 'line-join': 'round' }, paint: { 'line-color': ['get', 'color'], 'line-width': 4 } });
    m.addSource('marks', { type: 'geojson', data: empty() });
    m.addLayer({ id: 'marks', type: 'circle', source: 'marks', paint: { 'circle-color': ['get', 'color'], 'circle-radius': 6, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
    m.addSource('cursor', { type: 'geojson', data: empty() });
    m.addLayer({ id: 'cursor', type: 'circle', source: 'cursor', paint: { 'circle-color': '#111', 'circle-radius': 8, 'circle-stroke-color': '#fff', 'circle-stroke-width': 3 } });
  });

  if (p0.vehicle) mapReady.then(() => load(p0.t));

  async function load(at?: number): Promise<void> {
    pause();
    vehicleId = vehicleIn.value.trim();
    const from = fromCstInput(fromIn.value);
    const to = fromCstInput(toIn.value);
    if (!vehicleId || !from || !to || from >= to) return;
    range = { from: from.getTime(), to: to.getTime() };
    msg.textContent = '…';
    try {
      const q = { vehicle_id: vehicleId, from: from.toISOString(), to: to.toISOString() };
      const [track, events, alerts] = await Promise.all([
        getTrack(vehicleId, from, to),
        getEvents(q),
        getAlerts({ vehicle_id: vehicleId }),
      ]);
      await mapReady;
      if (closed) return;
      fixes = track.slice().sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
      times = fixes.map((f) => Date.parse(f.time));
      const inRange = (x: { time: string }) => {
        const tt = Date.parse(x.time);
        return tt >= range.from && tt <= range.to;
      };
      showData(events.filter(inRange), alerts.filter(inRange));
      msg.textContent = fixes.length ? '' : t('no_track');
      root.dataset.fixes = String(fixes.length);
      seek(at && at >= range.from && at <= range.to ? at : (times[0] ?? range.from));
      fit();
    } catch (e) {
      msg.textContent = `${t('failed')}: ${(e as Error).message}`;
    }
  }

  function showData(events: BwEvent[], alerts: Alert[]): void {
    const m = map!;
    const segs: GeoJSON.Feature[] = [];
    for (let i = 1; i < fixes.length; i++) {
      const a = fixes[i - 1];
      const b = fixes[i];
      segs.push({ type: 'Feature', properties: { color: speedColor((a.speed_kmh + b.speed_kmh) / 2) }, geometry: { type: 'LineString', coordinates: [[a.lon, a.lat], [b.lon, b.lat]] } });
    }
    (m.getSource('track') as GeoJSONSource).setData({ type: 'FeatureCollection', features: segs });

    marks = [
      ...events.map((e) => ({ time: Date.parse(e.time), kind: e.type, label: `${t(e.type)}${e.zone_id ? ` · ${e.zone_id}` : ''}${e.type === 'border_cross' && e.direction ? ` · ${e.direction}` : ''}`, lon: e.lon, lat: e.lat })),
      ...alerts.map((a) => ({ time: Date.parse(a.time), kind: 'alert', label: `${t(a.type)} · ${t(`sev_${a.severity}`)}`, lon: a.lon ?? undefined, lat: a.lat ?? undefined })),
    ].sort((a, b) => a.time - b.time);
    (m.getSource('marks') as GeoJSONSource).setData({
      type: 'FeatureCollection',
      features: marks.filter((k) => k.lon != null && k.lat != null).map((k) => ({ type: 'Feature', properties: { color: markColors[k.kind] ?? '#888' }, geometry: { type: 'Point', coordinates: [k.lon!, k.lat!] } })),
    });

    slider.min = String(range.from);
    slider.max = String(range.to);
    const span = range.to - range.from;
    marksEl.replaceChildren(...marks.map((k) =>
      h('button', { class: `mark mark-${k.kind}`, title: `${fmtTime(k.time)} ${k.label}`, style: `left:${((k.time - range.from) / span) * 100}%;background:${markColors[k.kind] ?? '#888'}`, onclick: () => seek(k.time) })));

    const stops = pairStops(events, range.to);
    side.replaceChildren(
      h('h3', {}, `${t('stops')} (${stops.length})`),
      h('ol', { class: 'stops', id: 'stops' }, ...stops.map((s) =>
        h('li', {}, h('button', { class: 'link', onclick: () => seek(s.start) }, fmtTime(s.start).slice(5, 16)), ` ${t('duration')} ${fmtDuration(s.end - s.start)}${s.ongoing ? '+' : ''}`))),
      h('h3', {}, `${t('events')} / ${t('alerts')} (${marks.length})`),
      h('ol', { class: 'events', id: 'events' }, ...marks.filter((k) => k.kind !== 'stop_start' && k.kind !== 'stop_end').map((k) =>
        h('li', { class: `ev-${k.kind}` }, h('button', { class: 'link', onclick: () => seek(k.time) }, fmtTime(k.time).slice(5, 19)), ` ${k.label}`))),
    );

    exportBox.replaceChildren();
    if (can(me.role, 'export') && fixes.length) {
      const q = new URLSearchParams({ from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() });
      exportBox.append(h('span', {}, `${t('export')}: `), ...['geojson', 'gpx', 'kml', 'csv'].map((fmt) =>
        h('button', {
          class: 'export', 'data-format': fmt,
          onclick: () => download(`/vehicles/${encodeURIComponent(vehicleId)}/track?${q}&format=${fmt}`, `${vehicleId}-${fmtTime(range.from).slice(0, 10)}.${fmt === 'geojson' ? 'geojson' : fmt}`)
            .catch((e) => (msg.textContent = `${t('failed')}: ${(e as Error).message}`)),
        }, fmt.toUpperCase())));
    }
  }

  function fit(): void {
    if (!map || !fixes.length) return;
    const b = fixes.reduce((bb, f) => bb.extend([f.lon, f.lat]), new maplibregl.LngLatBounds([fixes[0].lon, fixes[0].lat], [fixes[0].lon, fixes[0].lat]));
    map.fitBounds(b, { padding: 50, maxZoom: 14, duration: 0 });
  }

  /** Position at time tt: linear between the fixes around it. */
  function at(tt: number): { lon: number; lat: number; speed: number } | null {
    if (!fixes.length) return null;
    let lo = 0;
    let hi = times.length - 1;
    if (tt <= times[0]) return { lon: fixes[0].lon, lat: fixes[0].lat, speed: fixes[0].speed_kmh };
    if (tt >= times[hi]) return { lon: fixes[hi].lon, lat: fixes[hi].lat, speed: fixes[hi].speed_kmh };
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (times[mid] <= tt) lo = mid;
      else hi = mid;
    }
    const u = (tt - times[lo]) / (times[hi] - times[lo] || 1);
    const a = fixes[lo];
    const b = fixes[hi];
    return { lon: a.lon + (b.lon - a.lon) * u, lat: a.lat + (b.lat - a.lat) * u, speed: a.speed_kmh + (b.speed_kmh - a.speed_kmh) * u };
  }

  function seek(tt: number): void {
    cur = Math.max(range.from, Math.min(range.to, tt));
    slider.value = String(cur);
    clockEl.textContent = fmtTime(cur);
    const p = at(cur);
    speedEl.textContent = p ? `${Math.round(p.speed)} ${t('kmh')}` : '';
    if (map && p) {
      (map.getSource('cursor') as GeoJSONSource).setData({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [p.lon, p.lat] } });
      if (followCb.checked && playing) map.jumpTo({ center: [p.lon, p.lat] });
    }
    drawChart();
    const nowMs = performance.now();
    if (!playing || nowMs - lastUrl > 1000) {
      lastUrl = nowMs;
      writeUrl();
    }
  }

  function writeUrl(): void {
    if (!vehicleId) return;
    const q = new URLSearchParams({ vehicle: vehicleId, from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString(), t: new Date(cur).toISOString() });
    history.replaceState(null, '', `#/replay?${q}`);
  }

  function step(dir: 1 | -1): void {
    pause();
    if (!times.length) return;
    // The next fix strictly after (or before) the cursor.
    const i = dir > 0 ? times.findIndex((x) => x > cur) : times.findLastIndex((x) => x < cur);
    if (i >= 0) seek(times[i]);
  }

  function frame(ts: number): void {
    if (!playing) return;
    const dt = lastFrame ? ts - lastFrame : 0;
    lastFrame = ts;
    const next = cur + dt * Number(speedSel.value);
    seek(next);
    if (next >= range.to || (times.length && cur >= times[times.length - 1])) {
      pause();
      return;
    }
    raf = requestAnimationFrame(frame);
  }

  function togglePlay(): void {
    if (playing) return pause();
    if (!fixes.length) return;
    if (cur >= times[times.length - 1]) seek(times[0]);
    playing = true;
    root.dataset.playing = 'true';
    playBtn.textContent = t('pause');
    lastFrame = 0;
    raf = requestAnimationFrame(frame);
  }

  function pause(): void {
    const was = playing;
    playing = false;
    root.dataset.playing = 'false';
    cancelAnimationFrame(raf);
    playBtn.textContent = t('play');
    if (was) writeUrl();
  }

  function drawChart(): void {
    const w = chart.clientWidth || 600;
    if (chart.width !== w * devicePixelRatio) chart.width = w * devicePixelRatio;
    const hgt = chart.height;
    const ctx = chart.getContext('2d');
    if (!ctx) return;
    const span = range.to - range.from || 1;
    const W = chart.width;
    ctx.clearRect(0, 0, W, hgt);
    const maxV = Math.max(60, ...fixes.map((f) => f.speed_kmh));
    const x = (tt: number) => ((tt - range.from) / span) * W;
    const y = (v: number) => hgt - 14 - (v / maxV) * (hgt - 24);
    ctx.font = `${11 * devicePixelRatio}px sans-serif`;
    ctx.fillStyle = '#667';
    ctx.strokeStyle = '#dde';
    ctx.lineWidth = 1;
    for (const v of [0, 30, 60, 90, 120].filter((v) => v <= maxV)) {
      ctx.beginPath();
      ctx.moveTo(0, y(v));
      ctx.lineTo(W, y(v));
      ctx.stroke();
      ctx.fillText(`${v}`, 2, y(v) - 2);
    }
    for (const k of marks) {
      ctx.fillStyle = markColors[k.kind] ?? '#888';
      ctx.fillRect(x(k.time) - 1, hgt - 10, 3, 10);
    }
    ctx.lineWidth = 1.5 * devicePixelRatio;
    for (let i = 1; i < fixes.length; i++) {
      ctx.strokeStyle = speedColor(fixes[i].speed_kmh);
      ctx.beginPath();
      ctx.moveTo(x(times[i - 1]), y(fixes[i - 1].speed_kmh));
      ctx.lineTo(x(times[i]), y(fixes[i].speed_kmh));
      ctx.stroke();
    }
    ctx.strokeStyle = '#111';
    ctx.beginPath();
    ctx.moveTo(x(cur), 0);
    ctx.lineTo(x(cur), hgt);
    ctx.stroke();
  }

  slider.addEventListener('input', () => seek(Number(slider.value)));
  chart.addEventListener('click', (e) => {
    const r = chart.getBoundingClientRect();
    seek(range.from + ((e.clientX - r.left) / r.width) * (range.to - range.from));
  });
  const onKey = (e: KeyboardEvent) => {
    if ((e.target as HTMLElement).tagName === 'INPUT' && (e.target as HTMLInputElement).type !== 'range') return;
    if (e.key === ' ') { e.preventDefault(); togglePlay(); }
    if (e.key === 'ArrowRight') step(1);
    if (e.key === 'ArrowLeft') step(-1);
  };
  document.addEventListener('keydown', onKey);

  return () => {
    closed = true;
    pause();
    document.removeEventListener('keydown', onKey);
    map?.remove();
  };
}

/** Pairs stop_start with the stop_end that follows; a stop still going at the end runs to the period's end. */
function pairStops(events: BwEvent[], end: number): Stop[] {
  const out: Stop[] = [];
  let open: Stop | null = null;
  for (const e of [...events].sort((a, b) => Date.parse(a.time) - Date.parse(b.time))) {
    if (e.type === 'stop_start') {
      open = { start: Date.parse(e.time), end, ongoing: true, lon: e.lon, lat: e.lat };
      out.push(open);
    } else if (e.type === 'stop_end') {
      if (open) {
        open.end = Date.parse(e.time);
        open.ongoing = false;
        open = null;
      } else {
        // A stop that began before the period.
        const d = Number(e.duration_s);
        const endT = Date.parse(e.time);
        out.push({ start: Number.isFinite(d) && d > 0 ? endT - d * 1000 : endT, end: endT, ongoing: false, lon: e.lon, lat: e.lat });
      }
    }
  }
  return out;
}
