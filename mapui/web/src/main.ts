// Entry: hash routes #/login, #/wall, #/tablet, #/replay?…; the role from /me decides
// which views and actions show.
import { ApiError, can, clearToken, getMe, login, logout, setUnauthorizedHandler, token, type Me, type Role } from './api';
import { h } from './dom';
import { getLang, setLang, t } from './i18n';
import { mountAudit } from './audit';
import { mountReplay } from './replay';
import { mountTablet } from './tablet';
import { mountWall } from './wall';

type View = 'wall' | 'tablet' | 'replay' | 'audit';
type Unmount = () => void;

const views: Record<View, (root: HTMLElement, me: Me, params: URLSearchParams) => Unmount> = {
  wall: mountWall,
  tablet: mountTablet,
  replay: mountReplay,
  audit: mountAudit,
};

const app = document.getElementById('app')!;
let unmount: Unmount | null = null;
let me: Me | null = null;

function route(): { name: string; params: URLSearchParams } {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  return { name: path || '', params: new URLSearchParams(query ?? '') };
}

function home(role: Role): View | null {
  const order: View[] = role === 'patrol' ? ['tablet'] : role === 'investigator' ? ['replay'] : ['wall', 'tablet', 'replay', 'audit'];
  return order.find((v) => can(role, v)) ?? null;
}

async function signOut(): Promise<void> {
  await logout();
  me = null;
  location.hash = '#/login';
}

function switchLang(): void {
  setLang(getLang() === 'zh' ? 'en' : 'zh');
  render();
}

async function render(): Promise<void> {
  unmount?.();
  unmount = null;
  app.replaceChildren();
  setLang(getLang());
  document.title = t('title');
  const { name, params } = route();
  if (!token()) {
    me = null;
    return renderLogin(name === 'login' ? params.get('next') : location.hash);
  }
  if (!me) {
    try {
      me = await getMe();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      throw e;
    }
  }
  const view = (name in views ? name : home(me.role)) as View | null;
  if (!view) {
    app.append(h('p', { class: 'forbidden' }, `${me.username} · ${me.role}: ${t('forbidden')}`),
      h('button', { onclick: signOut }, t('logout')));
    return;
  }
  if (name !== view) {
    location.replace(`#/${view}`);
    return;
  }
  const nav = h('nav', { class: 'topbar' },
    h('span', { class: 'brand' }, t('title')),
    ...(Object.keys(views) as View[]).filter((v) => can(me!.role, v)).map((v) =>
      h('a', { href: `#/${v}`, class: v === view ? 'active' : '' }, t(v))),
    h('span', { class: 'spacer' }),
    h('span', { class: 'user', id: 'user' }, `${me.username} · ${me.role}`),
    h('button', { id: 'lang', onclick: switchLang }, t('lang_switch')),
    h('button', { id: 'logout', onclick: signOut }, t('logout')),
  );
  const root = h('main', { class: `view view-${view}` });
  app.append(nav, root);
  document.body.dataset.view = view;
  if (!can(me.role, view)) {
    root.append(h('p', { class: 'forbidden' }, t('forbidden')));
    return;
  }
  unmount = views[view](root, me, params);
}

function renderLogin(next: string | null): void {
  document.body.dataset.view = 'login';
  const err = h('p', { class: 'error', role: 'alert' });
  const user = h('input', { name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', {
    class: 'login',
    onsubmit: async (e: SubmitEvent) => {
      e.preventDefault();
      err.textContent = '';
      try {
        await login(user.value, pass.value);
        me = null;
        const target = next && !next.startsWith('#/login') && next !== '#' ? next : '#/';
        if (location.hash === target) render();
        else location.hash = target;
      } catch (x) {
        err.textContent = `${t('login_failed')}: ${(x as Error).message}`;
      }
    },
  },
    h('h1', {}, t('title')),
    h('label', {}, t('username'), user),
    h('label', {}, t('password'), pass),
    h('button', { type: 'submit', class: 'primary' }, t('login')),
    err,
    h('button', { type: 'button', class: 'link', onclick: switchLang }, t('lang_switch')),
  );
  app.append(form);
  if (!location.hash.startsWith('#/login')) history.replaceState(null, '', `#/login?next=${encodeURIComponent(location.hash)}`);
}

setUnauthorizedHandler(() => {
  clearToken();
  me = null;
  render();
});

// Views update their own query (replay's t=) with history.replaceState, which fires no hashchange.
window.addEventListener('hashchange', () => render());
render();
