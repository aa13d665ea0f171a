// The weighbridges' drift (#/scales?days=30), for command ordering calibrations (定期计量检定):
// per scale, where it stands, the trips on which another scale weighed the same truck, its
// mean difference from the others and its spread, the error a joint fit gives it, and whether
// it drifts; a bar chart of the errors against the tolerance band. GET /weighings/drift.
import { api, type Me } from './api';
import { h, svg } from './dom';
import { fill, loadDirectory, paren, portOf, weight, zoneName } from './format';
import { t } from './i18n';

export interface ScaleDrift {
  scale_id: string;
  zone_id: string;
  trips: number;
  others: number;
  mean_kg: number;
  spread_kg: number;
  mean_pct: number;
  spread_pct: number;
  bias_pct: number;
  drifting: boolean;
}
export interface DriftReport { from: string; to: string; days: number; tolerance_pct: number; scales: ScaleDrift[] }

export function getDrift(days: number): Promise<DriftReport> {
  return api<DriftReport>(`/weighings/drift?days=${days}`);
}

/** "+1.25", "−0.40", "±0.00": the sign of what shows, so a rounding to zero reads as none. */
function signed(x: number, digits: number): string {
  const shown = Math.abs(x).toFixed(digits);
  return `${Number(shown) === 0 ? '±' : x > 0 ? '+' : '−'}${shown}`;
}
const kg = (x: number) => `${Math.round(x) === 0 ? '±' : x > 0 ? '+' : '−'}${weight(Math.abs(x))}`;

/**
 * The scales' names, by id: a scale reports only its id (what its software is set to), so it is
 * named by where it stands, numbered in the order of the ids where one place has several:
 * 策克口岸煤炭物流园地磅, 二连浩特口岸1号地磅.
 */
export function scaleNames(scales: ScaleDrift[]): Map<string, string> {
  const byZone = new Map<string, string[]>();
  for (const s of [...scales].sort((a, b) => a.scale_id.localeCompare(b.scale_id))) byZone.set(s.zone_id, [...(byZone.get(s.zone_id) ?? []), s.scale_id]);
  const out = new Map<string, string>();
  for (const [zone, ids] of byZone) {
    ids.forEach((id, i) => out.set(id, ids.length === 1 ? fill('scale_name_one', { zone: zoneName(zone) }) : fill('scale_name', { zone: zoneName(zone), n: String(i + 1) })));
  }
  return out;
}

/** The port a scale serves, by name; the place itself when it belongs to none. */
const portName = (zoneId: string) => zoneName(portOf(zoneId) || zoneId);

/** The finding in words: drifting, within tolerance, or too few comparisons (fewer than 3 trips or 2 other scales). */
function finding(s: ScaleDrift): [string, string] {
  if (s.drifting) return [t('scales_drifting'), 'drifting'];
  if (s.trips < 3 || s.others < 2) return [t('scales_too_few'), 'few'];
  return [t('scales_ok'), 'ok'];
}

/** Horizontal bars of each scale's estimated error, centred on 0, with the tolerance band. */
function chart(r: DriftReport, names: Map<string, string>): SVGSVGElement {
  const row = 34;
  const label = 260;
  const width = 900;
  const plot = width - label - 70;
  const height = r.scales.length * row + 40;
  const limit = Math.max(r.tolerance_pct * 2, ...r.scales.map((s) => Math.abs(s.bias_pct) + s.spread_pct / 2), 1);
  const x = (p: number) => label + plot / 2 + (p / limit) * (plot / 2);
  const out = svg('svg', { class: 'scales-chart', id: 'scales-chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': t('scales_chart') });
  out.append(svg('rect', { x: x(-r.tolerance_pct), y: 4, width: x(r.tolerance_pct) - x(-r.tolerance_pct), height: height - 30, class: 'band' }));
  out.append(svg('line', { x1: x(0), x2: x(0), y1: 4, y2: height - 26, class: 'axis' }));
  for (const p of [-limit, -r.tolerance_pct, r.tolerance_pct, limit]) {
    out.append(svg('text', { x: x(p), y: height - 8, 'text-anchor': 'middle', class: 'tick' }, `${signed(p, 1)}%`));
  }
  r.scales.forEach((s, i) => {
    const y = 8 + i * row;
    const [, cls] = finding(s);
    out.append(svg('text', { x: label - 10, y: y + row / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'name' }, names.get(s.scale_id) ?? ''));
    const a = x(Math.min(0, s.bias_pct));
    const b = x(Math.max(0, s.bias_pct));
    const bar = svg('rect', { x: a, y: y + 6, width: Math.max(2, b - a), height: row - 14, class: `scale-bar ${cls}` });
    bar.append(svg('title', {}, `${names.get(s.scale_id) ?? ''}: ${signed(s.bias_pct, 2)}%`));
    out.append(bar);
    out.append(svg('text', { x: s.bias_pct >= 0 ? b + 6 : a - 6, y: y + row / 2, 'text-anchor': s.bias_pct >= 0 ? 'start' : 'end', 'dominant-baseline': 'middle', class: 'value' },
      `${signed(s.bias_pct, 2)}%`));
  });
  return out;
}

