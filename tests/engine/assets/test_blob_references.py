"""Originals shared by assets across processes: two engines on one catalog and one store, SQLite and
PostgreSQL, deduping the same bytes while they delete."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import Engine, Settings
from engine.assets import IngestOptions, ListQuery
from engine.auth import Principal
from engine.catalog import tables
from engine.catalog.database import now, utc
from engine.errors import NotFound
from engine.storage import original_key
from tests.conftest import in_own_task
from tests.factories import image_bytes, make_settings




@pytest.fixture
async def engines(shared_settings: Settings) -> AsyncIterator[tuple[Engine, Engine]]:
    """Two engines, each with its own services and in-process state, like two servers."""
    async with in_own_task(Engine.open(shared_settings, run_jobs=False)) as first:
        async with in_own_task(Engine.open(shared_settings, run_jobs=False)) as second:
            yield first, second


async def ingest(engine: Engine, principal: Principal, data: bytes, name: str = "same.png") -> str:
    async def chunks() -> AsyncIterator[bytes]:
        yield data

    return (await engine.ingest.from_stream(principal, name, chunks(), IngestOptions())).id


async def read(engine: Engine, principal: Principal, asset_id: str) -> bytes:
    content = await engine.assets.content(asset_id, principal)
    return b"".join([chunk async for chunk in engine.assets.stream(content)])


async def blob_row(engine: Engine, sha256: str) -> sa.Row | None:
    b = tables.blobs
    async with engine.catalog.connect() as conn:
        return (await conn.execute(sa.select(b).where(b.c.sha256 == sha256))).first()


async def expire_holds(engine: Engine) -> None:
    """What the passing of the ingest grace does: every hold is due."""
    b = tables.blobs
    async with engine.catalog.begin() as conn:
        past = now() - timedelta(seconds=1)
        await conn.execute(b.update().where(b.c.collect_after.is_not(None)).values(collect_after=past))


async def test_the_survivor_keeps_its_bytes_and_the_last_delete_removes_them(engines: tuple[Engine, Engine]) -> None:
    first, second = engines
    owner = Principal(account_id=first.owner_account_id)
    data = image_bytes(64, 48, "png")
    kept, dropped = await ingest(first, owner, data), await ingest(second, owner, data)
    content = await first.assets.content(kept, owner)
    assert (await second.assets.content(dropped, owner)).blob_key == content.blob_key, "stored once"

    await second.assets.delete(owner, dropped)
    assert await read(second, owner, kept) == data
    assert (await blob_row(first, content.sha256)).collect_after is None, "settled: an asset holds it"

    await first.assets.delete(owner, kept)
    assert not await second.store.exists(content.blob_key), "the last holder's delete removes the bytes at once"
    assert await blob_row(second, content.sha256) is None


async def test_a_blob_held_by_another_account_stays(engines: tuple[Engine, Engine]) -> None:
    first, second = engines
    owner = Principal(account_id=first.owner_account_id)
    other = Principal(account_id=await second.keys.create_account("other"))
    data = image_bytes(50, 40, "png")
    mine, theirs = await ingest(first, owner, data), await ingest(second, other, data)
    await first.assets.delete(owner, mine)
    await expire_holds(first)
    assert await first.assets.blobs.collect_due() == 0
    assert await read(second, other, theirs) == data
    with pytest.raises(NotFound):
        await first.assets.content(theirs, owner)  # the other account's asset stays out of reach


async def test_an_ingest_hold_in_the_future_protects_the_blob(engines: tuple[Engine, Engine]) -> None:
    first, second = engines
    owner = Principal(account_id=first.owner_account_id)
    data = image_bytes(40, 30, "png")
    asset_id = await ingest(first, owner, data)
    content = await first.assets.content(asset_id, owner)
    await second.assets.blobs.hold(content.sha256, content.blob_key, grace_s=3600)  # an ingest writing them

    await first.assets.delete(owner, asset_id)
    assert await first.assets.blobs.collect_due() == 0 and await second.assets.blobs.collect_due() == 0
    assert await first.store.read_bytes(content.blob_key) == data
    assert utc((await blob_row(first, content.sha256)).collect_after) > now()

    await expire_holds(second)  # that ingest never wrote its row
    assert await second.assets.blobs.collect_due() == 1
    assert not await first.store.exists(content.blob_key) and await blob_row(first, content.sha256) is None


async def test_an_ingest_finishing_first_keeps_a_slower_ones_hold(
    engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = engines
    owner = Principal(account_id=first.owner_account_id)
    data = image_bytes(44, 28, "png")
    written, go_on = asyncio.Event(), asyncio.Event()
    put_file = first.store.put_file

    async def put_then_pause(key: str, path: Path) -> None:
        await put_file(key, path)
        written.set()
        await go_on.wait()

    monkeypatch.setattr(first.store, "put_file", put_then_pause)
    slow = asyncio.create_task(ingest(first, owner, data))
    await written.wait()  # the slow ingest holds the blob and wrote the bytes, its row is still to come
    fast = await ingest(second, owner, data)
    content = await second.assets.content(fast, owner)
    await second.assets.delete(owner, fast)
    assert await second.store.read_bytes(content.blob_key) == data, "the slow ingest's hold still stands"

    go_on.set()
    slow_id = await slow
    assert await read(second, owner, slow_id) == data
    await first.assets.delete(owner, slow_id)
    assert not await first.store.exists(content.blob_key), "both holds were given back: the delete collects"


async def test_an_ingest_that_fails_after_the_put_leaves_the_blob_to_the_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    settings.ingest.blob_grace_s = 0.2
    async with Engine.open(settings, run_jobs=False) as engine:
        owner = Principal(account_id=engine.owner_account_id)

        async def refuse(*_: object, **__: object) -> None:
            raise RuntimeError("the catalog went away")

        monkeypatch.setattr(engine.ledger, "record_stored", refuse)  # the asset transaction's storage charge
        data = image_bytes(30, 20, "png")
        with pytest.raises(RuntimeError):
            await ingest(engine, owner, data)
        b = tables.blobs
        async with engine.catalog.connect() as conn:
            sha256 = (await conn.execute(sa.select(b.c.sha256))).scalar_one()
        assert await engine.store.exists(original_key(sha256)), "the put happened, no row refers to it"
        assert await engine.assets.blobs.collect_due() == 0, "not before the grace"
        await asyncio.sleep(0.3)
        assert await engine.assets.blobs.collect_due() == 1
        assert not await engine.store.exists(original_key(sha256))


async def test_a_collection_racing_an_ingest_never_loses_the_new_bytes(engines: tuple[Engine, Engine]) -> None:
    """The collector deletes a due blob in the same transaction as its row; an ingest holding the row
    after that writes the bytes again, and one holding before it keeps them."""
    first, second = engines
    owner = Principal(account_id=first.owner_account_id)
    data = image_bytes(36, 24, "png")
    asset_id = await ingest(first, owner, data)
    content = await first.assets.content(asset_id, owner)
    b = tables.blobs
    async with first.catalog.begin() as conn:  # deleted, not yet collected
        await conn.execute(tables.assets.delete().where(tables.assets.c.id == asset_id))
        await first.assets.blobs.release(conn, {content.sha256: content.blob_key})
    again, _ = await asyncio.gather(ingest(second, owner, data), first.assets.blobs.collect([content.sha256]))
    assert await read(first, owner, again) == data
    await expire_holds(first)
    await first.assets.blobs.collect_due()
    assert await read(second, owner, again) == data
    async with first.catalog.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(b))).scalar_one() == 1


def slow_puts(engine: Engine, rng: random.Random, monkeypatch: pytest.MonkeyPatch) -> None:
    """Widen the window between an ingest writing the bytes and writing its row, as a slow store does."""
    put_file = engine.store.put_file

    async def put_then_wait(key: str, path: Path) -> None:
        await put_file(key, path)
        await asyncio.sleep(rng.random() / 10)

    monkeypatch.setattr(engine.store, "put_file", put_then_wait)


@pytest.mark.slow
async def test_concurrent_ingests_and_deletes_across_engines_lose_nothing(
    engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = Principal(account_id=engines[0].owner_account_id)
    data = image_bytes(48, 32, "png")
    rng = random.Random(7)
    for engine in engines:
        slow_puts(engine, rng, monkeypatch)

    ingesting = asyncio.Event()
    deletes = 0

    async def deleter(engine: Engine) -> None:
        nonlocal deletes
        while not ingesting.is_set():
            page = await engine.assets.list(owner, ListQuery(page_size=100))
            if page.items:
                picked = rng.sample(page.items, k=rng.randint(1, len(page.items)))
                deletes += (await engine.assets.batch_delete(owner, [a.id for a in picked])).deleted
            await asyncio.sleep(rng.random() / 100)

    async def ingester(engine: Engine) -> None:
        try:
            await ingest(engine, owner, data)
        except NotFound:  # a deleter took the new asset before the ingest read it back
            pass

    async def ingesters() -> None:
        await asyncio.gather(*(ingester(engines[i % 2]) for i in range(16)))
        for _ in range(3000):  # on a loaded machine the deleters may not yet have met an asset: let them
            if deletes:
                break
            await asyncio.sleep(0.01)
        await asyncio.gather(*(ingester(engines[i % 2]) for i in range(16, 32)))
        ingesting.set()

    await asyncio.gather(ingesters(), *(deleter(engines[i % 2]) for i in range(4)))
    assert deletes > 0, "the deletes ran among the ingests"
    remaining = (await engines[0].assets.list(owner, ListQuery(page_size=100))).items
    for asset in remaining:
        assert await read(engines[0], owner, asset.id) == data and await read(engines[1], owner, asset.id) == data

    await expire_holds(engines[0])
    await engines[1].assets.blobs.collect_due()
    for asset in remaining:
        assert await read(engines[1], owner, asset.id) == data, "the sweep keeps what an asset holds"
    await engines[0].assets.batch_delete(owner, [asset.id for asset in remaining])
    await engines[1].assets.blobs.collect_due()
    async with engines[0].catalog.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(tables.blobs))).scalar_one() == 0
    assert not await engines[0].store.exists(original_key(hashlib.sha256(data).hexdigest()))
