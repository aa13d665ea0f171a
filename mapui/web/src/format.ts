// The one place that turns internal data into what an officer reads: zone ids into the zones'
// names, vehicle ids into plates and kinds, directions into 入境/出境, distances and durations
// rounded, times in China time with the date. The views fill the directories (zones, vehicles)
// once with loadDirectory(); whatever is not known yet reads as a neutral word, never an id.
import { ApiError, getVehicle, getVehicles, getZones, type Vehicle, type ZoneCollection, type ZoneProps } from './api';
import { h } from './dom';
import { bboxOf, distanceToLine, haversine, inBBox, inPolygon, lines, type BBox, type LonLat } from './geo';
import { fromCstInput, getLang, t } from './i18n';

interface ZoneEntry {
  props: ZoneProps;
  geom: GeoJSON.Geometry | null;
  bbox: BBox | null;
}

const zones = new Map<string, ZoneEntry>();
const vehicles = new Map<string, { plate?: string; kind?: string }>();
let loading: Promise<void> | null = null;

/** Learns the zones (GET /zones or the map's copy of it). */
export function setZones(fc: ZoneCollection): void {
  zones.clear();
  for (const f of fc.features) {
    const id = f.properties?.id;
    if (!id) continue;
    const g = f.geometry ?? null;
    zones.set(id, { props: f.properties, geom: g, bbox: g && 'coordinates' in g ? bboxOf(g.coordinates) : null });
  }
}

/** Learns vehicles' plates and kinds (GET /vehicles, or an alert's plate and vehicle_kind). */
export function setVehicles(vs: Array<Pick<Vehicle, 'id' | 'plate' | 'kind'>>): void {
  for (const v of vs) vehicles.set(v.id, { plate: v.plate || vehicles.get(v.id)?.plate, kind: v.kind || vehicles.get(v.id)?.kind });
}

/** Loads zones and vehicles once per page; later calls share the first load. */
export function loadDirectory(): Promise<void> {
  loading ??= Promise.all([getZones().then(setZones), getVehicles().then(setVehicles)]).then(() => {}, (e) => {
    loading = null;
    throw e;
  });
  return loading;
}

/**
 * Learns a vehicle the directory does not know yet (registered after the page loaded); true when
 * it has a plate now. Asked once at a time; a vehicle the server does not know is not asked again,
 * one it could not answer for (a busy server, a dropped connection) is, at the next call.
 */
const asked = new Set<string>();
export async function learnVehicle(id: string): Promise<boolean> {
  if (vehicles.get(id)?.plate) return true;
  if (asked.has(id)) return false;
  asked.add(id);
  try {
    setVehicles([await getVehicle(id)]);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) asked.delete(id);
    return false; // not registered: it is known by its id
  }
  return !!vehicles.get(id)?.plate;
}

/** A zone's name in the user's language: 甘其毛都口岸 / Ganqimaodu port; 未知区域 for an unknown id. */
export function zoneName(id: string | null | undefined): string {
  const p = id ? zones.get(id)?.props : undefined;
  if (!p) return t('zone_unknown');
  const en = typeof p.name_en === 'string' ? p.name_en : '';
  return (getLang() === 'en' && en) || p.name || en || t(`zone_kind_${p.kind}`);
}

export function zoneKind(id: string | null | undefined): string {
  return (id && zones.get(id)?.props.kind) || '';
}

/** The port a zone belongs to: the zone itself for a port, else its port_id; '' when none. */
export function portOf(id: string | null | undefined): string {
  const p = id ? zones.get(id)?.props : undefined;
  if (!p) return '';
  if (p.kind === 'port') return p.id;
  return typeof p.port_id === 'string' ? p.port_id : '';
}

/** The ports, by name, for pickers. */
export function ports(): Array<{ id: string; name: string }> {
  return [...zones.values()].filter((z) => z.props.kind === 'port').map((z) => ({ id: z.props.id, name: zoneName(z.props.id) }))
    .sort((a, b) => a.name.localeCompare(b.name, getLang() === 'zh' ? 'zh-CN' : 'en'));
}

/** A vehicle's plate; a vehicle registered without one is shown by what it was registered as. */
export function plate(vehicleId: string, given?: string): string {
  return given || vehicles.get(vehicleId)?.plate || vehicleId;
}

/** 货车, 边民车辆 …; '' when not known. */
export function vehicleKind(vehicleId: string, given?: string): string {
  return kindName(given || vehicles.get(vehicleId)?.kind);
}

/** The vehicles the directory knows, for pickers. */
export function knownVehicles(): Array<{ id: string; plate?: string; kind?: string }> {
  return [...vehicles].map(([id, v]) => ({ id, ...v }));
}

/** "蒙B00001 · 货车". */
export function vehicleLabel(vehicleId: string, givenPlate?: string, givenKind?: string): string {
  const k = vehicleKind(vehicleId, givenKind);
  return k ? `${plate(vehicleId, givenPlate)} · ${k}` : plate(vehicleId, givenPlate);
}

