// An alert for an officer: a sentence built from its type and evidence (never the server's
// English message) and each evidence field as a labelled sentence, with plates and zone names
// (format.ts) instead of ids. The evidence each rule writes: tracker/rules (evaluate.go,
// timers.go, late.go, seal.go, driver.go) and tracker/pipeline.go (device_conflict), tracker/clockahead.go (device_clock_ahead).
import type { Alert, BwEvent } from './api';
import { h } from './dom';
import { colon, comma, direction, distance, duration, fill, paren, place, plate, time, timeOfDay, timeShort, vehicleLabel, weight, zoneName, zoneNameOr } from './format';
import { fmtDriverCard, fmtSealState, getLang, t } from './i18n';
import type { TargetOrder } from './targeting';

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);
const str = (x: unknown): string => (typeof x === 'string' ? x : '');
const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** An alert's plate as the API gives it with the alert, else from the directory. */
type WithVehicle = Alert & { plate?: string; vehicle_kind?: string };

/** A point of evidence ({time, lat, lon}, a fix) as "time, place". */
function at(p: unknown): string {
  if (!isObj(p)) return '';
  const lat = num(p.lat);
  const lon = num(p.lon);
  const where = p.source === 'unknown' || lat == null || lon == null ? t('place_unknown') : place(lat, lon);
  const when = time(str(p.time));
  return comma(when, where);
}

const whereOf = (p: unknown) => (isObj(p) && num(p.lat) != null && num(p.lon) != null && p.source !== 'unknown' ? place(p.lat as number, p.lon as number) : t('place_unknown'));
const ms = (a: unknown, b: unknown) => Date.parse(str(b)) - Date.parse(str(a));
const count = (x: unknown) => (Array.isArray(x) && x.length ? fill('ev_fix_count', { n: String(x.length) }) : '');
const source = (late: unknown) => (late === true ? t('ev_late') : '');

const protocols: Record<string, string> = { jt808: 'JT/T 808', gt06: 'GT06', jt600: 'JT701 (JT600)', osmand: 'OsmAnd' };

/** Where a seal or driver rule placed the alert: zones it was in, or the distance to the declared zone. */
function sealPlace(p: unknown): string {
  if (!isObj(p) || p.source === 'unknown') return t('place_unknown');
  const parts = [whereOf(p)];
  if (p.source === 'last_valid_fix') parts[0] += t('place_last_fix');
  const nm = num(p.nearest_zone_m);
  if (nm != null && str(p.nearest_zone_id)) parts.push(fill('nearest_zone', { zone: zoneName(str(p.nearest_zone_id)), dist: distance(nm) }));
  if (str(p.time)) parts.push(time(str(p.time)));
  return parts.join('；');
}

function methodText(ev: Obj): string {
  const m = str(ev.method);
  if (!m) return '';
  const card = str(ev.card);
  return `${t(`unlock_${m}`)}${paren(card)}`;
}

interface Described {
  summary: string;
  rows: Array<[string, string]>;
}

