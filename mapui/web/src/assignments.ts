// The tablet's assignments (派工): shown first, before the alerts, while the patrol has any. Each
// is a targeted vehicle to inspect: accept, arrive, photograph, report found or nothing found.
// "Route" draws the way from the tablet to the vehicle's last position along the corridors (route.ts),
// the straight line where no known road helps, with its distance and time.
import type { GeoJSONSource, Map as MapLibre } from 'maplibre-gl';
import { can, getPositions, getZones, type Me } from './api';
import { h } from './dom';
import { distance, duration, fill, loadDirectory, timeShort } from './format';
import { type LonLat } from './geo';
import { t } from './i18n';
import { roadLines, route } from './route';
import { dismissNotices, firedWhere, listAssignments, onNotice, orderPlate, zoneOrDash, photoURL, reportResult, sourceName, stepAssignment, uploadPhoto, type Assignment } from './targeting';

const CATEGORIES = ['undeclared_goods', 'prohibited_items', 'misdeclared_grade_or_weight'];

// The lines a route follows, read once: the corridors, and the base map's roads if it has any.
let roadsOnce: Promise<LonLat[][]> | null = null;
function roads(): Promise<LonLat[][]> {
  roadsOnce ??= Promise.all([
    getZones().catch(() => null),
    fetch(new URL('data/basemap.json', document.baseURI)).then((r) => (r.ok ? r.json() : null)).catch(() => null),
  ]).then(([z, b]) => roadLines(z as GeoJSON.FeatureCollection | null, b));
  return roadsOnce;
}

