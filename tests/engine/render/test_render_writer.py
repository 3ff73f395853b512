"""Deferred derivative writes are bounded: with a slow store, renders past the bound are stored before
they are answered instead of piling up in memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from engine import Engine
from engine.assets import IngestOptions
from engine.auth import Principal
from engine.render import RenderParams
from engine.settings import Settings
from engine.storage.local import LocalBlobStore
from tests.factories import image_bytes, make_settings
BOUND_MB = 1


class SlowStore(LocalBlobStore):
    """A real local store whose writes take a while; it records what was waiting to be stored each time."""

    def __init__(self, root: Path, tmp_dir: Path, *, delay_s: float, waiting: Callable[[], int]):
        super().__init__(root, tmp_dir)
        self.delay_s = delay_s
        self.waiting = waiting
        self.writing = 0
        self.most_writing = 0
        self.waiting_seen: list[int] = []

    async def put_bytes(self, key: str, data: bytes) -> None:
        self.writing += 1
        self.most_writing = max(self.most_writing, self.writing)
        self.waiting_seen.append(self.waiting())
        try:
            await asyncio.sleep(self.delay_s)
            await super().put_bytes(key, data)
        finally:
            self.writing -= 1


def _settings(tmp_path: Path, deferred_max_mb: int) -> Settings:
    base = make_settings(tmp_path)
    return base.model_copy(update={"render": base.render.model_copy(update={"deferred_max_mb": deferred_max_mb})})


async def _slow(engine: Engine) -> SlowStore:
    store = SlowStore(engine.settings.data_dir / "blobs", engine.work_dir, delay_s=0.3,
                      waiting=lambda: engine.render.writer.deferred_bytes)
    engine.render.cache.store = store  # derivative writes go to the slow twin of the engine's own store
    return store


async def _render_many(engine: Engine, owner: Principal) -> list[int]:
    async def chunks() -> AsyncIterator[bytes]:
        yield image_bytes(1400, 1000, "png")

    asset = await engine.ingest.from_stream(owner, "big.png", chunks(), IngestOptions())
    widths = range(700, 1400, 50)
    results = await asyncio.gather(*(
        engine.render.render(asset.id, RenderParams(w=w, format="png"), principal=owner, accept=None,
                             wait_for_store=False)
        for w in widths
    ))
    await engine.render.settle()
    for result in results:  # every answer's blob ended in the store
        assert await engine.store.size(result.content.blob_key) == result.content.size
    return [result.content.size for result in results]


async def test_deferred_bytes_stay_under_the_bound_when_the_store_is_slow(tmp_path: Path) -> None:
    async with Engine.open(_settings(tmp_path, BOUND_MB)) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        store = await _slow(engine)
        sizes = await _render_many(engine, owner)
        bound = BOUND_MB * 1024 * 1024
        assert sum(sizes) > 2 * bound  # the renders would not all fit under the bound
        assert max(store.waiting_seen) <= bound
        assert store.most_writing >= 2  # writes still overlap; only the bytes waiting in memory are capped
        assert engine.render.writer.deferred_bytes == 0


async def test_without_the_bound_the_same_renders_all_wait_in_memory(tmp_path: Path) -> None:
    async with Engine.open(_settings(tmp_path, 1024)) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        store = await _slow(engine)
        sizes = await _render_many(engine, owner)
        assert max(store.waiting_seen) > BOUND_MB * 1024 * 1024
        assert store.most_writing > 2 and sum(sizes) > 2 * BOUND_MB * 1024 * 1024

