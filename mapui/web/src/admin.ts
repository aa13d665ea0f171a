// Administration (#/admin?tab=…): vehicles and devices, zones, declarations, users and roles,
// webhook deliveries. Each tab shows to the roles whose permission (from /me, the server's
// matrix in mapui/access/roles.go) allows its changes; the server refuses the rest anyway.
import type { Me } from './api';
import { at } from './admin-text';
import { mountDeclarations } from './admin-declarations';
import { mountRegistry } from './admin-registry';
import { mountUsers } from './admin-users';
import { mountWebhooks } from './admin-webhooks';
import { mountZones } from './admin-zones';
import { h } from './dom';

type Tab = 'vehicles' | 'zones' | 'declarations' | 'users' | 'webhooks';

const tabs: Record<Tab, { perm: string; mount: (root: HTMLElement, me: Me) => () => void }> = {
  vehicles: { perm: 'registry.edit', mount: mountRegistry },
  zones: { perm: 'zones.edit', mount: mountZones },
  declarations: { perm: 'declarations.edit', mount: mountDeclarations },
  users: { perm: 'users.read', mount: mountUsers },
  webhooks: { perm: 'webhooks.manage', mount: mountWebhooks },
};

/** The tabs me's role may use, in order. */
export function adminTabs(me: Me): Tab[] {
  return (Object.keys(tabs) as Tab[]).filter((k) => me.permissions?.includes(tabs[k].perm));
}

export function mountAdmin(root: HTMLElement, me: Me, params: URLSearchParams): () => void {
  const open = adminTabs(me);
  const asked = params.get('tab') as Tab | null;
  const tab = asked ?? open[0];
  const nav = h('nav', { class: 'admin-tabs' },
    ...open.map((k) => h('a', { href: `#/admin?tab=${k}`, class: k === tab ? 'active' : '', 'data-tab': k }, at(`tab_${k}`))));
  const body = h('section', { class: 'admin-body' });
  root.append(nav, body);
  if (!tab || !open.includes(tab)) {
    body.append(h('p', { class: 'forbidden' }, at('refused')));
    return () => {};
  }
  root.dataset.tab = tab;
  return tabs[tab].mount(body, me);
}
