// Co-travel groups for investigators (#/groups?from=YYYY-MM-DD&to=YYYY-MM-DD, China dates):
// each group drawn as vehicles (plates) on a circle joined by their trips together, then its
// trips; a click on a vehicle opens its replay over the period. A circle per group is enough
// for groups of a few vehicles, so no graph library is shipped.
import { api, type Me } from './api';
import { h } from './dom';
import { colon, dateInput, time, timeMinute } from './format';
import { t } from './i18n';

interface Member { vehicle_id: string; plate?: string }
interface Edge { a: string; b: string; trips: number }
interface Trip { time: string; port_name: string; direction: string; vehicles: string[] }
interface Group { id: string; members: Member[]; edges: Edge[]; trips: Trip[] }

const SVG = 'http://www.w3.org/2000/svg';
const DAY = 86_400_000;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The China date of an instant, YYYY-MM-DD. */
function chinaDate(ms: number): string {
  return timeMinute(ms).slice(0, 10);
}

/** The instant a China date starts. */
function chinaStart(date: string): number {
  return Date.parse(`${date}T00:00:00+08:00`);
}

function graph(g: Group, plate: (id: string) => string, replay: (id: string) => void): SVGSVGElement {
  const size = 360;
  const c = size / 2;
  const r = g.members.length > 2 ? size / 2 - 70 : size / 4;
  const at = new Map(g.members.map((m, i) => {
    const a = (2 * Math.PI * i) / g.members.length - Math.PI / 2;
    return [m.vehicle_id, [c + r * Math.cos(a), c + r * Math.sin(a)]] as const;
  }));
  const hi = Math.max(1, ...g.edges.map((e) => e.trips));
  const el = svg('svg', { class: 'group-graph', viewBox: `0 0 ${size} ${size}`, width: size, height: size });
  for (const e of g.edges) {
    const [ax, ay] = at.get(e.a)!;
    const [bx, by] = at.get(e.b)!;
    el.append(svg('line', { class: 'edge', x1: ax, y1: ay, x2: bx, y2: by, 'stroke-width': 1 + (5 * e.trips) / hi }));
    el.append(svg('text', { class: 'edge-label', x: (ax + bx) / 2, y: (ay + by) / 2 - 4, 'text-anchor': 'middle' }, String(e.trips)));
  }
  for (const m of g.members) {
    const [x, y] = at.get(m.vehicle_id)!;
    const node = svg('g', { class: 'node', 'data-vehicle': m.vehicle_id, tabindex: 0, role: 'link' });
    node.append(svg('circle', { cx: x, cy: y, r: 14 }), svg('text', { x, y: y + 32, 'text-anchor': 'middle' }, plate(m.vehicle_id)));
    node.append(svg('title', {}, plate(m.vehicle_id)));
    node.addEventListener('click', () => replay(m.vehicle_id));
    node.addEventListener('keydown', (ev: KeyboardEvent) => { if (ev.key === 'Enter') replay(m.vehicle_id); });
    el.append(node);
  }
  return el;
}

export function mountGroups(root: HTMLElement, _me: Me, params: URLSearchParams): () => void {
  const now = Date.now();
  const from = dateInput({ id: 'groups-from' }, params.get('from') ?? chinaDate(now - 29 * DAY));
  const to = dateInput({ id: 'groups-to' }, params.get('to') ?? chinaDate(now));
  const status = h('span', { class: 'groups-status', id: 'groups-status' });
  const list = h('div', { class: 'groups-list', id: 'groups-list' });
  let closed = false;
  const load = () => {
    const f = chinaStart(from.value);
    const e = chinaStart(to.value) + DAY;
    if (!(f < e)) {
      status.textContent = t('failed');
      return;
    }
    history.replaceState(null, '', `#/groups?from=${from.value}&to=${to.value}`);
    status.textContent = '…';
    const q = new URLSearchParams({ from: new Date(f).toISOString(), to: new Date(Math.min(e, Date.now())).toISOString() });
    api<{ groups: Group[] }>(`/groups?${q}`).then(({ groups }) => {
      if (closed) return;
      status.textContent = '';
      const replay = (id: string) => (location.hash = `#/replay?vehicle=${encodeURIComponent(id)}&from=${new Date(f).toISOString()}&to=${new Date(Math.min(e, Date.now())).toISOString()}`);
      if (!groups.length) {
        list.replaceChildren(h('p', {}, t('groups_none')));
        return;
      }
      list.replaceChildren(...groups.map((g, i) => {
        const plates = new Map(g.members.map((m) => [m.vehicle_id, m.plate || m.vehicle_id]));
        const plate = (id: string) => plates.get(id) ?? id;
        return h('section', { class: 'group', 'data-group': String(i + 1) },
          h('h2', {}, `${t('groups_group')} ${i + 1}${colon()}${g.members.map((m) => plate(m.vehicle_id)).join('、')}`),
          h('div', { class: 'group-body' },
            graph(g, plate, replay),
            h('table', { class: 'daily-table group-trips' },
              h('thead', {}, h('tr', {}, ...[t('time'), t('groups_port'), t('groups_direction'), t('groups_vehicles')].map((x) => h('th', {}, x)))),
              h('tbody', {}, ...g.trips.map((tr) => h('tr', {},
                h('td', {}, time(tr.time)),
                h('td', {}, tr.port_name || '—'),
                h('td', {}, t(`dir_${tr.direction}`)),
                h('td', {}, tr.vehicles.map(plate).join('、'))))))));
      }));
    }, (err) => (status.textContent = `${t('failed')}: ${err.message}`));
  };
  root.append(
    h('div', { class: 'daily-controls' },
      h('label', {}, `${t('from')} `, from), h('label', {}, `${t('to')} `, to),
      h('button', { id: 'groups-load', onclick: load }, t('load')), status),
    h('p', { class: 'groups-hint' }, t('groups_hint')),
    list);
  load();
  return () => { closed = true; };
}
