// Entry: hash routes #/login, #/password, #/totp, #/wall, #/tablet, #/replay?…; the role from /me
// decides which views and actions show, a password that must be changed allows only #/password,
// and a second factor the role requires and the user lacks only #/totp.
import { ApiError, can, clearToken, getMe, login, logout, setPasswordChangeHandler, setTOTPEnrolmentHandler, setUnauthorizedHandler, token, type Me, type Role } from './api';
import { h } from './dom';
import { getLang, setLang, t } from './i18n';
import { mountAlertList } from './alertlist';
import { mountAdmin } from './admin';
import { mountAudit } from './audit';
import { mountDaily } from './daily';
import { mountGroups } from './groups';
import { mountScales } from './scales';
import { mountPassword } from './password';
import { mountReplay } from './replay';
import { mountTablet } from './tablet';
import { mountTargets } from './targets';
import { mountNoticeBanner } from './targeting';
import { mountTOTP } from './totp';
import { mountWall } from './wall';

type View = 'wall' | 'tablet' | 'replay' | 'audit' | 'targets' | 'alerts' | 'daily' | 'groups' | 'scales' | 'admin';
type Unmount = () => void;

const views: Record<View, (root: HTMLElement, me: Me, params: URLSearchParams) => Unmount> = {
  wall: mountWall,
  tablet: mountTablet,
  replay: mountReplay,
  audit: mountAudit,
  targets: mountTargets,
  alerts: mountAlertList,
  daily: mountDaily,
  groups: mountGroups,
  scales: mountScales,
  admin: mountAdmin,
};

const app = document.getElementById('app')!;
let unmount: Unmount | null = null;
let me: Me | null = null;

