// The asset dialog: a large preview, what Picsha understood, editing, render links, versions and tools.

import { api, el, features, isMissingRoute, local, renderLinks, thumbStep, toast } from './api.js';
import { addTags, removeTag } from './tags.js';
import { renderSection } from './render_form.js';
import { toolsSection } from './tools.js';

const dialog = document.getElementById('asset');
let changed = () => {};

dialog.addEventListener('close', () => { dialog.replaceChildren(); });

export async function openAsset(id, { onChanged, known = null }) {
  changed = onChanged;
  const inTrash = Boolean(known);
  let asset = known;
  try {
    asset ??= await api('GET', `/v1/assets/${id}`);
  } catch (error) {
    toast(error.message, 'error');
    return;
  }
  draw(asset, inTrash);
  if (!dialog.open) dialog.showModal();
  dialog.querySelector('.close').focus();
  if (asset.status === 'processing' || asset.status === 'pending') watch(asset);
}

// While analyses run, what Picsha understood is redrawn as they finish (the rest, maybe being edited, stays).
function watch(asset) {
  const again = async () => {
    if (!dialog.open || dialog.dataset.id !== asset.id) return;
    let fresh;
    try { fresh = await api('GET', `/v1/assets/${asset.id}`); } catch { return; }
    dialog.querySelector('.asset-head .meta').textContent = describe(fresh);
    dialog.querySelector('#understood-title')?.parentElement.replaceWith(understood(fresh));
    if (fresh.status === 'processing' || fresh.status === 'pending') setTimeout(again, 2000);
    else changed();
  };
  setTimeout(again, 2000);
}

function draw(asset, inTrash) {
  const title = el('h2', { id: 'asset-title' }, asset.filename);
  const close = el('button', { type: 'button', class: 'close', 'aria-label': 'Close', onclick: () => dialog.close() }, '×');
  dialog.dataset.id = asset.id;
  dialog.replaceChildren(
    el('header', { class: 'asset-head' }, title, el('span', { class: 'meta' }, describe(asset)), close),
    el('div', { class: 'asset-body' },
      el('div', { class: 'asset-preview' }, preview(asset), actions(asset, inTrash)),
      el('div', { class: 'asset-info' }, inTrash ? understood(asset) // in the trash: restore or delete, nothing else
        : [understood(asset), editing(asset), renderSection(asset), versions(asset), toolsSection(asset, () => changed())])),
  );
}

function describe(asset) {
  const size = asset.meta.size > 1e6 ? `${(asset.meta.size / 1e6).toFixed(1)} MB` : `${Math.ceil(asset.meta.size / 1e3)} kB`;
  const dims = asset.meta.width ? ` · ${asset.meta.width}×${asset.meta.height}` : '';
  const pages = asset.meta.pages ? ` · ${asset.meta.pages} pages` : '';
  return `${asset.meta.format.toUpperCase()} · ${size}${dims}${pages} · ${asset.status}`;
}

// -- preview ----------------------------------------------------------------------------------

function preview(asset) {
  const box = el('figure', { class: 'big' });
  if (!asset.urls.thumbnail) {
    box.append(el('p', { class: 'no-preview' }, 'No picture of this file.'),
      asset.ai.summary ? el('blockquote', {}, asset.ai.summary) : null);
    return box;
  }
  const img = el('img', { alt: asset.alt_text || asset.ai.caption || asset.filename, class: 'big-img' });
  const pages = asset.meta.pages ?? 0;
  let page = 1;
  const label = el('span', { 'aria-live': 'polite' });
  const show = async () => {
    const size = thumbStep(Math.min(1200, window.innerWidth * 0.6));
    const params = { w: size, h: size, fit: 'inside', format: 'webp' };
    if (pages > 1) params.page = page;
    const links = await renderLinks([asset.id], params);
    img.src = local(links[asset.id] ?? asset.urls.thumbnail);
    label.textContent = pages > 1 ? `Page ${page} of ${pages}` : '';
  };
  box.append(img);
  if (pages > 1) {
    const step = (by) => () => { page = Math.min(pages, Math.max(1, page + by)); show(); };
    box.append(el('div', { class: 'pager' },
      el('button', { type: 'button', onclick: step(-1), 'aria-label': 'Previous page' }, '‹'), label,
      el('button', { type: 'button', onclick: step(1), 'aria-label': 'Next page' }, '›')));
  }
  show();
  return box;
}

