// Two-factor sign-in (#/totp): enrol a TOTP authenticator (QR code drawn here, offline, and the
// key as text), confirm it with a code, and show the recovery codes once. An administrator
// whose role requires it and who has none is sent here and can do nothing else until it is done.
import qrcode from 'qrcode-generator';
import { ApiError, confirmTOTP, enrolTOTP, type Me } from './api';
import { h } from './dom';
import { t } from './i18n';

/** Mounts the screen into root; onEnrolled runs once the user has seen the recovery codes. */
export function mountTOTP(root: HTMLElement, me: Me, onEnrolled: () => void): void {
  const err = h('p', { class: 'error', role: 'alert' });
  const panel = h('section', { class: 'login totp' },
    h('h1', {}, t('totp')),
    me.totp_enrolment_required ? h('p', { class: 'notice' }, t('totp_required_notice')) : null,
  );
  root.append(panel);
  if (me.totp) {
    panel.append(h('p', { id: 'totp-enabled' }, t('totp_enabled')));
    return;
  }
  const start = h('button', { type: 'button', class: 'primary', id: 'totp-start' }, t('totp_start'));
  start.onclick = async () => {
    start.disabled = true;
    err.textContent = '';
    try {
      const en = await enrolTOTP();
      start.remove();
      showEnrolment(panel, en.secret, en.otpauth_url, err, onEnrolled);
    } catch (x) {
      err.textContent = totpError(x);
      start.disabled = false;
    }
  };
  panel.append(start, err);
}

function showEnrolment(panel: HTMLElement, secret: string, url: string, err: HTMLElement, onEnrolled: () => void): void {
  const code = h('input', { name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: '6', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('totp_confirm'));
  const form = h('form', {
    onsubmit: async (e: SubmitEvent) => {
      e.preventDefault();
      err.textContent = '';
      submit.disabled = true;
      try {
        const recovery = await confirmTOTP(code.value.trim());
        form.remove();
        showRecovery(panel, recovery, onEnrolled);
      } catch (x) {
        err.textContent = totpError(x);
      } finally {
        submit.disabled = false;
      }
    },
  },
    h('p', {}, t('totp_scan')),
    qrCanvas(url),
    h('label', {}, t('totp_secret'), h('code', { id: 'totp-secret' }, secret.replace(/(.{4})/g, '$1 ').trim())),
    h('label', {}, t('totp_code'), code),
    submit,
  );
  panel.insertBefore(form, err);
  code.focus();
}

function showRecovery(panel: HTMLElement, codes: string[], onEnrolled: () => void): void {
  panel.insertBefore(h('div', { id: 'totp-recovery' },
    h('h2', {}, t('totp_recovery_title')),
    h('p', { class: 'notice' }, t('totp_recovery_hint')),
    h('ul', { class: 'recovery-codes' }, ...codes.map((c) => h('li', {}, h('code', {}, c)))),
    h('button', { type: 'button', class: 'primary', id: 'totp-done', onclick: onEnrolled }, t('totp_done')),
  ), panel.lastChild);
}

/** The otpauth URL as a QR code on a canvas, drawn here: the secret never leaves the page. */
function qrCanvas(url: string): HTMLCanvasElement {
  const qr = qrcode(0, 'M');
  qr.addData(url);
  qr.make();
  const n = qr.getModuleCount();
  const cell = 5;
  const margin = 4;
  const size = (n + 2 * margin) * cell;
  const canvas = h('canvas', { id: 'totp-qr', width: String(size), height: String(size) });
  canvas.setAttribute('aria-label', 'QR');
  const ctx = canvas.getContext('2d');
  if (!ctx) return canvas;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, size, size);
  ctx.fillStyle = '#000';
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.isDark(r, c)) ctx.fillRect((c + margin) * cell, (r + margin) * cell, cell, cell);
    }
  }
  return canvas;
}

/** The server's refusal as a sentence in the user's language. */
function totpError(x: unknown): string {
  if (!(x instanceof ApiError)) return t('pw_err_network');
  if (x.code === 'invalid_code') return t('totp_err_code');
  return t('totp_err_server');
}
