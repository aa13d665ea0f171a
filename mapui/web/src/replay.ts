// Replay view for investigators: one vehicle over a period, played back with its
// stops, zone visits, crossings and alerts; the URL reproduces the view.
import * as maplibregl from 'maplibre-gl';
import type { GeoJSONSource } from 'maplibre-gl';
import { api, ApiError, can, decodeTrack, download, getAlerts, getEvents, getVehicle, type Alert, type BwEvent, type Me, type Track } from './api';
import { h } from './dom';
import { eventText } from './evidence';
import { duration, fill, paren, kindName, knownVehicles, loadDirectory, readTime, setVehicles, severity, time, timeInput, timeMinute, timeSecond, zoneNameOr } from './format';
import { fmtSeal, t } from './i18n';
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
  seal_unlocked: '#ff9500',
  seal_state: '#3fa9f5',
  driver_identity: '#34c759',
  alert: '#ff3b30',
};

// A gap between fixes longer than this is skipped like a stop: there is nothing to watch in it.
const SKIP_GAP_MS = 5 * 60_000;

/** The e-seal's state from fix i on (the track's seal column: only its changes). */
interface SealChange {
  i: number;
  state: string;
  battery_low: boolean;
}

/** The time a device claimed for fix i, placed at its receipt because its clock was ahead. */
interface DeviceTime {
  i: number;
  t: string;
}

