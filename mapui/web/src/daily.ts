// The daily picture (#/daily?date=YYYY-MM-DD): per port and the district, crossings, trucks in
// yards, alerts with their 30-day trend, inspections and hits, the top risk vehicles and the
// devices silent or broken; printable, with the server's CSV and HTML as downloads. Also the
// wall's small panel of today's figures.
import { api, can, download, type Me } from './api';
import { h } from './dom';
import { colon, dateInput, fill, paren, kindName, loadDirectory, readDate, time, timeMinute, zoneKind, zoneName } from './format';
import { getLang } from './i18n';
import { t } from './i18n';
import { onNotice } from './targeting';

interface AlertTrend { type: string; name: string; count: number; trend: number[] }
interface Section {
  port_id?: string;
  name: string;
  crossings_in: number;
  crossings_out: number;
  trucks_in_yards: number;
  alerts: AlertTrend[] | null;
  inspections: number;
  hits: number;
}
/** A ranked vehicle and the facts of its rank (the server's Chinese reasons are not shown: they do not follow the reader's language). */
interface RiskVehicle {
  plate: string;
  kind: string;
  score: number;
  alerts?: Record<string, number>;
  crossings_7d?: number;
  group?: { plates: string[]; trips: number };
  offence?: { findings: number; last: string; category: string; via_plate?: string; card?: string };
  ants?: { week: number; own_weekly: number; peer_median: number; z: number };
}
interface DeviceProblem { device_id: string; plate?: string; problem: string; last_fix?: string }
export interface DailyReport {
  date: string;
  generated_at: string;
  trend_dates: string[];
  district: Section;
  ports: Section[];
  top_risk: RiskVehicle[];
  devices: DeviceProblem[];
}

export function getDaily(date?: string): Promise<DailyReport> {
  return api<DailyReport>(`/reports/daily${date ? `?date=${encodeURIComponent(date)}` : ''}`);
}

/** An alert type's name: the app's own where it has one, else the server's Chinese. */
function alertName(a: AlertTrend): string {
  const n = t(a.type);
  return n === a.type ? a.name : n;
}

function sections(r: DailyReport): Section[] {
  return r.district.name ? [{ ...r.district, name: t('daily_district') }, ...r.ports] : r.ports;
}

const SVG = 'http://www.w3.org/2000/svg';

/** A 30-day bar chart; the day's bar (the last) is highlighted. */
export function trendChart(values: number[], dates: string[], width = 180, height = 28): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'trend-chart');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  const hi = Math.max(1, ...values);
  const w = width / Math.max(1, values.length);
  values.forEach((v, i) => {
    const bh = v ? Math.max(2, (v / hi) * (height - 2)) : 1;
    const r = document.createElementNS(SVG, 'rect');
    r.setAttribute('x', String(i * w + 0.5));
    r.setAttribute('y', String(height - bh));
    r.setAttribute('width', String(Math.max(1, w - 1)));
    r.setAttribute('height', String(bh));
    r.setAttribute('class', i === values.length - 1 ? 'bar today' : 'bar');
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `${dates[i] ?? ''}${colon()}${v}`;
    r.append(title);
    svg.append(r);
  });
  return svg;
}

