// Webhooks: the receivers (those of the server's settings, read-only, and those added here:
// POST/PATCH/DELETE /webhooks/receivers), and the deliveries: who received which alert, the
// failed ones first, and sending a failed one again (POST /webhooks/deliveries/{id}/retry).
// A receiver's secret is shown once, when the server makes it; never after.
import { api, getVehicles, getZones, type Me } from './api';
import { toldAlertTypes } from './evidence';
import { at, emptyRow, errorLine, field, select, table } from './admin-text';
import { h } from './dom';
import { plate, setZones, timeMinute, zoneName } from './format';
import { getLang, t } from './i18n';

interface Delivery {
  id: string;
  hook: string;
  status: string;
  attempts: number;
  next_at: string;
  last_code?: number;
  last_error?: string;
  created_at: string;
  event: { type: string; alert: { id: number; type: string; vehicle_id: string; time: string } };
}

interface Receiver {
  name: string;
  url: string;
  signed: boolean;
  secret_hint?: string;
  min_severity: string;
  types: string[];
  ports: string[];
  enabled: boolean;
  configured: boolean;
  created_by?: string;
  created_at?: string;
}

export function mountWebhooks(root: HTMLElement, _me: Me): () => void {
  const msg = errorLine();
  const receivers = table('admin-receivers', ['hook', 'status', '', 'hook_url', 'hook_filters', 'hook_signed', 'hook_source']);
  const list = table('admin-deliveries', ['hook', 'alert', 'plate', 'status', 'attempts', 'last_error', 'created', '']);
  const status = select('status', [['failed', at('delivery_failed')], ['pending', at('delivery_pending')], ['delivered', at('delivery_delivered')], ['', at('all')]], 'failed');
  status.addEventListener('change', () => load().catch((e) => msg.show(e)));
  let closed = false;

  const name = h('input', { name: 'hook_name', required: true, maxlength: '64', pattern: '[\\p{L}\\p{N}._\\-]+', placeholder: at('hook_name_hint') });
  const url = h('input', { name: 'hook_url', type: 'url', required: true, maxlength: '2048', placeholder: 'https://' });
  const secret = h('input', { name: 'hook_secret', type: 'password', minlength: '16', maxlength: '256', autocomplete: 'new-password', placeholder: at('hook_secret_hint') });
  const severity = select('min_severity', [['', at('all')], ['warning', `${t('sev_warning')}${at('and_above')}`], ['critical', t('sev_critical')]]);
  const types = h('select', { name: 'hook_types', multiple: true, size: '6' }, ...toldAlertTypes().map((x) => h('option', { value: x }, t(x))));
  const ports = h('select', { name: 'hook_ports', multiple: true, size: '5' });
  // An attribute, not the property: the form's reset after a save checks it again.
  const enabled = h('input', { name: 'hook_enabled', type: 'checkbox', checked: 'checked' });
  const shown = h('p', { class: 'hook-secret', hidden: true, role: 'status' });
  const chosen = (s: HTMLSelectElement) => [...s.selectedOptions].map((o) => o.value);
  const form = h('form', { class: 'admin-form', id: 'receiver-form', onsubmit: async (e: SubmitEvent) => {
    e.preventDefault();
    msg.clear();
    shown.hidden = true;
    const body = { name: name.value.trim(), url: url.value.trim(), secret: secret.value || undefined, min_severity: severity.value,
      types: chosen(types), ports: chosen(ports), enabled: enabled.checked };
    try {
      const r = await api<{ receiver: Receiver; secret?: string }>('/webhooks/receivers', { method: 'POST', body: JSON.stringify(body) });
      msg.ok(`${at('saved')} · ${r.receiver.name}`);
      if (r.secret) {
        shown.replaceChildren(h('span', {}, at('hook_secret_once')), h('code', {}, r.secret));
        shown.hidden = false;
      }
      form.reset();
      await load();
    } catch (x) {
      msg.show(x);
    }
  } }, h('h3', {}, at('new_receiver')), shown, field(at('hook_name'), name), field(at('hook_url'), url), field(at('hook_secret'), secret),
  field(at('min_severity'), severity), field(at('hook_types'), types), field(at('hook_ports'), ports), field(at('hook_enabled'), enabled),
  h('p', { class: 'hint' }, at('hook_filter_hint')), h('button', { type: 'submit', class: 'primary' }, at('save')));

  root.append(msg.el, h('div', { class: 'admin-split' },
    h('div', { class: 'admin-lists' }, h('h3', {}, at('receivers')), receivers.el,
      h('h3', {}, at('deliveries')), h('div', { class: 'admin-toolbar' }, h('span', {}, at('status')), status), list.el),
    h('div', { class: 'admin-forms' }, form)));

  const filters = (r: Receiver): string => [
    r.min_severity && r.min_severity !== 'info' ? `${t(`sev_${r.min_severity}`)}${r.min_severity === 'critical' ? '' : at('and_above')}` : '',
    r.types.length ? r.types.map((x) => t(x)).join(getLang() === 'zh' ? '、' : ', ') : '',
    r.ports.length ? r.ports.map((p) => zoneName(p)).join(getLang() === 'zh' ? '、' : ', ') : '',
  ].filter(Boolean).join(' · ') || at('all_alerts');

  async function change(r: Receiver, how: 'enable' | 'disable' | 'delete'): Promise<void> {
    if (how === 'delete' && !confirm(`${at('confirm_delete')} ${r.name}`)) return;
    msg.clear();
    try {
      const path = `/webhooks/receivers/${encodeURIComponent(r.name)}`;
      await (how === 'delete' ? api(path, { method: 'DELETE' }) : api(path, { method: 'PATCH', body: JSON.stringify({ enabled: how === 'enable' }) }));
      msg.ok(`${at(how)} · ${r.name}`);
      await load();
    } catch (x) {
      msg.show(x);
    }
  }

  async function load(): Promise<void> {
    const q = new URLSearchParams({ limit: '200', ...(status.value ? { status: status.value } : {}) });
    const [rs, r, vs, zs] = await Promise.all([api<{ receivers: Receiver[] }>('/webhooks/receivers'), api<{ deliveries: Delivery[] }>(`/webhooks/deliveries?${q}`),
      getVehicles(), getZones()]);
    if (closed) return;
    const portZones = zs.features.filter((f) => f.properties.kind === 'port');
    setZones(zs);
    const keep = new Set(chosen(ports));
    ports.replaceChildren(...portZones.map((f) => h('option', { value: f.properties.id, selected: keep.has(f.properties.id) }, zoneName(f.properties.id))));
    const rows = rs.receivers ?? [];
    // Status and the buttons beside the name: on a narrow screen the long columns scroll, these do not.
    receivers.body.replaceChildren(...rows.map((x) => h('tr', { 'data-name': x.name, class: x.enabled ? '' : 'disabled' },
      h('td', { class: 'name' }, x.name), h('td', {}, x.enabled ? at('enabled') : at('disabled')),
      h('td', { class: 'actions' }, ...(x.configured ? [] : [
        h('button', { class: x.enabled ? 'disable' : 'enable', onclick: () => change(x, x.enabled ? 'disable' : 'enable') }, at(x.enabled ? 'disable' : 'enable')),
        h('button', { class: 'delete', onclick: () => change(x, 'delete') }, at('delete')),
      ])),
      h('td', { class: 'url' }, x.url), h('td', { class: 'filters' }, filters(x)),
      h('td', {}, x.signed ? (x.secret_hint ? `${at('yes')} ··${x.secret_hint}` : at('yes')) : at('hook_unsigned')),
      x.configured ? h('td', { class: 'filters' }, at('hook_configured')) : h('td', {}, x.created_by ?? '', h('br'), x.created_at ? timeMinute(x.created_at) : ''))));
    if (!rows.length) receivers.body.append(emptyRow(7));
    root.dataset.receivers = String(rows.length);

    const byId = new Map(vs.map((v) => [v.id, v]));
    const ds = r.deliveries ?? [];
    list.body.replaceChildren(...ds.map((d) => {
      const a = d.event?.alert;
      return h('tr', { 'data-id': d.id, class: `status-${d.status}` },
        h('td', {}, d.hook), h('td', {}, a ? `${t(a.type)} · ${timeMinute(a.time)}` : '—'), h('td', { class: 'plate' }, a ? plate(a.vehicle_id, byId.get(a.vehicle_id)?.plate) : '—'),
        h('td', {}, at(`delivery_${d.status}`)), h('td', {}, String(d.attempts)),
        h('td', {}, [d.last_code ? `HTTP ${d.last_code}` : '', d.last_error ?? ''].filter(Boolean).join(' · ') || '—'), h('td', {}, timeMinute(d.created_at)),
        h('td', { class: 'actions' }, d.status === 'failed' ? h('button', { class: 'retry', onclick: async () => {
          msg.clear();
          try {
            await api(`/webhooks/deliveries/${encodeURIComponent(d.id)}/retry`, { method: 'POST' });
            msg.ok(`${at('retry')} · ${d.hook}`);
            await load();
          } catch (e) {
            msg.show(e);
          }
        } }, at('retry')) : null));
    }));
    if (!ds.length) list.body.append(emptyRow(8));
    root.dataset.deliveries = String(ds.length);
  }
  load().catch((e) => msg.show(e));
  return () => {
    closed = true;
  };
}
