// A virtualised grid of thumbnails: only the rows in view (plus a few) exist in the DOM, tiles are reused
// as they scroll out, and pages of items are fetched when their rows come near. 10,000 assets cost the
// same to scroll as 100.

import { el, local, renderLinks, thumbStep } from './api.js';

const PAGE = 100;
const MIN_TILE = 168;
const GAP = 12;
const CAPTION = 30;
const OVERSCAN_ROWS = 3;
const FRAME_BUDGET_MS = 6;
const FLING_MS = 250;
const TYPE_ICON = { image: '🖼', document: '📄', text: '📝' };

export class Grid {
  constructor(root, { onOpen, onSelectionChange }) {
    this.root = root;
    this.sizer = root.querySelector('.grid-sizer');
    this.onOpen = onOpen;
    this.onSelectionChange = onSelectionChange;
    this.selected = new Set();
    this.tiles = new Map(); // index -> tile element in view
    this.spare = [];
    this.pendingImages = new Map(); // tile -> the image URL it waits to start
    this.source = null;
    this.generation = 0;
    this.frame = 0;
    this.focusIndex = 0;
    this.reset();
    root.setAttribute('role', 'list');
    root.addEventListener('scroll', () => this.scrolled(), { passive: true });
    root.addEventListener('keydown', (event) => this.onKey(event));
    new ResizeObserver(() => { this.measure(); this.schedule(); }).observe(root);
    this.measure();
  }

  reset() {
    this.items = [];
    this.pages = new Map(); // page -> 'loading' | 'done'
    this.total = null;
  }

  // source: { fetchPage(page, pageSize, signal) -> {items, total} }, items: {id, filename, type, thumb, ...}
  show(source) {
    this.generation += 1;
    this.abort?.abort();
    this.abort = new AbortController();
    this.source = source;
    this.reset();
    for (const tile of this.tiles.values()) this.release(tile);
    this.tiles.clear();
    this.root.scrollTop = 0;
    this.focusIndex = 0;
    return this.load(0);
  }

  // Fetch again what is in view, keeping the tiles shown until their fresh page arrives (no flicker).
  refresh() {
    if (this.total === null) return this.show(this.source);
    this.generation += 1;
    this.abort?.abort();
    this.abort = new AbortController();
    this.pages = new Map();
    const top = Math.floor(this.root.scrollTop / this.rowHeight) * this.columns;
    const loading = this.load(Math.floor(top / PAGE)); // the page in view, even when the grid was empty
    this.update();
    return loading;
  }

  // While scrolling, tiles take no pointer events: the browser then skips hit-testing them on every frame.
  // A fling (more than a screen every FLING_MS) starts no images: each costs the main thread a response
  // and a decode for a picture that is gone a frame later; they start as it slows down or stops.
  scrolled() {
    if (!this.scrolling) { this.scrolling = true; this.root.classList.add('scrolling'); }
    const now = performance.now();
    const top = this.root.scrollTop;
    if (this.lastScroll) {
      const speed = Math.abs(top - this.lastScroll.top) / Math.max(1, now - this.lastScroll.at);
      this.flinging = speed > this.viewHeight / FLING_MS;
    }
    this.lastScroll = { top, at: now };
    clearTimeout(this.scrollEnd);
    this.scrollEnd = setTimeout(() => {
      this.scrolling = false;
      this.flinging = false;
      this.lastScroll = null;
      this.root.classList.remove('scrolling');
      this.schedule();
    }, 120);
    this.schedule();
  }