/** The track as columns, with the seal's changes and the devices' claimed times that decodeTrack leaves aside. */
async function trackWithSeal(vehicleId: string, from: Date, to: Date): Promise<{ track: Track; seal: SealChange[]; deviceTimes: DeviceTime[] }> {
  const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), format: 'columns' });
  const c = await api<Parameters<typeof decodeTrack>[0] & { seal?: SealChange[]; device_time?: DeviceTime[] }>(`/vehicles/${encodeURIComponent(vehicleId)}/track?${q}`);
  return { track: decodeTrack(c), seal: c.seal ?? [], deviceTimes: c.device_time ?? [] };
}

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
  const fromIn = timeInput({ id: 'from' }, p0.from);
  const toIn = timeInput({ id: 'to' }, p0.to);
  const loadBtn = h('button', { id: 'load', class: 'primary', type: 'submit' }, t('load'));
  const form = h('form', { class: 'replay-controls', onsubmit: (e: Event) => { e.preventDefault(); load(); } },
    h('label', {}, t('vehicle'), vehicleIn, vehicleList),
    h('label', {}, `${t('from')}${paren(t('cst'))}`, fromIn),
    h('label', {}, `${t('to')}${paren(t('cst'))}`, toIn),
    loadBtn);

  const mapEl = h('div', { class: 'map', id: 'map' });
  const playBtn = h('button', { id: 'play', onclick: () => togglePlay() }, t('play'));
  const speedSel = h('select', { id: 'speed' }, ...SPEEDS.map((s) => h('option', { value: String(s) }, `${s}×`)));
  speedSel.value = '8';
  const followCb = h('input', { id: 'follow', type: 'checkbox', checked: true });
  const skipCb = h('input', { id: 'skip-stops', type: 'checkbox', checked: true });
  const startEl = h('span', { id: 'view-start' });
  const endEl = h('span', { id: 'view-end' });
  const slider = h('input', { id: 'slider', type: 'range', min: 0, max: 1, step: 1, value: 0 });
  const marksEl = h('div', { class: 'marks', id: 'marks' });
  const clockEl = h('span', { class: 'cursor-time', id: 'cursor-time' });
  const speedEl = h('span', { class: 'cursor-speed', id: 'cursor-speed' });
  const sealEl = h('span', { class: 'cursor-seal', id: 'cursor-seal' });
  const deviceTimeEl = h('span', { class: 'cursor-seal', id: 'cursor-device-time' });
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
            h('label', { class: 'follow', title: t('skip_stops_hint') }, skipCb, t('skip_stops')),
            clockEl, speedEl, sealEl, deviceTimeEl),
          h('div', { class: 'slider-wrap' }, marksEl, slider),
          h('div', { class: 'timeline-ends' }, startEl, endEl),
          chart)),
      h('div', { class: 'replay-side-wrap' }, exportBox, msg, side)));

  let map: maplibregl.Map | null = null;
  let tr: Track = emptyTrack();
  let seals: SealChange[] = [];
  let deviceTimes = new Map<number, string>();
  let marks: Mark[] = [];
  let chartBg: HTMLCanvasElement | null = null;
  let maxV = 60;
  let cur = 0;
  let playing = false;
  let raf = 0;
  let seekRaf = 0;
  let lastFrame = 0;
  let lastUrl = 0;
  let closed = false;
  let vehicleId = '';
  let vehicleName = '';
  // range: the period asked for (the URL's); view: what the timeline shows, first to last fix.
  let range = { from: p0.from, to: p0.to };
  let view = { from: p0.from, to: p0.to };
  let stops: Stop[] = [];
  // What a load cost, for the browser tests and the console.
  const perf = { fixes: 0, fetchMs: 0, buildMs: 0, drawMs: 0, segments: 0, vertices: 0, seeks: 0, seekMs: 0, seekMaxMs: 0 };
  (window as unknown as { bwReplayPerf: typeof perf }).bwReplayPerf = perf;

  // The vehicle is typed or picked by plate; an id works too.
  const namesReady = loadDirectory().catch(() => {}).then(() => {
    const vs = knownVehicles();
    vehicleList.replaceChildren(...vs.map((v) => h('option', { value: v.plate || v.id }, kindName(v.kind))));
    const named = vs.find((v) => v.id === p0.vehicle)?.plate;
    if (named && vehicleIn.value === p0.vehicle) vehicleIn.value = named;
  });
  const mapReady = createMap(mapEl, 'light').then(async ({ map: m }) => {
    await namesReady;
    if (closed) {
      m.remove();
      return;
    }
    map = m;
    m.addSource('track', { type: 'geojson', data: empty() });
    m.addLayer({ id: 'track', type: 'line', source: 'track', filter: ['!', ['has', 'gap']], layout: { 'line-cap': 'round', 'line-join': 'round' }, paint: { 'line-color': ['get', 'color'], 'line-width': 4 } });
    m.addLayer({ id: 'track-gap', type: 'line', source: 'track', filter: ['has', 'gap'], paint: { 'line-color': '#7a8590', 'line-width': 2, 'line-dasharray': [3, 3] } });
    m.addSource('marks', { type: 'geojson', data: empty() });
    m.addLayer({ id: 'marks', type: 'circle', source: 'marks', paint: { 'circle-color': ['get', 'color'], 'circle-radius': 6, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
    m.addSource('cursor', { type: 'geojson', data: empty() });
    m.addLayer({ id: 'cursor', type: 'circle', source: 'cursor', paint: { 'circle-color': '#111', 'circle-radius': 8, 'circle-stroke-color': '#fff', 'circle-stroke-width': 3 } });
  });

  if (p0.vehicle) mapReady.then(() => load(p0.t));

  /** The vehicle a plate or id names: the registry's, or (an unregistered device) the id as typed. */
  async function resolve(ref: string): Promise<{ id: string; name: string }> {
    try {
      const v = await getVehicle(ref);
      setVehicles([v]);
      return { id: v.id, name: v.plate || v.id };
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return { id: ref, name: ref };
      throw e;
    }
  }

  async function load(at?: number): Promise<void> {
    pause();
    const ref = vehicleIn.value.trim();
    const from = readTime(fromIn.value);
    const to = readTime(toIn.value, true);
    fromIn.setCustomValidity(from ? '' : t('time_format_bad'));
    toIn.setCustomValidity(to ? '' : t('time_format_bad'));
    if (!from || !to) {
      msg.textContent = t('time_format_bad');
      return;
    }
    if (!ref || from >= to) return;
    range = { from: from.getTime(), to: to.getTime() };
    msg.textContent = '…';
    root.dataset.loaded = 'false';
    try {
      ({ id: vehicleId, name: vehicleName } = await resolve(ref));
      vehicleIn.value = vehicleName;
      const q = { vehicle_id: vehicleId, from: from.toISOString(), to: to.toISOString() };
      const t0 = performance.now();
      const [cols, events, alerts] = await Promise.all([
        trackWithSeal(vehicleId, from, to),
        getEvents(q),
        getAlerts({ vehicle_id: vehicleId }),
      ]);
      perf.fetchMs = performance.now() - t0;
      await mapReady;
      if (closed) return;
      tr = cols.track;
      seals = cols.seal;
      deviceTimes = new Map(cols.deviceTimes.map((d) => [d.i, d.t]));
      perf.fixes = tr.n;
      const inRange = (x: { time: string }) => {
        const tt = Date.parse(x.time);
        return tt >= range.from && tt <= range.to;
      };
      const t1 = performance.now();
      showData(events.filter(inRange), alerts.filter(inRange));
      perf.buildMs = performance.now() - t1;
      msg.textContent = tr.n ? '' : t('no_track');
      root.dataset.fixes = String(tr.n);
      seek(at && at >= view.from && at <= view.to ? at : view.from);
      fit();
      // Drawn when the map is idle again: the worker has tiled the track and the frame is painted.
      map!.once('idle', () => {
        perf.drawMs = performance.now() - t1;
        root.dataset.loaded = 'true';
      });
      map!.triggerRepaint();
    } catch (e) {
      root.dataset.fixes = '0';
      msg.textContent = e instanceof ApiError && e.code === 'unknown_vehicle' ? fill('unknown_vehicle', { ref }) : `${t('failed')}: ${(e as Error).message}`;
    }
  }

  function showData(events: BwEvent[], alerts: Alert[]): void {
    const m = map!;
    const segs = trackRuns(tr);
    perf.segments = segs.features.length;
    perf.vertices = segs.vertices;
    (m.getSource('track') as GeoJSONSource).setData({ type: 'FeatureCollection', features: segs.features });

    marks = [
      // 0, 0: an event without a position (a driver's card, an alarm with only a cell) is listed, not drawn.
      ...events.map((e) => ({ time: Date.parse(e.time), kind: e.type, label: eventText(e), ...(e.lat || e.lon ? { lon: e.lon, lat: e.lat } : {}) })),
      ...seals.filter((c) => c.i < tr.n).map((c) => ({ time: tr.t[c.i], kind: 'seal_state', label: `${t('seal_state')} · ${fmtSeal(c.state, c.battery_low)}`, lon: tr.lon[c.i], lat: tr.lat[c.i] })),
      ...alerts.map((a) => ({ time: Date.parse(a.time), kind: 'alert', label: [t(a.type), severity(a.severity), zoneNameOr(a.zone_id)].filter(Boolean).join(' · '), lon: a.lon ?? undefined, lat: a.lat ?? undefined })),
    ].sort((a, b) => a.time - b.time);
    // The timeline runs from the first to the last fix (and any event outside them), not over the empty ends of the period.
    view = tr.n ? { from: tr.t[0], to: tr.t[tr.n - 1] } : { ...range };
    for (const k of marks) {
      if (k.time < view.from) view.from = k.time;
      if (k.time > view.to) view.to = k.time;
    }
    if (view.to <= view.from) view = { from: view.from - 60_000, to: view.to + 60_000 };
    startEl.textContent = time(view.from);
    endEl.textContent = time(view.to);
    (m.getSource('marks') as GeoJSONSource).setData({
      type: 'FeatureCollection',
      features: marks.filter((k) => k.lon != null && k.lat != null).map((k) => ({ type: 'Feature', properties: { color: markColors[k.kind] ?? '#888' }, geometry: { type: 'Point', coordinates: [k.lon!, k.lat!] } })),
    });

    slider.min = String(view.from);
    slider.max = String(view.to);
    const span = view.to - view.from;
    marksEl.replaceChildren(...marks.map((k) =>
      h('button', { class: `mark mark-${k.kind}`, title: `${timeSecond(k.time)} ${k.label}`, style: `left:${((k.time - view.from) / span) * 100}%;background:${markColors[k.kind] ?? '#888'}`, onclick: () => seek(k.time) })));

    stops = pairStops(events, Math.min(range.to, view.to));
    // Stops have their own list: the events list holds the rest, and its count is its rows'.
    const listed = marks.filter((k) => k.kind !== 'stop_start' && k.kind !== 'stop_end');
    side.replaceChildren(
      h('h3', {}, `${t('stops')}${paren(String(stops.length))}`),
      h('ol', { class: 'stops', id: 'stops' }, ...stops.map((s) =>
        h('li', {}, h('button', { class: 'link', onclick: () => seek(s.start) }, timeMinute(s.start)), ` ${t('duration')} ${duration(s.end - s.start)}${s.ongoing ? '+' : ''}`))),
      h('h3', { id: 'events-head' }, `${t('events')} / ${t('alerts')}${paren(String(listed.length))}`),
      h('ol', { class: 'events', id: 'events' }, ...listed.map((k) =>
        h('li', { class: `ev-${k.kind}` }, h('button', { class: 'link', onclick: () => seek(k.time) }, timeSecond(k.time)), ` ${k.label}`))),
    );

    exportBox.replaceChildren();
    if (can(me.role, 'export') && tr.n) {
      const q = new URLSearchParams({ from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() });
      exportBox.append(h('span', {}, `${t('export')}: `), ...['geojson', 'gpx', 'kml', 'csv'].map((fmt) =>
        h('button', {
          class: 'export', 'data-format': fmt,
          onclick: () => download(`/vehicles/${encodeURIComponent(vehicleId)}/track?${q}&format=${fmt}`, exportName(vehicleName, range, fmt))
            .catch((e) => (msg.textContent = `${t('failed')}: ${(e as Error).message}`)),
        }, fmt.toUpperCase())));
    }
    maxV = 60;
    for (let i = 0; i < tr.n; i++) if (tr.speed[i] > maxV) maxV = tr.speed[i];
    chartBg = null;
  }

  function fit(): void {
    if (!map || !tr.n) return;
    let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
    for (let i = 0; i < tr.n; i++) {
      if (tr.lon[i] < w) w = tr.lon[i];
      if (tr.lon[i] > e) e = tr.lon[i];
      if (tr.lat[i] < s) s = tr.lat[i];
      if (tr.lat[i] > n) n = tr.lat[i];
    }
    map.fitBounds([[w, s], [e, n]], { padding: 50, maxZoom: 14, duration: 0 });
  }

  /** Index of the last fix at or before tt (-1 before the first). */
  function indexAt(tt: number): number {
    let lo = 0;
    let hi = tr.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tr.t[mid] <= tt) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** Position at time tt: linear between the fixes around it. */
  function at(tt: number): { lon: number; lat: number; speed: number } | null {
    if (!tr.n) return null;
    const i = indexAt(tt);
    if (i < 0) return { lon: tr.lon[0], lat: tr.lat[0], speed: tr.speed[0] };
    if (i >= tr.n - 1) return { lon: tr.lon[tr.n - 1], lat: tr.lat[tr.n - 1], speed: tr.speed[tr.n - 1] };
    const u = (tt - tr.t[i]) / (tr.t[i + 1] - tr.t[i] || 1);
    return { lon: tr.lon[i] + (tr.lon[i + 1] - tr.lon[i]) * u, lat: tr.lat[i] + (tr.lat[i + 1] - tr.lat[i]) * u, speed: tr.speed[i] + (tr.speed[i + 1] - tr.speed[i]) * u };
  }

  /** The seal's state at time tt: the last change at or before the fix there. */
  function sealAt(tt: number): SealChange | null {
    const i = indexAt(tt);
    let sc: SealChange | null = null;
    for (const c of seals) {
      if (c.i > i) break;
      sc = c;
    }
    return sc;
  }

  function seek(tt: number): void {
    cur = Math.max(view.from, Math.min(view.to, tt));
    slider.value = String(cur);
    clockEl.textContent = time(cur);
    const p = at(cur);
    speedEl.textContent = p ? `${Math.round(p.speed)} ${t('kmh')}` : '';
    const sc = sealAt(cur);
    sealEl.textContent = sc ? `${t('seal')} ${fmtSeal(sc.state, sc.battery_low)}` : '';
    sealEl.className = `cursor-seal${sc && sc.state !== 'locked' ? ' open' : ''}`;
    const dt = deviceTimes.get(indexAt(cur));
    deviceTimeEl.textContent = dt ? `${t('ev_claimed_time')} ${time(Date.parse(dt))}` : '';
    // The map and the chart follow at most once per frame, however fast the slider is dragged.
    if (!seekRaf) {
      seekRaf = requestAnimationFrame(() => {
        seekRaf = 0;
        const s0 = performance.now();
        const q = at(cur);
        if (map && q) {
          (map.getSource('cursor') as GeoJSONSource).setData({ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [q.lon, q.lat] } });
          if (followCb.checked && playing) map.jumpTo({ center: [q.lon, q.lat] });
        }
        drawChart();
        const ms = performance.now() - s0;
        perf.seeks++;
        perf.seekMs += ms;
        perf.seekMaxMs = Math.max(perf.seekMaxMs, ms);
      });
    }
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
    if (!tr.n) return;
    // The next fix strictly after (or before) the cursor.
    let i = indexAt(cur);
    if (dir > 0) i++;
    else if (i >= 0 && tr.t[i] === cur) i--;
    if (i >= 0 && i < tr.n) seek(tr.t[i]);
  }

  function frame(ts: number): void {
    if (!playing) return;
    const dt = lastFrame ? ts - lastFrame : 0;
    lastFrame = ts;
    const next = skipCb.checked ? skipIdle(cur + dt * Number(speedSel.value)) : cur + dt * Number(speedSel.value);
    seek(next);
    if (next >= view.to || (tr.n && cur >= tr.t[tr.n - 1])) {
      pause();
      return;
    }
    raf = requestAnimationFrame(frame);
  }

  /** With 跳过停留: a time inside a stop, or in a gap of fixes longer than SKIP_GAP_MS, becomes the moment it ends. */
  function skipIdle(tt: number): number {
    for (const s of stops) if (tt >= s.start && tt < s.end) return s.end;
    const i = indexAt(tt);
    if (i >= 0 && i + 1 < tr.n && tr.t[i + 1] - tr.t[i] > SKIP_GAP_MS) return tr.t[i + 1];
    return tt;
  }

  function togglePlay(): void {
    if (playing) return pause();
    if (!tr.n) return;
    if (cur >= tr.t[tr.n - 1]) seek(tr.t[0]);
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

  /**
   * The speed chart is drawn once per load and size into an offscreen canvas, from the track
   * reduced to one min/max pair per pixel column; a seek only copies it and draws the cursor.
   */
  function drawChart(): void {
    const w = chart.clientWidth || 600;
    if (chart.width !== w * devicePixelRatio) {
      chart.width = w * devicePixelRatio;
      chartBg = null;
    }
    const hgt = chart.height;
    const W = chart.width;
    const ctx = chart.getContext('2d');
    if (!ctx) return;
    const span = view.to - view.from || 1;
    const x = (tt: number) => ((tt - view.from) / span) * W;
    if (!chartBg) chartBg = renderChartBg(W, hgt, x);
    ctx.clearRect(0, 0, W, hgt);
    ctx.drawImage(chartBg, 0, 0);
    ctx.strokeStyle = '#111';
    ctx.lineWidth = 1.5 * devicePixelRatio;
    ctx.beginPath();
    ctx.moveTo(x(cur), 0);
    ctx.lineTo(x(cur), hgt);
    ctx.stroke();
  }

  function renderChartBg(W: number, hgt: number, x: (tt: number) => number): HTMLCanvasElement {
    const bg = document.createElement('canvas');
    bg.width = W;
    bg.height = hgt;
    const ctx = bg.getContext('2d')!;
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
    // One column per pixel: the lowest and highest speed in it, coloured by the highest. Short
    // tracks (fewer fixes than pixels) are drawn fix to fix as before.
    ctx.lineWidth = 1.5 * devicePixelRatio;
    if (tr.n <= W) {
      for (let i = 1; i < tr.n; i++) {
        if (tr.t[i] - tr.t[i - 1] > SKIP_GAP_MS) continue; // no fixes, no speed to draw
        ctx.strokeStyle = speedColor(tr.speed[i]);
        ctx.beginPath();
        ctx.moveTo(x(tr.t[i - 1]), y(tr.speed[i - 1]));
        ctx.lineTo(x(tr.t[i]), y(tr.speed[i]));
        ctx.stroke();
      }
      return bg;
    }
    const lo = new Float32Array(W).fill(Infinity);
    const hi = new Float32Array(W).fill(-Infinity);
    for (let i = 0; i < tr.n; i++) {
      const c = Math.floor(x(tr.t[i]));
      if (c < 0 || c >= W) continue;
      const v = tr.speed[i];
      if (v < lo[c]) lo[c] = v;
      if (v > hi[c]) hi[c] = v;
    }
    ctx.lineWidth = 1;
    for (let c = 0; c < W; c++) {
      if (hi[c] < lo[c]) continue;
      ctx.strokeStyle = speedColor(hi[c]);
      ctx.beginPath();
      ctx.moveTo(c + 0.5, y(lo[c]) + 1);
      ctx.lineTo(c + 0.5, y(hi[c]));
      ctx.stroke();
    }
    return bg;
  }

  slider.addEventListener('input', () => seek(Number(slider.value)));
  chart.addEventListener('click', (e) => {
    const r = chart.getBoundingClientRect();
    seek(view.from + ((e.clientX - r.left) / r.width) * (view.to - view.from));
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
    cancelAnimationFrame(seekRaf);
    document.removeEventListener('keydown', onKey);
    map?.remove();
  };
}

/** An export's file name: the plate and the period in China time, as the server names it (蒙B00001_20261101-0800_20261101-0900.csv). */
function exportName(vehicle: string, r: { from: number; to: number }, fmt: string): string {
  const stamp = (ms: number) => timeMinute(ms).replace(/-/g, '').replace(' ', '-').replace(':', '');
  return `${vehicle.replace(/[\\/:*?"<>|\s]/g, '_')}_${stamp(r.from)}_${stamp(r.to)}.${fmt}`;
}

const emptyTrack = (): Track => ({ n: 0, t: new Float64Array(0), lon: new Float64Array(0), lat: new Float64Array(0), speed: new Float32Array(0), invalid: [] });

// ~5 m at the district's latitude: closer points add nothing the eye can see at any zoom the
// replay allows (max 14 when fitting, ~10 m per pixel); MapLibre simplifies further per zoom.
const KEEP_DEG = 5e-5;

/**
 * The track as few lines as possible: one LineString per run of fixes in the same speed colour,
 * points closer than KEEP_DEG to the last kept one dropped (a parked truck reporting every 10 s
 * all night is one point). Invalid fixes are left out of the line.
 */
function trackRuns(tr: Track): { features: GeoJSON.Feature[]; vertices: number } {
  const bad = new Set(tr.invalid);
  const features: GeoJSON.Feature[] = [];
  let vertices = 0;
  let run: number[][] = [];
  let color = '';
  let lx = NaN;
  let ly = NaN;
  const close = () => {
    if (run.length > 1) {
      features.push({ type: 'Feature', properties: { color }, geometry: { type: 'LineString', coordinates: run } });
      vertices += run.length;
    }
  };
  let prev = -1;
  for (let i = 0; i < tr.n; i++) {
    if (bad.has(i)) continue;
    const x = tr.lon[i];
    const y = tr.lat[i];
    // A segment takes the colour of its mean speed, as before.
    const c = i + 1 < tr.n ? speedColor((tr.speed[i] + tr.speed[i + 1]) / 2) : color;
    // No fixes for a while: where the vehicle went is unknown, drawn as a dashed grey straight line, not as driven.
    if (prev >= 0 && tr.t[i] - tr.t[prev] > SKIP_GAP_MS) {
      const p: number[] = [tr.lon[prev], tr.lat[prev]];
      const last = run[run.length - 1];
      if (!last || last[0] !== p[0] || last[1] !== p[1]) run.push(p);
      close();
      features.push({ type: 'Feature', properties: { gap: true }, geometry: { type: 'LineString', coordinates: [p, [x, y]] } });
      run = [[x, y]];
      color = c;
      lx = x;
      ly = y;
      prev = i;
      continue;
    }
    prev = i;
    if (c !== color) {
      if (run.length) {
        run.push([x, y]);
        close();
      }
      run = [[x, y]];
      color = c;
      lx = x;
      ly = y;
      continue;
    }
    if (Math.abs(x - lx) < KEEP_DEG && Math.abs(y - ly) < KEEP_DEG && i + 1 < tr.n) continue;
    run.push([x, y]);
    lx = x;
    ly = y;
  }
  close();
  return { features, vertices };
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
