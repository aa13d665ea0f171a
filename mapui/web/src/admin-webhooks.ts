// Webhook deliveries: who received which alert, the failed ones first, and sending a failed one
// again (POST /webhooks/deliveries/{id}/retry). The receivers themselves are the server's
// configuration: the API has no call that adds or removes one.
import { api, getVehicles, type Me } from './api';
import { at, emptyRow, errorLine, select, table } from './admin-text';
import { h } from './dom';
import { plate, timeMinute } from './format';
import { t } from './i18n';

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

export function mountWebhooks(root: HTMLElement, _me: Me): () => void {
  const msg = errorLine();
  const list = table('admin-deliveries', ['hook', 'alert', 'plate', 'status', 'attempts', 'last_error', 'created', '']);
  const status = select('status', [['failed', at('delivery_failed')], ['pending', at('delivery_pending')], ['delivered', at('delivery_delivered')], ['', at('all')]], 'failed');
  status.addEventListener('change', () => load().catch((e) => msg.show(e)));
  root.append(h('p', { class: 'hint' }, at('no_webhook_api')), h('div', { class: 'admin-toolbar' }, h('span', {}, at('status')), status), msg.el, list.el);
  let closed = false;

  async function load(): Promise<void> {
    const q = new URLSearchParams({ limit: '200', ...(status.value ? { status: status.value } : {}) });
    const [r, vs] = await Promise.all([api<{ deliveries: Delivery[] }>(`/webhooks/deliveries?${q}`), getVehicles()]);
    if (closed) return;
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
