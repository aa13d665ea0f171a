// Alert list and history (#/alerts) for command and investigators: every alert, newest first,
// filtered by type, severity, port, status, period (China time) and plate, a page at a time
// (GET /alerts with offset/next_offset); a row opens the alert's detail beside the list.
import { api, type Alert, type Me } from './api';
import { alertDetail, focusAlert, type AlertFocus } from './alertview';
import { h } from './dom';
import { createMap } from './map';
import { alertSummary, toldAlertTypes } from './evidence';
import { loadDirectory, plate, portOf, ports, readTime, setVehicles, severity, timeInput, timeMinute, timeShort, vehicleKind, zoneName } from './format';
import { getLang, t } from './i18n';
import { Live } from './live';

const PAGE = 50;

const FILTERS = ['type', 'severity', 'port', 'status', 'from', 'to', 'plate'] as const;

export function mountAlertList(root: HTMLElement, me: Me, params: URLSearchParams): () => void {
  const select = (name: string, options: Array<[string, string]>) =>
    h('select', { name, id: `f-${name}` }, h('option', { value: '' }, t('all')), ...options.map(([v, label]) => h('option', { value: v }, label)));
  // Every type the app tells in words: the same list tests check against tracker/alert.go.
  const typeSel = select('type', toldAlertTypes().map((x): [string, string] => [x, t(x)]).sort((a, b) => a[1].localeCompare(b[1], getLang() === 'zh' ? 'zh-CN' : 'en')));
  const sevSel = select('severity', ['critical', 'warning', 'info'].map((x) => [x, severity(x)]));
  const statusSel = select('status', ['open', 'acknowledged', 'resolved'].map((x) => [x, t(`status_${x}`)]));
  const portSel = select('port', []);
  const today = timeMinute(Date.now()).slice(0, 10);
  const fromIn = timeInput({ name: 'from', id: 'f-from', placeholder: `${today} 00:00` });
  const toIn = timeInput({ name: 'to', id: 'f-to', placeholder: `${today} 23:59` });
  const plateIn = h('input', { name: 'plate', id: 'f-plate', placeholder: t('plate_hint'), maxlength: '16', size: '12' });
  const inputs: Record<(typeof FILTERS)[number], HTMLInputElement | HTMLSelectElement> =
    { type: typeSel, severity: sevSel, port: portSel, status: statusSel, from: fromIn, to: toIn, plate: plateIn };
  const msg = h('p', { class: 'msg', id: 'list-msg', role: 'status' });
  const body = h('tbody', { id: 'alert-rows' });
  const pageNo = h('span', { class: 'page-no', id: 'page-no' });
  const prev = h('button', { id: 'prev-page', type: 'button' }, t('prev_page'));
  const next = h('button', { id: 'next-page', type: 'button' }, t('next_page'));
  const detail = h('aside', { class: 'list-detail', id: 'alert-detail', hidden: true });
  const label = (key: string, el: HTMLElement) => h('label', {}, t(key), el);
  const form = h('form', { class: 'list-filters', id: 'alert-filters' },
    label('type', typeSel), label('severity', sevSel), label('port', portSel), label('status', statusSel),
    label('from', fromIn), label('to', toIn), label('plate', plateIn),
    h('button', { type: 'submit', class: 'primary' }, t('search')),
    h('button', { type: 'button', id: 'f-reset', onclick: () => {
      form.reset();
      offset = 0;
      void load();
    } }, t('reset')));
  root.append(
    h('div', { class: 'list-head' }, h('h2', {}, t('alert_list')), form),
    h('div', { class: 'list-body' },
      h('div', { class: 'list-main' },
        h('table', { class: 'alerts', id: 'alert-table' },
          h('thead', {}, h('tr', {}, ...['time', 'severity', 'type', 'vehicle', 'port', 'ev_summary', 'status'].map((k) => h('th', {}, t(k))))),
          body),
        msg,
        h('div', { class: 'pager' }, prev, pageNo, next)),
      detail));

  let offset = Number(params.get('offset')) || 0;
  let nextOffset = 0;
  let closed = false;
  let seq = 0;

  // The filters live in the hash, so a reload or a link keeps them.
  const query = (): Record<string, string> => {
    const q: Record<string, string> = {};
    for (const k of FILTERS) {
      const v = inputs[k].value.trim();
      if (!v) continue;
      if (k === 'from' || k === 'to') {
        const d = readTime(v, k === 'to');
        if (!d) throw new RangeError(`${t(k)}: ${v}`);
        q[k] = d.toISOString();
      } else q[k] = v;
    }
    return q;
  };

  // The detail: the alert in words above a small map of it with the vehicle's last hour; the map
  // is made at the first opening and kept.
  const detailBody = h('div', {});
  const mapBox = h('div', { class: 'list-map', id: 'list-map' });
  detail.append(h('button', { class: 'close', id: 'alert-close', onclick: () => (detail.hidden = true) }, '×'), detailBody, mapBox);
  let focus: Promise<AlertFocus> | null = null;
  let removeMap = () => {};
  // The rows' alerts as last heard (the page's answer, then the live socket's changes).
  const shown = new Map<string, Alert>();
  const open = (a: Alert) => {
    detail.hidden = false;
    detailBody.replaceChildren(alertDetail(a, me));
    for (const tr of body.children) tr.classList.toggle('selected', (tr as HTMLElement).dataset.alert === String(a.id));
    focus ??= createMap(mapBox, 'dark', { attributionControl: false, zoom: 8 }).then(({ map }) => {
      removeMap = () => map.remove();
      if (closed) map.remove();
      return focusAlert(map, () => new Map());
    });
    void focus.then((f) => !closed && f.show(a));
  };

  const load = async () => {
    const mine = ++seq;
    let q: Record<string, string>;
    try {
      q = query();
    } catch (e) {
      msg.textContent = `${t('bad_time')} ${(e as Error).message}`;
      return;
    }
    const hash = new URLSearchParams({ ...q, ...(offset ? { offset: String(offset) } : {}) });
    history.replaceState(null, '', `#/alerts${hash.size ? `?${hash}` : ''}`);
    msg.textContent = '…';
    try {
      const r = await api<{ alerts: Alert[]; next_offset?: number }>(`/alerts?${new URLSearchParams({ ...q, limit: String(PAGE), offset: String(offset) })}`);
      if (closed || mine !== seq) return;
      const rows = r.alerts ?? [];
      setVehicles(rows.filter((a) => a.plate).map((a) => ({ id: a.vehicle_id, plate: a.plate, kind: a.vehicle_kind })));
      nextOffset = r.next_offset ?? 0;
      shown.clear();
      for (const a of rows) shown.set(String(a.id), a);
      body.replaceChildren(...rows.map((a) => h('tr', { class: `sev-${a.severity}`, 'data-alert': String(a.id), onclick: () => open(shown.get(String(a.id)) ?? a) },
        h('td', { class: 'time' }, timeShort(a.time)),
        h('td', { class: 'sev' }, severity(a.severity)),
        h('td', { class: 'type' }, t(a.type)),
        h('td', { class: 'veh' }, plate(a.vehicle_id, a.plate), h('small', {}, ` ${vehicleKind(a.vehicle_id, a.vehicle_kind)}`)),
        h('td', { class: 'port' }, portOf(a.zone_id) ? zoneName(portOf(a.zone_id)) : '—'),
        h('td', { class: 'summary' }, alertSummary(a)),
        h('td', { class: 'st' }, t(`status_${a.status}`)))));
      msg.textContent = rows.length ? '' : t('no_match');
      pageNo.textContent = t('page').replace('{n}', String(Math.floor(offset / PAGE) + 1));
      prev.disabled = offset === 0;
      next.disabled = !nextOffset;
      root.dataset.rows = String(rows.length);
    } catch (e) {
      if (!closed && mine === seq) msg.textContent = `${t('failed')}: ${(e as Error).message}`;
    }
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    offset = 0;
    void load();
  });
  prev.addEventListener('click', () => {
    offset = Math.max(0, offset - PAGE);
    void load();
  });
  next.addEventListener('click', () => {
    if (!nextOffset) return;
    offset = nextOffset;
    void load();
  });

  loadDirectory().catch((e) => console.warn('directory', e)).then(() => {
    if (closed) return;
    portSel.append(...ports().map((p) => h('option', { value: p.id }, p.name)));
    for (const k of FILTERS) {
      const v = params.get(k);
      if (!v) continue;
      inputs[k].value = k === 'from' || k === 'to' ? (Number.isNaN(Date.parse(v)) ? '' : timeMinute(v)) : v;
    }
    void load();
  });

  // A change of an alert on this page (acknowledged, resolved, from any screen) shows in its row
  // and its open detail at once; new alerts wait for the next search. No positions are wanted.
  const live = new Live({
    alert: (a) => {
      const id = String(a.id);
      const was = shown.get(id);
      if (!was) return;
      const cur = { ...was, ...a };
      shown.set(id, cur);
      const tr = [...body.children].find((x) => (x as HTMLElement).dataset.alert === id);
      const st = tr?.querySelector('td.st');
      if (st) st.textContent = t(`status_${cur.status}`);
      const open = detailBody.querySelector<HTMLElement>('.alert-body');
      if (!detail.hidden && open?.dataset.alert === id) detailBody.replaceChildren(alertDetail(cur, me));
    },
  }, { vehicles: ['-'], all_alerts: true });

  return () => {
    closed = true;
    live.close();
    removeMap();
  };
}