function render(body: HTMLElement, r: DriftReport): void {
  const hint = h('p', { class: 'scales-hint' }, fill('scales_hint', { tol: r.tolerance_pct.toFixed(1) }));
  if (!r.scales.length) {
    body.replaceChildren(hint, h('p', { class: 'empty', id: 'scales-none' }, t('scales_none')));
    return;
  }
  const names = scaleNames(r.scales);
  const heads = ['scales_scale', 'scales_port', 'scales_trips', 'scales_others', 'scales_mean', 'scales_spread', 'scales_bias', 'scales_state'];
  const table = h('table', { class: 'scales-table', id: 'scales-table' },
    h('thead', {}, h('tr', {}, ...heads.map((k) => h('th', {}, t(k))))),
    h('tbody', {}, ...r.scales.map((s) => {
      const [text, cls] = finding(s);
      return h('tr', { class: `scale-${cls}`, 'data-scale': s.scale_id },
        // The id in the tooltip only: what the scale's technician looks for in its settings.
        h('td', { class: 'name', title: s.scale_id }, names.get(s.scale_id) ?? ''),
        h('td', { class: 'port' }, portName(s.zone_id)),
        h('td', { class: 'num' }, String(s.trips)),
        h('td', { class: 'num' }, String(s.others)),
        h('td', { class: 'num mean' }, `${signed(s.mean_pct, 2)}%`, h('span', { class: 'kg' }, paren(kg(s.mean_kg)))),
        h('td', { class: 'num' }, `±${s.spread_pct.toFixed(2)}%`),
        h('td', { class: 'num' }, `${signed(s.bias_pct, 2)}%`),
        h('td', { class: `finding ${cls}` }, text));
    })));
  body.replaceChildren(hint, h('div', { class: 'scales-scroll' }, table), h('h3', {}, t('scales_chart')), chart(r, names));
}

export function mountScales(root: HTMLElement, _me: Me, params: URLSearchParams): () => void {
  const days = h('select', { id: 'scales-days', name: 'days' }, ...[7, 30, 90, 180].map((d) => h('option', { value: String(d) }, String(d))));
  const title = h('h2', { id: 'scales-title' });
  const status = h('span', { class: 'scales-status', id: 'scales-status' });
  const body = h('article', { class: 'scales-report', id: 'scales-report' });
  root.append(h('div', { class: 'scales-controls' }, title, h('label', {}, `${t('scales_days')} `, days), status), body);
  let closed = false;
  const load = (n: number) => {
    status.textContent = '…';
    title.textContent = fill('scales_title', { days: String(n) });
    Promise.all([getDrift(n), loadDirectory().catch(() => {})]).then(([r]) => {
      if (closed) return;
      status.textContent = '';
      render(body, r);
    }, (e) => (status.textContent = `${t('failed')}: ${e.message}`));
  };
  const n = Number(params.get('days'));
  days.value = [7, 30, 90, 180].includes(n) ? String(n) : '30';
  days.addEventListener('change', () => {
    history.replaceState(null, '', `#/scales?days=${days.value}`);
    load(Number(days.value));
  });
  load(Number(days.value));
  return () => { closed = true; };
}
