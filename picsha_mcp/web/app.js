// The library page: sign-in, the side bar, filters, the search box and bulk actions around the grid.

import { api, ApiError, debounce, features, isMissingRoute, probeFeatures, session, toast } from './api.js';
import { Grid } from './grid.js';
import { openAsset } from './panel.js';
import { bulk } from './bulk.js';
import { loadSidebar } from './sidebar.js';
import { setupUploads } from './upload.js';

const $ = (selector) => document.querySelector(selector);
const state = { view: 'all', folderId: null, collectionId: null };

const grid = new Grid($('#grid'), {
  // A trashed asset is only in the trash's list (GET /v1/assets/{id} answers 404): it opens from that answer.
  onOpen: (item) => openAsset(item.id, { onChanged: () => grid.refresh(), known: state.view === 'trash' ? item.full : null }),
  onSelectionChange: (selected) => showBulk(selected),
});

const uploads = setupUploads({ button: $('#upload-button'), onUploaded: () => grid.refresh(), folderId: () => state.folderId });

// -- signing in -------------------------------------------------------------------------------

async function start() {
  session.onExpired = () => signedOut('Your session ended; sign in again.');
  if (session.token && await whoAmI()) return enter();
  signedOut('');
}

async function whoAmI() {
  try {
    const answer = await api('GET', '/v1/auth/session');
    state.user = answer.user ?? answer;
    return true;
  } catch (error) {
    if (!isMissingRoute(error)) return false;
  }
  try { // no user accounts on this server: the token is an API key; any authorised read proves it
    await api('GET', '/v1/assets?page_size=1');
    state.user = null;
    return true;
  } catch {
    return false;
  }
}

async function signedOut(message) {
  session.clear();
  $('#library').hidden = true;
  $('#signin').hidden = false;
  $('#signin-error').textContent = message;
  try { // does this server have user logins? (401 without a token: yes; 404: keys only)
    await api('GET', '/v1/auth/session', undefined, { token: '' });
    $('#login-form').hidden = false;
  } catch (error) {
    $('#login-form').hidden = isMissingRoute(error);
  }
  ($('#login-form').hidden ? $('#key-input') : $('#login-user')).focus();
}

$('#login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    const answer = await api('POST', '/v1/auth/login',
      { username: form.get('username'), password: form.get('password') }, { token: '' });
    session.set(answer.token);
    state.user = answer.user;
    event.target.reset();
    enter();
  } catch (error) {
    $('#signin-error').textContent = error.status === 401 ? 'That user name and password do not match.' : error.message;
  }
});

$('#key-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('#key-input').value.trim();
  try {
    await api('GET', '/v1/assets?page_size=1', undefined, { token: key });
  } catch (error) {
    $('#signin-error').textContent = error instanceof ApiError && error.status === 401
      ? 'This key is not valid (revoked, or mistyped).' : error.message;
    return;
  }
  session.set(key);
  state.user = null;
  event.target.reset();
  enter();
});

$('#signout').addEventListener('click', async () => {
  try { await api('POST', '/v1/auth/logout'); } catch { /* a key has no session to end */ }
  uploads.cancelAll();
  signedOut('Signed out.');
});

async function enter() {
  $('#signin').hidden = true;
  $('#library').hidden = false;
  $('#signin-error').textContent = '';
  $('#who').textContent = state.user?.username ?? state.user?.name ?? 'API key';
  reload(); // the grid first: what the server offers besides only changes the side bar and the buttons
  await probeFeatures();
  $('#trash-entry').hidden = !features.trash;
  for (const button of document.querySelectorAll('[data-needs]')) button.hidden = !features[button.dataset.needs];
  loadSidebar({ onPick: pickPlace, current: () => state });
}

// -- what the grid shows ----------------------------------------------------------------------

function filters() {
  const form = new FormData($('#filters'));
  const text = (name) => (form.get(name) ?? '').toString().trim();
  return {
    type: text('type'), taken_after: text('taken_after'), taken_before: text('taken_before'),
    tags: text('tags').split(',').map((tag) => tag.trim()).filter(Boolean), place: text('place'),
    color: form.get('color_on') ? text('color') : '',
  };
}

const fromAsset = (asset) => ({
  id: asset.id, filename: asset.filename, type: asset.type, status: asset.status, tags: asset.tags,
  thumb: asset.urls?.thumbnail, full: asset,
});
const fromHit = (hit) => ({ id: hit.id, filename: hit.filename, type: hit.type, status: hit.status, tags: hit.tags, thumb: hit.url });

function listSource(path, extra) {
  return {
    async fetchPage(page, size, signal) {
      const query = new URLSearchParams({ page: String(page + 1), page_size: String(size) });
      for (const [name, value] of Object.entries(extra)) if (value) query.set(name, value);
      const answer = await api('GET', `${path}?${query}`, undefined, { signal });
      return { items: answer.items.map(fromAsset), total: answer.total };
    },
  };
}

