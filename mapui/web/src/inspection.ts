// An alert's inspections in its detail (wall, alert list, tablet): each order raised on it with
// its result in words (evidence.ts), the photos as thumbnails that open full size with their
// SHA-256, who took them and when, and for those who export evidence the alert's evidence
// bundle (GET /alerts/{id}/evidence: a ZIP with the photos, a manifest and checksums).
import { api, can, download, token, type Alert, type Me } from './api';
import { h } from './dom';
import { inspectionRows, type Inspection, type InspectionPhoto } from './evidence';
import { fill, loadDirectory, paren, plate, time, timeMinute, timeShort } from './format';
import { t } from './i18n';
import { onNotice } from './targeting';

// The object URLs of the photos shown: one alert's detail is open at a time, so a new detail
// lets the last one's go.
const shown = new Set<string>();

function release(): void {
  for (const u of shown) URL.revokeObjectURL(u);
  shown.clear();
}

/** A photo as an object URL, fetched with the Authorization header (an <img> cannot send it). */
async function photoURL(alertId: string, sha: string): Promise<string> {
  const res = await fetch(`/api/v1/alerts/${encodeURIComponent(alertId)}/photos/${sha}`, { headers: { Authorization: `Bearer ${token() ?? ''}` } });
  if (!res.ok) throw new Error(`photo ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  shown.add(url);
  return url;
}

/** The photo full size over everything, with its hash, who took it and when; Esc or a tap closes it. */
function openPhoto(url: string, p: InspectionPhoto): void {
  document.querySelector('.photo-view')?.remove();
  const close = () => {
    view.remove();
    document.removeEventListener('keydown', onKey);
  };
  const onKey = (e: KeyboardEvent) => e.key === 'Escape' && close();
  const view = h('div', { class: 'photo-view', id: 'photo-view', role: 'dialog', 'aria-modal': 'true', onclick: (e: MouseEvent) => e.target === view && close() },
    h('img', { src: url, alt: t('photo') }),
    h('div', { class: 'photo-meta' },
      h('span', {}, fill('insp_photo_by', { by: p.by, time: time(p.at) })),
      h('span', {}, fill('insp_photo_size', { kb: (p.size / 1024).toFixed(1) })),
      h('code', { class: 'sha' }, `SHA-256 ${p.sha256}`),
      h('button', { class: 'big close-photo', id: 'photo-close', onclick: close }, t('insp_close'))));
  document.addEventListener('keydown', onKey);
  document.body.append(view);
}

function photoStrip(alertId: string, photos: InspectionPhoto[]): HTMLElement {
  return h('div', { class: 'photo-strip' }, ...photos.map((p) => {
    const img = h('img', { alt: t('photo'), 'data-sha': p.sha256 });
    const btn = h('button', { class: 'thumb', title: t('insp_photo_open'), disabled: true }, img);
    photoURL(alertId, p.sha256).then((url) => {
      img.src = url;
      btn.disabled = false;
      btn.onclick = () => openPhoto(url, p);
    }).catch((e) => console.warn('photo', e));
    return h('figure', {}, btn, h('figcaption', {}, timeShort(p.at), h('br'), p.by));
  }));
}

/**
 * The alert's inspections, read from GET /alerts/{id} (the live feed's alerts do not carry
 * them), and the evidence bundle's button; empty for an alert nobody targeted and a user who
 * does not export. Read again when the live socket says an order on the alert ended (a result
 * reported, an order cancelled), for as long as the detail is on the page.
 */
export function inspectionView(a: Alert, me: Me): HTMLElement {
  release();
  const id = String(a.id);
  const list = h('div', {});
  const box = h('section', { class: 'inspections', id: 'inspections' }, list);
  const exportBtn = can(me.role, 'export')
    ? h('button', { class: 'export-evidence', id: 'export-evidence', title: t('export_evidence_hint'), onclick: () => {
        // The server's name for it (Content-Disposition): plate, alert, the alert's China time.
        const at = timeMinute(a.time).replace(/[-:]/g, '').replace(' ', '-');
        const name = `证据_${plate(a.vehicle_id, a.plate)}_告警${id}_${at}.zip`;
        exportBtn!.disabled = true;
        download(`/alerts/${encodeURIComponent(id)}/evidence`, name).catch((e) => console.warn('evidence', e)).finally(() => (exportBtn!.disabled = false));
      } }, t('export_evidence'))
    : null;
  const load = () =>
    // The directory names the zone where the order hit (the tablet does not load it otherwise).
    Promise.all([api<{ inspections?: Inspection[] }>(`/alerts/${encodeURIComponent(id)}`), loadDirectory().catch(() => {})]).then(([d]) => {
      const ins = d.inspections ?? [];
      if (!ins.length) return;
      release();
      list.replaceChildren(h('h3', {}, t('insp_title')), ...ins.map((x) => h('div', { class: 'inspection', 'data-order': x.order.id },
        h('dl', { class: 'evidence' }, ...inspectionRows(x.order).filter(([, v]) => v).flatMap(([k, v]) => [h('dt', {}, t(k)), h('dd', {}, v)])),
        x.photos.length ? h('div', { class: 'photos' }, h('div', { class: 'photos-head' }, `${t('insp_photos')}${paren(String(x.photos.length))}`), photoStrip(id, x.photos)) : null)));
      box.dataset.loaded = String(ins.length);
      box.dataset.results = String(ins.filter((x) => x.order.result).length);
    }).catch((e) => console.warn('inspections', e));
  void load();
  const off = onNotice((n) => {
    // A notice after the detail was closed or replaced: stop listening.
    if (!box.isConnected) off();
    else if (['closed', 'cancelled'].includes(n.kind) && String(n.order?.alert_id ?? '') === id) void load();
  });
  if (exportBtn) box.append(exportBtn);
  return box;
}