function actions(asset, inTrash) {
  const row = el('div', { class: 'actions' },
    el('a', { class: 'button', href: local(asset.urls.original), download: asset.filename }, 'Download'),
    asset.urls.pdf_view ? el('a', { class: 'button', href: local(asset.urls.pdf_view), download: '' }, 'PDF') : null);
  const act = (label, work, cls) => el('button', { type: 'button', class: cls, onclick: async () => {
    try {
      const message = await work();
      if (message) { toast(message); dialog.close(); changed(); }
    } catch (error) { toast(error.message, 'error'); }
  } }, label);
  if (inTrash) {
    row.append(
      act('Restore', async () => { await api('POST', `/v1/assets/${asset.id}/restore`); return 'Restored.'; }),
      act('Delete forever', async () => {
        if (!window.confirm(`Delete ${asset.filename} forever?`)) return null;
        await api('DELETE', `/v1/assets/${asset.id}?purge=true`);
        return 'Deleted.';
      }, 'danger'));
  } else {
    row.append(act(features.trash ? 'Move to trash' : 'Delete', async () => {
      if (!features.trash && !window.confirm(`Delete ${asset.filename}? This server has no trash: it cannot be restored.`)) return null;
      await api('DELETE', `/v1/assets/${asset.id}`);
      return features.trash ? 'Moved to the trash.' : 'Deleted.';
    }, 'danger'));
  }
  if (features.shares) row.append(shareButton(asset));
  return row;
}

function shareButton(asset) {
  const out = el('input', { readonly: true, class: 'share-url', 'aria-label': 'Share link', hidden: true });
  const button = el('button', { type: 'button', onclick: async () => {
    try {
      const share = await api('POST', '/v1/shares', { target_type: 'asset', target_id: asset.id });
      out.value = new URL(share.url, location.href).href;
      out.hidden = false;
      out.select();
      await navigator.clipboard?.writeText(out.value).catch(() => {});
      toast('Share link made and copied.');
    } catch (error) { toast(error.message, 'error'); }
  } }, 'Share link');
  return el('span', { class: 'share' }, button, out);
}

// -- what Picsha understood -------------------------------------------------------------------

function understood(asset) {
  const ai = asset.ai;
  const faces = ai.faces?.count ?? ai.faces?.boxes?.length ?? (Array.isArray(ai.faces) ? ai.faces.length : null);
  const section = el('section', { 'aria-labelledby': 'understood-title' }, el('h3', { id: 'understood-title' }, 'What Picsha understood'));
  const facts = el('dl', { class: 'facts' });
  const fact = (term, value) => { if (value !== null && value !== undefined && value !== '') facts.append(el('dt', {}, term), el('dd', {}, value)); };
  fact('Caption', ai.caption);
  fact('Summary', ai.summary);
  fact('Seen', ai.tags.length ? ai.tags.join(', ') : null);
  fact('Faces', faces);
  fact('Safe search', ai.safe_search !== 'unknown' ? ai.safe_search : null);
  fact('Taken', new Date(asset.taken_at).toLocaleString());
  fact('Uploaded', new Date(asset.created_at).toLocaleString());
  if (asset.location) fact('Place', el('span', {}, asset.location.label ?? `${asset.location.lat.toFixed(4)}, ${asset.location.lon.toFixed(4)}`, map(asset.location)));
  section.append(facts);
  if (ai.ocr_text) section.append(el('details', {}, el('summary', {}, 'Text in the image'), el('pre', { class: 'ocr' }, ai.ocr_text)));
  const exif = Object.entries(asset.meta.exif ?? {});
  if (exif.length) {
    section.append(el('details', {}, el('summary', {}, `EXIF (${exif.length})`),
      el('table', { class: 'exif' }, el('tbody', {}, exif.map(([key, value]) =>
        el('tr', {}, el('th', { scope: 'row' }, key), el('td', {}, typeof value === 'object' ? JSON.stringify(value) : String(value))))))));
  }
  return section;
}

