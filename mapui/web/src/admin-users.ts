// Users and roles: the accounts, and what the system administrator (accounts) and the security
// administrator (roles, administrators' accounts, unlocks) may change; the server decides who
// may change whom (mapui/access/users.go) and its refusal is shown as it gives it.
import { api, getZones, type Me, type ZoneCollection } from './api';
import { at, emptyRow, errorLine, field, select, table } from './admin-text';
import { h } from './dom';
import { colon, timeMinute } from './format';
import { t } from './i18n';

interface User {
  username: string;
  role: string;
  unit: string;
  /** The OsmAnd device a patrol's tablet reports under: the wall shows the patrol where it is. */
  device_id?: string;
  disabled?: boolean;
  must_change?: boolean;
  totp?: boolean;
  created_at: string;
}

const ROLES = ['admin', 'security', 'auditor', 'command', 'patrol', 'investigator'];

export function mountUsers(root: HTMLElement, me: Me): () => void {
  const msg = errorLine();
  const list = table('admin-users', ['username', 'role', 'unit', 'status', 'second_factor', 'created', '']);
  let ports: Array<[string, string]> = [];
  let devices: Array<[string, string]> = [];
  let closed = false;
  const mayEdit = !!me.permissions?.includes('users.edit');
  const mayAssign = !!me.permissions?.includes('users.roles');
  const roleOptions = (): Array<[string, string]> => ROLES.map((r) => [r, t(`role_${r}`)]);
  const unitOptions = (): Array<[string, string]> => [['district', at('unit_district')], ...ports];
  const unitName = (u: string) => (u === 'district' ? at('unit_district') : (ports.find(([id]) => id === u)?.[1] ?? u));

  const uname = h('input', { name: 'username', required: true, maxlength: '64', autocomplete: 'off' });
  const upass = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' });
  const urole = select('role', roleOptions(), 'patrol');
  const uunit = select('unit', unitOptions(), 'district');
  const form = h('form', { class: 'admin-form', id: 'user-form', onsubmit: (e: SubmitEvent) => {
    e.preventDefault();
    run(() => api('/users', { method: 'POST', body: JSON.stringify({ username: uname.value.trim(), password: upass.value, role: urole.value, unit: uunit.value }) }), `${at('new_user')}${colon()}${uname.value}`);
  } }, h('h3', {}, at('new_user')), field(at('username'), uname), field(at('password'), upass), field(at('role'), urole), field(at('unit'), uunit),
  h('button', { type: 'submit', class: 'primary' }, at('save')));
  root.append(msg.el, h('div', { class: 'admin-split' }, h('div', { class: 'admin-lists' }, list.el), mayEdit ? h('div', { class: 'admin-forms' }, form) : null));

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
  const put = (u: User, change: Record<string, unknown>) => api(`/users/${encodeURIComponent(u.username)}`, { method: 'PUT', body: JSON.stringify(change) });

  function row(u: User): HTMLElement {
    const role = select('role', roleOptions(), u.role);
    const unit = select('unit', unitOptions(), u.unit);
    const tablet = u.role === 'patrol' && mayEdit ? select('device', [['', t('patrol_no_device')], ...devices], u.device_id ?? '') : null;
    const tabletName = devices.find(([id]) => id === u.device_id)?.[1] ?? u.device_id;
    return h('tr', { 'data-user': u.username, class: u.disabled ? 'disabled' : '' },
      h('td', {}, u.username), h('td', {}, t(`role_${u.role}`)), h('td', {}, unitName(u.unit), u.device_id ? h('small', { class: 'device' }, ` · ${t('patrol_tablet')} ${tabletName}`) : null),
      h('td', {}, u.disabled ? at('disabled') : at('enabled')), h('td', {}, u.totp ? '✓' : '—'), h('td', {}, timeMinute(u.created_at)),
      h('td', { class: 'actions' },
        mayAssign ? role : null,
        mayAssign ? h('button', { class: 'role', onclick: () => run(() => put(u, { role: role.value }), `${at('change_role')}${colon()}${u.username}`) }, at('change_role')) : null,
        mayEdit || mayAssign ? unit : null,
        mayEdit || mayAssign ? h('button', { class: 'unit', onclick: () => run(() => put(u, { unit: unit.value }), `${at('unit')}${colon()}${u.username}`) }, at('save')) : null,
        tablet,
        tablet ? h('button', { class: 'device', onclick: () => run(() => put(u, { device_id: tablet.value }), `${t('patrol_tablet')}${colon()}${u.username}`) }, at('save')) : null,
        h('button', { class: 'toggle', onclick: () => run(() => put(u, { disabled: !u.disabled }), `${at(u.disabled ? 'enable' : 'disable')}${colon()}${u.username}`) }, at(u.disabled ? 'enable' : 'disable')),
        h('button', { class: 'password', onclick: () => {
          const pw = prompt(`${at('new_password')} · ${u.username}`);
          if (pw) run(() => put(u, { password: pw }), `${at('reset_password')}${colon()}${u.username}`);
        } }, at('reset_password')),
        mayAssign ? h('button', { class: 'unlock', onclick: () => run(() => api(`/users/${encodeURIComponent(u.username)}/unlock`, { method: 'POST' }), `${at('unlock')}${colon()}${u.username}`) }, at('unlock')) : null));
  }

  async function load(): Promise<void> {
    // The security administrator may not read the zones: ports are then shown as their units.
    const [r, zs] = await Promise.all([api<{ users: User[] }>('/users'), getZones().catch((): ZoneCollection => ({ type: 'FeatureCollection', features: [] }))]);
    if (closed) return;
    // A patrol's tablet is an OsmAnd device: offered as "its id · the patrol car's plate".
    if (mayEdit) {
      const [ds, vs] = await Promise.all([api<{ devices: Array<{ id: string; protocol: string; vehicle_id: string }> }>('/devices'), api<{ vehicles: Array<{ id: string; plate: string }> }>('/vehicles')])
        .catch(() => [{ devices: [] }, { vehicles: [] }] as const);
      const plates = new Map((vs.vehicles ?? []).map((v) => [v.id, v.plate]));
      devices = (ds.devices ?? []).filter((d) => d.protocol === 'osmand').map((d): [string, string] => [d.id, `${d.id} · ${plates.get(d.vehicle_id) ?? ''}`]);
    }
    ports = zs.features.filter((f) => f.properties.kind === 'port').map((f): [string, string] => [f.properties.id, f.properties.name || f.properties.id]);
    uunit.replaceChildren(...unitOptions().map(([v, l]) => h('option', { value: v }, l)));
    const users = (r.users ?? []).sort((a, b) => a.username.localeCompare(b.username));
    list.body.replaceChildren(...users.map(row));
    if (!users.length) list.body.append(emptyRow(7));
    root.dataset.users = String(users.length);
  }
  load().catch((e) => msg.show(e));
  return () => {
    closed = true;
  };
}