// Each alert type the rules raise, told from its evidence: one sentence and labelled rows.
const describers: Record<string, (a: WithVehicle, ev: Obj) => Described> = {
  crossing_mismatch: (a, ev) => {
    const port = str(ev.port_zone_id);
    if (ev.disproved_by_backfill === true) {
      return { summary: fill('sum_disproved', { port: zoneName(port) }), rows: [['ev_crossing_place', at(ev.crossing)], ['ev_crossing_port', zoneName(port)]] };
    }
    const dir = direction(ev.direction);
    const declared = str(ev.declared_port_zone_id);
    const summary = port
      ? fill('sum_crossing_mismatch', { port: zoneName(port), dir, declared: declared ? zoneName(declared) : '—' })
      : fill('sum_outside_port', { dir });
    return {
      summary,
      rows: [
        ['ev_crossing_time', isObj(ev.crossing) ? time(str(ev.crossing.time)) : ''],
        ['ev_crossing_place', whereOf(ev.crossing)],
        ['ev_direction', dir],
        ['ev_crossing_port', port ? zoneName(port) : t('ev_no_port')],
        ['ev_declared_port', declared ? zoneName(declared) : ''],
        ['ev_border', str(ev.border_zone_id) ? zoneName(str(ev.border_zone_id)) : ''],
        ['ev_source', source(ev.late) || source(a.late)],
      ],
    };
  },
  border_crossing_unverified: (a, ev) => {
    const before = ev.before ?? ev.prev ?? ev.last_fix;
    const after = ev.after ?? ev.next ?? ev.next_fix;
    const gapS = num(ev.gap_s) ?? num(ev.duration_s) ?? (isObj(before) && isObj(after) ? ms(before.time, after.time) / 1000 : null);
    const gap = gapS != null ? duration(gapS * 1000) : '—';
    return {
      summary: fill('sum_unverified', { dur: gap }),
      rows: [
        ['ev_direction', direction(ev.direction)],
        ['ev_gap', gapS != null ? gap : ''],
        ['ev_before', at(before)],
        ['ev_after', at(after)],
        ['ev_crossing_place', ev.crossing ? at(ev.crossing) : ''],
        ['ev_nearest_port', str(ev.nearest_port_zone_id) ? zoneName(str(ev.nearest_port_zone_id)) : ''],
        ['ev_via_port', num(ev.via_port_s) != null ? duration((ev.via_port_s as number) * 1000) : ''],
        ['ev_border', str(ev.border_zone_id) ? zoneName(str(ev.border_zone_id)) : ''],
        ['ev_source', source(ev.late) || source(a.late)],
      ],
    };
  },
  signal_lost: (a, ev) => {
    const last = ev.last_fix;
    const lastTime = isObj(last) ? str(last.time) : a.time;
    const closed = isObj(ev.next_fix);
    const darkMs = num(ev.duration_s) != null ? (ev.duration_s as number) * 1000 : Date.now() - Date.parse(lastTime);
    const summary = closed
      ? fill('sum_signal_closed', { dur: duration(darkMs), dist: distance(num(ev.distance_m) ?? 0) })
      : fill('sum_signal_open', { time: time(lastTime), dur: duration(darkMs) });
    return {
      summary,
      rows: [
        ['ev_last_fix', at(last)],
        ['ev_next_fix', closed ? at(ev.next_fix) : ''],
        ['ev_dark_for', duration(darkMs)],
        ['ev_moved', num(ev.distance_m) != null ? distance(ev.distance_m as number) : ''],
        ['ev_driven', num(ev.driven_m) != null ? distance(ev.driven_m as number) : ''],
        ['ev_late_fixes', count(ev.late_fixes)],
        ['ev_control_zone', ev.control_zone === true ? t('ev_in_control_zone') : ''],
      ],
    };
  },
  unauthorized_stop: (a, ev) => {
    const from = ev.from;
    const durMs = num(ev.duration_s) != null ? (ev.duration_s as number) * 1000 : 0;
    return {
      summary: fill('sum_stop', { dur: duration(durMs) }),
      rows: [
        ['ev_stop_place', whereOf(from)],
        ['ev_stop_from', isObj(from) ? time(str(from.time)) : ''],
        ['ev_stop_until', time(str(ev.until))],
        ['duration', duration(durMs)],
        ['ev_late_fixes', count(ev.late_fixes)],
        ['ev_source', source(a.late)],
      ],
    };
  },
  detour: (a, ev) => {
    const corridor = str(ev.corridor_zone_id) || a.zone_id || '';
    const off = ev.off_from;
    const last = ev.last;
    const durMs = isObj(off) && isObj(last) ? ms(off.time, last.time) : 0;
    const maxOff = num(ev.max_off_m) ?? 0;
    return {
      summary: fill('sum_detour', { corridor: zoneName(corridor), dist: distance(maxOff), dur: duration(durMs) }),
      rows: [
        ['ev_corridor', zoneName(corridor)],
        ['ev_off_from', at(off)],
        ['ev_off_last', at(last)],
        ['ev_max_off', distance(maxOff)],
        ['duration', duration(durMs)],
        ['ev_corridor_width', num(ev.width_m) != null ? fill('ev_width_each', { dist: distance(ev.width_m as number) }) : ''],
        ['ev_off_fixes', num(ev.fixes_off) != null ? fill('ev_fix_count', { n: String(ev.fixes_off) }) : ''],
        ['ev_state', ev.back === true ? t('ev_back') : ev.back === false ? t('ev_still_off') : ''],
        ['ev_late_fixes', count(ev.late_fixes)],
      ],
    };
  },
  gate_mismatch: (a, ev) => {
    const gate = str(ev.gate_zone_id) || a.zone_id || '';
    const declared = str(ev.declared_port_zone_id);
    const reasons: string[] = [];
    if (declared) reasons.push(fill('sum_gate_port', { port: zoneName(gate), declared: zoneName(declared) }));
    if (num(ev.distance_m) != null) reasons.push(fill('sum_gate_far', { gate: zoneName(gate), dist: distance(ev.distance_m as number) }));
    const summary = reasons.join('；') || t('gate_mismatch');
    return {
      summary,
      rows: [
        ['ev_gate', zoneName(gate)],
        ['ev_direction', direction(ev.direction)],
        ['ev_read_plate', str(ev.plate)],
        ['ev_read_card', str(ev.card_id)],
        ['ev_declared_port', declared ? zoneName(declared) : ''],
        ['ev_gps_place', ev.position ? at(ev.position) : ''],
        ['ev_gps_far', num(ev.distance_m) != null ? distance(ev.distance_m as number) : ''],
      ],
    };
  },
  overstay: (_a, ev) => ({
    summary: fill('sum_overstay', { deadline: time(str(ev.deadline)) }),
    rows: [['ev_deadline', time(str(ev.deadline))], ['ev_last_fix', at(ev.last_fix)]],
  }),
  meeting: (a, ev) => {
    const ids = Array.isArray(ev.vehicles) ? ev.vehicles.map(String) : [];
    const other = ids.find((id) => id !== a.vehicle_id) ?? '';
    const stops = Array.isArray(ev.stops) ? ev.stops : [];
    const durMs = ms(ev.from, ev.until);
    return {
      summary: fill('sum_meeting', { other: other ? plate(other) : '—', dist: distance(num(ev.distance_m) ?? 0), dur: duration(durMs) }),
      rows: [
        ['ev_vehicles', ids.map((id) => vehicleLabel(id)).join('、')],
        ['ev_stop_place', stops.length ? whereOf(stops[0]) : ''],
        ['ev_meet_from', time(str(ev.from))],
        ['ev_meet_until', time(str(ev.until))],
        ['duration', duration(durMs)],
        ['ev_apart', num(ev.distance_m) != null ? distance(ev.distance_m as number) : ''],
      ],
    };
  },
  device_conflict: (_a, ev) => {
    const report = (r: unknown) => (isObj(r) ? `${whereOf(r)}${paren(fill('ev_received', { time: time(str(r.received_at)) }))}` : '');
    const d = num(ev.distance_m);
    return {
      summary: d != null ? fill('sum_conflict_two', { dist: distance(d) }) : t('sum_conflict_one'),
      rows: [
        ['ev_device', str(ev.device_id)],
        ['ev_device_time', time(str(ev.device_time))],
        ['ev_first_report', report(ev.first)],
        ['ev_second_report', report(ev.second)],
        ['ev_apart', d != null ? distance(d) : ''],
        ['ev_protocol', protocols[str(ev.protocol)] ?? ''],
      ],
    };
  },
  device_clock_ahead: (_a, ev) => {
    const ahead = num(ev.ahead_s);
    return {
      summary: ahead != null ? fill('sum_clock_ahead', { dur: duration(ahead * 1000) }) : t('sum_clock_ahead_unknown'),
      rows: [
        ['ev_device', str(ev.device_id)],
        ['ev_claimed_time', time(str(ev.device_time))],
        ['ev_received_at', time(str(ev.received_at))],
        ['ev_ahead', ahead != null ? duration(ahead * 1000) : ''],
        ['ev_protocol', protocols[str(ev.protocol)] ?? ''],
      ],
    };
  },
  seal_opened: (_a, ev) => {
    const state = fmtSealState(str(ev.seal_state) || 'unlocked');
    const method = methodText(ev);
    const unknown = !isObj(ev.place) || ev.place.source === 'unknown';
    return {
      summary: fill(unknown ? 'sum_seal_unknown' : 'sum_seal', { state, method: paren(method) }),
      rows: [
        ['place', sealPlace(ev.place)],
        ['method', method],
        ['status', str(ev.seal_state) ? `${t('seal')} ${state}` : ''],
        ['declaration', str(ev.declaration_id)],
        ['ev_declared_port', str(ev.port_zone_id) ? zoneName(str(ev.port_zone_id)) : ''],
        ['ev_yard', str(ev.yard_zone_id) ? zoneName(str(ev.yard_zone_id)) : ''],
        ['ev_device', str(ev.device_id)],
        ['ev_source', source(ev.late)],
      ],
    };
  },
  sos: (_a, ev) => {
    const unknown = ev.position === 'unknown in the report';
    const cell = typeof ev.cell_id === 'number' || str(ev.cell_id) ? `MCC ${ev.mcc} MNC ${ev.mnc} LAC ${ev.lac} CI ${ev.cell_id}` : '';
    return {
      summary: t(unknown ? 'sum_sos_unknown' : 'sum_sos'),
      rows: [
        ['place', sealPlace(ev.place)],
        ['sos_position', unknown ? t('sos_no_position') : ''],
        ['sos_reported', str(ev.reported_at) ? time(str(ev.reported_at)) : ''],
        ['sos_device', str(ev.device_id)],
        ['sos_cell', cell],
      ],
    };
  },
  driver_mismatch: (_a, ev) => {
    const p = isObj(ev.presented_card) ? ev.presented_card : {};
    const since = str(p.inserted_at);
    const name = str(ev.driver_name) || str(p.driver_name);
    return {
      summary: fill('sum_driver', { presented: name ? fmtDriverCard({ name, card_id: str(p.card_id) }) : str(p.card_id), declared: str(ev.declared_card) }),
      rows: [
        ['declared_card', str(ev.declared_card)],
        ['presented_card', `${str(p.card_id)}${since ? paren(`${t('inserted_at')} ${time(since)}`) : ''}`],
        ['driver_name', name || '—'],
        ['place', sealPlace(ev.place)],
        ['declaration', str(ev.declaration_id)],
      ],
    };
  },
  weight_mismatch: (a, ev) => {
    const scale = scaleAt(ev.scale_id, ev.zone_id);
    const diff = num(ev.difference_kg);
    return {
      summary: fill('sum_weight', { scale: scaleWhere(ev.scale_id, ev.zone_id), net: kg(ev.net_kg), declared: kg(ev.declared_net_kg), diff: diff != null ? signedWeight(diff) : '—', pct: pct(ev.difference_pct) }),
      rows: [
        ['ev_scale', scale],
        ['ev_weighed_at', time(str(ev.time))],
        ['ev_gross', kg(ev.gross_kg)],
        ['ev_tare', kg(ev.tare_kg)],
        ['ev_net', kg(ev.net_kg)],
        ['ev_declared_net', kg(ev.declared_net_kg)],
        ['ev_difference', diff != null ? `${signedWeight(diff)}${paren(pct(ev.difference_pct))}` : ''],
        ['ev_tolerance', num(ev.tolerance_pct) != null ? `±${(ev.tolerance_pct as number).toFixed(1)}%` : ''],
        ['ev_cargo', str(ev.cargo)],
        ['ev_operator', str(ev.operator)],
        ['declaration', str(a.declaration_id)],
      ],
    };
  },
  weighing_skipped: (a, ev) => {
    const grace = num(ev.grace_s) != null ? duration((ev.grace_s as number) * 1000) : '—';
    return {
      summary: fill('sum_weighing_skipped', { port: zoneName(str(ev.port_zone_id)), yard: zoneName(str(ev.yard_zone_id) || a.zone_id), dur: grace }),
      rows: [
        ['ev_declared_port', str(ev.port_zone_id) ? zoneName(str(ev.port_zone_id)) : ''],
        ['ev_yard', str(ev.yard_zone_id) ? zoneName(str(ev.yard_zone_id)) : ''],
        ['ev_arrived', time(str(ev.arrived))],
        ['ev_grace', grace],
        ['ev_declared_net', kg(ev.declared_net_kg)],
        ['ev_cargo', str(ev.cargo)],
        ['declaration', str(a.declaration_id)],
      ],
    };
  },
  double_weighing: (a, ev) => {
    const rs = Array.isArray(ev.readings) ? ev.readings.filter(isObj) : [];
    const reading = (r: Obj | undefined) => (r ? comma(`${scaleAt(r.scale_id, r.zone_id)} ${t('ev_gross')} ${kg(r.gross_kg)}`, time(str(r.time))) : '');
    const diff = num(ev.difference_kg);
    const drifting = Array.isArray(ev.drifting_scales) ? ev.drifting_scales.filter(isObj) : [];
    const pair = isObj(ev.scale_pair) ? ev.scale_pair : null;
    const cause = drifting.length
      ? fill('sum_scale_drifts', { scale: str(drifting[0].scale_id), pct: pct(drifting[0].bias_pct), n: String(num(drifting[0].trips) ?? '') })
      : pair
        ? fill('sum_scale_pair', { pct: pct(pair.mean_pct), n: String(num(pair.trips) ?? '') })
        : t('sum_load_changed');
    return {
      summary: comma(fill('sum_double_weighing', { a: scaleWhere(rs[0]?.scale_id, rs[0]?.zone_id, rs[1]?.zone_id), b: scaleWhere(rs[1]?.scale_id, rs[1]?.zone_id, rs[0]?.zone_id), diff: diff != null ? signedWeight(diff) : '—', pct: pct(ev.difference_pct) }), cause),
      rows: [
        ['ev_first_weighing', reading(rs[0])],
        ['ev_second_weighing', reading(rs[1])],
        ['ev_difference', diff != null ? `${signedWeight(diff)}${paren(pct(ev.difference_pct))}` : ''],
        ['ev_tolerance', num(ev.tolerance_pct) != null ? `±${(ev.tolerance_pct as number).toFixed(1)}%` : ''],
        ['ev_cause', cause],
        ['declaration', str(a.declaration_id)],
      ],
    };
  },
  emergency_crossing: (a, ev) => {
    const port = str(ev.port_zone_id) || a.zone_id || '';
    const rules = ruleNames(ev.suspended_rules);
    return {
      summary: fill('sum_emergency', { port: zoneName(port), dir: direction(ev.direction), until: time(str(ev.valid_to)), rules: rules || '—' }),
      rows: [
        ['ev_declared_port', zoneName(port)],
        ['ev_direction', direction(ev.direction)],
        ['ev_yard', str(ev.yard_zone_id) ? zoneName(str(ev.yard_zone_id)) : ''],
        ['ev_valid_from', time(str(ev.valid_from))],
        ['ev_valid_to', time(str(ev.valid_to))],
        ['ev_suspended', rules],
        ['ev_cargo', str(ev.cargo)],
        ['ev_declared_by', str(ev.declared_by)],
        ['declaration', str(ev.declaration_id) || str(a.declaration_id)],
      ],
    };
  },
  emergency_review: (a, ev) => {
    const held = Array.isArray(ev.would_have_alerted) ? ev.would_have_alerted.filter(isObj) : [];
    // Each alert the window held back, numbered: what, when (China time), where, then told like the alert it would have been.
    const told = held.map((x, i): [string, string] => {
      const from = str(x.time);
      const until = str(x.until);
      const when = until && Date.parse(until) > Date.parse(from) ? `${time(from)} – ${timeOfDay(until)}` : time(from);
      const where = num(x.lat) != null && num(x.lon) != null ? place(x.lat as number, x.lon as number) : str(x.zone_id) ? zoneName(str(x.zone_id)) : t('place_unknown');
      const said = describe({ ...a, type: str(x.type), time: from, evidence: isObj(x.evidence) ? x.evidence : {}, zone_id: str(x.zone_id) || null } as WithVehicle).summary;
      return [fill('ev_held_n', { n: String(i + 1) }), `${comma(comma(t(str(x.type)), when), where)}${getLang() === 'zh' ? '；' : '; '}${said}`];
    });
    return {
      summary: fill('sum_emergency_review', { from: time(str(ev.from)), to: time(str(ev.to)), n: String(held.length) }),
      rows: [
        ['ev_window', `${time(str(ev.from))} – ${time(str(ev.to))}`],
        ['ev_suspended', ruleNames(ev.suspended_rules)],
        ...told,
        ['declaration', str(ev.declaration_id) || str(a.declaration_id)],
      ],
    };
  },
};
describers.border_crossing_outside_port = describers.crossing_mismatch;

