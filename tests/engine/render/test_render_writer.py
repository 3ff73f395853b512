"""Deferred derivative writes are bounded: with a slow store, renders past the bound are stored before
they are answered instead of piling up in memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine import Engine
from engine.assets import IngestOptions
from engine.auth import Principal
from engine.catalog import tables
from engine.render import RenderParams
from engine.render.cache import Rendered
from engine.settings import Settings
from engine.storage.local import LocalBlobStore
from engine.usage.ledger import UsageKind
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



async def test_renders_that_finish_together_are_stored_in_groups_each_with_its_row_and_usage(tmp_path: Path) -> None:
    """Deferred writes go in groups (blobs at once, rows in one transaction): renders that finish while a
    group is being stored (a slow store here) go in the next one, and every render still gets its blob, its
    row and its usage row."""
    async with Engine.open(_settings(tmp_path, 64)) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        await _slow(engine)
        groups: list[int] = []
        put_many = engine.render.cache.put_many

        async def counted(items: list) -> list:  # type: ignore[type-arg]
            groups.append(len(items))
            return await put_many(items)

        engine.render.cache.put_many = counted  # type: ignore[method-assign]
        sizes = await _render_many(engine, owner)
        d, u = tables.derivatives, tables.usage_events
        async with engine.catalog.connect() as conn:
            rows = (await conn.execute(sa.select(sa.func.count()).select_from(d).where(d.c.kind == "render"))).scalar()
            billed = (await conn.execute(sa.select(sa.func.count()).select_from(u).where(u.c.kind == "render"))).scalar()
        assert rows == billed == len(sizes) == sum(groups)
        assert len(groups) < len(sizes) and max(groups) > 1, groups


async def test_a_group_with_a_derivative_stored_elsewhere_first_keeps_that_row_and_stores_the_others(
        tmp_path: Path) -> None:
    """Another process stored one of a group's derivatives first: its row stands (no second usage row), the
    others are stored with theirs; a derivative of a deleted asset is dropped, blob and all."""
    async with Engine.open(make_settings(tmp_path)) as engine:
        owner = Principal(account_id=engine.owner_account_id)

        async def chunks() -> AsyncIterator[bytes]:
            yield image_bytes(64, 48, "png")

        asset = await engine.ingest.from_stream(owner, "a.png", chunks(), IngestOptions())
        gone = await engine.ingest.from_stream(owner, "b.png", chunks(), IngestOptions())
        billed: list[str] = []

        def made(name: str) -> tuple[Rendered, Callable[[AsyncConnection], Awaitable[None]]]:
            async def also(conn: AsyncConnection) -> None:
                await engine.ledger.record(account_id=owner.account_id, asset_id=asset.id, kind=UsageKind.RENDER,
                                           quantity=1, conn=conn, detail={"name": name})
                billed.append(name)
            return Rendered(params_hash=name, kind="render", data=name.encode() * 10, format="png",
                            content_type="image/png", width=1, height=1), also

        first, first_also = made("first")
        earlier = await engine.render.cache.put(asset.id, owner.account_id, first, first_also)
        second, second_also = made("second")
        orphan, orphan_also = made("orphan")
        await engine.assets.delete(owner, gone.id)  # deleted for good (the REST route trashes first)
        answers = await engine.render.cache.put_many([
            (asset.id, owner.account_id, first, first_also), (asset.id, owner.account_id, second, second_also),
            (gone.id, owner.account_id, orphan, orphan_also)])
        assert answers[0].id == earlier.id  # the row stored first stands
        assert answers[1].params_hash == "second" and await engine.store.exists(second.blob_key(asset.id))
        assert isinstance(answers[2], LookupError) and not await engine.store.exists(orphan.blob_key(gone.id))
        u = tables.usage_events
        async with engine.catalog.connect() as conn:
            names = sorted((await conn.execute(
                sa.select(u.c.detail["name"].as_string()).where(u.c.kind == "render"))).scalars())
        assert names == ["first", "second"]
