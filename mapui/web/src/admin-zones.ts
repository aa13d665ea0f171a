// Zones: the list by Chinese name and kind, a map to draw a new polygon or move an existing
// one's vertices, GeoJSON import (POST /zones/import, all or nothing) and export.
//
// The vertex editor is our own ~100 lines on MapLibre's events: neither @mapbox/mapbox-gl-draw
// (written for Mapbox GL's classes) nor terra-draw is in the offline npm cache the build uses,
// and one ring's vertices need only click, drag and right-click.
import * as maplibregl from 'maplibre-gl';
import type { GeoJSONSource } from 'maplibre-gl';
import { api, getZones, type Me, type ZoneCollection } from './api';
import { at, emptyRow, errorLine, field, select, table } from './admin-text';
import { h } from './dom';
import { colon, timeMinute, zoneKindName } from './format';
import { fmtTime } from './i18n';
import { createMap, empty } from './map';

type LonLat = [number, number];
type ZoneFeature = ZoneCollection['features'][number];

/** The server's request body limit (Config.MaxBodyBytes): a bigger file is refused before it is read. */
export const MAX_IMPORT_BYTES = 8 << 20;
const AREA_KINDS = ['port', 'control_zone', 'yard', 'service_area', 'restricted'];

interface Editing {
  feature: ZoneFeature | null; // null: a new zone
  ring: LonLat[]; // without the closing vertex
}