function route(): { name: string; params: URLSearchParams } {
  const [path, query] = location.hash.replace(/^#\/?/, '').split('?');
  return { name: path || '', params: new URLSearchParams(query ?? '') };
}

function home(role: Role): View | null {
  const order: View[] = role === 'patrol' ? ['tablet'] : role === 'investigator' ? ['replay'] : ['wall', 'tablet', 'replay', 'audit', 'admin'];
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
  if (me.must_change && name !== 'password') {
    location.replace('#/password');
    return;
  }
  if (name === 'password') return renderAccount(me, 'password', mountPassword);
  if (me.totp_enrolment_required && name !== 'totp') {
    location.replace('#/totp');
    return;
  }
  if (name === 'totp') return renderAccount(me, 'totp', mountTOTP);
  const view = (name in views ? name : home(me.role)) as View | null;
  if (!view) {
    // No view for this role (a role the matrix does not know), but the account's buttons.
    app.append(topbar(me, ''), h('main', { class: 'view' }, h('p', { class: 'forbidden' }, t('forbidden'))));
    document.body.dataset.view = 'none';
    return;
  }
  if (name !== view) {
    location.replace(`#/${view}`);
    return;
  }
  const root = h('main', { class: `view view-${view}` });
  app.append(topbar(me, view), root);
  document.body.dataset.view = view;
  if (!can(me.role, view)) {
    root.append(h('p', { class: 'forbidden' }, t('forbidden')));
    return;
  }
  const stopView = views[view](root, me, params);
  // Where teams watch, a targeted vehicle found or an assignment comes with a banner and a sound.
  const stopBanner = view === 'wall' || view === 'tablet' ? mountNoticeBanner(root) : null;
  unmount = () => {
    stopBanner?.();
    stopView();
  };
}

/** The top bar: the views the role may open (none while the password must be changed or the second factor enrolled), the user and the account's buttons. */
function topbar(me: Me, current: string): HTMLElement {
  // The scales' drift is opened from the daily picture, not from the bar.
  const open = me.must_change || me.totp_enrolment_required ? [] : (Object.keys(views) as View[]).filter((v) => can(me.role, v) && v !== 'scales');
  const links = open.map((v) => h('a', { href: `#/${v}`, class: v === current ? 'active' : '' }, t(v === 'alerts' ? 'alert_list' : v)));
  const moreItems = h('div', { class: 'menu-items' });
  const more = h('details', { class: 'menu more', id: 'more-menu', hidden: true }, h('summary', { id: 'more' }, t('more_views')), moreItems);
  const nav = h('nav', { class: 'topbar' },
    h('span', { class: 'brand' }, t('title')),
    ...links,
    more,
    h('span', { class: 'spacer' }),
    h('span', { class: 'user', id: 'user' }, `${me.username} · ${t(`role_${me.role}`)}`),
    // What is seldom used waits in a menu, so the bar stays one line on a portrait tablet.
    h('details', { class: 'menu', id: 'account-menu' },
      h('summary', { id: 'account' }, t('account')),
      h('div', { class: 'menu-items' },
        h('button', { id: 'password', class: current === 'password' ? 'active' : '', onclick: () => (location.hash = '#/password') }, t('change_password')),
        h('button', { id: 'totp', class: current === 'totp' ? 'active' : '', onclick: () => (location.hash = '#/totp') }, t('totp')),
        h('button', { id: 'lang', onclick: switchLang }, t('lang_switch')))),
    h('button', { id: 'logout', onclick: signOut }, t('logout')),
  );
  // The bar stays one line: the views that do not fit (never the one open) wait under 更多.
  fitTopbar = () => {
    for (const a of links) more.before(a);
    more.hidden = true;
    more.open = false;
    // Measured with the user's name at full width: a view moves to 更多 before the name is cut.
    nav.classList.add('fitting');
    // By the last item's edge against the padding: scrollWidth leaves the end padding out.
    const end = () => nav.getBoundingClientRect().right - parseFloat(getComputedStyle(nav).paddingRight);
    const overflows = () => (nav.lastElementChild?.getBoundingClientRect().right ?? 0) > end() + 0.5;
    if (overflows()) {
      more.hidden = false;
      for (const a of links.filter((l) => !l.classList.contains('active')).reverse()) {
        if (!overflows()) break;
        moreItems.prepend(a);
      }
    }
    nav.classList.remove('fitting');
  };
  requestAnimationFrame(() => fitTopbar?.());
  return nav;
}

let fitTopbar: (() => void) | null = null;
window.addEventListener('resize', () => fitTopbar?.());
// Again whenever a piece of the shipped font arrives: its text is wider than the fallback's.
document.fonts?.addEventListener('loadingdone', () => fitTopbar?.());

/** An account screen (#/password, #/totp); what it does ends the session and opens a new one. */
function renderAccount(current: Me, name: 'password' | 'totp', mount: (root: HTMLElement, me: Me, onDone: () => void) => void): void {
  const root = h('main', { class: `view view-${name}` });
  app.append(topbar(current, name), root);
  document.body.dataset.view = name;
  mount(root, current, () => {
    // The new session may do everything the role allows: ask /me again, then go home.
    me = null;
    location.hash = '#/';
  });
}

function renderLogin(next: string | null): void {
  document.body.dataset.view = 'login';
  const err = h('p', { class: 'error', role: 'alert' });
  const user = h('input', { name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  // Added when the server answers totp_required: the authenticator's code or a recovery code.
  const code = h('input', { name: 'totp', autocomplete: 'one-time-code', maxlength: '16', required: true });
  const codeRow = h('label', { id: 'totp-row' }, t('totp_code'), code, h('span', { class: 'hint' }, t('totp_login_hint')));
  const passRow = h('label', {}, t('password'), pass);
  const form = h('form', {
    class: 'login',
    onsubmit: async (e: SubmitEvent) => {
      e.preventDefault();
      err.textContent = '';
      try {
        await login(user.value, pass.value, codeRow.isConnected ? code.value.trim() : undefined);
        me = null;
        const target = next && !next.startsWith('#/login') && next !== '#' ? next : '#/';
        if (location.hash === target) render();
        else location.hash = target;
      } catch (x) {
        if (x instanceof ApiError && x.code === 'totp_required') {
          passRow.after(codeRow);
          code.focus();
          return;
        }
        err.textContent = `${t('login_failed')}: ${(x as Error).message}`;
      }
    },
  },
    h('h1', {}, t('title')),
    h('label', {}, t('username'), user),
    passRow,
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

setPasswordChangeHandler(() => {
  if (route().name === 'password') return;
  me = null;
  location.hash = '#/password';
});

setTOTPEnrolmentHandler(() => {
  if (route().name === 'totp') return;
  me = null;
  location.hash = '#/totp';
});

// A view's call refused because the session ended, must change its password or enrol a second
// factor has already sent the app to the login or that screen (the handlers above): no error.
window.addEventListener('unhandledrejection', (e) => {
  const r = e.reason;
  if (r instanceof ApiError && (r.status === 401 || r.code === 'password_change_required' || r.code === 'totp_enrolment_required')) e.preventDefault();
});

// Views update their own query (replay's t=) with history.replaceState, which fires no hashchange.
window.addEventListener('hashchange', () => render());
render();
