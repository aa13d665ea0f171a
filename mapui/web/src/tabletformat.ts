// Names for people in place of the server's ids (plates, zone names, 入境/出境, rounded
// distances, durations in minutes) and an alert's evidence as labelled rows, for the patrol
// tablet and the replay. Words only these two views use live here, not in i18n.ts.
import { getVehicles, getZones, type Alert, type Vehicle, type ZoneProps } from './api';
import { fmtDistance, fmtTime, getLang, t } from './i18n';

const tabletWords = {
  zh: {
    zone_port: '口岸', zone_control_zone: '口岸监管区', zone_yard: '物流园区', zone_service_area: '服务区', zone_restricted: '禁行区',
    zone_corridor: '指定通道', zone_border: '边境线', zone_unknown: '未命名区域',
    dir_inbound: '入境', dir_outbound: '出境', dir_in: '进入', dir_out: '驶出',
    yes: '是', no: '否', none: '无',
    ev_crossing: '越境地点', ev_border: '边境线', ev_port: '越境口岸', ev_port_none: '不在任何口岸',
    ev_declared_port: '申报口岸', ev_direction: '方向', ev_late: '补传数据', ev_last_fix: '最后定位', ev_next_fix: '恢复后定位',
    ev_duration: '持续', ev_distance: '距离', ev_from: '开始', ev_until: '结束', ev_deadline: '期限', ev_off_from: '偏离起点',
    ev_last: '当前定位', ev_back: '已回到通道', ev_max_off: '最大偏离', ev_width: '通道宽度', ev_fixes_off: '偏离定位数',
    ev_corridor: '指定通道', ev_late_fixes: '补传定位', ev_driven: '失联期间行驶', ev_control_zone: '在监管区内',
    ev_vehicles: '相关车辆', ev_stops: '停车地点', ev_gate: '卡口', ev_plate: '卡口识别车牌', ev_card: 'IC卡', ev_position: 'GPS位置',
    ev_yard: '申报物流园区', ev_declaration: '申报单', ev_disproved: '补传数据表明未越境', ev_place: '地点', ev_method: '解封方式',
    ev_seal: '关锁状态', ev_declared_card: '申报司机卡', ev_presented_card: '实际插卡', ev_driver_name: '司机姓名',
    fixes_n: '{n} 个', here_unknown: '位置未知', here: '我的位置', here_sorted: '按距我的距离排序', time_sorted: '位置未知：按时间排序',
    in_zones: '位于{zones}', near_zone: '距{zone} {dist}', last_valid: '（最后有效定位）',
    all_severities: '全部级别', all_types: '全部类型', status_active: '未处置（含已确认）', alert_list: '告警', zone: '区域',
    skip_stops: '跳过停留', skip_stops_hint: '播放时跳过停车和无定位的时段', unknown_vehicle: '未找到车牌或编号为“{ref}”的车辆',
  },
  en: {
    zone_port: 'port', zone_control_zone: 'port control zone', zone_yard: 'logistics park', zone_service_area: 'service area', zone_restricted: 'restricted area',
    zone_corridor: 'corridor', zone_border: 'border line', zone_unknown: 'unnamed zone',
    dir_inbound: 'inbound', dir_outbound: 'outbound', dir_in: 'in', dir_out: 'out',
    yes: 'yes', no: 'no', none: 'none',
    ev_crossing: 'Crossed at', ev_border: 'Border', ev_port: 'Port crossed', ev_port_none: 'outside every port',
    ev_declared_port: 'Declared port', ev_direction: 'Direction', ev_late: 'Late data', ev_last_fix: 'Last fix', ev_next_fix: 'Next fix',
    ev_duration: 'Lasted', ev_distance: 'Distance', ev_from: 'From', ev_until: 'Until', ev_deadline: 'Deadline', ev_off_from: 'Left the corridor at',
    ev_last: 'Now at', ev_back: 'Back on corridor', ev_max_off: 'Farthest off', ev_width: 'Corridor width', ev_fixes_off: 'Fixes off corridor',
    ev_corridor: 'Corridor', ev_late_fixes: 'Late fixes', ev_driven: 'Driven while dark', ev_control_zone: 'In a control zone',
    ev_vehicles: 'Vehicles', ev_stops: 'Stopped at', ev_gate: 'Gate', ev_plate: 'Plate read', ev_card: 'IC card', ev_position: 'GPS position',
    ev_yard: 'Declared park', ev_declaration: 'Declaration', ev_disproved: 'Late data shows no crossing', ev_place: 'Place', ev_method: 'Unlocked by',
    ev_seal: 'Seal', ev_declared_card: 'Declared driver card', ev_presented_card: 'Card inserted', ev_driver_name: 'Driver name',
    fixes_n: '{n}', here_unknown: 'Position unknown', here: 'You are here', here_sorted: 'Nearest to you first', time_sorted: 'Position unknown: newest first',
    in_zones: 'in {zones}', near_zone: '{dist} from {zone}', last_valid: ' (last valid fix)',
    all_severities: 'All severities', all_types: 'All types', status_active: 'Not resolved', alert_list: 'Alerts', zone: 'Zone',
    skip_stops: 'Skip stops', skip_stops_hint: 'Playback jumps over stops and periods without fixes', unknown_vehicle: 'No vehicle has the plate or id “{ref}”',
  },
} as const;

