// Zones: the list by Chinese name and kind, a map to draw a new polygon or move an existing
// one's vertices, GeoJSON import (POST /zones/import, all or nothing) and export.
//
// The vertex editor is our own ~150 lines on MapLibre's events: neither @mapbox/mapbox-gl-draw
// (written for Mapbox GL's classes) nor terra-draw is in the offline npm cache the build uses.
// It edits every ring of a Polygon or MultiPolygon: all rings drawn, any vertex dragged or
// removed (right click), new vertices going into the chosen ring; holes and parts added and removed.
import * as maplibregl from 'maplibre-gl';
import type { GeoJSONSource } from 'maplibre-gl';
import { api, getZones, type Me, type ZoneCollection } from './api';
import { at, emptyRow, errorLine, field, select, table } from './admin-text';
import { h } from './dom';
import { colon, paren, timeMinute, zoneKindName } from './format';
import { createMap, empty } from './map';

type LonLat = [number, number];
type ZoneFeature = ZoneCollection['features'][number];

/** The server's request body limit (Config.MaxBodyBytes): a bigger file is refused before it is read. */
export const MAX_IMPORT_BYTES = 8 << 20;
const AREA_KINDS = ['port', 'control_zone', 'yard', 'service_area', 'restricted'];

interface Editing {
  feature: ZoneFeature | null; // null: a new zone
  polys: LonLat[][][]; // polygons, their rings (the outer first, then holes), without the closing vertex
  p: number; // the chosen ring, which clicks add vertices to: polys[p][r]
  r: number;
}

/** The rings of a zone's Polygon or MultiPolygon, open (no closing vertex). */
function ringsOf(f: ZoneFeature): LonLat[][][] {
  const g = f.geometry;
  const polys = (g?.type === 'Polygon' ? [g.coordinates] : g?.type === 'MultiPolygon' ? g.coordinates : []) as LonLat[][][];
  return polys.map((rings) => rings.map((ring) => ring.slice(0, -1).map((c): LonLat => [c[0], c[1]])));
}

const closedRing = (ring: LonLat[]): LonLat[] => [...ring, ring[0]];
const isArea = (f: ZoneFeature) => (f.geometry?.type === 'Polygon' || f.geometry?.type === 'MultiPolygon') && f.properties.kind !== 'border';