  // Sizes are read here (on resize) and kept, so a frame while scrolling reads only scrollTop.
  measure() {
    if (this.root.clientWidth === 0) return; // not shown yet: measured again when it is
    this.viewHeight = this.root.clientHeight;
    const width = this.root.clientWidth - GAP * 2;
    this.columns = Math.max(1, Math.floor((width + GAP) / (MIN_TILE + GAP)));
    this.tileWidth = Math.floor((width - GAP * (this.columns - 1)) / this.columns);
    this.rowHeight = this.tileWidth + CAPTION + GAP;
    const step = thumbStep(this.tileWidth);
    if (this.thumbSize && step !== this.thumbSize) {
      this.thumbSize = step;
      const loaded = this.items.filter(Boolean);
      this.sizeThumbs(loaded).then(() => { for (const tile of this.tiles.values()) tile.key = ''; this.schedule(); });
    }
    this.thumbSize = step;
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.update(); });
  }

  async load(page) {
    if (this.pages.has(page) || !this.source) return;
    const generation = this.generation;
    this.pages.set(page, 'loading');
    try {
      const { items, total } = await this.source.fetchPage(page, PAGE, this.abort.signal);
      if (generation !== this.generation) return;
      this.total = total;
      await this.sizeThumbs(items);
      if (generation !== this.generation) return;
      items.forEach((item, offset) => { this.items[page * PAGE + offset] = item; });
      if (this.items.length > total) this.items.length = total;
      this.pages.set(page, 'done');
      this.root.dispatchEvent(new CustomEvent('loaded', { detail: { total } }));
    } catch (error) {
      this.pages.delete(page);
      if (error.name !== 'AbortError') this.root.dispatchEvent(new CustomEvent('failed', { detail: error }));
    }
    this.update();
  }

  // The API's own thumbnail link (made at upload) when it is big enough, else one signed for this size.
  async sizeThumbs(items) {
    const size = this.thumbSize ?? 256;
    const wanted = items.filter((item) => item.thumb && size > (item.thumbSize ?? 256));
    const links = await renderLinks(wanted.map((item) => item.id),
      { w: size, h: size, fit: 'inside', format: 'webp', q: 80 });
    for (const item of items) item.sizedThumb = links[item.id] ?? item.thumb;
  }

  update() {
    if (!this.columns) return; // not measured yet (hidden)
    const started = performance.now();
    const top = this.root.scrollTop; // the one read of layout, before any write
    const total = this.total ?? 0;
    const rows = Math.ceil(total / this.columns);
    const height = `${rows * this.rowHeight + GAP}px`;
    if (this.sizer.style.height !== height) this.sizer.style.height = height;
    const firstRow = Math.max(0, Math.floor(top / this.rowHeight) - OVERSCAN_ROWS);
    const lastRow = Math.min(rows - 1, Math.ceil((top + this.viewHeight) / this.rowHeight) + OVERSCAN_ROWS);
    const first = firstRow * this.columns;
    const last = Math.min(total - 1, (lastRow + 1) * this.columns - 1);
    for (const [index, tile] of this.tiles) {
      if (index < first || index > last) { this.tiles.delete(index); this.release(tile); }
    }
    for (let index = first; index <= last; index += 1) {
      const page = Math.floor(index / PAGE);
      if (!this.pages.has(page)) this.load(page);
      let tile = this.tiles.get(index);
      if (!tile) { tile = this.acquire(); this.tiles.set(index, tile); }
      this.paint(tile, index);
    }
    this.startImages(started, Math.floor(top / this.rowHeight) * this.columns,
      Math.ceil((top + this.viewHeight) / this.rowHeight) * this.columns);
  }

  // Starting an image load costs the main thread about a millisecond (more on a busy machine): a fast
  // scroll brings twenty new tiles a frame. Images start in view first, within a few milliseconds a frame;
  // the rest go on in the next frames (the tiles show their names meanwhile).
  startImages(started, viewFirst, viewLast) {
    if (this.flinging) return;
    const inView = (tile) => tile.index >= viewFirst && tile.index < viewLast;
    const order = [...this.pendingImages.keys()].sort((a, b) => inView(b) - inView(a));
    for (const tile of order) {
      if (performance.now() - started > FRAME_BUDGET_MS) { this.schedule(); return; }
      const { img } = tile.parts;
      img.src = this.pendingImages.get(tile);
      img.hidden = false;
      this.pendingImages.delete(tile);
    }
  }

  acquire() {
    const tile = this.spare.pop() ?? this.makeTile();
    tile.hidden = false;
    return tile;
  }

  release(tile) {
    tile.hidden = true;
    this.pendingImages.delete(tile);
    tile.index = -1;
    tile.dataset.index = '';
    this.spare.push(tile);
  }

  makeTile() {
    const img = el('img', { alt: '', decoding: 'async', loading: 'lazy', draggable: 'false' });
    const icon = el('span', { class: 'type-icon', 'aria-hidden': 'true' });
    const name = el('span', { class: 'name' });
    const badge = el('span', { class: 'badge' });
    const open = el('button', { type: 'button', class: 'open' }, el('span', { class: 'frame' }, img, icon, badge), name);
    const check = el('input', { type: 'checkbox', class: 'pick' });
    const tile = el('div', { class: 'tile', role: 'listitem' }, open, check);
    tile.parts = { img, icon, name, badge, open, check };
    open.addEventListener('click', (event) => {
      const item = this.items[Number(tile.dataset.index)];
      if (!item) return;
      if (event.shiftKey || event.ctrlKey || event.metaKey) this.toggle(item.id, Number(tile.dataset.index), event.shiftKey);
      else this.onOpen(item, this);
    });
    check.addEventListener('change', (event) => {
      const item = this.items[Number(tile.dataset.index)];
      if (item) this.toggle(item.id, Number(tile.dataset.index), event.shiftKey, check.checked);
    });
    open.addEventListener('focus', () => { this.focusIndex = Number(tile.dataset.index); });
    this.root.append(tile);
    return tile;
  }

  paint(tile, index) {
    const item = this.items[index];
    const key = item ? `${item.id}|${item.sizedThumb}|${item.status}|${this.selected.has(item.id)}|${this.tileWidth}|${this.columns}` : `-|${this.tileWidth}|${this.columns}`;
    if (tile.index === index && tile.key === key) return;
    const column = index % this.columns;
    const row = Math.floor(index / this.columns);
    tile.style.transform = `translate(${GAP + column * (this.tileWidth + GAP)}px, ${GAP + row * this.rowHeight}px)`;
    if (tile.width !== this.tileWidth) {
      tile.width = this.tileWidth;
      tile.style.width = `${this.tileWidth}px`;
      tile.parts.open.firstChild.style.height = `${this.tileWidth}px`;
    }
    tile.index = index;
    tile.key = key;
    tile.dataset.index = String(index);
    tile.setAttribute('aria-posinset', String(index + 1));
    tile.setAttribute('aria-setsize', String(this.total ?? 0));
    const { img, icon, name, badge, open, check } = tile.parts;
    if (!item) {
      tile.classList.add('loading');
      img.removeAttribute('src');
      img.hidden = true;
      this.pendingImages.delete(tile);
      name.textContent = '';
      badge.textContent = '';
      check.hidden = true;
      open.disabled = true;
      return;
    }
    tile.classList.remove('loading');
    tile.dataset.id = item.id;
    tile.classList.toggle('selected', this.selected.has(item.id));
    open.disabled = false;
    check.hidden = false;
    check.checked = this.selected.has(item.id);
    check.setAttribute('aria-label', `Select ${item.filename}`);
    open.setAttribute('aria-label', `Open ${item.filename}`);
    name.textContent = item.filename;
    icon.textContent = TYPE_ICON[item.type] ?? '📦';
    badge.textContent = item.status === 'ready' ? '' : item.status;
    const src = local(item.sizedThumb);
    if (src) {
      img.alt = item.filename;
      if (img.getAttribute('src') === src) img.hidden = false;
      else { img.hidden = true; this.pendingImages.set(tile, src); }
    } else {
      this.pendingImages.delete(tile);
      img.hidden = true;
      img.removeAttribute('src');
    }
  }

  toggle(id, index, range, value) {
    const on = value ?? !this.selected.has(id);
    if (range && this.lastPicked !== undefined) {
      const [from, to] = [Math.min(this.lastPicked, index), Math.max(this.lastPicked, index)];
      for (let i = from; i <= to; i += 1) if (this.items[i]) this.setPicked(this.items[i].id, on);
    } else {
      this.setPicked(id, on);
    }
    this.lastPicked = index;
    this.update();
    this.onSelectionChange(this.selected);
  }

  setPicked(id, on) {
    if (on) this.selected.add(id); else this.selected.delete(id);
  }

  clearSelection() {
    this.selected.clear();
    this.update();
    this.onSelectionChange(this.selected);
  }

  // Arrow keys move between tiles (scrolling as needed); space selects; Enter opens (the button's own).
  onKey(event) {
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: this.columns, ArrowUp: -this.columns,
      Home: -Infinity, End: Infinity, PageDown: this.columns * 4, PageUp: -this.columns * 4 };
    if (event.key === ' ' && event.target.classList.contains('open')) {
      event.preventDefault();
      const item = this.items[this.focusIndex];
      if (item) this.toggle(item.id, this.focusIndex, event.shiftKey);
      return;
    }
    if (!(event.key in moves) || !this.total) return;
    event.preventDefault();
    this.focusAt(Math.max(0, Math.min(this.total - 1, this.focusIndex + moves[event.key])));
  }

  focusAt(index) {
    this.focusIndex = index;
    const row = Math.floor(index / this.columns);
    const top = row * this.rowHeight;
    if (top < this.root.scrollTop || top + this.rowHeight > this.root.scrollTop + this.root.clientHeight) {
      this.root.scrollTop = top - this.root.clientHeight / 2 + this.rowHeight / 2;
    }
    this.update();
    this.tiles.get(index)?.parts.open.focus({ preventScroll: true });
  }

  item(id) {
    return this.items.find((item) => item?.id === id);
  }
}
