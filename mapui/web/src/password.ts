// The password change (#/password): the user's own, with the old password. A user whose
// password must be changed (generated at first start, or expired) is sent here and can do
// nothing else until it is done.
import { ApiError, changePassword, type Me } from './api';
import { h } from './dom';
import { t } from './i18n';

/** Mounts the form into root; onChanged runs once the new session is stored. */
export function mountPassword(root: HTMLElement, me: Me, onChanged: () => void): void {
  const err = h('p', { class: 'error', role: 'alert' });
  const old = h('input', { name: 'old', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { name: 'new', type: 'password', autocomplete: 'new-password', required: true });
  const again = h('input', { name: 'again', type: 'password', autocomplete: 'new-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('change_password'));
  const form = h('form', {
    class: 'login password',
    onsubmit: async (e: SubmitEvent) => {
      e.preventDefault();
      err.textContent = '';
      if (next.value !== again.value) {
        err.textContent = t('pw_mismatch');
        return;
      }
      submit.disabled = true;
      try {
        await changePassword(old.value, next.value);
        onChanged();
      } catch (x) {
        err.textContent = passwordError(x);
      } finally {
        submit.disabled = false;
      }
    },
  },
    h('h1', {}, t('change_password')),
    me.must_change ? h('p', { class: 'notice' }, t('pw_required')) : null,
    h('input', { name: 'username', autocomplete: 'username', value: me.username, hidden: true, readonly: true }),
    h('label', {}, t('old_password'), old),
    h('label', {}, t('new_password'), next),
    h('label', {}, t('new_password_again'), again),
    h('p', { class: 'hint' }, t('pw_policy')),
    submit,
    err,
  );
  root.append(form);
  old.focus();
}

/** The server's refusal as a sentence in the user's language, never its raw answer. */
function passwordError(x: unknown): string {
  if (!(x instanceof ApiError)) return t('pw_err_network');
  if (x.code === 'wrong_password') return t('pw_err_old');
  if (x.code === 'too_many_attempts') return t('pw_err_throttled');
  if (x.status !== 400) return t('pw_err_server');
  // The policy's refusals (mapui/access/password.go, ChangePassword) share the code bad_request.
  const m = x.message;
  if (m.includes('at least 10 characters')) return t('pw_err_short');
  if (m.includes('at least three of')) return t('pw_err_mix');
  if (m.includes('differ from the old')) return t('pw_err_same');
  if (m.includes('72 bytes')) return t('pw_err_long');
  return t('pw_err_policy');
}