function searchSource(text, chosen) {
  const wanted = { ...chosen };
  for (const name of Object.keys(wanted)) if (!wanted[name] || wanted[name].length === 0) delete wanted[name];
  return {
    async fetchPage(page, size, signal) {
      if (page * size >= 10000) return { items: [], total: 10000 };
      const answer = await api('POST', '/v1/search', { query: text, filters: wanted, limit: size, offset: page * size }, { signal });
      return { items: answer.results.map(fromHit), total: answer.total };
    },
  };
}

function reload() {
  const text = $('#search').value.trim();
  const chosen = filters();
  let source;
  if (state.view === 'trash') {
    source = listSource('/v1/assets/trash', {});
  } else if (text || chosen.tags.length || chosen.place || (chosen.color && !state.folderId && !state.collectionId)) {
    source = searchSource(text, chosen);
  } else { // a folder or collection is a list's filter (the list takes a colour too)
    source = listSource('/v1/assets', {
      type: chosen.type, taken_after: chosen.taken_after, taken_before: chosen.taken_before,
      folder_id: state.folderId, collection_id: state.collectionId, color: chosen.color,
    });
  }
  grid.clearSelection();
  $('#status').textContent = 'Loading…';
  return grid.show(source);
}

// Analyses run after an upload: while some shown asset is still processing, look again now and then.
let recheck = 0;
function recheckWhileProcessing() {
  clearTimeout(recheck);
  if (grid.items.some((item) => item && (item.status === 'processing' || item.status === 'pending'))) {
    recheck = setTimeout(() => { if (!grid.scrolling && !document.hidden) grid.refresh(); else recheckWhileProcessing(); }, 4000);
  }
}

$('#grid').addEventListener('loaded', (event) => {
  recheckWhileProcessing();
  const { total } = event.detail;
  const where = state.view === 'trash' ? ' in the trash' : '';
  $('#status').textContent = total === 0 ? `Nothing here yet${where}. Drop files anywhere to upload.`
    : `${total.toLocaleString()} asset${total === 1 ? '' : 's'}${where}`;
});
$('#grid').addEventListener('failed', (event) => {
  const error = event.detail;
  $('#status').textContent = [400, 422].includes(error.status) && filters().color
    ? 'This server cannot filter by colour yet.' : `Could not load: ${error.message}`;
});

const searchSoon = debounce(reload, 200);
$('#search').addEventListener('input', searchSoon);
$('#filters').addEventListener('input', debounce(reload, 250));
$('#filters').addEventListener('reset', () => setTimeout(reload));
$('#filters').addEventListener('submit', (event) => { event.preventDefault(); reload(); });
document.addEventListener('keydown', (event) => {
  if (event.key === '/' && !['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement?.tagName)) {
    event.preventDefault();
    $('#search').focus();
  }
});

document.addEventListener('sidebar-changed', () => loadSidebar({ onPick: pickPlace, current: () => state }));

for (const button of document.querySelectorAll('.view')) {
  button.addEventListener('click', () => pickPlace({ view: button.dataset.view }));
}

function pickPlace({ view = 'all', folderId = null, collectionId = null }) {
  Object.assign(state, { view, folderId, collectionId });
  for (const button of document.querySelectorAll('.side [aria-current]')) button.removeAttribute('aria-current');
  const current = folderId ? `[data-folder="${folderId}"]` : collectionId ? `[data-collection="${collectionId}"]` : `[data-view="${view}"]`;
  document.querySelector(`.side ${current}`)?.setAttribute('aria-current', 'page');
  $('#filters').hidden = view === 'trash';
  reload();
}

// -- bulk actions -----------------------------------------------------------------------------

function showBulk(selected) {
  $('#bulk').hidden = selected.size === 0;
  $('#bulk-count').textContent = `${selected.size} selected`;
  for (const button of document.querySelectorAll('#bulk [data-only]')) button.hidden = state.view !== button.dataset.only;
  for (const button of document.querySelectorAll('#bulk [data-not]')) button.hidden = state.view === button.dataset.not;
  const trashButton = document.querySelector('#bulk [data-bulk="trash"]');
  trashButton.textContent = features.trash ? 'Move to trash' : 'Delete';
}

$('#bulk').addEventListener('click', async (event) => {
  const action = event.target.dataset?.bulk;
  if (!action) return;
  if (action === 'clear') return grid.clearSelection();
  const ids = [...grid.selected];
  try {
    const done = await bulk(action, ids, { inTrash: state.view === 'trash' });
    if (done) {
      toast(done);
      grid.clearSelection();
      grid.refresh();
      loadSidebar({ onPick: pickPlace, current: () => state });
    }
  } catch (error) {
    toast(error.message, 'error');
  }
});

start();