/** The alert types told in words; any other type reads as its name only (tests compare this with the server's list). */
export const toldAlertTypes = (): string[] => Object.keys(describers);

/** The alert in words: one sentence and the evidence as labelled sentences. */
export function describe(a: WithVehicle): Described {
  const told = describers[a.type];
  if (told) return told(a, isObj(a.evidence) ? a.evidence : {});
  // A type this screen does not know yet: its name, where and when; the evidence is not guessed at.
  return { summary: t(a.type), rows: [['place', a.lat != null && a.lon != null ? place(a.lat, a.lon) : ''], ['time', time(a.time)]] };
}

/** Rule (alert type) names, 、-separated. */
const ruleNames = (x: unknown) => (Array.isArray(x) ? x.map((r) => t(String(r))).join(getLang() === 'zh' ? '、' : ', ') : '');
const kg = (x: unknown) => (num(x) != null ? weight(x as number) : '');
const signedWeight = (x: number) => `${x > 0 ? '+' : x < 0 ? '−' : ''}${weight(Math.abs(x))}`;
const pct = (x: unknown) => (num(x) != null ? `${(x as number) > 0 ? '+' : ''}${(x as number).toFixed(1)}%` : '');
/** Where a weighbridge stands, for a sentence: the port's or yard's name, with the scale's number when another scale stands there too. */
const scaleWhere = (id: unknown, zone: unknown, other?: unknown) =>
  !str(zone) ? str(id) : str(zone) === str(other) ? `${zoneName(str(zone))} ${str(id)}` : zoneName(str(zone));