export function mountAssignments(root: HTMLElement, me: Me, map: () => MapLibre | null, openAlert?: (id: number) => void): () => void {
  const panel = h('section', { class: 'assignments', id: 'assignments', hidden: true });
  root.prepend(panel);
  let list: Assignment[] = [];
  let closed = false;
  const photos = new Map<string, string[]>(); // order → object URLs shown

  async function refresh(): Promise<void> {
    await loadDirectory().catch(() => {});
    const got = await listAssignments();
    if (closed) return;
    list = got;
    render();
  }

  function render(): void {
    panel.hidden = list.length === 0;
    panel.replaceChildren(h('h2', {}, `${t('my_assignments')} (${list.length})`), ...list.map(card));
  }

  function card(a: Assignment): HTMLElement {
    const o = a.order;
    const msg = h('p', { class: 'msg', role: 'status' });
    const run = async (f: () => Promise<unknown>) => {
      msg.textContent = '…';
      try {
        await f();
        msg.textContent = t('done');
        await refresh();
      } catch (x) {
        msg.textContent = `${t('failed')}: ${(x as Error).message}`;
      }
    };
    const steps: HTMLElement[] = [];
    if (can(me.role, 'inspect') && a.status === 'assigned') steps.push(h('button', { class: 'big primary accept', onclick: () => run(async () => {
      await stepAssignment(a.id, 'accept');
      dismissNotices(o.id);
    }) }, t('accept')));
    if (can(me.role, 'inspect') && a.status === 'accepted') steps.push(h('button', { class: 'big primary arrive', onclick: () => run(() => stepAssignment(a.id, 'arrive')) }, t('arrive')));
    if (can(me.role, 'inspect') && (a.status === 'accepted' || a.status === 'arrived')) steps.push(reportForm(a, run));
    return h('article', { class: `assignment st-${a.status}`, 'data-assignment': a.id, 'data-order': o.id },
      h('div', { class: 'plate' }, orderPlate(o)),
      h('div', { class: 'what' }, `${t(`action_${o.action}`)} · ${sourceName(o.source)}`),
      h('div', { class: 'where' }, firedWhere(o) || zoneOrDash(o.port_id)),
      o.note ? h('div', { class: 'note' }, o.note) : null,
      h('div', { class: 'state' }, `${t(`astatus_${a.status}`)} · ${t('assigned_by')} ${a.assigned_by} · ${timeShort(a.assigned_at)}`,
        a.escalation ? ` · ${t(`escalated_${a.escalation}`)}` : ''),
      o.alert_id && openAlert ? h('button', { class: 'big open-alert', onclick: () => openAlert(o.alert_id!) }, t('open_alert')) : null,
      o.vehicle_id ? h('button', { class: 'big route', onclick: () => void showRoute(o.vehicle_id!, msg) }, t('route')) : null,
      ...steps,
      msg);
  }

  function reportForm(a: Assignment, run: (f: () => Promise<unknown>) => Promise<void>): HTMLElement {
    const o = a.order;
    const found = h('select', { class: 'found' }, h('option', { value: 'no' }, t('result_nothing')), h('option', { value: 'yes' }, t('result_found')));
    const category = h('select', { class: 'category' }, ...CATEGORIES.map((c) => h('option', { value: c }, t(`cat_${c}`))));
    const note = h('textarea', { class: 'result-note', rows: 2, placeholder: t('note') });
    const file = h('input', { class: 'photo-input', type: 'file', accept: 'image/jpeg,image/png,image/webp', capture: 'environment' });
    const thumbs = h('div', { class: 'thumbs' });
    const show = async (sha: string) => {
      const url = await photoURL(o.id, sha);
      const urls = photos.get(o.id) ?? [];
      urls.push(url);
      photos.set(o.id, urls);
      thumbs.append(h('img', { src: url, alt: t('photo'), 'data-sha': sha }));
    };
    for (const sha of o.photos ?? []) void show(sha).catch(() => {});
    file.addEventListener('change', () => {
      const f = file.files?.[0];
      if (f) void run(async () => show((await uploadPhoto(o.id, f)).sha256));
    });
    const syncCategory = () => (category.hidden = found.value !== 'yes');
    found.addEventListener('change', syncCategory);
    syncCategory();
    return h('div', { class: 'report' },
      h('label', {}, t('target_result'), found), category, note,
      h('label', { class: 'photo' }, t('add_photo'), file), thumbs,
      h('button', { class: 'big primary submit-result', onclick: () => run(() => reportResult(o.id, {
        found: found.value === 'yes', category: found.value === 'yes' ? category.value : 'none', note: note.value.trim(),
      })) }, t('submit_result')));
  }

  async function showRoute(vehicleId: string, msg: HTMLElement): Promise<void> {
    const m = map();
    const f = (await getPositions()).find((p) => p.vehicle_id === vehicleId);
    if (!m || !f) {
      msg.textContent = t('no_position');
      return;
    }
    const to: LonLat = [f.lon, f.lat];
    const [from, lines] = await Promise.all([
      new Promise<LonLat | null>((resolve) => {
        if (!('geolocation' in navigator)) return resolve(null);
        navigator.geolocation.getCurrentPosition((p) => resolve([p.coords.longitude, p.coords.latitude]), () => resolve(null), { maximumAge: 60_000, timeout: 5000 });
      }),
      roads(),
    ]);
    const r = from ? route(lines, from, to) : null;
    // The way, and the vehicle at its end.
    const line: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [
      { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: to } },
      ...(r ? [{ type: 'Feature' as const, properties: { straight: r.straight }, geometry: { type: 'LineString' as const, coordinates: r.coords } }] : []),
    ] };
    const src = m.getSource('assignment-route') as GeoJSONSource | undefined;
    if (src) src.setData(line);
    else {
      m.addSource('assignment-route', { type: 'geojson', data: line });
      // Along known roads solid; the straight line, a guess, dashed.
      m.addLayer({ id: 'assignment-route', type: 'line', source: 'assignment-route', filter: ['==', ['get', 'straight'], false],
        layout: { 'line-join': 'round', 'line-cap': 'round' }, paint: { 'line-color': '#ffcc00', 'line-width': 6 } });
      m.addLayer({ id: 'assignment-route-straight', type: 'line', source: 'assignment-route', filter: ['==', ['get', 'straight'], true],
        paint: { 'line-color': '#ffcc00', 'line-width': 5, 'line-dasharray': [2, 1] } });
      m.addLayer({ id: 'assignment-target', type: 'circle', source: 'assignment-route', filter: ['==', '$type', 'Point'], paint: { 'circle-color': '#ffcc00', 'circle-radius': 9 } });
    }
    if (r) {
      const xs = r.coords.map((c) => c[0]);
      const ys = r.coords.map((c) => c[1]);
      // Clear of the legend at the map's foot.
      m.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: { top: 80, bottom: 150, left: 60, right: 60 }, maxZoom: 14 });
    } else m.easeTo({ center: to, zoom: Math.max(m.getZoom(), 12) });
    const way = r ? ` · ${fill(r.straight ? 'route_straight' : 'route_road', { dist: distance(r.metres), eta: duration(r.minutes * 60_000) })}` : '';
    msg.textContent = `${t('last_position')} ${timeShort(f.time)}${way}`;
    msg.dataset.route = r ? (r.straight ? 'straight' : 'road') : 'none';
  }

  const off = onNotice((n) => {
    if (['assigned', 'closed', 'escalated', 'cancelled'].includes(n.kind)) void refresh().catch(() => {});
  });
  refresh().catch((x) => console.warn('assignments', x));
  return () => {
    closed = true;
    off();
    for (const urls of photos.values()) for (const u of urls) URL.revokeObjectURL(u);
    panel.remove();
  };
}
