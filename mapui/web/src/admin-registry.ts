// Vehicles and devices: the registry by plate, each vehicle's terminal and its last contact;
// registering both, binding a terminal to a vehicle, and letting a replaced terminal register
// again (POST /devices/{id}/reset-registration).
import { api, getPositions, getVehicles, type Fix, type Me, type Vehicle } from './api';
import { at, emptyRow, errorLine, field, select, table } from './admin-text';
import { h } from './dom';
import { colon, ago, kindName, plate as shownPlate, timeMinute } from './format';

export interface Device {
  id: string;
  protocol: string;
  vehicle_id: string;
  auth_code?: string;
  terminal_id?: string;
  maker?: string;
  model?: string;
  registered_at?: string;
  created_at?: string;
}

const KINDS = ['truck', 'resident_car', 'patrol', 'car', 'bus', 'other'];
const PROTOCOLS: Array<[string, string]> = [['jt808', 'JT/T 808'], ['gt06', 'GT06'], ['jt600', 'JT600'], ['osmand', 'OsmAnd']];
const protocolName = (p: string) => PROTOCOLS.find(([v]) => v === p)?.[1] ?? p;

/** A vehicle as a person reads it: its plate, else its name, else (unregistered plate) its id. */

export function mountRegistry(root: HTMLElement, _me: Me): () => void {
  const msg = errorLine();
  const vt = table('admin-vehicles', ['plate', 'kind', 'device', 'last_contact', 'firmware']);
  const dt = table('admin-devices', ['device', 'protocol', 'bound_vehicle', 'status', 'firmware', '']);
  let vehicles: Vehicle[] = [];
  let devices: Device[] = [];
  let closed = false;

  const vid = h('input', { name: 'vehicle_id', required: true, maxlength: '64', placeholder: 'TRK-0001' });
  const plate = h('input', { name: 'plate', maxlength: '20', placeholder: '蒙B00001' });
  const kind = select('kind', KINDS.map((k) => [k, kindName(k)]), 'truck');
  const vname = h('input', { name: 'name', maxlength: '100' });
  const vform = h('form', { class: 'admin-form', id: 'vehicle-form', onsubmit: (e: SubmitEvent) => {
    e.preventDefault();
    run(() => api('/vehicles', { method: 'POST', body: JSON.stringify({ id: vid.value.trim(), plate: plate.value.trim(), kind: kind.value, name: vname.value.trim() }) }), `${at('register_vehicle')}${colon()}${plate.value || vid.value}`);
  } }, h('h3', {}, at('register_vehicle')), field(at('vehicle_id'), vid), field(at('plate'), plate), field(at('kind'), kind), field(at('vehicle_name'), vname),
  h('button', { type: 'submit', class: 'primary' }, at('save')));

  const did = h('input', { name: 'device_id', required: true, maxlength: '64', placeholder: '13800138000' });
  const proto = select('protocol', PROTOCOLS, 'jt808');
  const dveh = select('vehicle', []);
  const auth = h('input', { name: 'auth_code', maxlength: '64' });
  const maker = h('input', { name: 'maker', maxlength: '11' });
  const model = h('input', { name: 'model', maxlength: '30' });
  const dform = h('form', { class: 'admin-form', id: 'device-form', onsubmit: (e: SubmitEvent) => {
    e.preventDefault();
    const d = { id: did.value.trim(), protocol: proto.value, vehicle_id: dveh.value, auth_code: auth.value.trim(), maker: maker.value.trim(), model: model.value.trim() };
    run(() => api('/devices', { method: 'POST', body: JSON.stringify(d) }), `${at('register_device')}${colon()}${d.id}`);
  } }, h('h3', {}, at('register_device')), field(at('device_id'), did), field(at('protocol'), proto), field(at('bound_vehicle'), dveh),
  field(at('auth_code'), auth), field(at('maker'), maker), field(at('model'), model), h('button', { type: 'submit', class: 'primary' }, at('save')));

  root.append(msg.el, h('div', { class: 'admin-split' },
    h('div', { class: 'admin-lists' }, h('h3', {}, at('vehicles')), vt.el, h('h3', {}, at('devices')), dt.el),
    h('div', { class: 'admin-forms' }, vform, dform)));

  const byId = () => new Map(vehicles.map((v) => [v.id, v]));
  const vehicleOptions = (): Array<[string, string]> => [['', at('unbound')], ...vehicles.map((v): [string, string] => [v.id, `${shownPlate(v.id, v.plate)} · ${kindName(v.kind)}`])];

  async function run(call: () => Promise<unknown>, done: string): Promise<void> {
    msg.clear();
    try {
      await call();
      msg.ok(`${at('saved')} · ${done}`);
      await load();
    } catch (e) {
      msg.show(e);
    }
  }

  function putDevice(d: Device, vehicleId: string): Promise<unknown> {
    return api(`/devices/${encodeURIComponent(d.id)}`, { method: 'PUT', body: JSON.stringify({ ...d, vehicle_id: vehicleId }) });
  }

  function render(last: Map<string, Fix>): void {
    const vs = byId();
    const deviceOf = new Map(devices.filter((d) => d.vehicle_id).map((d) => [d.vehicle_id, d]));
    vt.body.replaceChildren(...vehicles.map((v) => {
      const d = deviceOf.get(v.id);
      const f = last.get(v.id);
      const seen = f?.received_at ?? f?.time;
      return h('tr', { 'data-id': v.id },
        h('td', { class: 'plate' }, shownPlate(v.id, v.plate)), h('td', {}, kindName(v.kind)),
        h('td', {}, d ? `${d.id} · ${protocolName(d.protocol)}` : at('unbound')),
        h('td', { title: seen ? timeMinute(seen) : '' }, seen ? `${ago(seen)} · ${timeMinute(seen)}` : at('never')),
        h('td', {}, d ? [d.maker, d.model].filter(Boolean).join(' ') || '—' : '—'));
    }));
    if (!vehicles.length) vt.body.append(emptyRow(5));
    dt.body.replaceChildren(...devices.map((d) => {
      // The vehicle picker is made when asked for: one per row would be rows × vehicles options.
      const choose = h('button', { class: 'bind-open', onclick: () => {
        const pick = select('bind', vehicleOptions(), d.vehicle_id);
        choose.replaceWith(pick, h('button', { class: 'bind primary', onclick: () => run(() => putDevice(d, pick.value), `${at('bind')}${colon()}${d.id}`) }, at('save')));
        pick.focus();
      } }, `${at('bind')}…`);
      return h('tr', { 'data-id': d.id },
        h('td', {}, d.id), h('td', {}, protocolName(d.protocol)),
        h('td', {}, d.vehicle_id ? shownPlate(d.vehicle_id, vs.get(d.vehicle_id)?.plate) : at('unbound')),
        h('td', {}, d.registered_at ? `${at('registered')} ${timeMinute(d.registered_at)}` : at('not_registered')),
        h('td', {}, [d.maker, d.model].filter(Boolean).join(' ') || '—'),
        h('td', { class: 'actions' }, choose,
          d.vehicle_id ? h('button', { class: 'unbind', onclick: () => run(() => putDevice(d, ''), `${at('unbind')}${colon()}${d.id}`) }, at('unbind')) : null,
          h('button', { class: 'reset', onclick: () => run(() => api(`/devices/${encodeURIComponent(d.id)}/reset-registration`, { method: 'POST' }), `${at('reset_registration')}${colon()}${d.id}`) }, at('reset_registration'))));
    }));
    if (!devices.length) dt.body.append(emptyRow(6));
    const keep = dveh.value;
    dveh.replaceChildren(...vehicleOptions().map(([v, l]) => h('option', { value: v }, l)));
    dveh.value = keep;
  }

  async function load(): Promise<void> {
    const [vs, ds, ps] = await Promise.all([getVehicles(), api<{ devices: Device[] }>('/devices'), getPositions()]);
    if (closed) return;
    vehicles = vs.sort((a, b) => shownPlate(a.id, a.plate).localeCompare(shownPlate(b.id, b.plate), 'zh'));
    devices = (ds.devices ?? []).sort((a, b) => a.id.localeCompare(b.id));
    render(new Map(ps.map((f) => [f.vehicle_id, f])));
    root.dataset.vehicles = String(vehicles.length);
    root.dataset.devices = String(devices.length);
  }
  load().catch((e) => msg.show(e));
  return () => {
    closed = true;
  };
}
