// An alert's evidence for an officer: the seal and driver rules' evidence as sentences,
// other rules' as plain rows.
import type { Alert, Fix } from './api';
import { h } from './dom';
import { fmtDistance, fmtSealState, fmtTime, t } from './i18n';

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => !!x && typeof x === 'object' && !Array.isArray(x);
const str = (x: unknown): string => (typeof x === 'string' ? x : '');

/** Where a rule placed the alert: position, zones, distance to the nearest declared zone, time. */
function placeText(p: unknown): string {
  if (!isObj(p) || p.source === 'unknown' || typeof p.lat !== 'number' || typeof p.lon !== 'number') return t('place_unknown');
  const parts = [`${p.lat.toFixed(5)}, ${p.lon.toFixed(5)}${p.source === 'last_valid_fix' ? t('place_last_fix') : ''}`];
  if (Array.isArray(p.zones) && p.zones.length) parts.push(p.zones.map(String).join('、'));
  if (typeof p.nearest_zone_m === 'number' && str(p.nearest_zone)) {
    parts.push(t('nearest_zone').replace('{zone}', str(p.nearest_zone)).replace('{dist}', fmtDistance(p.nearest_zone_m)));
  }
  if (str(p.time)) parts.push(`${fmtTime(str(p.time))} ${t('cst')}`);
  return parts.join('；');
}

function methodText(ev: Obj): string {
  const m = str(ev.method);
  if (!m) return '—';
  const card = str(ev.card);
  return `${t(`unlock_${m}`)}${card ? `（${card}）` : ''}`;
}

function rows(pairs: Array<[string, string]>): HTMLElement {
  return h('dl', { class: 'evidence', id: 'evidence' }, ...pairs.filter(([, v]) => v).flatMap(([k, v]) => [h('dt', {}, t(k)), h('dd', {}, v)]));
}

/** The rule's English message repeats what evidenceView says in words; shown only for other alerts. */
export const hasSentences = (a: Alert): boolean => a.type === 'seal_opened' || a.type === 'driver_mismatch' || a.type === 'sos';

export function evidenceView(a: Alert): HTMLElement {
  const ev = a.evidence;
  if (isObj(ev) && a.type === 'seal_opened') {
    return rows([
      ['place', placeText(ev.place)],
      ['method', methodText(ev)],
      ['status', str(ev.seal_state) ? `${t('seal')} ${fmtSealState(str(ev.seal_state))}` : ''],
      ['declaration', str(ev.declaration_id)],
    ]);
  }
  if (isObj(ev) && a.type === 'driver_mismatch') {
    const p = isObj(ev.presented_card) ? ev.presented_card : {};
    const since = str(p.inserted_at);
    return rows([
      ['declared_card', str(ev.declared_card)],
      ['presented_card', `${str(p.card_id)}${since ? `（${t('inserted_at')} ${fmtTime(since)} ${t('cst')}）` : ''}`],
      ['driver_name', str(ev.driver_name) || str(p.driver_name) || '—'],
      ['place', placeText(ev.place)],
      ['declaration', str(ev.declaration_id)],
    ]);
  }
  if (isObj(ev) && a.type === 'sos') {
    const cell = typeof ev.cell_id === 'number' || str(ev.cell_id) ? `MCC ${ev.mcc} MNC ${ev.mnc} LAC ${ev.lac} CI ${ev.cell_id}` : '';
    return rows([
      ['place', placeText(ev.place)],
      ['sos_position', ev.position === 'unknown in the report' ? t('sos_no_position') : ''],
      ['sos_reported', str(ev.reported_at) ? `${fmtTime(str(ev.reported_at))} ${t('cst')}` : ''],
      ['sos_device', str(ev.device_id)],
      ['sos_cell', cell],
    ]);
  }
  return plainView(ev);
}

/** Evidence of the other rules: fixes and zones mostly; show it plainly. */
function plainView(ev: unknown): HTMLElement {
  if (ev == null) return h('p', { class: 'evidence' }, '—');
  if (typeof ev !== 'object') return h('p', { class: 'evidence' }, String(ev));
  const out: HTMLElement[] = [];
  for (const [k, v] of Object.entries(ev as Obj)) {
    let text: string;
    if (Array.isArray(v) && v.every((x) => x && typeof x === 'object' && 'lat' in x && 'lon' in x)) {
      text = (v as Fix[]).map((f) => `${fmtTime(f.time).slice(11)} ${f.lat.toFixed(5)},${f.lon.toFixed(5)}${f.speed_kmh != null ? ` ${Math.round(f.speed_kmh)} ${t('kmh')}` : ''}`).join('\n');
    } else text = typeof v === 'object' ? JSON.stringify(v) : String(v);
    out.push(h('dt', {}, k), h('dd', {}, text));
  }
  return h('dl', { class: 'evidence', id: 'evidence' }, ...out);
}

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