/** inbound/in → 入境, outbound/out → 出境. */
export function direction(d: unknown): string {
  if (d === 'inbound' || d === 'in') return t('dir_inbound');
  if (d === 'outbound' || d === 'out') return t('dir_outbound');
  return '';
}

/** 3.5 km, 12 km, 800 m, 35 m: what a distance needs to be told, not more (never broken before its unit). */
export function distance(m: number): string {
  if (!Number.isFinite(m)) return '';
  const a = Math.abs(m);
  if (a >= 9950) return `${Math.round(m / 1000)}\u00a0km`;
  if (a >= 995) return `${(m / 1000).toFixed(1)}\u00a0km`;
  if (a >= 100) return `${Math.round(m / 10) * 10}\u00a0m`;
  return `${Math.round(m)}\u00a0m`;
}

/** 30.5吨, 800千克 (30.5 t, 800 kg): a weighbridge's figure as an officer reads it. */
export function weight(kg: number): string {
  if (!Number.isFinite(kg)) return '';
  const zh = getLang() === 'zh';
  if (Math.abs(kg) >= 1000) return zh ? `${(kg / 1000).toFixed(1)}吨` : `${(kg / 1000).toFixed(1)}\u00a0t`;
  return zh ? `${Math.round(kg)}千克` : `${Math.round(kg)}\u00a0kg`;
}

/** 35分钟, 2小时5分, 2小时, 40秒 (35 min, 2 h 5 min, 40 s). */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  const zh = getLang() === 'zh';
  if (h >= 24) {
    const d = Math.floor(h / 24);
    const rh = h % 24;
    return zh ? `${d}天${rh ? `${rh}小时` : ''}` : `${d} d${rh ? ` ${rh} h` : ''}`;
  }
  if (h) return zh ? `${h}小时${m ? `${m}分` : ''}` : `${h} h${m ? ` ${m} min` : ''}`;
  if (s >= 60) return zh ? `${Math.round(s / 60)}分钟` : `${Math.round(s / 60)} min`;
  return zh ? `${s}秒` : `${s} s`;
}

const chinaParts = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/**
 * "2026-12-05 08:30:15": China time to the second, without the words, for a column headed
 * with them and for names; '' for what is not a time.
 */
export function timeSecond(v: string | number | Date): string {
  const d = v instanceof Date ? v : new Date(v);
  if (isNaN(d.getTime())) return '';
  const p: Record<string, string> = {};
  for (const x of chinaParts.formatToParts(d)) p[x.type] = x.value;
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** "2026-12-05 08:30:15 北京时间": China time with the date, whatever the browser's zone. */
export function time(v: string | number | Date | null | undefined): string {
  if (v == null || v === '') return '';
  const s = timeSecond(v);
  return s ? `${s} ${t('cst')}` : '';
}

/** "12-05 08:30": a feed's short China time, the date kept. */
export function timeShort(v: string | number | Date): string {
  return timeSecond(v).slice(5, 16);
}

/** "2026-12-05 08:30": China time to the minute, the date always. */
export function timeMinute(v: string | number | Date): string {
  return timeSecond(v).slice(0, 16);
}

/** "08:30:15": China time of day, for a clock and the end of a span whose date is said. */
export function timeOfDay(v: string | number | Date): string {
  return timeSecond(v).slice(11);
}

/**
 * A field for a China time, "2026-12-05 08:30" (24 h): plain text, because a datetime-local input
 * follows the browser's language and zone (12 h, mm/dd/yyyy in an English browser).
 */
export function timeInput(attrs: Record<string, string>, v?: number | Date): HTMLInputElement {
  return h('input', { placeholder: 'YYYY-MM-DD HH:mm', title: t('time_format_hint'), ...attrs, type: 'text', inputmode: 'numeric', size: '16',
    maxlength: '16', autocomplete: 'off', value: v == null ? '' : timeMinute(v) });
}

/** A field for a China date, "2026-12-05", the same in every browser (a date input writes 12/05/2026 in English). */
export function dateInput(attrs: Record<string, string>, v?: string): HTMLInputElement {
  return h('input', { placeholder: 'YYYY-MM-DD', title: t('date_format_hint'), ...attrs, type: 'text', inputmode: 'numeric', size: '10',
    maxlength: '10', autocomplete: 'off', value: v ?? '' });
}

/** A dateInput's value if it is a day of the calendar, else ''. */
export function readDate(v: string): string {
  const s = v.trim();
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && readTime(s) ? s : '';
}

/** Reads a timeInput's "YYYY-MM-DD HH:mm" as China time; a date alone is its first (or, for an end, last) minute; null if not a time. */
export function readTime(v: string, end = false): Date | null {
  const s = v.trim().replace(/\s+/g, ' ');
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return fromCstInput(`${s}T${end ? '23:59' : '00:00'}`);
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}):(\d{2})$/.exec(s);
  if (!m || +m[2] > 23 || +m[3] > 59) return null;
  const d = fromCstInput(`${m[1]}T${m[2].padStart(2, '0')}:${m[3]}`);
  // 2026-02-30 is not a day: Date would roll it over into March.
  return d && timeMinute(d) === `${m[1]} ${m[2].padStart(2, '0')}:${m[3]}` ? d : null;
}