export function mountZones(root: HTMLElement, _me: Me): () => void {
  const msg = errorLine();
  const list = table('admin-zones', ['zone_name', 'zone_kind', 'zone_updated', '']);
  const mapEl = h('div', { class: 'admin-map', id: 'zone-map' });
  const hint = h('p', { class: 'hint', id: 'zone-hint' });
  const zid = h('input', { name: 'zone_id', maxlength: '64', placeholder: 'yard-new-1' });
  const zname = h('input', { name: 'zone_name', maxlength: '100' });
  const zkind = select('zone_kind', AREA_KINDS.map((k) => [k, zoneKindName(k)]), 'yard');
  const count = h('span', { id: 'vertex-count' });
  const editor = h('form', { class: 'admin-form zone-editor', id: 'zone-editor', hidden: true, onsubmit: (e: SubmitEvent) => {
    e.preventDefault();
    save();
  } }, hint, field(at('zone_id'), zid), field(at('zone_name'), zname), field(at('zone_kind'), zkind), count,
  h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, at('save')), h('button', { type: 'button', onclick: () => stopEditing() }, at('cancel'))));
  const file = h('input', { type: 'file', accept: '.geojson,.json,application/geo+json,application/json', id: 'zone-import', hidden: true });
  const toolbar = h('div', { class: 'admin-toolbar' },
    h('button', { id: 'zone-draw', class: 'primary', onclick: () => startEditing(null) }, at('draw_zone')),
    h('button', { id: 'zone-import-button', onclick: () => file.click() }, at('import_geojson')), file,
    h('button', { id: 'zone-export', onclick: () => exportZones() }, at('export_geojson')));
  root.append(msg.el, toolbar, h('div', { class: 'admin-split zones' }, h('div', { class: 'admin-lists' }, list.el, editor), mapEl));

  let zones: ZoneCollection = { type: 'FeatureCollection', features: [] };
  let map: maplibregl.Map | null = null;
  let editing: Editing | null = null;
  let dragging = -1;
  let closed = false;

  const shape = (): GeoJSON.FeatureCollection => {
    if (!editing) return empty();
    const r = editing.ring;
    const features: GeoJSON.Feature[] = r.map((c, i) => ({ type: 'Feature', properties: { i }, geometry: { type: 'Point', coordinates: c } }));
    if (r.length >= 3) features.unshift({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[...r, r[0]]] } });
    else if (r.length === 2) features.unshift({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: r } });
    return { type: 'FeatureCollection', features };
  };
  const redraw = () => {
    (map?.getSource('edit') as GeoJSONSource | undefined)?.setData(shape());
    count.textContent = editing ? `${at('vertices')}${colon()}${editing.ring.length}${editing.ring.length < 3 ? ` · ${at('need_3')}` : ''}` : '';
    root.dataset.vertices = String(editing?.ring.length ?? 0);
  };

  function startEditing(f: ZoneFeature | null): void {
    msg.clear();
    const ring = f?.geometry.type === 'Polygon' ? (f.geometry.coordinates[0].slice(0, -1) as LonLat[]) : [];
    editing = { feature: f, ring: ring.map((c) => [c[0], c[1]]) };
    editor.hidden = false;
    zid.value = f?.properties.id ?? '';
    zid.disabled = !!f;
    zname.value = f?.properties.name ?? '';
    zkind.value = f?.properties.kind ?? 'yard';
    hint.textContent = at(f ? 'edit_hint' : 'draw_hint');
    root.dataset.editing = f ? f.properties.id : 'new';
    if (f) fitEditing();
    for (const tr of list.body.querySelectorAll('tr')) tr.classList.toggle('editing', tr.getAttribute('data-id') === f?.properties.id);
    redraw();
  }

  /** Shows the whole zone being edited: on opening it, and when the screen's size changes. */
  function fitEditing(): void {
    if (map && editing && editing.ring.length >= 3) map.fitBounds(bounds(editing.ring), { padding: 120, maxZoom: 12, duration: 0 });
  }

  function stopEditing(): void {
    editing = null;
    editor.hidden = true;
    delete root.dataset.editing;
    redraw();
  }

  async function save(): Promise<void> {
    if (!editing) return;
    if (editing.ring.length < 3) return msg.show(new Error(at('need_3')));
    const geometry: GeoJSON.Polygon = { type: 'Polygon', coordinates: [[...editing.ring, editing.ring[0]]] };
    const f = editing.feature;
    const properties = { ...(f?.properties ?? {}), id: f?.properties.id ?? zid.value.trim(), name: zname.value.trim(), kind: zkind.value };
    const body = JSON.stringify({ type: 'Feature', properties, geometry });
    try {
      if (f) await api(`/zones/${encodeURIComponent(properties.id)}`, { method: 'PUT', body });
      else await api('/zones', { method: 'POST', body });
      stopEditing();
      msg.ok(`${at('saved')} · ${properties.name || properties.id}`);
      await load();
    } catch (e) {
      msg.show(e);
    }
  }

  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    file.value = '';
    if (!f) return;
    msg.clear();
    if (f.size > MAX_IMPORT_BYTES) return msg.show(new Error(`${at('import_too_big')}: ${(f.size / 1048576).toFixed(1)} MB`));
    const text = await f.text();
    try {
      const fc = JSON.parse(text);
      if (fc?.type !== 'FeatureCollection' || !Array.isArray(fc.features)) throw new Error();
    } catch {
      return msg.show(new Error(`${at('import_not_json')}: ${f.name}`));
    }
    try {
      const r = await api<ZoneCollection>('/zones/import', { method: 'POST', body: text });
      msg.ok(`${at('imported')} · ${r.features.map((z) => z.properties.name || z.properties.id).join('、')}`);
      await load();
    } catch (e) {
      msg.show(e);
    }
  });

  function exportZones(): void {
    const blob = new Blob([JSON.stringify(zones, null, 2)], { type: 'application/geo+json' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `zones-${fmtTime(new Date()).slice(0, 10)}.geojson` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  function renderList(): void {
    list.body.replaceChildren(...zones.features.map((f) => h('tr', { 'data-id': f.properties.id },
      h('td', { class: 'name' }, f.properties.name || f.properties.id), h('td', {}, zoneKindName(f.properties.kind)),
      h('td', {}, f.properties.updated_at ? timeMinute(f.properties.updated_at as string) : '—'),
      h('td', { class: 'actions' }, f.geometry?.type === 'Polygon' && f.properties.kind !== 'border'
        ? h('button', { class: 'edit', onclick: () => startEditing(f) }, at('edit_vertices')) : null))));
    if (!zones.features.length) list.body.append(emptyRow(4));
  }

  async function load(): Promise<void> {
    zones = await getZones();
    if (closed) return;
    zones.features.sort((a, b) => (a.properties.kind ?? '').localeCompare(b.properties.kind ?? '') || (a.properties.name ?? '').localeCompare(b.properties.name ?? '', 'zh'));
    renderList();
    (map?.getSource('zones') as GeoJSONSource | undefined)?.setData(zones);
    root.dataset.zones = String(zones.features.length);
  }

  (async () => {
    const m = await createMap(mapEl, 'light', { center: [108.5, 42.5], zoom: 6 });
    if (closed) return m.map.remove();
    map = m.map;
    map.addSource('edit', { type: 'geojson', data: empty() });
    map.addLayer({ id: 'edit-fill', type: 'fill', source: 'edit', filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#ff9500', 'fill-opacity': 0.25 } });
    map.addLayer({ id: 'edit-line', type: 'line', source: 'edit', filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': '#ff9500', 'line-width': 2 } });
    map.addLayer({ id: 'edit-vertex', type: 'circle', source: 'edit', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-radius': 7, 'circle-color': '#fff', 'circle-stroke-color': '#ff9500', 'circle-stroke-width': 3 } });
    wireEditor(map);
    map.on('resize', fitEditing);
    await load();
    const all = zones.features.flatMap((f) => (f.geometry?.type === 'Polygon' ? (f.geometry.coordinates[0] as LonLat[]) : f.geometry?.type === 'LineString' ? (f.geometry.coordinates as LonLat[]) : []));
    if (all.length) map.fitBounds(bounds(all), { padding: 40, duration: 0 });
    root.dataset.ready = 'true';
  })().catch((e) => msg.show(e));

  function wireEditor(m: maplibregl.Map): void {
    const vertexAt = (e: maplibregl.MapMouseEvent): number => {
      const hit = m.queryRenderedFeatures([[e.point.x - 8, e.point.y - 8], [e.point.x + 8, e.point.y + 8]], { layers: ['edit-vertex'] });
      return hit.length ? Number(hit[0].properties.i) : -1;
    };
    m.on('mousedown', (e) => {
      if (!editing) return;
      const i = vertexAt(e);
      if (i < 0) return;
      e.preventDefault();
      dragging = i;
      m.dragPan.disable();
    });
    m.on('mousemove', (e) => {
      if (!editing) return;
      m.getCanvas().style.cursor = dragging >= 0 || vertexAt(e) >= 0 ? 'move' : 'crosshair';
      if (dragging < 0) return;
      editing.ring[dragging] = [e.lngLat.lng, e.lngLat.lat];
      redraw();
    });
    m.on('mouseup', () => {
      if (dragging < 0) return;
      dragging = -1;
      m.dragPan.enable();
    });
    m.on('click', (e) => {
      if (!editing || vertexAt(e) >= 0) return;
      const p: LonLat = [e.lngLat.lng, e.lngLat.lat];
      editing.ring.splice(insertionIndex(editing.ring, p), 0, p);
      redraw();
    });
    m.on('contextmenu', (e) => {
      if (!editing) return;
      const i = vertexAt(e);
      if (i < 0) return;
      editing.ring.splice(i, 1);
      redraw();
    });
  }

  return () => {
    closed = true;
    map?.remove();
  };
}

/** Where p goes in ring: after the last vertex while the ring is being drawn, else into the edge it lengthens least. */
export function insertionIndex(ring: LonLat[], p: LonLat): number {
  if (ring.length < 3) return ring.length;
  const d = (a: LonLat, b: LonLat) => Math.hypot(a[0] - b[0], a[1] - b[1]);
  let best = ring.length;
  let cost = Infinity;
  for (let i = 0; i < ring.length; i++) {
    const a = ring[i];
    const b = ring[(i + 1) % ring.length];
    const c = d(a, p) + d(p, b) - d(a, b);
    if (c < cost) [cost, best] = [c, i + 1];
  }
  return best;
}

function bounds(ring: LonLat[]): [LonLat, LonLat] {
  const xs = ring.map((c) => c[0]);
  const ys = ring.map((c) => c[1]);
  return [[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]];
}
