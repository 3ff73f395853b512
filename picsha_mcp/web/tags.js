// Tag edits: add and remove without replacing the list where the server can (POST/DELETE .../tags), else
// read the asset and write its whole list back (PATCH), as older servers only take that.

import { api, isMissingRoute } from './api.js';

let tagRoutes = true;

export async function addTags(id, tags) {
  if (tagRoutes) {
    try { return await api('POST', `/v1/assets/${id}/tags`, { tags }); } catch (error) {
      if (!isMissingRoute(error)) throw error;
      tagRoutes = false;
    }
  }
  const asset = await api('GET', `/v1/assets/${id}`);
  return api('PATCH', `/v1/assets/${id}`, { tags: [...new Set([...asset.tags, ...tags])] });
}

export async function removeTag(id, tag) {
  if (tagRoutes) {
    try { return await api('DELETE', `/v1/assets/${id}/tags/${encodeURIComponent(tag)}`); } catch (error) {
      if (!isMissingRoute(error)) throw error;
      tagRoutes = false;
    }
  }
  const asset = await api('GET', `/v1/assets/${id}`);
  return api('PATCH', `/v1/assets/${id}`, { tags: asset.tags.filter((t) => t !== tag) });
}
