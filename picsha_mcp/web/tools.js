// Running an image tool or a saved pipeline on the asset; the result is stored as a new asset.

import { api, el, toast } from './api.js';

let catalogue = null;

async function load() {
  if (!catalogue) {
    const [tools, pipelines] = await Promise.all([
      api('GET', '/v1/pipeline/tools').catch(() => ({ tools: [] })),
      api('GET', '/v1/pipeline/list').catch(() => ({ pipelines: [] })),
    ]);
    catalogue = {
      tools: (tools.tools ?? []).filter((tool) => tool.available !== false),
      pipelines: pipelines.pipelines ?? pipelines.items ?? [],
    };
  }
  return catalogue;
}

export function toolsSection(asset, onMade) {
  const pick = el('select', { id: 'tool-pick' });
  const settings = el('textarea', { id: 'tool-settings', rows: 3, spellcheck: 'false' });
  settings.value = '{}';
  const result = el('p', { class: 'tool-result', 'aria-live': 'polite' });
  const run = el('button', { type: 'submit', class: 'primary' }, 'Run');
  const form = el('form', { class: 'tool-form', onsubmit: async (event) => {
    event.preventDefault();
    let given;
    try { given = JSON.parse(settings.value || '{}'); } catch { toast('Settings must be JSON, e.g. {"width": 800}.', 'error'); return; }
    const [kind, id] = pick.value.split(':');
    run.disabled = true;
    result.textContent = 'Running…';
    try {
      const answer = kind === 'pipeline'
        ? await api('POST', '/v1/pipeline/execute', { asset_id: asset.id, pipelineId: id, save: true })
        : await api('POST', `/v1/tools/${id}`, { asset_id: asset.id, settings: given, save: true });
      const made = answer.asset_ids ?? (answer.id ? [answer.id] : []);
      result.textContent = made.length ? `Made ${made.join(', ')}.` : 'Done.';
      onMade();
    } catch (error) {
      result.textContent = error.message;
    } finally {
      run.disabled = false;
    }
  } },
  el('label', { for: 'tool-pick' }, 'Tool or saved pipeline'), pick,
  el('label', { for: 'tool-settings' }, 'Settings (JSON, for a tool)'), settings, run, result);
  load().then(({ tools, pipelines }) => {
    const toolGroup = el('optgroup', { label: 'Image tools' }, tools.map((tool) => new Option(tool.title ?? tool.id, `tool:${tool.id}`)));
    const pipeGroup = el('optgroup', { label: 'Saved pipelines' }, pipelines.map((p) => new Option(p.name, `pipeline:${p.id}`)));
    pick.replaceChildren(toolGroup, ...(pipelines.length ? [pipeGroup] : []));
  });
  return el('section', { 'aria-labelledby': 'tools-title' }, el('h3', { id: 'tools-title' }, 'Tools'), form);
}