function table(head: string[], rows: Array<Array<Node | string>>, cls = ''): HTMLTableElement {
  return h('table', { class: `daily-table ${cls}` },
    h('thead', {}, h('tr', {}, ...head.map((x) => h('th', {}, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))));
}

/** Why a vehicle ranks, in the reader's language: its alerts (most first), crossings, group, findings, ant moving. */
export function riskReasons(v: RiskVehicle): string[] {
  const out = Object.entries(v.alerts ?? {})
    .sort(([a, n], [b, m]) => m - n || a.localeCompare(b))
    .map(([type, n]) => fill('risk_alerts', { type: t(type), n: String(n) }));
  if (v.crossings_7d) out.push(fill('risk_crossings', { n: String(v.crossings_7d) }));
  if (v.group) out.push(fill('risk_group', { plates: v.group.plates.join(getLang() === 'zh' ? '、' : ', '), n: String(v.group.trips) }));
  if (v.offence) {
    const o = v.offence;
    const found = fill('risk_offence', { n: String(o.findings), date: timeMinute(o.last).slice(0, 10), category: t(`cat_${o.category}`).replace(/^cat_/, '') });
    out.push(o.via_plate ? fill('risk_offence_via', { card: o.card ?? '', plate: o.via_plate, found }) : found);
  }
  if (v.ants) {
    const a = v.ants;
    out.push(fill('risk_ants', { week: String(a.week), own: a.own_weekly.toFixed(1), peers: a.peer_median.toFixed(1), z: a.z.toFixed(1) }));
  }
  return out;
}

/** A port's name in the reader's language (the server writes Chinese); the district as the server names it. */
const sectionName = (s: Section) => (s.port_id && zoneKind(s.port_id) ? zoneName(s.port_id) : s.name);

function render(body: HTMLElement, r: DailyReport): void {
  const secs = sections(r);
  const dates = r.trend_dates;
  body.replaceChildren(
    h('h1', {}, `${t('daily')} ${r.date}`),
    h('p', { class: 'daily-note' }, getLang() === 'zh' ? `${t('daily_generated')}：${time(r.generated_at)}。${t('daily_now_note')}。` : `${t('daily_generated')}: ${time(r.generated_at)}. ${t('daily_now_note')}.`),
    table([t('port'), t('daily_in'), t('daily_out'), t('daily_yards'), t('daily_inspections'), t('daily_hits')],
      secs.map((s) => [sectionName(s), String(s.crossings_in), String(s.crossings_out), String(s.trucks_in_yards), String(s.inspections), String(s.hits)]), 'daily-ports'),
    h('h2', {}, t('daily_alerts')),
    ...secs.filter((s) => s.alerts?.length).flatMap((s) => [
      h('h3', {}, sectionName(s)),
      table([t('daily_alert_type'), t('daily_today'), t('daily_total30'), `${t('daily_trend')}${paren(`${dates[0]} – ${dates[dates.length - 1]}`)}`],
        (s.alerts ?? []).map((a) => [alertName(a), String(a.count), String(a.trend.reduce((x, y) => x + y, 0)), trendChart(a.trend, dates)])),
    ]),
    h('h2', {}, t('daily_top_risk')),
    r.top_risk.length
      ? table([t('daily_rank'), t('daily_plate'), t('daily_kind'), t('daily_score'), t('daily_reasons')],
        r.top_risk.map((v, i) => [String(i + 1), v.plate || '—', kindName(v.kind), v.score.toFixed(2), riskReasons(v).join(getLang() === 'zh' ? '；' : '; ')]), 'daily-risk')
      : h('p', {}, t('daily_none')),
    h('h2', {}, t('daily_devices')),
    r.devices.length
      ? table([t('daily_plate'), t('daily_device'), t('daily_problem'), t('last_position')],
        r.devices.map((d) => [d.plate || '—', d.device_id, t(`problem_${d.problem}`), d.last_fix ? time(d.last_fix) : '—']), 'daily-devices')
      : h('p', {}, t('daily_none')),
  );
}

export function mountDaily(root: HTMLElement, me: Me, params: URLSearchParams): () => void {
  const date = dateInput({ id: 'daily-date', name: 'date' });
  const status = h('span', { class: 'daily-status', id: 'daily-status' });
  const body = h('article', { class: 'daily-report', id: 'daily-report' });
  let shown = '';
  const files = (fmt: 'csv' | 'html') => () =>
    void download(`/reports/daily?format=${fmt}&date=${shown}`, `${t('daily')}-${shown}.${fmt}`).catch((e) => (status.textContent = `${t('failed')}: ${e.message}`));
  root.append(
    h('div', { class: 'daily-controls' },
      h('label', {}, `${t('daily_date')} `, date),
      h('button', { id: 'daily-print', onclick: () => window.print() }, t('daily_print')),
      h('button', { id: 'daily-csv', onclick: files('csv') }, t('daily_csv')),
      h('button', { id: 'daily-html', onclick: files('html') }, t('daily_html')),
      can(me.role, 'scales') ? h('a', { class: 'button', id: 'daily-scales', href: '#/scales' }, t('scales')) : null,
      status),
    body);
  let closed = false;
  const load = (d?: string) => {
    status.textContent = '…';
    Promise.all([getDaily(d), loadDirectory().catch(() => {})]).then(([r]) => {
      if (closed) return;
      shown = date.value = r.date;
      status.textContent = '';
      render(body, r);
    }, (e) => (status.textContent = `${t('failed')}: ${e.message}`));
  };
  date.addEventListener('change', () => {
    const d = readDate(date.value);
    if (!d) {
      status.textContent = t('date_format_hint');
      return;
    }
    history.replaceState(null, '', `#/daily?date=${d}`);
    load(d);
  });
  load(params.get('date') ?? undefined);
  return () => { closed = true; };
}

/** The wall's panel: today's district figures, refreshed every minute, opening the report. */
export function mountDailyPanel(panel: HTMLElement): () => void {
  const figures = h('dl', { class: 'daily-figures', id: 'daily-figures' });
  const chart = h('div', { class: 'daily-chart' });
  panel.append(h('h2', {}, h('a', { href: '#/daily', id: 'daily-open', title: t('daily_open') }, `${t('daily_panel')} · ${t('daily')}`)), figures, chart);
  let closed = false;
  const refresh = () => getDaily().then((r) => {
    if (closed) return;
    const s = r.district.name ? r.district : r.ports[0];
    if (!s) return;
    const alerts = s.alerts ?? [];
    const perDay = r.trend_dates.map((_, i) => alerts.reduce((n, a) => n + (a.trend[i] ?? 0), 0));
    const fig = (k: string, v: number) => [h('dt', {}, t(k)), h('dd', {}, String(v))];
    figures.replaceChildren(...fig('daily_in', s.crossings_in), ...fig('daily_out', s.crossings_out), ...fig('daily_yards', s.trucks_in_yards),
      ...fig('daily_alerts_today', perDay[perDay.length - 1] ?? 0), ...fig('daily_inspections', s.inspections), ...fig('daily_hits', s.hits));
    chart.replaceChildren(trendChart(perDay, r.trend_dates, 260, 36));
  }, () => {});
  void refresh();
  const timer = window.setInterval(refresh, 60_000);
  // An inspection's result counts at once (查验, 查获), not at the next minute.
  const off = onNotice((n) => n.kind === 'closed' && void refresh());
  return () => { closed = true; clearInterval(timer); off(); };
}
