"""The models one process holds: each loaded once, and shared by enrichment and search.

With ``background`` on (``PICSHA_ENRICH__WARM_UP``, the default for ``picsha serve`` and ``picsha mcp``) the
models a request may need are loaded by a background task started with the engine, so no tool call waits
for a load: a search that arrives first runs its other paths and names the skipped one (``warming``), an
edit writes its words at once and its vector when the model is there. With it off (tests, one-shot CLI
commands) a model loads on first use, on the caller's path, as before.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from engine.enrich import text_embedding
from engine.enrich.clip import ClipModel, load_clip
from engine.enrich.settings import ClipSettings

log = logging.getLogger("picsha.enrich.models")

TEXT = "text_vector"  # the names are the search paths each model serves
CLIP = "clip"
RETRY_AFTER_S = 30.0  # a background load that failed is tried again on demand, at most this often


async def in_daemon_thread(fn: Callable[[], object], *, name: str) -> None:
    """``fn()`` in a daemon thread of its own, awaited. Not a worker-pool thread: a load cannot be stopped, and
    a process that ends (a short ``picsha mcp`` session, a CLI command) must not wait at exit for a model it
    never used; a cancelled wait leaves the thread to finish or die with the process."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if not done.done():
            done.set_result(None) if error is None else done.set_exception(error)

    def run() -> None:
        error: BaseException | None = None
        try:
            fn()
        except BaseException as raised:  # handed to the awaiting task, which logs it
            error = raised
        try:
            loop.call_soon_threadsafe(settle, error)
        except RuntimeError:  # the loop closed meanwhile: nobody is waiting
            pass

    threading.Thread(target=run, name=name, daemon=True).start()
    await done


class ModelStore:
    def __init__(self, clip_settings: ClipSettings, *, background: bool = False):
        self.clip_settings = clip_settings
        self.background = background
        self._clip: ClipModel | None = None
        self._clip_checked = False
        self._lock = threading.Lock()
        self._loads: dict[str, asyncio.Task[None]] = {}
        self._failed_at: dict[str, float] = {}

    # -- the models ----------------------------------------------------------------------------------

    def clip(self) -> ClipModel | None:
        """The CLIP model, or None when no weights are available (checked once per process)."""
        with self._lock:
            if not self._clip_checked:
                self._clip = load_clip(self.clip_settings)
                self._clip_checked = True
        return self._clip

    def clip_if_loaded(self) -> ClipModel | None:
        return self._clip

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return text_embedding.embed_texts(texts)

    # -- warm-up -------------------------------------------------------------------------------------

    def loaded(self, name: str) -> bool:
        return text_embedding.loaded() if name == TEXT else self._clip_checked

    def available(self, name: str) -> bool:
        """Whether ``name``'s model can be used now without waiting for a load: it is loaded, or loads happen
        on the caller's path (``background`` off). Otherwise a background load is started, unless one is
        running, and False tells the caller to go on without it."""
        if self.loaded(name) or not self.background:
            return True
        self._start(name)
        return False

    def warming(self, name: str) -> bool:
        """A background load of ``name`` is running."""
        task = self._loads.get(name)
        return task is not None and not task.done()

    def warm_up(self) -> None:
        """Start loading, in the background, what the first requests need: the text model (search's meaning
        path and edits), then CLIP when weights are configured. CLIP found only in a Hugging Face cache is
        loaded on first need instead: finding out imports torch (seconds of CPU) in every process."""
        self._start(TEXT)
        clip = self.clip_settings
        if clip.checkpoint is not None or clip.cache_dir is not None or clip.allow_download:
            self._start(CLIP)

    async def wait(self, name: str) -> bool:
        """Wait for ``name``'s background load (starting one if needed); whether the model is loaded."""
        if not self.loaded(name) and self.background:
            self._start(name, retry_now=True)
            task = self._loads.get(name)
            if task is not None:
                await asyncio.shield(task)
        return self.loaded(name)

    def _start(self, name: str, *, retry_now: bool = False) -> None:
        if self.warming(name) or self.loaded(name):
            return
        failed_at = self._failed_at.get(name)
        if failed_at is not None and not retry_now and time.monotonic() - failed_at < RETRY_AFTER_S:
            return
        after = self._loads.get(TEXT) if name == CLIP else None  # the cheap, most needed model first
        self._loads[name] = asyncio.get_running_loop().create_task(self._load(name, after), name=f"picsha-warm-{name}")

    async def _load(self, name: str, after: asyncio.Task[None] | None) -> None:
        """One background load; a failure is logged and remembered, never raised (nobody awaits this but
        :meth:`wait` and :meth:`close`, and the server must go on: the next need tries again)."""
        if after is not None:
            await asyncio.wait({after})
        load: Callable[[], object] = text_embedding.warm if name == TEXT else self.clip
        started = time.perf_counter()
        try:
            await in_daemon_thread(load, name=f"picsha-warm-{name}")
        except Exception:
            self._failed_at[name] = time.monotonic()
            log.exception("warm-up: loading the %s model failed; the next request that needs it tries again", name)
            return
        self._failed_at.pop(name, None)
        log.info("warm-up: %s model ready in %.2f s", name, time.perf_counter() - started)

    async def close(self) -> None:
        for task in self._loads.values():
            task.cancel()
        await asyncio.gather(*self._loads.values(), return_exceptions=True)
        self._loads.clear()
