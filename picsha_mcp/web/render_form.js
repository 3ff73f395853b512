// Render parameters with a live preview and the signed link that makes the same image without a key.

import { debounce, el, local, renderLinks, toast } from './api.js';

const FIELDS = [
  ['w', 'Width', 'number', { min: 1, max: 8192, value: 800 }],
  ['h', 'Height', 'number', { min: 1, max: 8192 }],
  ['fit', 'Fit', ['inside', 'cover', 'contain', 'fill', 'outside']],
  ['format', 'Format', ['webp', 'avif', 'jpeg', 'png']],
  ['q', 'Quality', 'number', { min: 1, max: 100, placeholder: 'auto' }],
  ['rotate', 'Rotate', ['0', '90', '180', '270']],
  ['blur', 'Blur', 'number', { min: 0.3, max: 100, step: 0.1 }],
  ['watermark', 'Watermark', 'text', { maxlength: 200 }],
];

export function renderSection(asset) {
  const form = el('form', { class: 'render-form' });
  for (const [name, label, kind, attrs = {}] of FIELDS) {
    const id = `render-${name}`;
    const field = Array.isArray(kind)
      ? el('select', { id, name }, kind.map((value) => new Option(value, value)))
      : el('input', { id, name, type: kind, ...attrs, value: attrs.value === undefined ? '' : String(attrs.value) });
    form.append(el('label', { for: id }, label), field);
  }
  if ((asset.meta.pages ?? 0) > 1) {
    form.append(el('label', { for: 'render-page' }, 'Page'),
      el('input', { id: 'render-page', name: 'page', type: 'number', min: 1, max: asset.meta.pages, value: '1' }));
  }
  const img = el('img', { class: 'render-preview', alt: `Render of ${asset.filename}` });
  const url = el('input', { readonly: true, id: 'render-url', class: 'render-url' });
  const copy = el('button', { type: 'button', onclick: async () => {
    url.select();
    try { await navigator.clipboard.writeText(url.value); toast('Signed URL copied.'); } catch { document.execCommand?.('copy'); }
  } }, 'Copy');
  const update = debounce(async () => {
    const params = {};
    for (const [name, value] of new FormData(form)) if (String(value).trim() !== '') params[name] = String(value).trim();
    if (params.rotate === '0') delete params.rotate;
    const link = (await renderLinks([asset.id], params))[asset.id];
    if (!link) { url.value = 'This server cannot sign render links for the page.'; return; }
    url.value = new URL(link, location.href).href;
    const preview = { ...params, w: '480', h: '320', fit: 'inside' };
    img.src = local((await renderLinks([asset.id], preview))[asset.id]);
  }, 300);
  form.addEventListener('input', update);
  form.addEventListener('submit', (event) => { event.preventDefault(); update(); });
  img.addEventListener('error', () => { url.setCustomValidity('These parameters do not render.'); url.reportValidity(); });
  img.addEventListener('load', () => url.setCustomValidity(''));
  const section = el('section', { 'aria-labelledby': 'render-title' }, el('h3', { id: 'render-title' }, 'Render'),
    form, img, el('div', { class: 'inline-form' }, el('label', { for: 'render-url', class: 'visually-hidden' }, 'Signed URL'), url, copy));
  if (!asset.urls.thumbnail) section.hidden = true;
  else update();
  return section;
}
