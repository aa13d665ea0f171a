// Audit view for the audit administrator (auditor): the newest records of the append-only audit
// trail in words (who, what, on which vehicle or zone, China time), and the server's check of
// its hash chain. Read only: nobody can change the trail. The demo's simulator acts through its
// own account (cmd/borderwatch: simulatorAccount), the server itself as "system" or "cli": the
// source filter separates them from people's actions.
import { api, type Me } from './api';
import { at, fmtAction, fmtResult, select } from './admin-text';
import { h } from './dom';
import { paren, timeSecond } from './format';
import { t } from './i18n';

interface AuditRecord {
  seq: number;
  time: string;
  actor: string;
  action: string;
  object: string;
  result: string;
  addr?: string;
  detail?: Record<string, unknown> | null;
}

// The demo's simulator writes about a thousand records at its start: the window holds people's
// actions around them.
const PAGE = 2000;

/** The account the demo's simulator logs in with. */
export const SIMULATOR = 'simulator';
const SYSTEM_ACTORS = new Set(['system', 'cli', 'demo', '']);

export type Source = 'people' | 'simulator' | 'system';

export function sourceOf(r: AuditRecord): Source {
  if (r.actor === SIMULATOR) return 'simulator';
  // A refused login has no actor yet: it is a person (or someone guessing) at the login form.
  if (r.action === 'login') return 'people';
  return SYSTEM_ACTORS.has(r.actor) ? 'system' : 'people';
}

export function mountAudit(root: HTMLElement, _me: Me): () => void {
  const verify = h('p', { class: 'verify', id: 'audit-verify' }, '…');
  const body = h('tbody', { id: 'audit-rows' });
  const actionIn = h('input', { id: 'audit-filter', placeholder: t('audit_filter') });
  const source = select('source', [['people', at('audit_people')], ['simulator', at('audit_simulator')], ['system', at('audit_system')], ['', at('all')]], 'people');
  source.id = 'audit-source';
  const table = h('table', { class: 'audit', id: 'audit' },
    h('thead', {}, h('tr', {}, ...['time', 'actor', 'action', 'object', 'result'].map((k) => h('th', {}, k === 'time' ? `${t('audit_time')}${paren(t('cst'))}` : t(`audit_${k}`))), h('th', {}, at('audit_source')), h('th', {}, at('audit_addr')), h('th', {}, t('audit_seq')))),
    body);
  root.append(h('div', { class: 'audit-head' }, h('h2', {}, t('audit')), verify, h('label', { class: 'audit-source' }, at('audit_source'), source), actionIn), h('div', { class: 'audit-scroll' }, table));

  let records: AuditRecord[] = [];
  const names = new Map<string, string>(); // "vehicle:ID" → 蒙B00001, "zone:ID" → 策克口岸
  let closed = false;

  const objectText = (r: AuditRecord): string => {
    const [kind, id] = r.object.includes(':') ? [r.object.slice(0, r.object.indexOf(':')), r.object.slice(r.object.indexOf(':') + 1)] : [r.object, ''];
    const named = names.get(r.object);
    switch (kind) {
      case 'vehicle':
        return `${at('vehicle_word')}${named ?? id}`;
      case 'device':
        return `${at('device_word')}${id}`;
      case 'user':
        return `${at('user_word')}${id}`;
      case 'declaration':
        return `${at('declaration_word')}${id}`;
      case 'zone':
        return `${at('zone_word')}${named ?? id}`;
      case 'alert': {
        const v = typeof r.detail?.vehicle_id === 'string' ? names.get(`vehicle:${r.detail.vehicle_id}`) : undefined;
        return `${at('alert_word')}#${id}${v ? ` · ${v}` : ''}`;
      }
      case 'delivery':
        return `${at('delivery_word')}${id.slice(0, 8)}`;
      case 'webhook':
        return `${at('webhook_word')}${id}`;
      case 'addr':
        return id;
      case 'zones': {
        const ids = (r.detail?.ids as string[] | undefined) ?? [];
        return ids.length ? `${at('zone_word')}${ids.map((z) => names.get(`zone:${z}`) ?? z).join('、')}` : at('zones_word');
      }
      default:
        return at(`object_${kind}`).replace(/^object_/, '') || r.object;
    }
  };

  const show = () => {
    const q = actionIn.value.trim().toLowerCase();
    const src = source.value;
    const rows = records.filter((r) => (!src || sourceOf(r) === src) &&
      (!q || `${r.actor} ${fmtAction(r.action)} ${r.action} ${objectText(r)}`.toLowerCase().includes(q)));
    body.replaceChildren(...rows.map((r) =>
      h('tr', { 'data-seq': String(r.seq), 'data-action': r.action, 'data-source': sourceOf(r), class: r.result === 'ok' ? '' : 'denied' },
        h('td', { class: 'time' }, timeSecond(r.time)), h('td', {}, r.actor || '—'), h('td', { class: 'action' }, fmtAction(r.action)),
        h('td', { class: 'object' }, objectText(r)), h('td', {}, fmtResult(r.result)), h('td', {}, at(`audit_${sourceOf(r)}`)),
        h('td', { class: 'addr' }, r.addr ?? ''), h('td', { class: 'seq' }, String(r.seq)))));
    root.dataset.records = String(rows.length);
  };
  actionIn.addEventListener('input', show);
  source.addEventListener('change', show);

  (async () => {
    // The chain check first: it says how many records there are, so the view opens on the newest.
    const v = await api<{ records: number; ok: boolean; first_broken_seq: number; problem?: string }>('/audit/verify');
    if (closed) return;
    verify.className = `verify ${v.ok ? 'ok' : 'broken'}`;
    verify.textContent = v.ok ? `${t('audit_intact')} · ${v.records}` : `${t('audit_broken')} #${v.first_broken_seq}`;
    verify.title = v.problem ?? '';
    root.dataset.verified = String(v.ok);
    const r = await api<{ records: AuditRecord[] }>(`/audit?after=${Math.max(0, v.records - PAGE)}&limit=${PAGE}`);
    if (closed) return;
    records = (r.records ?? []).reverse();
    // The auditor may read no registry: names come from what the records themselves say.
    for (const rec of records) {
      const d = rec.detail ?? {};
      if (rec.object.startsWith('vehicle:') && typeof d.plate === 'string' && d.plate) names.set(rec.object, d.plate);
      const ids = d.ids as string[] | undefined;
      const zoneNames = d.names as string[] | undefined;
      ids?.forEach((id, i) => zoneNames?.[i] && names.set(`zone:${id}`, zoneNames[i]));
    }
    show();
  })().catch((e) => (verify.textContent = `${t('failed')}: ${(e as Error).message}`));

  return () => {
    closed = true;
  };
}
