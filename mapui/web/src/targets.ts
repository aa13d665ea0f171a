// Command's targeting screen (#/targets): issue an order (布控) for a plate, see the orders with
// where they fired, dispatch a port's team or a patrol, cancel; and the hit table (命中率) by
// source, port and month against the random draws' baseline, with a bar per row.
import { type Me } from './api';
import { Live } from './live';
import { h } from './dom';
import { fill, loadDirectory, ports, readTime, timeInput, timeMinute, timeShort, zoneName } from './format';
import { t } from './i18n';
import { assign, cancelTarget, firedWhere, hitStats, issueTarget, listTargets, onNotice, orderPlate, sourceName, takeOver, type HitRow, type TargetOrder } from './targeting';
import { nearestPatrols } from './patrols';

const REASONS = ['risk', 'intelligence', 'alert', 'random'];
const ACTIONS = ['inspect_next_crossing', 'inspect_at_yard', 'intercept_now'];

export function mountTargets(root: HTMLElement, me: Me): () => void {
  const district = !me.unit || me.unit === 'district';
  const msg = h('p', { class: 'msg', id: 'targets-msg', role: 'status' });
  const orders = h('tbody', { id: 'orders' });
  const hits = h('tbody', { id: 'hits' });
  const portSelect = (id: string, first: string) => h('select', { id }, h('option', { value: '' }, first));
  const plate = h('input', { id: 'target-plate', required: true, placeholder: '蒙K12345', maxlength: '20' });
  const reason = h('select', { id: 'target-reason' }, ...REASONS.map((r) => h('option', { value: r }, t(`reason_${r}`))));
  const alertId = h('input', { id: 'target-alert', type: 'number', min: '1', placeholder: t('alert_no') });
  const action = h('select', { id: 'target-action' }, ...ACTIONS.map((a) => h('option', { value: a }, t(`action_${a}`))));
  const port = portSelect('target-port', t('port_where_found'));
  const until = timeInput({ id: 'target-until' }, Date.now() + 7 * 86400_000);
  const note = h('input', { id: 'target-note', placeholder: t('note'), maxlength: '500' });

  const form = h('form', {
    class: 'target-form',
    onsubmit: async (e: SubmitEvent) => {
      e.preventDefault();
      msg.textContent = '…';
      const body: Record<string, unknown> = { plate: plate.value.trim(), reason: reason.value, action: action.value, note: note.value.trim() };
      if (reason.value === 'alert') body.alert_id = Number(alertId.value);
      if (port.value) body.port_id = port.value;
      const v = readTime(until.value, true);
      if (v) body.valid_until = v.toISOString();
      try {
        const o = await issueTarget(body);
        msg.textContent = `${t('target_issued')}: ${orderPlate(o)}`;
        plate.value = '';
        note.value = '';
        await refresh();
      } catch (x) {
        msg.textContent = `${t('failed')}: ${(x as Error).message}`;
      }
    },
  },
    h('label', {}, t('plate'), plate),
    h('label', {}, t('target_reason'), reason),
    h('label', {}, t('alert_no'), alertId),
    h('label', {}, t('target_action'), action),
    h('label', {}, t('port'), port),
    h('label', {}, `${t('valid_until')}（${t('cst')}）`, until),
    h('label', {}, t('note'), note),
    h('button', { type: 'submit', class: 'primary', id: 'target-issue' }, t('target_issue')));

  const cols = ['plate', 'target_source', 'target_action', 'target_level', 'port', 'status', 'issued_at', 'valid_until', 'target_found_at', 'target_result', ''];
  root.append(
    h('section', { class: 'targets-issue' }, h('h2', {}, t('targets')), form, msg),
    h('section', { class: 'targets-list' }, h('h2', {}, t('target_orders')),
      h('table', { class: 'grid', id: 'orders-table' }, h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', {}, c ? t(c) : '')))), orders)),
    h('section', { class: 'targets-hits' }, h('h2', {}, t('hit_table')),
      h('table', { class: 'grid', id: 'hits-table' }, h('thead', {}, h('tr', {},
        ...['month', 'port', 'target_source', 'issued', 'inspected', 'found', 'hit_rate', ''].map((c) => h('th', {}, c ? t(c) : '')))), hits)),
  );

  function result(o: TargetOrder): string {
    if (!o.result) return '';
    return o.result.found ? `${t('result_found')} · ${t(`cat_${o.result.category}`)}` : t('result_nothing');
  }

  function dispatchCell(o: TargetOrder): HTMLElement | string {
    if (o.status !== 'active' && o.status !== 'fired') return '';
    const team = portSelect('', t('dispatch_team'));
    for (const { id, name } of ports()) team.append(h('option', { value: id }, name));
    const cell = h('div', { class: 'dispatch' }, team,
      h('button', { class: 'dispatch-go', onclick: async () => {
        try {
          await assign({ order_id: o.id, team: team.value });
          msg.textContent = `${t('dispatched')}: ${orderPlate(o)}`;
        } catch (x) {
          msg.textContent = `${t('failed')}: ${(x as Error).message}`;
        }
      } }, t('dispatch')),
      // The nearest patrols to the order's vehicle open under the row.
      h('button', { class: 'dispatch-nearest', onclick: (e: MouseEvent) => {
        const tr = (e.currentTarget as HTMLElement).closest('tr')!;
        if (tr.nextElementSibling?.classList.contains('nearest-row')) return tr.nextElementSibling.remove();
        tr.after(h('tr', { class: 'nearest-row', 'data-for': o.id }, h('td', { colspan: cols.length },
          nearestPatrols({ order_id: o.id }, () => (msg.textContent = `${t('dispatched')}: ${orderPlate(o)}`)))));
      } }, t('dispatch_nearest')),
      district && o.level === 'port' ? h('button', { class: 'takeover', onclick: async () => {
        try {
          await takeOver(o.id, '');
          msg.textContent = `${t('takeover_done')}: ${orderPlate(o)}`;
          await refresh();
        } catch (x) {
          msg.textContent = `${t('failed')}: ${(x as Error).message}`;
        }
      } }, t('takeover')) : null,
      // A port cancels its own orders, not those the district issued or took over.
      !district && o.level === 'district' ? null : h('button', { class: 'cancel', onclick: async () => {
        try {
          await cancelTarget(o.id, '');
          await refresh();
        } catch (x) {
          msg.textContent = `${t('failed')}: ${(x as Error).message}`;
        }
      } }, t('target_cancel')));
    return cell;
  }

  function renderOrders(list: TargetOrder[]): void {
    orders.replaceChildren(...list.map((o) => h('tr', { 'data-order': o.id, class: `st-${o.status}` },
      h('td', { class: 'plate' }, orderPlate(o)),
      h('td', {}, sourceName(o.source)),
      h('td', {}, t(`action_${o.action}`)),
      h('td', { class: 'level' }, t(`level_${o.level}`),
        o.taken_over_by ? h('small', { class: 'taken-over' }, fill('taken_over_by', { user: o.taken_over_by, time: timeShort(o.taken_over_at ?? '') })) : null),
      h('td', {}, o.port_id ? zoneName(o.port_id) : t('port_where_found')),
      h('td', { class: 'order-status' }, t(`tstatus_${o.status}`)),
      h('td', {}, timeMinute(o.created_at)),
      h('td', {}, timeMinute(o.valid_until)),
      h('td', {}, firedWhere(o)),
      h('td', { class: 'result' }, result(o)),
      h('td', {}, dispatchCell(o)))));
  }

  function renderHits(rows: HitRow[], base: HitRow): void {
    const pct = (r: HitRow) => (r.inspected ? `${(100 * r.hit_rate).toFixed(1)}%` : '—');
    const bar = (r: HitRow) => h('div', { class: 'bar-track' }, h('div', { class: `bar${r.inspected && r.hit_rate > base.hit_rate ? ' above' : ''}`, style: `width:${(100 * r.hit_rate).toFixed(1)}%` }));
    hits.replaceChildren(
      ...rows.map((r) => h('tr', { 'data-source': r.source, 'data-port': r.port_id },
        h('td', {}, r.month), h('td', {}, r.port_id ? zoneName(r.port_id) : '—'), h('td', {}, sourceName(r.source)),
        h('td', { class: 'n issued' }, String(r.issued)), h('td', { class: 'n inspected' }, String(r.inspected)), h('td', { class: 'n found' }, String(r.found)),
        h('td', { class: 'n rate' }, pct(r)), h('td', { class: 'chart-cell' }, bar(r)))),
      h('tr', { class: 'baseline', id: 'hits-baseline' },
        h('td', { colspan: 3 }, t('hit_baseline')),
        h('td', { class: 'n' }, String(base.issued)), h('td', { class: 'n' }, String(base.inspected)), h('td', { class: 'n' }, String(base.found)),
        h('td', { class: 'n rate' }, pct(base)), h('td', { class: 'chart-cell' }, bar(base))));
  }

  let closed = false;
  async function refresh(): Promise<void> {
    await loadDirectory().catch(() => {});
    const [list, st] = await Promise.all([listTargets({ limit: '500' }), hitStats()]);
    if (closed) return;
    if (!port.children[1]) for (const { id, name } of ports()) port.append(h('option', { value: id }, name));
    renderOrders(list);
    renderHits(st.rows ?? [], st.baseline);
    root.dataset.loaded = String(Date.now());
  }
  const off = onNotice(() => void refresh().catch(() => {}));
  // Only the notices: a subscription to no vehicle carries no positions and no alerts.
  const live = new Live({}, { vehicles: ['-'] });
  refresh().catch((x) => (msg.textContent = `${t('failed')}: ${(x as Error).message}`));
  return () => {
    closed = true;
    off();
    live.close();
  };
}
