// The REST API as the page uses it: one fetch wrapper, the session token, and what the server offers.
//
// The token lives in sessionStorage: it stays in this tab (closing the tab signs out), it is never sent by
// the browser on its own (so no other site can make requests with it, unlike a cookie), and the strict CSP
// (no inline or third-party script) is what keeps scripts that could read it off the page.

const TOKEN_KEY = 'picsha.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  set(token) { sessionStorage.setItem(TOKEN_KEY, token); },
  clear() { sessionStorage.removeItem(TOKEN_KEY); },
  onExpired: () => {},
};

export async function api(method, path, body, { signal, token } = {}) {
  const headers = { Accept: 'application/json' };
  const bearer = token ?? session.token;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const init = { method, headers, signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && bearer && token === undefined) session.onExpired();
    const error = data?.error ?? {};
    throw new ApiError(response.status, error.code ?? 'http_error', error.message ?? response.statusText);
  }
  return data;
}

// A route this server does not have (an older Picsha): the page hides what needs it.
export function isMissingRoute(error) {
  return error instanceof ApiError && ((error.status === 404 && error.code === 'not_found') || error.status === 405);
}

// Signed links name the server's public URL; the signature covers only the path and query, so this origin
// serves the same link (and the page works when opened under another host name).
export function local(url) {
  if (!url) return url;
  try {
    const parsed = new URL(url, location.href);
    return parsed.pathname + parsed.search;
  } catch {
    return url;
  }
}

// Which optional parts the server has, asked once after sign-in.
export const features = { trash: false, folders: false, collections: false, bulk: false, shares: false, versions: true };

export async function probeFeatures() {
  const probe = async (path) => {
    try { await api('GET', path); return true; } catch (error) { return !(error instanceof ApiError && error.status === 404); }
  };
  const [trash, folders, collections, shares] = await Promise.all([
    probe('/v1/assets/trash?page_size=1'), probe('/v1/folders'), probe('/v1/collections'), probe('/v1/shares'),
  ]);
  Object.assign(features, { trash, folders, collections, bulk: trash, shares });
  return features;
}

export function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// Render links at a size the screen needs, in steps so the server's cache is shared between visits.
export const THUMB_STEPS = [128, 256, 384, 512, 768, 1024];
export function thumbStep(cssPx) {
  const wanted = Math.ceil(cssPx * Math.min(window.devicePixelRatio || 1, 3));
  return THUMB_STEPS.find((step) => step >= wanted) ?? THUMB_STEPS[THUMB_STEPS.length - 1];
}

let renderLinksMissing = false;
export async function renderLinks(ids, params) {
  if (renderLinksMissing || ids.length === 0) return {};
  try {
    return (await api('POST', '/v1/assets/render-links', { asset_ids: ids, params })).links;
  } catch (error) {
    if (isMissingRoute(error)) renderLinksMissing = true;
    return {};
  }
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    else if (name in node && typeof value !== 'string') node[name] = value;
    else node.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function toast(message, kind = 'info') {
  const box = document.getElementById('toast');
  box.textContent = message;
  box.dataset.kind = kind;
  box.classList.add('shown');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.classList.remove('shown'), kind === 'error' ? 6000 : 3000);
}