/** A weighbridge: its number and the port or yard it stands in. */
const scaleAt = (id: unknown, zone: unknown) => `${str(id)}${str(zone) ? paren(zoneName(str(zone))) : ''}`;

/** The alert in one sentence, with its vehicle: "蒙B00001 在口岸以外入境越境". */
export function alertSummary(a: WithVehicle): string {
  return describe(a).summary;
}

/** The vehicle an alert is about: plate and kind. */
export function alertVehicle(a: WithVehicle): string {
  return vehicleLabel(a.vehicle_id, a.plate, a.vehicle_kind);
}

/** The sentence and every evidence field as a labelled sentence. */
export function evidenceView(a: Alert): HTMLElement {
  const d = describe(a);
  const rows: Array<[string, string]> = [['ev_summary', d.summary], ...d.rows];
  return h('dl', { class: 'evidence', id: 'evidence' }, ...rows.filter(([, v]) => v).flatMap(([k, v]) => [h('dt', {}, t(k)), h('dd', {}, v)]));
}

/** Every alert type is told in words by evidenceView: the server's English message is never shown. */
export const hasSentences = (_a: Alert): boolean => true;

export function evidencePoints(ev: unknown): [number, number][] {
  const out: [number, number][] = [];
  const walk = (x: unknown, depth: number) => {
    if (!x || typeof x !== 'object' || depth > 4) return;
    const o = x as Obj;
    if (typeof o.lat === 'number' && typeof o.lon === 'number' && !(o.source === 'unknown')) out.push([o.lon, o.lat]);
    for (const v of Object.values(o)) walk(v, depth + 1);
  };
  walk(ev, 0);
  return out;
}