// A small map without tiles (nothing is fetched from another site): a graticule and the spot.
function map({ lat, lon, label }) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '-180 -90 360 180');
  svg.setAttribute('class', 'map');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Map: ${label ?? ''} at ${lat.toFixed(2)}, ${lon.toFixed(2)}`);
  const line = (x1, y1, x2, y2) => {
    const node = document.createElementNS(ns, 'line');
    Object.entries({ x1, y1, x2, y2 }).forEach(([k, v]) => node.setAttribute(k, v));
    svg.append(node);
  };
  for (let x = -180; x <= 180; x += 30) line(x, -90, x, 90);
  for (let y = -90; y <= 90; y += 30) line(-180, y, 180, y);
  const dot = document.createElementNS(ns, 'circle');
  Object.entries({ cx: lon, cy: -lat, r: 6 }).forEach(([k, v]) => dot.setAttribute(k, v));
  svg.append(dot);
  const link = el('a', { href: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=12/${lat}/${lon}`,
    target: '_blank', rel: 'noopener noreferrer', class: 'map-link' }, svg, 'Open the map');
  return link;
}

// -- editing ----------------------------------------------------------------------------------

function editing(asset) {
  const chips = el('ul', { class: 'chips', 'aria-label': 'Tags' });
  const drawTags = (tags) => chips.replaceChildren(...tags.map((tag) => el('li', { class: 'chip' }, tag,
    el('button', { type: 'button', 'aria-label': `Remove tag ${tag}`, onclick: async () => {
      try { drawTags((await removeTag(asset.id, tag))?.tags ?? tags.filter((t) => t !== tag)); changed(); } catch (error) { toast(error.message, 'error'); }
    } }, '×'))));
  drawTags(asset.tags);
  const input = el('input', { id: 'tag-input', placeholder: 'Add tags, comma separated', autocomplete: 'off' });
  const addForm = el('form', { class: 'inline-form', onsubmit: async (event) => {
    event.preventDefault();
    const tags = input.value.split(',').map((t) => t.trim()).filter(Boolean);
    if (!tags.length) return;
    try {
      const answer = await addTags(asset.id, tags);
      asset.tags = answer?.tags ?? [...new Set([...asset.tags, ...tags])];
      drawTags(asset.tags);
      input.value = '';
      toast('Tags saved.');
      changed();
    } catch (error) { toast(error.message, 'error'); }
  } }, el('label', { for: 'tag-input', class: 'visually-hidden' }, 'New tags'), input, el('button', { type: 'submit' }, 'Add'));
  const description = el('textarea', { id: 'description', rows: 3, maxlength: 1000 });
  description.value = asset.description ?? '';
  const saveDescription = el('form', { onsubmit: async (event) => {
    event.preventDefault();
    try {
      await api('PATCH', `/v1/assets/${asset.id}`, { description: description.value.trim() || null });
      toast('Description saved.');
    } catch (error) { toast(error.message, 'error'); }
  } }, el('label', { for: 'description' }, 'Description'), description, el('button', { type: 'submit' }, 'Save description'));
  return el('section', { 'aria-labelledby': 'edit-title' }, el('h3', { id: 'edit-title' }, 'Tags and description'),
    chips, addForm, saveDescription);
}

// -- versions ---------------------------------------------------------------------------------

function versions(asset) {
  const section = el('section', { 'aria-labelledby': 'versions-title', hidden: true },
    el('h3', { id: 'versions-title' }, 'Versions'));
  if (!features.versions) return section;
  api('GET', `/v1/assets/${asset.id}/versions`).then((answer) => {
    const items = answer?.items ?? answer?.versions ?? answer ?? [];
    const restore = (version) => el('button', { type: 'button', onclick: async () => {
      try {
        await api('POST', `/v1/assets/${asset.id}/versions/${version.version}/restore`);
        toast(`Version ${version.version} restored as the current one.`);
        dialog.close();
        changed();
      } catch (error) { toast(error.message, 'error'); }
    } }, 'Restore');
    section.append(el('ol', { class: 'versions' }, items.map((version) => el('li', {},
      `${version.version ?? ''} · ${new Date(version.created_at).toLocaleString()} · ${version.filename ?? ''} `,
      version.current ? '(current)' : restore(version)))));
    section.hidden = items.length === 0;
  }).catch((error) => { if (isMissingRoute(error)) features.versions = false; });
  return section;
}