/** tw is t for the words of the tablet and the replay. */
export function tw(key: keyof typeof tabletWords.zh): string {
  return tabletWords[getLang()][key];
}

/** Plates and zone names by id, read once per view; what is not found is named by kind, never by id. */
export class NameBook {
  readonly vehicles = new Map<string, Vehicle>();
  readonly zones = new Map<string, ZoneProps>();

  async load(): Promise<this> {
    const [vs, zs] = await Promise.all([getVehicles().catch(() => []), getZones().catch(() => null)]);
    for (const v of vs) this.vehicles.set(v.id, v);
    for (const f of zs?.features ?? []) if (f.properties?.id) this.zones.set(f.properties.id, f.properties);
    return this;
  }

  /** The plate; a vehicle without one (an unregistered device) has only its id to be known by. */
  plate(id: string): string {
    return this.vehicles.get(id)?.plate || id;
  }

  /** "货车", the vehicle's kind, or '' when unknown. */
  kind(id: string): string {
    const k = this.vehicles.get(id)?.kind;
    return k ? t(`kind_${k}`) : '';
  }

  /** The zone's Chinese name, else what kind of zone it is. */
  zone(id: string | null | undefined): string {
    if (!id) return '';
    const z = this.zones.get(id);
    if (z?.name) return z.name;
    const k = z?.kind ?? /^(port|corridor|yard|border)\b/.exec(id)?.[1];
    return tw((`zone_${k}` in tabletWords.zh ? `zone_${k}` : 'zone_unknown') as keyof typeof tabletWords.zh);
  }
}

/** 入境 / 出境 (a crossing, a declaration), 进入 / 驶出 (a gate read). */
export function fmtCrossDirection(dir: unknown): string {
  const k = `dir_${String(dir)}`;
  return k in tabletWords.zh ? tw(k as keyof typeof tabletWords.zh) : '';
}

/** "35分钟", "2小时5分钟", "40秒": a duration as an officer says it. */
export function fmtMinutes(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const zh = getLang() === 'zh';
  if (s < 60) return zh ? `${s}秒` : `${s} s`;
  const m = Math.round(s / 60);
  const h = Math.floor(m / 60);
  if (!h) return zh ? `${m}分钟` : `${m} min`;
  return zh ? `${h}小时${m % 60 ? `${m % 60}分钟` : ''}` : `${h} h${m % 60 ? ` ${m % 60} min` : ''}`;
}