export function mountZones(root: HTMLElement, _me: Me): () => void {
  const msg = errorLine();
  const list = table('admin-zones', ['zone_name', 'zone_kind', 'zone_updated', '']);
  const mapEl = h('div', { class: 'admin-map', id: 'zone-map' });
  const hint = h('p', { class: 'hint', id: 'zone-hint' });
  const zid = h('input', { name: 'zone_id', maxlength: '64', placeholder: 'yard-new-1' });
  const zname = h('input', { name: 'zone_name', maxlength: '100' });
  const zkind = select('zone_kind', AREA_KINDS.map((k) => [k, zoneKindName(k)]), 'yard');
  const count = h('span', { id: 'vertex-count' });
  const ringSel = h('select', { name: 'ring', id: 'zone-ring' });
  ringSel.addEventListener('change', () => {
    if (!editing) return;
    [editing.p, editing.r] = ringSel.value.split('.').map(Number);
    redraw();
  });
  const ringButtons = h('div', { class: 'buttons rings' },
    h('button', { type: 'button', id: 'ring-add-hole', onclick: () => addRing('hole') }, at('add_hole')),
    h('button', { type: 'button', id: 'ring-add-part', onclick: () => addRing('part') }, at('add_part')),
    h('button', { type: 'button', id: 'ring-remove', onclick: () => removeRing() }, at('remove_ring')));
  const editor = h('form', { class: 'admin-form zone-editor', id: 'zone-editor', hidden: true, onsubmit: (e: SubmitEvent) => {
    e.preventDefault();
    save();
  } }, hint, field(at('zone_id'), zid), field(at('zone_name'), zname), field(at('zone_kind'), zkind), field(at('ring'), ringSel), ringButtons, count,
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
  let dragging: { p: number; r: number; i: number } | null = null;
  let closed = false;

  const ringName = (p: number, r: number): string =>
    `${editing && editing.polys.length > 1 ? `${at('part')} ${p + 1} · ` : ''}${r === 0 ? at('outer_ring') : `${at('hole')} ${r}`}`;
  const active = (): LonLat[] => (editing ? editing.polys[editing.p][editing.r] : []);

  const shape = (): GeoJSON.FeatureCollection => {
    if (!editing) return empty();
    const e = editing;
    const features: GeoJSON.Feature[] = [];
    // The area: each part whose outer ring is a ring yet, with the holes that are.
    const area = e.polys.filter((rings) => rings[0].length >= 3).map((rings) => rings.filter((ring) => ring.length >= 3).map(closedRing));
    if (area.length) features.push({ type: 'Feature', properties: { role: 'area' }, geometry: { type: 'MultiPolygon', coordinates: area } });
    e.polys.forEach((rings, p) => rings.forEach((ring, r) => {
      const on = p === e.p && r === e.r;
      if (ring.length >= 2) features.push({ type: 'Feature', properties: { role: 'ring', active: on, hole: r > 0 }, geometry: { type: 'LineString', coordinates: ring.length >= 3 ? closedRing(ring) : ring } });
      ring.forEach((c, i) => features.push({ type: 'Feature', properties: { role: 'vertex', p, r, i, active: on }, geometry: { type: 'Point', coordinates: c } }));
    }));
    return { type: 'FeatureCollection', features };
  };
  const redraw = () => {
    (map?.getSource('edit') as GeoJSONSource | undefined)?.setData(shape());
    const rings = editing ? editing.polys.flatMap((rs, p) => rs.map((ring, r) => ({ p, r, n: ring.length }))) : [];
    ringSel.replaceChildren(...rings.map((x) => h('option', { value: `${x.p}.${x.r}` }, `${ringName(x.p, x.r)}${paren(String(x.n))}`)));
    if (editing) ringSel.value = `${editing.p}.${editing.r}`;
    const n = active().length;
    count.textContent = editing ? `${ringName(editing.p, editing.r)} · ${at('vertices')}${colon()}${n}${n < 3 ? ` · ${at('need_3')}` : ''}` : '';
    root.dataset.vertices = String(rings.reduce((k, x) => k + x.n, 0));
    root.dataset.rings = String(rings.length);
    root.dataset.parts = String(editing?.polys.length ?? 0);
  };

  /** A new empty ring, chosen: a hole in the chosen part, or a new part. */
  function addRing(what: 'hole' | 'part'): void {
    if (!editing) return;
    msg.clear();
    if (what === 'hole') {
      editing.polys[editing.p].push([]);
      editing.r = editing.polys[editing.p].length - 1;
    } else {
      editing.polys.push([[]]);
      [editing.p, editing.r] = [editing.polys.length - 1, 0];
    }
    redraw();
  }

  /** Removes the chosen ring: a hole, or a part with its holes; the zone keeps at least one part. */
  function removeRing(): void {
    if (!editing) return;
    msg.clear();
    if (editing.r > 0) editing.polys[editing.p].splice(editing.r, 1);
    else if (editing.polys.length > 1) editing.polys.splice(editing.p, 1);
    else return msg.show(new Error(at('keep_outer')));
    [editing.p, editing.r] = [Math.min(editing.p, editing.polys.length - 1), 0];
    redraw();
  }

  function startEditing(f: ZoneFeature | null): void {
    msg.clear();
    const polys = f ? ringsOf(f) : [];
    editing = { feature: f, polys: polys.length ? polys : [[[]]], p: 0, r: 0 };
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
    const all = editing?.polys.flat(2) ?? [];
    if (map && all.length >= 3) map.fitBounds(bounds(all), { padding: 120, maxZoom: 12, duration: 0 });
  }

  function stopEditing(): void {
    editing = null;
    editor.hidden = true;
    delete root.dataset.editing;
    redraw();
  }

  async function save(): Promise<void> {
    if (!editing) return;
    const e = editing;
    const short = e.polys.flatMap((rings, p) => rings.map((ring, r) => ({ p, r, n: ring.length }))).find((x) => x.n < 3);
    if (short) {
      [e.p, e.r] = [short.p, short.r];
      redraw();
      return msg.show(new Error(`${ringName(short.p, short.r)}${colon()}${at('need_3')}`));
    }
    const polys = e.polys.map((rings) => rings.map(closedRing));
    const geometry: GeoJSON.Polygon | GeoJSON.MultiPolygon = polys.length === 1 ? { type: 'Polygon', coordinates: polys[0] } : { type: 'MultiPolygon', coordinates: polys };
    const f = e.feature;
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
    const a = h('a', { href: URL.createObjectURL(blob), download: `zones-${timeMinute(new Date()).slice(0, 10)}.geojson` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  function renderList(): void {
    list.body.replaceChildren(...zones.features.map((f) => h('tr', { 'data-id': f.properties.id },
      h('td', { class: 'name' }, f.properties.name || f.properties.id), h('td', {}, zoneKindName(f.properties.kind)),
      h('td', {}, f.properties.updated_at ? timeMinute(f.properties.updated_at as string) : '—'),
      h('td', { class: 'actions' }, isArea(f) ? h('button', { class: 'edit', onclick: () => startEditing(f) }, at('edit_vertices')) : null))));
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
    map.addLayer({ id: 'edit-fill', type: 'fill', source: 'edit', filter: ['==', ['get', 'role'], 'area'], paint: { 'fill-color': '#ff9500', 'fill-opacity': 0.25 } });
    // The chosen ring darker and wider; holes dashed.
    map.addLayer({ id: 'edit-line', type: 'line', source: 'edit', filter: ['==', ['get', 'role'], 'ring'],
      paint: { 'line-color': ['case', ['get', 'active'], '#c2410c', '#ff9500'], 'line-width': ['case', ['get', 'active'], 3.5, 2], 'line-dasharray': ['case', ['get', 'hole'], ['literal', [2, 1.5]], ['literal', [1, 0]]] } });
    map.addLayer({ id: 'edit-vertex', type: 'circle', source: 'edit', filter: ['==', ['get', 'role'], 'vertex'],
      paint: { 'circle-radius': ['case', ['get', 'active'], 7, 5.5], 'circle-color': ['case', ['get', 'active'], '#fff', '#ffe8cc'], 'circle-stroke-color': ['case', ['get', 'active'], '#c2410c', '#ff9500'], 'circle-stroke-width': 3 } });
    wireEditor(map);
    map.on('resize', fitEditing);
    await load();
    const all = zones.features.flatMap((f) => (isArea(f) ? ringsOf(f).flat(2) : f.geometry?.type === 'LineString' ? (f.geometry.coordinates as LonLat[]) : []));
    if (all.length) map.fitBounds(bounds(all), { padding: 40, duration: 0 });
    root.dataset.ready = 'true';
  })().catch((e) => msg.show(e));

  function wireEditor(m: maplibregl.Map): void {
    // The vertex under the pointer, of the chosen ring before others where two overlap.
    const vertexAt = (e: maplibregl.MapMouseEvent): { p: number; r: number; i: number } | null => {
      const hit = m.queryRenderedFeatures([[e.point.x - 8, e.point.y - 8], [e.point.x + 8, e.point.y + 8]], { layers: ['edit-vertex'] });
      const v = hit.find((f) => f.properties.active) ?? hit[0];
      return v ? { p: Number(v.properties.p), r: Number(v.properties.r), i: Number(v.properties.i) } : null;
    };
    m.on('mousedown', (e) => {
      if (!editing) return;
      const v = vertexAt(e);
      if (!v) return;
      e.preventDefault();
      [editing.p, editing.r] = [v.p, v.r];
      // The right button removes the vertex: on its press, since MapLibre may swallow the
      // contextmenu event of a press it took for the start of a rotation.
      if (e.originalEvent.button === 2) {
        editing.polys[v.p][v.r].splice(v.i, 1);
        redraw();
        return;
      }
      dragging = v;
      m.dragPan.disable();
      redraw();
    });
    m.on('mousemove', (e) => {
      if (!editing) return;
      m.getCanvas().style.cursor = dragging || vertexAt(e) ? 'move' : 'crosshair';
      if (!dragging) return;
      editing.polys[dragging.p][dragging.r][dragging.i] = [e.lngLat.lng, e.lngLat.lat];
      redraw();
    });
    m.on('mouseup', () => {
      if (!dragging) return;
      dragging = null;
      m.dragPan.enable();
    });
    m.on('click', (e) => {
      if (!editing || vertexAt(e)) return;
      const p: LonLat = [e.lngLat.lng, e.lngLat.lat];
      const ring = active();
      ring.splice(insertionIndex(ring, p), 0, p);
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
