// Bulk actions on the selected assets, one request (POST /v1/assets/bulk); on a server without that route
// tags are edited asset by asset and deletion goes through the older batch-delete.

import { api, features, session } from './api.js';
import { addTags, removeTag } from './tags.js';

const ask$ = (id) => document.getElementById(id);

// A small modal question: a text answer, or a choice among options. Resolves to null when cancelled.
export function ask({ title, label, options }) {
  const dialog = ask$('ask');
  ask$('ask-title').textContent = title;
  ask$('ask-label').textContent = label;
  const input = ask$('ask-input');
  const select = ask$('ask-select');
  input.hidden = Boolean(options);
  input.required = !options;
  select.hidden = !options;
  input.value = '';
  if (options) select.replaceChildren(...options.map(([value, text]) => new Option(text, value)));
  dialog.showModal();
  (options ? select : input).focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok' ? (options ? select.value : input.value.trim()) : null);
    }, { once: true });
  });
}

async function choose(path, key, title, label) {
  const answer = await api('GET', path);
  const items = answer?.items ?? answer?.[key] ?? answer ?? [];
  return ask({ title, label, options: items.map((item) => [item.id, item.path ?? item.name]) });
}

async function download(ids) {
  const response = await fetch('/v1/assets/bulk', {
    method: 'POST', headers: { Authorization: `Bearer ${session.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ action: 'download', asset_ids: ids }),
  });
  if (!response.ok) throw new Error((await response.json().catch(() => ({})))?.error?.message ?? response.statusText);
  if ((response.headers.get('content-type') ?? '').includes('json')) {
    const answer = await response.json();
    if (answer.url) { window.location.assign(answer.url); return 'Download started.'; }
    return answer.job_id ? `Preparing the ZIP (job ${answer.job_id}).` : 'Download requested.';
  }
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = 'picsha-assets.zip';
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  return 'Downloaded.';
}

export async function bulk(action, ids) {
  const n = `${ids.length} asset${ids.length === 1 ? '' : 's'}`;
  const body = { action, asset_ids: ids };
  if (action === 'download') return download(ids);
  if (action === 'tag' || action === 'untag') {
    const tag = await ask({ title: action === 'tag' ? `Tag ${n}` : `Remove a tag from ${n}`, label: 'Tag' });
    if (!tag) return null;
    if (!features.bulk) {
      await Promise.all(ids.map((id) => (action === 'tag' ? addTags(id, [tag]) : removeTag(id, tag))));
      return `${action === 'tag' ? 'Tagged' : 'Untagged'} ${n}.`;
    }
    body.tags = [tag];
  }
  if (action === 'move') {
    const folder = await choose('/v1/folders', 'folders', `Move ${n}`, 'Folder');
    if (!folder) return null;
    body.folder_id = folder;
  }
  if (action === 'add_to_collection') {
    const collection = await choose('/v1/collections', 'collections', `Add ${n} to a collection`, 'Collection');
    if (!collection) return null;
    body.collection_id = collection;
  }
  if (action === 'purge' && !window.confirm(`Delete ${n} forever? This cannot be undone.`)) return null;
  if (action === 'trash' && !features.trash) {
    if (!window.confirm(`Delete ${n}? This server has no trash: they cannot be restored.`)) return null;
    const answer = await api('POST', '/v1/assets/batch-delete', { ids });
    return `Deleted ${answer.deleted} of ${n}.`;
  }
  const answer = await api('POST', '/v1/assets/bulk', body);
  if (answer?.job_id) return `Working on ${n} (job ${answer.job_id}).`;
  const verbs = { tag: 'Tagged', untag: 'Untagged', move: 'Moved', add_to_collection: 'Added', trash: 'Moved to trash',
    restore: 'Restored', purge: 'Deleted' };
  return `${verbs[action] ?? 'Done:'} ${n}.`;
}
