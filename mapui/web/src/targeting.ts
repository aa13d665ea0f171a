// Targeting (布控) and dispatch as the web app sees them: the API of /targets, /assignments and
// /stats/hits, the zone and plate names the screens show instead of ids, the notices the live
// socket carries ({"type":"target","kind":"fired",…}) and the sound they make.
import { api, token } from './api';
import { h } from './dom';
import { loadDirectory, plate, timeMinute, zoneName, zoneNameOr } from './format';
import { t } from './i18n';

export interface InspectionResult {
  found: boolean;
  category: string;
  note?: string;
  by: string;
  at: string;
}

export interface TargetOrder {
  id: string;
  vehicle_id?: string;
  plate?: string;
  reason: string;
  alert_id?: number;
  source: string;
  action: string;
  level: string;
  port_id: string;
  issued_by: string;
  note?: string;
  created_at: string;
  valid_until: string;
  status: string;
  fired_at?: string;
  fired_via?: string;
  fired_zone_id?: string;
  closed_at?: string;
  photos?: string[];
  result?: InspectionResult;
  /** A district user took over this port order (its level is now the district's). */
  taken_over_by?: string;
  taken_over_at?: string;
  take_over_note?: string;
}

export interface Assignment {
  id: string;
  order_id: string;
  port_id: string;
  team?: string;
  user?: string;
  status: string;
  assigned_by: string;
  assigned_at: string;
  accepted_by?: string;
  escalation?: string;
  order: TargetOrder;
}

export interface HitRow {
  source: string;
  port_id: string;
  month: string;
  issued: number;
  inspected: number;
  found: number;
  hit_rate: number;
}

export interface Notice {
  type: 'target';
  kind: 'fired' | 'assigned' | 'escalated' | 'closed' | 'cancelled' | string;
  order?: TargetOrder;
  assignment?: Assignment;
}

const json = (method: string, body?: unknown): RequestInit => ({ method, body: body === undefined ? undefined : JSON.stringify(body) });

export const listTargets = async (q: Record<string, string> = {}) => (await api<{ targets: TargetOrder[] }>(`/targets?${new URLSearchParams(q)}`)).targets ?? [];
export const issueTarget = (body: Record<string, unknown>) => api<TargetOrder>('/targets', json('POST', body));
export const cancelTarget = (id: string, reason: string) => api<TargetOrder>(`/targets/${encodeURIComponent(id)}`, json('DELETE', { reason }));
export const takeOver = (id: string, reason: string) => api<TargetOrder>(`/targets/${encodeURIComponent(id)}/takeover`, json('POST', { reason }));
export const assign = (body: Record<string, unknown>) => api<Assignment>('/assignments', json('POST', body));
export const listAssignments = async () => (await api<{ assignments: Assignment[] }>('/assignments')).assignments ?? [];
export const stepAssignment = (id: string, step: 'accept' | 'arrive') => api<Assignment>(`/assignments/${encodeURIComponent(id)}/${step}`, json('POST'));
export const reportResult = (id: string, body: { found: boolean; category: string; note: string }) =>
  api<TargetOrder>(`/targets/${encodeURIComponent(id)}/result`, json('POST', body));
export const hitStats = () => api<{ rows: HitRow[]; baseline: HitRow }>('/stats/hits');

/** Uploads one photo (multipart, field "photo"); the server names it by its SHA-256. */
export function uploadPhoto(orderId: string, file: Blob): Promise<{ sha256: string }> {
  const form = new FormData();
  form.append('photo', file, 'photo');
  return api<{ sha256: string }>(`/targets/${encodeURIComponent(orderId)}/photos`, { method: 'POST', body: form });
}

/** A photo as an object URL, fetched with the Authorization header (an <img> cannot send it). */
export async function photoURL(orderId: string, sha: string): Promise<string> {
  const res = await fetch(`/api/v1/targets/${encodeURIComponent(orderId)}/photos/${sha}`, { headers: { Authorization: `Bearer ${token() ?? ''}` } });
  if (!res.ok) throw new Error(res.statusText);
  return URL.createObjectURL(await res.blob());
}

/** The order's plate, else its vehicle's registered plate. */
export function orderPlate(o: TargetOrder): string {
  return o.plate || (o.vehicle_id ? plate(o.vehicle_id) : '—');
}

/** A zone's name, '—' for none. */
export const zoneOrDash = (id: string | undefined): string => zoneNameOr(id) || '—';

/** A source in words: an alert type's name, or 风险清单 / 情报 / 随机抽查. */
export const sourceName = (s: string) => t(['risk', 'intelligence', 'random'].includes(s) ? `src_${s}` : s);

/** "二连浩特口岸 闸口 2026-12-05 09:12": where and when an order fired. */
export function firedWhere(o: TargetOrder): string {
  if (!o.fired_at) return '';
  return `${o.fired_zone_id ? zoneName(o.fired_zone_id) + ' · ' : ''}${t(`via_${o.fired_via}`)} · ${timeMinute(o.fired_at)}`;
}

let audio: AudioContext | null = null;

/** Two short tones: a targeted vehicle has been found. Needs a tap on the page first (browsers' rule). */
export function sound(): void {
  try {
    audio ??= new AudioContext();
    const ctx = audio;
    [0, 0.35].forEach((at, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = i ? 660 : 880;
      gain.gain.setValueAtTime(0.3, ctx.currentTime + at);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + at + 0.3);
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + at);
      osc.stop(ctx.currentTime + at + 0.3);
    });
  } catch {
    // no audio device: the banner still shows
  }
}

const listeners = new Set<(n: Notice) => void>();

/** Listens to targeting notices from whichever live socket the view has open. */
export function onNotice(f: (n: Notice) => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** Called by the live socket for each targeting notice. */
export function notice(n: Notice): void {
  for (const f of listeners) f(n);
}

/** Takes down the banners of an order: the patrol accepted its assignment, or it ended. */
export function dismissNotices(orderId: string): void {
  for (const el of document.querySelectorAll<HTMLElement>('.target-banner')) if (el.dataset.order === orderId) el.remove();
}

/**
 * The banner over the wall and the tablet when an order fires or an assignment comes or is
 * escalated: the plate, where, what to do; with a sound. It stays until read: tapped, or the
 * order's assignment accepted on this screen, or the order closed or cancelled.
 */
export function mountNoticeBanner(parent: HTMLElement): () => void {
  loadDirectory().catch(() => {});
  const box = h('div', { class: 'target-banners', id: 'target-banners' });
  parent.append(box);
  const off = onNotice((n) => {
    if (n.order && ['closed', 'cancelled'].includes(n.kind)) dismissNotices(n.order.id);
    if (!n.order || !['fired', 'assigned', 'escalated', 'taken_over'].includes(n.kind)) return;
    const o = n.order;
    const el = h('button', { class: `target-banner kind-${n.kind}`, 'data-order': o.id, onclick: () => el.remove() },
      h('strong', {}, `${t(`notice_${n.kind}`)} · ${orderPlate(o)}`),
      h('span', {}, `${t(`action_${o.action}`)} · ${sourceName(o.source)}`),
      h('span', {}, firedWhere(o) || zoneOrDash(o.port_id)));
    box.prepend(el);
    sound();
  });
  return () => {
    off();
    box.remove();
  };
}