/** "刚刚", "3分钟前", "2小时前", "3天前" (just now, 3 min ago …); '' for a time in the future. */
export function ago(v: string | number | Date, now = Date.now()): string {
  const ms = now - new Date(v).getTime();
  if (!(ms >= 0)) return '';
  const m = Math.floor(ms / 60_000);
  if (m < 1) return t('just_now');
  if (m < 60) return fill('min_ago', { n: String(m) });
  if (m < 48 * 60) return fill('hour_ago', { n: String(Math.floor(m / 60)) });
  return fill('day_ago', { n: String(Math.floor(m / 1440)) });
}

/** 严重 / 警告 / 提示 (critical, warning, info). */
export function severity(s: string): string {
  return t(`sev_${s}`);
}

/** 货车, 边民车辆 … for a vehicle kind; an unknown kind as it is. */
export function kindName(k: string | undefined): string {
  return k ? t(`kind_${k}`).replace(/^kind_/, '') : '';
}

/** 口岸, 物流园区 … for a zone kind; an unknown kind as it is. */
export function zoneKindName(k: string | undefined): string {
  return k ? t(`zone_kind_${k}`).replace(/^zone_kind_/, '') : '';
}

/** A zone's name, or '' when there is no zone (zoneName says 未知区域 for an id it does not know). */
export function zoneNameOr(id: string | null | undefined): string {
  return id ? zoneName(id) : '';
}

/** A message of i18n.ts with its {placeholders} filled. */
export function fill(key: string, vars: Record<string, string>): string {
  return t(key).replace(/\{(\w+)\}/g, (_, k: string) => vars[k] ?? '');
}

/** Where a point is, in words: inside a named zone, or so far from the nearest one. */
export function place(lat: number, lon: number): string {
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || (lat === 0 && lon === 0)) return t('place_unknown');
  const pt: LonLat = [lon, lat];
  const coords = `${Math.abs(lat).toFixed(4)}°${lat >= 0 ? 'N' : 'S'} ${Math.abs(lon).toFixed(4)}°${lon >= 0 ? 'E' : 'W'}`;
  let inside: ZoneEntry | null = null;
  let near: ZoneEntry | null = null;
  let nearM = Infinity;
  // Polygons the point is in, most specific (smallest) first; otherwise the nearest port, yard or corridor.
  for (const z of zones.values()) {
    if (!z.geom || !z.bbox || z.props.kind === 'border') continue;
    if ((z.geom.type === 'Polygon' || z.geom.type === 'MultiPolygon') && inBBox(pt, z.bbox) && inPolygon(pt, z.geom)) {
      if (!inside || area(z.bbox) < area(inside.bbox!)) inside = z;
      continue;
    }
    if (!['port', 'yard', 'corridor', 'service_area'].includes(z.props.kind)) continue;
    const isLine = z.geom.type === 'LineString' || z.geom.type === 'MultiLineString';
    const d = isLine
      ? Math.min(...lines(z.geom).map((l) => distanceToLine(pt, l as LonLat[])))
      : haversine(pt, [(z.bbox[0] + z.bbox[2]) / 2, (z.bbox[1] + z.bbox[3]) / 2]);
    // A corridor names a place only nearby; far off, a port or a town says more.
    if (isLine && d > 20_000) continue;
    if (d < nearM) [near, nearM] = [z, d];
  }
  if (inside) return `${t('place_in').replace('{zone}', zoneName(inside.props.id))}${paren(coords)}`;
  if (near) return `${t('nearest_zone').replace('{zone}', zoneName(near.props.id)).replace('{dist}', distance(nearM))}${paren(coords)}`;
  return coords;
}

/** "（…）" in Chinese, " (…)" in English; '' for nothing. */
export function paren(s: string): string {
  return s ? (getLang() === 'zh' ? `（${s}）` : ` (${s})`) : '';
}

/** "：" in Chinese, ": " in English: a label and what it labels. */
export function colon(): string {
  return getLang() === 'zh' ? '：' : ': ';
}

/** Two phrases in one sentence: "…，…" / "…, …". */
export function comma(a: string, b: string): string {
  return a && b ? `${a}${getLang() === 'zh' ? '，' : ', '}${b}` : a || b;
}

const area = (b: BBox) => (b[2] - b[0]) * (b[3] - b[1]);