/** The zones an alert is about, the one it names first: what a detail map outlines and labels. */
export function alertZoneIds(a: Alert): string[] {
  const ev: Obj = isObj(a.evidence) ? a.evidence : {};
  const ids = [a.zone_id, ev.declared_port_zone_id, ev.corridor_zone_id, ev.gate_zone_id, ev.yard_zone_id, ev.port_zone_id];
  return [...new Set(ids.filter((x): x is string => typeof x === 'string' && x !== ''))];
}

// Each event type the server stores, in words: zones by name, crossings as 入境/出境 and the port.
const eventWords: Record<string, (e: BwEvent) => string[]> = {
  zone_enter: (e) => [zoneNameOr(e.zone_id)],
  zone_exit: (e) => [zoneNameOr(e.zone_id)],
  border_cross: (e) => [direction(e.direction), 'port_zone_id' in e ? (str(e.port_zone_id) ? zoneName(str(e.port_zone_id)) : t('ev_no_port')) : ''],
  stop_start: (e) => [zoneNameOr(e.zone_id)],
  stop_end: (e) => [zoneNameOr(e.zone_id), num(e.duration_s) != null ? duration((e.duration_s as number) * 1000) : ''],
  gate_read: (e) => [zoneNameOr(e.zone_id), direction(e.direction), str(e.plate), e.matched === false ? t('ev_unmatched') : ''],
  driver_identity: (e) => [str(e.card_id) ? fmtDriverCard({ name: str(e.driver_name), card_id: str(e.card_id) }) : ''],
  waybill: (e) => [str(e.content).slice(0, 60)],
  seal_unlocked: (e) => [str(e.method) ? t(`unlock_${str(e.method)}`) : '', zoneNameOr(e.zone_id)],
  device_alarm: (e) => [Array.isArray(e.flags) && e.flags.includes('sos') ? t('sos') : '', str(e.device_id) ? `${t('ev_device')} ${str(e.device_id)}` : ''],
  weighing: (e) => [zoneNameOr(e.zone_id), str(e.scale_id), num(e.net_kg) != null ? `${t('ev_net')} ${weight(e.net_kg as number)}` : ''],
  // An alert an emergency window held back (tracker/rules/emergency.go heldEvent): which, and where.
  emergency_held: (e) => (isObj(e.alert) ? [t(str(e.alert.type)), zoneNameOr(str(e.alert.zone_id))] : []),
};

