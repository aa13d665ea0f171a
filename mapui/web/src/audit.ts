// Audit view for auditors and administrators: the newest records of the append-only audit
// trail and the server's check of its hash chain. Read only: nobody can change the trail.
import { api, type Me } from './api';
import { h } from './dom';
import { fmtTime, t } from './i18n';

interface AuditRecord {
  seq: number;
  time: string;
  actor: string;
  action: string;
  object: string;
  result: string;
  detail?: unknown;
}

const PAGE = 200;

export function mountAudit(root: HTMLElement, _me: Me): () => void {
  const verify = h('p', { class: 'verify', id: 'audit-verify' }, '…');
  const body = h('tbody', { id: 'audit-rows' });
  const actionIn = h('input', { id: 'audit-filter', placeholder: t('audit_filter') });
  const table = h('table', { class: 'audit', id: 'audit' },
    h('thead', {}, h('tr', {}, ...['seq', 'time', 'actor', 'action', 'object', 'result'].map((k) => h('th', {}, t(`audit_${k}`))))),
    body);
  root.append(h('div', { class: 'audit-head' }, h('h2', {}, t('audit')), verify, actionIn), h('div', { class: 'audit-scroll' }, table));

  let records: AuditRecord[] = [];
  let closed = false;

  const show = () => {
    const q = actionIn.value.trim().toLowerCase();
    const rows = records.filter((r) => !q || `${r.actor} ${r.action} ${r.object}`.toLowerCase().includes(q));
    body.replaceChildren(...rows.map((r) =>
      h('tr', { 'data-seq': String(r.seq), class: r.result === 'ok' ? '' : 'denied' },
        h('td', {}, String(r.seq)), h('td', {}, fmtTime(r.time)), h('td', {}, r.actor), h('td', {}, r.action),
        h('td', {}, r.object), h('td', {}, r.result))));
    root.dataset.records = String(rows.length);
  };
  actionIn.addEventListener('input', show);

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
    show();
  })().catch((e) => (verify.textContent = `${t('failed')}: ${(e as Error).message}`));

  return () => {
    closed = true;
  };
}