/** "2026-11-28 12:17" in China time: the date always, seconds left out. */
export function fmtCstMinute(v: string | number | Date): string {
  return fmtTime(v).slice(0, 16);
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** A fix or point of the evidence: its China time and where it was, with the zone it was in. */
function pointText(p: unknown): string {
  if (!isObj(p) || num(p.lat) === null || num(p.lon) === null || p.source === 'unknown') return '';
  const time = typeof p.time === 'string' ? `${fmtTime(p.time)} ${t('cst')}，` : '';
  return `${time}${(p.lat as number).toFixed(4)}, ${(p.lon as number).toFixed(4)}`;
}

/** An evidence "place" (seal and driver rules): the point, the zones it was in, the nearest declared zone. */
function placeText(p: unknown, names: NameBook): string {
  if (!isObj(p) || p.source === 'unknown') return t('place_unknown');
  const parts = [pointText(p) + (p.source === 'last_valid_fix' ? tw('last_valid') : '')];
  if (Array.isArray(p.zones) && p.zones.length) parts.push(tw('in_zones').replace('{zones}', p.zones.map((z) => names.zone(String(z))).join('、')));
  if (num(p.nearest_zone_m) !== null && typeof p.nearest_zone === 'string') {
    parts.push(tw('near_zone').replace('{zone}', names.zone(p.nearest_zone)).replace('{dist}', fmtDistance(p.nearest_zone_m as number)));
  }
  return parts.filter(Boolean).join('；');
}

/**
 * An alert's evidence as labelled rows in words: zones by name, vehicles by plate, times in China
 * time, distances and durations rounded. Keys it does not know are left out rather than shown raw.
 */
export function evidenceRows(a: Alert, names: NameBook): Array<[string, string]> {
  const ev = isObj(a.evidence) ? a.evidence : {};
  const yesNo = (x: unknown) => (x === true ? tw('yes') : x === false ? tw('no') : '');
  const time = (x: unknown) => (typeof x === 'string' && fmtTime(x) ? `${fmtTime(x)} ${t('cst')}` : pointText(x));
  const dist = (x: unknown) => (num(x) !== null ? fmtDistance(x as number) : '');
  const zone = (x: unknown) => (typeof x === 'string' ? names.zone(x) : '');
  const count = (x: unknown) => (Array.isArray(x) ? tw('fixes_n').replace('{n}', String(x.length)) : num(x) !== null ? String(x) : '');
  const rows: Array<[keyof typeof tabletWords.zh, unknown, (x: unknown) => string]> = [
    ['ev_place', ev.place, (x) => (x === undefined ? '' : placeText(x, names))],
    ['ev_crossing', ev.crossing, pointText],
    ['ev_direction', ev.direction, fmtCrossDirection],
    ['ev_port', 'port_zone_id' in ev ? (ev.port_zone_id ?? '') : undefined, (x) => (x === undefined ? '' : x ? zone(x) : tw('ev_port_none'))],
    ['ev_declared_port', ev.declared_port_zone_id, zone],
    ['ev_border', ev.border_zone_id, zone],
    ['ev_corridor', ev.corridor_zone_id, zone],
    ['ev_gate', ev.gate_zone_id, zone],
    ['ev_yard', ev.yard_zone_id, zone],
    ['ev_plate', ev.plate, (x) => (typeof x === 'string' ? x : '')],
    ['ev_card', ev.card_id, (x) => (typeof x === 'string' ? x : '')],
    ['ev_seal', ev.seal_state, (x) => (typeof x === 'string' ? t(x === 'unlocked' ? 'seal_unlocked_state' : `seal_${x}`) : '')],
    ['ev_method', ev.method, (x) => (typeof x === 'string' ? `${t(`unlock_${x}`)}${typeof ev.card === 'string' ? `（${ev.card}）` : ''}` : '')],
    ['ev_declared_card', ev.declared_card, (x) => (typeof x === 'string' ? x : '')],
    ['ev_presented_card', ev.presented_card, (x) => (isObj(x) && typeof x.card_id === 'string' ? `${x.card_id}${typeof x.inserted_at === 'string' ? `（${t('inserted_at')} ${fmtTime(x.inserted_at)}）` : ''}` : '')],
    ['ev_driver_name', ev.driver_name ?? (isObj(ev.presented_card) ? ev.presented_card.driver_name : undefined), (x) => (typeof x === 'string' ? x : '')],
    ['ev_vehicles', ev.vehicles, (x) => (Array.isArray(x) ? x.map((v) => names.plate(String(v))).join('、') : '')],
    ['ev_stops', ev.stops, (x) => (Array.isArray(x) ? x.map(pointText).filter(Boolean).join('\n') : '')],
    ['ev_off_from', ev.off_from, pointText],
    ['ev_last', ev.last, pointText],
    ['ev_last_fix', ev.last_fix, pointText],
    ['ev_next_fix', ev.next_fix, pointText],
    ['ev_position', ev.position, pointText],
    ['ev_from', ev.from, time],
    ['ev_until', ev.until, time],
    ['ev_deadline', ev.deadline, time],
    ['ev_duration', ev.duration_s, (x) => (num(x) !== null ? fmtMinutes((x as number) * 1000) : '')],
    ['ev_distance', ev.distance_m, dist],
    ['ev_max_off', ev.max_off_m, dist],
    ['ev_width', ev.width_m, dist],
    ['ev_fixes_off', ev.fixes_off, count],
    ['ev_back', ev.back, yesNo],
    ['ev_driven', ev.driven_m, dist],
    ['ev_control_zone', ev.control_zone, yesNo],
    ['ev_late_fixes', ev.late_fixes, count],
    ['ev_late', ev.late === true ? true : undefined, yesNo],
    ['ev_disproved', ev.disproved_by_backfill === true ? true : undefined, yesNo],
    ['ev_declaration', ev.declaration_id, (x) => (typeof x === 'string' ? x : '')],
  ];
  const out: Array<[string, string]> = [];
  for (const [label, value, show] of rows) {
    if (value === undefined || value === null) continue;
    const text = show(value);
    if (text) out.push([tw(label), text]);
  }
  return out;
}

/** The zones an alert is about, the one it names first: what the tablet's map outlines and labels. */
export function alertZoneIds(a: Alert): string[] {
  const ev = isObj(a.evidence) ? a.evidence : {};
  const ids = [a.zone_id, ev.declared_port_zone_id, ev.corridor_zone_id, ev.gate_zone_id, ev.yard_zone_id, ev.port_zone_id];
  return [...new Set(ids.filter((x): x is string => typeof x === 'string' && x !== ''))];
}
