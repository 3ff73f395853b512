// Folders and collections in the side bar (hidden when the server has none of these routes).

import { api, el, features, toast } from './api.js';

const list = (answer, key) => answer?.items ?? answer?.[key] ?? (Array.isArray(answer) ? answer : []);

export async function loadSidebar({ onPick, current }) {
  document.getElementById('folders').hidden = !features.folders;
  document.getElementById('collections').hidden = !features.collections;
  if (features.folders) {
    try {
      const folders = list(await api('GET', '/v1/folders'), 'folders');
      folders.sort((a, b) => (a.path ?? a.name).localeCompare(b.path ?? b.name));
      fill('folder-list', folders, (folder) => entry(folder, 'folder', () => onPick({ folderId: folder.id }), current().folderId));
    } catch (error) { toast(`Folders: ${error.message}`, 'error'); }
  }
  if (features.collections) {
    try {
      const collections = list(await api('GET', '/v1/collections'), 'collections');
      fill('collection-list', collections,
        (collection) => entry(collection, 'collection', () => onPick({ collectionId: collection.id }), current().collectionId));
    } catch (error) { toast(`Collections: ${error.message}`, 'error'); }
  }
}

function fill(id, items, make) {
  const target = document.getElementById(id);
  target.replaceChildren(...items.map(make));
}

function entry(item, kind, pick, currentId) {
  const depth = (item.path ?? '').split('/').filter(Boolean).length;
  const count = item.asset_count ?? item.count;
  const button = el('button', {
    type: 'button', class: 'place', [`data-${kind}`]: item.id, onclick: pick,
    'aria-current': item.id === currentId ? 'page' : undefined,
  }, item.name, count === undefined ? null : el('span', { class: 'count', 'aria-label': `${count} assets` }, String(count)));
  const li = el('li', {}, button);
  li.style.paddingLeft = `${Math.max(0, depth - 1) * 12}px`;
  return li;
}

for (const [kind, path] of [['folder', '/v1/folders'], ['collection', '/v1/collections']]) {
  document.getElementById(`${kind}-form`).addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = document.getElementById(`${kind}-name`);
    try {
      await api('POST', path, { name: input.value.trim() });
      input.value = '';
      document.dispatchEvent(new CustomEvent('sidebar-changed'));
    } catch (error) {
      toast(error.message, 'error');
    }
  });
}