/** The event types told in words (tests compare this with the server's list). */
export const toldEventTypes = (): string[] => Object.keys(eventWords);

/** An event in one line: "越境 · 入境 · 策克口岸", "司机拔卡", "过磅 · 二连浩特口岸 · 净重 30.5吨". */
export function eventText(e: BwEvent): string {
  if (e.type === 'driver_identity' && !e.inserted) return t('driver_removed');
  return [t(e.type), ...(eventWords[e.type]?.(e) ?? [zoneNameOr(e.zone_id)])].filter(Boolean).join(' · ');
}

/** An inspection's photo as GET /alerts/{id} lists it (its bytes at /alerts/{id}/photos/{sha256}). */
export interface InspectionPhoto {
  sha256: string;
  content_type: string;
  size: number;
  by: string;
  at: string;
}

/** An order raised on an alert, with its inspection's result and photos (GET /alerts/{id}). */
export interface Inspection {
  order: TargetOrder;
  photos: InspectionPhoto[];
}

/** An inspection in labelled sentences: the order, where it hit, the result, the note, who reported. */
export function inspectionRows(o: TargetOrder): Array<[string, string]> {
  const r = o.result;
  const verdict = !r ? t('insp_pending') : r.found ? `${t('result_found')}${colon()}${t(`cat_${r.category}`)}` : t('result_nothing');
  return [
    ['insp_order', fill('insp_order_text', { action: t(`action_${o.action}`), by: o.issued_by, time: timeShort(o.created_at) })],
    ['insp_fired', o.fired_at ? comma(o.fired_zone_id ? zoneName(o.fired_zone_id) : '', comma(t(`via_${o.fired_via ?? ''}`), timeShort(o.fired_at))) : ''],
    ['insp_result', verdict],
    ['insp_note', r?.note ?? ''],
    ['insp_reported', r ? comma(r.by, time(r.at)) : ''],
  ];
}
