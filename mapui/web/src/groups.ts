// Co-travel groups for investigators (#/groups?from=YYYY-MM-DD&to=YYYY-MM-DD, China dates):
// each group drawn as vehicles (plates) on a circle joined by their trips together (solid) and
// their meetings (dashed), with a legend, then its trips and meetings; a click on a vehicle
// opens its replay over the period. A circle per group is enough
// for groups of a few vehicles, so no graph library is shipped.
import { api, type Me } from './api';
import { h, svg } from './dom';
import { colon, comma, dateInput, paren, time, timeMinute } from './format';
import { t } from './i18n';

interface Member { vehicle_id: string; plate?: string }
type Kind = 'crossing' | 'meeting';
interface Edge {
  a: string; b: string; kinds: Kind[];
  trips: number; last_trip?: string; meetings: number; meeting_days: number; last_meeting?: string;
}
interface Trip { time: string; port_name: string; direction: string; vehicles: string[] }
interface Meeting { time: string; vehicles: string[] }
interface Group { id: string; members: Member[]; edges: Edge[]; trips: Trip[]; meetings?: Meeting[] }

const DAY = 86_400_000;

/** The China date of an instant, YYYY-MM-DD. */
function chinaDate(ms: number): string {
  return timeMinute(ms).slice(0, 10);
}

/** The instant a China date starts. */
function chinaStart(date: string): number {
  return Date.parse(`${date}T00:00:00+08:00`);
}

/** The legend of the edge kinds. */
function legend(): HTMLElement {
  const swatch = (kind: Kind) => {
    const el = svg('svg', { class: 'legend-swatch', width: 40, height: 12, viewBox: '0 0 40 12' });
    el.append(svg('line', { class: `edge edge-${kind}`, x1: 2, y1: 6, x2: 38, y2: 6, 'stroke-width': 3 }));
    return el;
  };
  return h('div', { class: 'groups-legend', id: 'groups-legend' },
    ...(['crossing', 'meeting'] as const).map((k) => h('span', { class: 'legend-item' }, swatch(k), ` ${t(`groups_legend_${k}`)}`)));
}

function graph(g: Group, plate: (id: string) => string, replay: (id: string) => void): SVGSVGElement {
  const size = 360;
  const c = size / 2;
  const r = g.members.length > 2 ? size / 2 - 70 : size / 4;
  const at = new Map(g.members.map((m, i) => {
    const a = (2 * Math.PI * i) / g.members.length - Math.PI / 2;
    return [m.vehicle_id, [c + r * Math.cos(a), c + r * Math.sin(a)]] as const;
  }));
  const hi = Math.max(1, ...g.edges.map((e) => Math.max(e.trips, e.meetings)));
  const el = svg('svg', { class: 'group-graph', viewBox: `0 0 ${size} ${size}`, width: size, height: size });
  for (const e of g.edges) {
    const [ax, ay] = at.get(e.a)!;
    const [bx, by] = at.get(e.b)!;
    // A pair linked both ways gets two lines side by side.
    const len = Math.hypot(bx - ax, by - ay) || 1;
    const [nx, ny] = [-(by - ay) / len, (bx - ax) / len];
    e.kinds.forEach((kind, i) => {
      const o = e.kinds.length > 1 ? (i ? 4 : -4) : 0;
      const n = kind === 'crossing' ? e.trips : e.meetings;
      const last = kind === 'crossing' ? e.last_trip : e.last_meeting;
      const line = svg('line', { class: `edge edge-${kind}`, 'data-kind': kind, x1: ax + nx * o, y1: ay + ny * o, x2: bx + nx * o, y2: by + ny * o, 'stroke-width': 1 + (5 * n) / hi });
      const days = kind === 'meeting' ? paren(`${e.meeting_days}${t('groups_days')}`) : '';
      const said = `${plate(e.a)} — ${plate(e.b)}${colon()}${t(`groups_kind_${kind}`)} ${n}${t('groups_times')}${days}`;
      line.append(svg('title', {}, last ? comma(said, `${t('groups_last')} ${time(last)}`) : said));
      // Labels at different points along the line, so that two kinds do not overlap.
      const f = kind === 'crossing' ? 0.4 : 0.6;
      el.append(line, svg('text', { class: `edge-label edge-label-${kind}`, x: ax + (bx - ax) * f + nx * o * 3, y: ay + (by - ay) * f + ny * o * 3 - 4, 'text-anchor': 'middle' }, String(n)));
    });
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
                h('td', {}, tr.vehicles.map(plate).join('、'))))))),
          ...(g.meetings?.length ? [h('h3', {}, t('groups_meetings')),
            h('table', { class: 'daily-table group-meetings' },
              h('thead', {}, h('tr', {}, ...[t('time'), t('groups_vehicles')].map((x) => h('th', {}, x)))),
              h('tbody', {}, ...g.meetings.map((m) => h('tr', {},
                h('td', {}, time(m.time)),
                h('td', {}, m.vehicles.map(plate).join('、'))))))] : []));
      }));
    }, (err) => (status.textContent = `${t('failed')}: ${err.message}`));
  };
  root.append(
    h('div', { class: 'daily-controls' },
      h('label', {}, `${t('from')} `, from), h('label', {}, `${t('to')} `, to),
      h('button', { id: 'groups-load', onclick: load }, t('load')), status),
    h('p', { class: 'groups-hint' }, t('groups_hint')),
    legend(),
    list);
  load();
  return () => { closed = true; };
}
