// Declarations: the list by plate and port name, a new declaration picked by plate and zone
// names (never typed ids), and cancelling one.
import { api, getVehicles, getZones, type Me, type Vehicle, type ZoneCollection } from './api';
import { at, emptyRow, errorLine, field, select, table } from './admin-text';
import { h } from './dom';
import { direction, plate as shownPlate, readTime, setVehicles, setZones, timeInput, timeMinute, timeSecond, vehicleLabel, weight, zoneNameOr } from './format';

interface Declaration {
  id: string;
  vehicle_id: string;
  direction: string;
  port_zone_id: string;
  corridor_zone_id?: string;
  yard_zone_id?: string;
  valid_from: string;
  valid_to: string;
  type: string;
  cargo?: string;
  grade?: string;
  declared_net_kg?: number;
  driver_card?: string;
  seal_id?: string;
  status: string;
  status_reason?: string;
}

export function mountDeclarations(root: HTMLElement, _me: Me): () => void {
  const msg = errorLine();
  const list = table('admin-declarations', ['declaration_id', 'plate', 'direction', 'port', 'valid_from', 'valid_to', 'cargo', 'status', '']);
  let vehicles: Vehicle[] = [];
  let zones: ZoneCollection = { type: 'FeatureCollection', features: [] };
  let closed = false;

  const now = Date.now();
  const id = h('input', { name: 'declaration_id', required: true, maxlength: '64', value: `D-${timeSecond(new Date()).replace(/\D/g, '').slice(0, 12)}` });
  const veh = select('vehicle', []);
  const dir = select('direction', [['outbound', at('outbound')], ['inbound', at('inbound')]], 'outbound');
  const port = select('port', []);
  const yard = select('yard', []);
  const corridor = select('corridor', []);
  const card = h('input', { name: 'driver_card', maxlength: '40' });
  const seal = h('input', { name: 'seal_id', maxlength: '64' });
  const cargo = h('input', { name: 'cargo', maxlength: '500' });
  const grade = h('input', { name: 'grade', maxlength: '100' });
  const kg = h('input', { name: 'net_kg', type: 'number', min: '0', max: '1000000', step: '1' });
  const from = timeInput({ name: 'valid_from' }, now);
  const to = timeInput({ name: 'valid_to' }, now + 24 * 3600_000);
  const type = select('type', [['normal', at('decl_normal')], ['emergency', at('decl_emergency')]], 'normal');
  const form = h('form', { class: 'admin-form', id: 'declaration-form', onsubmit: async (e: SubmitEvent) => {
    e.preventDefault();
    msg.clear();
    const vf = readTime(from.value);
    const vt = readTime(to.value, true);
    const body = {
      id: id.value.trim(), vehicle_id: veh.value, direction: dir.value, port_zone_id: port.value, yard_zone_id: yard.value, corridor_zone_id: corridor.value,
      driver_card: card.value.trim(), seal_id: seal.value.trim(), cargo: cargo.value.trim(), grade: grade.value.trim(),
      declared_net_kg: kg.value === '' ? undefined : Number(kg.value), type: type.value,
      valid_from: vf?.toISOString(), valid_to: vt?.toISOString(),
    };
    try {
      await api('/declarations', { method: 'POST', body: JSON.stringify(body) });
      msg.ok(`${at('saved')} · ${body.id}`);
      await load();
    } catch (x) {
      msg.show(x);
    }
  } }, h('h3', {}, at('new_declaration')), field(at('declaration_id'), id), field(at('plate'), veh), field(at('direction'), dir),
  field(at('port'), port), field(at('yard'), yard), field(at('corridor'), corridor), field(at('driver_card'), card), field(at('seal_id'), seal),
  field(at('cargo'), cargo), field(at('grade'), grade), field(at('net_kg'), kg), field(at('valid_from'), from), field(at('valid_to'), to),
  field(at('decl_type'), type), h('button', { type: 'submit', class: 'primary' }, at('save')));
  root.append(msg.el, h('div', { class: 'admin-split' }, h('div', { class: 'admin-lists' }, list.el), h('div', { class: 'admin-forms' }, form)));

  const zoneOptions = (kind: string, optional: boolean): Array<[string, string]> => [
    ...(optional ? [['', at('none')] as [string, string]] : []),
    ...zones.features.filter((f) => f.properties.kind === kind).map((f): [string, string] => [f.properties.id, f.properties.name || f.properties.id]),
  ];
  const fill = (s: HTMLSelectElement, options: Array<[string, string]>) => {
    const keep = s.value;
    s.replaceChildren(...options.map(([v, l]) => h('option', { value: v }, l)));
    if (options.some(([v]) => v === keep)) s.value = keep;
  };

  async function cancel(d: Declaration): Promise<void> {
    const reason = prompt(at('cancel_reason'), '');
    if (reason === null) return;
    msg.clear();
    try {
      await api(`/declarations/${encodeURIComponent(d.id)}/cancel`, { method: 'POST', body: JSON.stringify({ reason }) });
      msg.ok(`${at('cancel_declaration')} · ${d.id}`);
      await load();
    } catch (x) {
      msg.show(x);
    }
  }

  async function load(): Promise<void> {
    const [vs, zs, ds] = await Promise.all([getVehicles(), getZones(), api<{ declarations: Declaration[] }>('/declarations?limit=500')]);
    if (closed) return;
    setVehicles(vs);
    setZones(zs);
    vehicles = vs.sort((a, b) => shownPlate(a.id, a.plate).localeCompare(shownPlate(b.id, b.plate), 'zh'));
    zones = zs;
    const byId = new Map(vehicles.map((v) => [v.id, v]));
    fill(veh, vehicles.map((v) => [v.id, vehicleLabel(v.id)]));
    fill(port, zoneOptions('port', false));
    fill(yard, zoneOptions('yard', true));
    fill(corridor, zoneOptions('corridor', true));
    const decls = (ds.declarations ?? []).sort((a, b) => b.valid_from.localeCompare(a.valid_from));
    list.body.replaceChildren(...decls.map((d) => h('tr', { 'data-id': d.id, class: `status-${d.status}` },
      h('td', {}, d.id), h('td', { class: 'plate' }, shownPlate(d.vehicle_id, byId.get(d.vehicle_id)?.plate)), h('td', {}, direction(d.direction)),
      h('td', {}, zoneNameOr(d.port_zone_id) || '—'), h('td', {}, timeMinute(d.valid_from)), h('td', {}, timeMinute(d.valid_to)),
      h('td', {}, [d.cargo, d.declared_net_kg != null ? weight(d.declared_net_kg) : ''].filter(Boolean).join(' · ') || '—'),
      h('td', { title: d.status_reason ?? '' }, at(`ds_${d.status}`).replace(/^ds_/, '')),
      h('td', { class: 'actions' }, d.status === 'active' ? h('button', { class: 'cancel', onclick: () => cancel(d) }, at('cancel_declaration')) : null))));
    if (!decls.length) list.body.append(emptyRow(9));
    root.dataset.declarations = String(decls.length);
  }
  load().catch((e) => msg.show(e));
  return () => {
    closed = true;
  };
}
