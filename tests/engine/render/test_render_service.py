"""engine.render: the derivative cache, single-flight, the bounded pool, ingest previews, signed links."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa

from engine import Engine
from engine.auth import Principal
from engine.catalog import tables
from engine.errors import Busy, InvalidInput, NotFound
from engine.events import Event, EventType
from engine.render import RenderParams
from engine.storage import derivatives_prefix
from tests.factories import image_bytes, pdf_bytes

Add = Callable[..., Any]


def _count_store_reads(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys the blob store is asked for from here on."""
    store_reads: list[str] = []
    read_bytes = engine.store.read_bytes

    async def counted(key: str) -> bytes:
        store_reads.append(key)
        return await read_bytes(key)

    monkeypatch.setattr(engine.store, "read_bytes", counted)
    return store_reads


async def _derivatives(engine: Engine, asset_id: str) -> list[Any]:
    d = tables.derivatives
    async with engine.catalog.connect() as conn:
        return list((await conn.execute(sa.select(d).where(d.c.asset_id == asset_id))).all())


async def test_the_first_render_is_stored_and_a_cache_hit_does_not_call_libvips(engine: Engine, owner: Principal, add_asset: Add) -> None:
    asset = await add_asset(image_bytes(800, 600), "photo.jpg")
    params = RenderParams(w=200, format="webp")
    runs = engine.render.pool.runs
    first = await engine.render.render(asset.id, params, principal=owner, accept=None)
    assert engine.render.pool.runs == runs + 1 and not first.cached
    second = await engine.render.render(asset.id, RenderParams.from_query({"format": "webp", "w": "200"}), principal=owner, accept=None)
    assert engine.render.pool.runs == runs + 1, "the cache hit did not reach libvips"
    assert second.cached and second.etag == first.etag and second.content.blob_key == first.content.blob_key
    await engine.render.settle()
    engine.render.memo.forget([asset.id])  # from here on, found in the catalog
    third = await engine.render.render(asset.id, params, principal=owner, accept=None)
    assert third.cached and third.etag == first.etag and engine.render.pool.runs == runs + 1
    stored = await engine.store.read_bytes(second.content.blob_key)
    assert stored[8:12] == b"WEBP" and len(stored) == second.content.size and (second.width, second.height) == (200, 150)


async def test_twenty_concurrent_identical_requests_render_once(engine: Engine, owner: Principal, add_asset: Add) -> None:
    asset = await add_asset(image_bytes(1600, 1200), "big.jpg")
    runs = engine.render.pool.runs
    params = RenderParams(w=640, h=640, format="jpeg")
    results = await asyncio.gather(*(engine.render.render(asset.id, params, principal=owner, accept=None) for _ in range(20)))
    assert engine.render.pool.runs == runs + 1
    assert len({r.etag for r in results}) == 1 and sum(not r.cached for r in results) == 1
    await engine.render.settle()
    rows = [row for row in await _derivatives(engine, asset.id) if row.kind == "render"]
    assert len(rows) == 1


async def test_a_full_pool_answers_busy_with_retry_after(engine: Engine, owner: Principal, add_asset: Add) -> None:
    asset = await add_asset(image_bytes(300, 200), "photo.jpg")
    pool = engine.render.pool
    pool.admitted = pool.capacity  # every worker and queue slot taken
    try:
        with pytest.raises(Busy) as caught:
            await engine.render.render(asset.id, RenderParams(w=50), principal=owner, accept=None)
    finally:
        pool.admitted = 0
    assert caught.value.status == 503 and caught.value.retry_after >= 1 and caught.value.code == "render_busy"


async def test_format_auto_follows_accept(engine: Engine, owner: Principal, add_asset: Add) -> None:
    opaque = await add_asset(image_bytes(300, 200), "photo.jpg")
    clear = await add_asset(image_bytes(300, 200, "png", alpha=True), "logo.png")
    answers = {
        (opaque.id, "image/avif,image/webp,*/*"): "avif",
        (opaque.id, "image/webp,*/*"): "webp",
        (opaque.id, "*/*"): "jpeg",
        (clear.id, "*/*"): "png",
    }
    for (asset_id, accept), fmt in answers.items():
        result = await engine.render.render(asset_id, RenderParams(w=100), principal=owner, accept=accept)
        assert result.format == fmt and result.negotiated
    fixed = await engine.render.render(opaque.id, RenderParams(w=100, format="png"), principal=owner, accept="image/avif")
    assert fixed.format == "png" and not fixed.negotiated


async def test_renders_are_scoped_to_the_account(engine: Engine, owner: Principal, add_asset: Add) -> None:
    other = Principal(account_id=await engine.keys.create_account("other"))
    mine = await add_asset(image_bytes(100, 100), "mine.jpg")
    theirs = await add_asset(image_bytes(60, 60, "png"), "logo.png", principal=other)
    with pytest.raises(NotFound):
        await engine.render.render(mine.id, RenderParams(w=10), principal=other, accept=None)
    with pytest.raises(InvalidInput) as caught:
        await engine.render.render(mine.id, RenderParams(w=50, watermark_asset=theirs.id), principal=owner, accept=None)
    assert caught.value.details["param"] == "watermark_asset"
    signed = await engine.render.render(mine.id, RenderParams(w=10), principal=None, accept=None)
    assert signed.content.account_id == owner.account_id


async def test_the_ingest_thumbnail_is_a_cached_derivative_linked_by_a_signed_render_url(engine: Engine, owner: Principal, add_asset: Add) -> None:
    asset = await add_asset(image_bytes(1200, 900), "photo.jpg")
    rows = await _derivatives(engine, asset.id)
    assert [row.kind for row in rows] == ["thumbnail"] and (rows[0].width, rows[0].height) == (256, 192)
    link = urlsplit(asset.urls.thumbnail or "")
    assert link.path == f"/v1/assets/{asset.id}/render"
    query = dict(parse_qsl(link.query))
    engine.signer.verify(link.path, query)
    runs = engine.render.pool.runs
    result = await engine.render.render(asset.id, RenderParams.from_query(query), principal=None, accept=None)
    assert result.cached and engine.render.pool.runs == runs and result.content.blob_key == rows[0].blob_key


async def test_pre_render_sizes_makes_the_responsive_widths_narrower_than_the_source(engine: Engine, owner: Principal, add_asset: Add) -> None:
    plain = await add_asset(image_bytes(1200, 900), "plain.jpg")
    assert len(await _derivatives(engine, plain.id)) == 1, "off by default"
    asset = await add_asset(image_bytes(1200, 900), "photo.jpg", pre_render_sizes=True)
    widths = sorted(row.width for row in await _derivatives(engine, asset.id) if row.kind == "responsive")
    assert widths == [320, 640, 1024]
    runs = engine.render.pool.runs
    hit = await engine.render.render(asset.id, RenderParams(w=640, format="webp"), principal=owner, accept=None)
    assert hit.cached and engine.render.pool.runs == runs and hit.width == 640


async def test_documents_without_a_preview_still_ingest(engine: Engine, add_asset: Add) -> None:
    pdf = await add_asset(pdf_bytes(2), "report.pdf")
    assert [row.kind for row in await _derivatives(engine, pdf.id)] == ["thumbnail"]
    text = await add_asset(b"just some words\n" * 10, "notes.txt")
    assert await _derivatives(engine, text.id) == [] and text.urls.thumbnail is None


async def test_deleting_an_asset_deletes_its_derivatives(engine: Engine, owner: Principal, add_asset: Add) -> None:
    asset = await add_asset(image_bytes(400, 300), "photo.jpg")
    result = await engine.render.render(asset.id, RenderParams(w=100, format="png"), principal=owner, accept=None)
    await engine.render.settle()
    keys = [row.blob_key for row in await _derivatives(engine, asset.id)]
    assert len(keys) == 2 and all([await engine.store.exists(key) for key in keys])
    await engine.assets.delete(owner, asset.id)
    assert await _derivatives(engine, asset.id) == []
    assert not any([await engine.store.exists(key) for key in keys]) and result.content.blob_key in keys


async def test_signed_url_is_absolute_and_carries_the_normalised_query(engine: Engine, owner: Principal) -> None:
    url = engine.render.signed_url("as_abc", RenderParams.from_query({"w": "300", "dpr": "2.0"}), ttl_s=60)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    assert url.startswith(engine.settings.public_url) and parts.path == "/v1/assets/as_abc/render"
    assert query["w"] == "300" and query["dpr"] == "2" and {"kid", "exp", "sig"} <= set(query)
    engine.signer.verify(parts.path, query)


async def test_a_new_derivative_is_served_from_memory_until_it_is_stored(engine: Engine, owner: Principal, add_asset: Add) -> None:
    asset = await add_asset(image_bytes(400, 300), "photo.jpg")
    result = await engine.render.render(
        asset.id, RenderParams(w=120, format="png"), principal=owner, accept=None, wait_for_store=False
    )
    served = await engine.render.read(result)
    assert served[:4] == b"\x89PNG" and len(served) == result.content.size
    await engine.render.stored(result)
    assert await engine.store.read_bytes(result.content.blob_key) == served
    assert [row.kind for row in await _derivatives(engine, asset.id)] == ["thumbnail", "render"]


async def test_a_derivative_of_an_asset_deleted_while_it_was_stored_leaves_nothing(engine: Engine, owner: Principal, add_asset: Add) -> None:
    asset = await add_asset(image_bytes(400, 300), "photo.jpg")
    result = await engine.render.render(
        asset.id, RenderParams(w=90, format="png"), principal=owner, accept=None, wait_for_store=False
    )
    await engine.assets.delete(owner, asset.id)
    await engine.render.settle()
    assert await _derivatives(engine, asset.id) == [] and not await engine.store.exists(result.content.blob_key)


async def test_deleting_an_asset_clears_a_derivative_blob_whose_row_it_never_saw(engine: Engine, owner: Principal, add_asset: Add) -> None:
    """A render stored by another request can commit its row just as the delete reads; its blob must go too."""
    asset = await add_asset(image_bytes(400, 300), "photo.jpg")
    in_flight = f"{derivatives_prefix(asset.id)}in-flight.webp"
    await engine.store.put_bytes(in_flight, b"RIFF....WEBP")
    await engine.assets.delete(owner, asset.id)
    assert not await engine.store.exists(in_flight)


async def test_by_default_a_render_returns_once_its_blob_is_stored(engine: Engine, owner: Principal, add_asset: Add) -> None:
    asset = await add_asset(image_bytes(400, 300), "photo.jpg")
    result = await engine.render.render(asset.id, RenderParams(w=70, format="jpeg"), principal=owner, accept=None)
    assert (await engine.store.read_bytes(result.content.blob_key))[:3] == b"\xff\xd8\xff"


async def test_each_new_derivative_writes_one_render_usage_row(engine: Engine, owner: Principal, add_asset: Add) -> None:
    asset = await add_asset(image_bytes(400, 300), "photo.jpg")
    for _ in range(3):
        await engine.render.render(asset.id, RenderParams(w=50, format="webp"), principal=owner, accept=None)
    u = tables.usage_events
    async with engine.catalog.connect() as conn:
        kinds = list((await conn.execute(sa.select(u.c.kind).where(u.c.asset_id == asset.id))).scalars())
    assert kinds.count("render") == 1


async def test_when_the_first_caller_is_cancelled_a_waiting_caller_renders(engine: Engine, owner: Principal, add_asset: Add) -> None:
    asset = await add_asset(image_bytes(1600, 1200), "photo.jpg")
    params = RenderParams(w=300, h=300, format="png")
    first = asyncio.create_task(engine.render.render(asset.id, params, principal=owner, accept=None))
    while not engine.render.flights:
        await asyncio.sleep(0)
    second = asyncio.create_task(engine.render.render(asset.id, params, principal=owner, accept=None))
    await asyncio.sleep(0)
    first.cancel()
    result = await second
    assert (result.width, result.height) == (300, 300) and first.cancelled()


async def test_a_failing_render_fails_every_waiting_caller_with_the_same_error(engine: Engine, owner: Principal, add_asset: Add) -> None:
    asset = await add_asset(image_bytes(300, 200), "photo.jpg")
    params = RenderParams(w=10, crop="0,0,301,10")  # outside the source
    answers = await asyncio.gather(
        *(engine.render.render(asset.id, params, principal=owner, accept=None) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(a, InvalidInput) and a.details["param"] == "crop" for a in answers)


async def test_a_render_whose_blob_cannot_be_stored_is_still_billed(
    engine: Engine, owner: Principal, add_asset: Add, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = await add_asset(image_bytes(400, 300), "photo.jpg")
    real_put = engine.store.put_bytes

    async def full_disk(key: str, data: bytes) -> None:
        if key.startswith(derivatives_prefix(asset.id)):
            raise OSError(28, "No space left on device")
        await real_put(key, data)

    monkeypatch.setattr(engine.store, "put_bytes", full_disk)
    result = await engine.render.render(
        asset.id, RenderParams(w=120, format="webp"), principal=owner, accept=None, wait_for_store=False
    )
    assert result.width == 120  # the answer itself was made
    await engine.render.settle()
    u = tables.usage_events
    async with engine.catalog.connect() as conn:
        billed = (await conn.execute(sa.select(u.c.detail).where(u.c.asset_id == asset.id, u.c.kind == "render"))).all()
    assert [row.detail["width"] for row in billed] == [120]
    assert result.content.sha256 not in {row.params_hash for row in await _derivatives(engine, asset.id)}  # no row


async def test_a_cached_render_past_its_memo_time_is_checked_in_the_catalog_but_read_from_memory(
    engine: Engine, owner: Principal, add_asset: Add, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = await add_asset(image_bytes(400, 300), "photo.jpg")
    params = RenderParams(w=100, format="webp")
    await engine.render.render(asset.id, params, principal=owner, accept=None)
    hit = await engine.render.render(asset.id, params, principal=owner, accept=None)
    expected = await engine.store.read_bytes(hit.content.blob_key)
    store_reads = _count_store_reads(engine, monkeypatch)
    engine.render.memo.forget([asset.id])  # the remembered rows expired: the next hit asks the catalog
    again = await engine.render.render(asset.id, params, principal=owner, accept=None)
    assert again.cached and again.derivative_id == hit.derivative_id is not None
    assert await engine.render.read(again) == expected and store_reads == []
    # The derivative stored anew under the same key (as after its original was restored elsewhere): a new row,
    # whose bytes are read from the store, never the old row's from memory.
    d = tables.derivatives
    async with engine.catalog.begin() as conn:
        await conn.execute(sa.delete(d).where(d.c.id == hit.derivative_id))
    engine.render.memo.forget([asset.id])
    anew = await engine.render.render(asset.id, params, principal=owner, accept=None)
    engine.render.memo.forget([asset.id])
    found = await engine.render.render(asset.id, params, principal=owner, accept=None)
    assert found.derivative_id not in (None, hit.derivative_id) and not anew.cached
    assert engine.render.hot.get(hit.content.blob_key, hit.derivative_id) is None
    assert await engine.render.read(found) == expected


async def test_a_render_found_moments_ago_is_answered_from_memory_without_awaiting(
    engine: Engine, owner: Principal, add_asset: Add
) -> None:
    """``remembered`` answers a hit with nothing awaited (the REST route then needs no task of its own), and
    only the caller's own: another account's principal, or a miss, gets None and takes the full path."""
    asset = await add_asset(image_bytes(400, 300), "photo.jpg")
    params = RenderParams(w=90, format="webp")
    assert engine.render.remembered(asset.id, params, principal=owner, accept=None) is None
    made = await engine.render.render(asset.id, params, principal=owner, accept=None)
    hit = engine.render.remembered(asset.id, params, principal=owner, accept=None)
    assert hit is not None and hit.cached and (hit.content.blob_key, hit.width) == (made.content.blob_key, 90)
    assert engine.render.remembered(asset.id, params.model_copy(update={"w": 91}), principal=owner, accept=None) is None
    stranger = Principal(account_id=await engine.keys.create_account("stranger"))
    assert engine.render.remembered(asset.id, params, principal=stranger, accept=None) is None
    with pytest.raises(NotFound):
        await engine.render.render(asset.id, params, principal=stranger, accept=None)
    assert engine.render.remembered(asset.id, params, principal=None, accept=None) is not None  # a signed URL


async def test_an_edit_drops_remembered_rows_but_keeps_hot_bytes_and_a_trashing_drops_both(
    engine: Engine, owner: Principal, add_asset: Add, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hot bytes answer only for the row they were read for, so an edit (an analysis adding tags, say) need not
    send the next hit to the store; a trashed or deleted asset's bytes leave memory at once."""
    asset = await add_asset(image_bytes(400, 300), "photo.jpg")
    params = RenderParams(w=80, format="webp")
    await engine.render.render(asset.id, params, principal=owner, accept=None)
    expected = await engine.render.read(await engine.render.render(asset.id, params, principal=owner, accept=None))
    store_reads = _count_store_reads(engine, monkeypatch)
    forget = engine.render.subscriber().handle
    await forget([Event(type=EventType.ASSET_UPDATED, account_id=owner.account_id, data={"asset_id": asset.id})])
    assert engine.render.remembered(asset.id, params, principal=owner, accept=None) is None
    again = await engine.render.render(asset.id, params, principal=owner, accept=None)
    assert again.cached and await engine.render.read(again) == expected and store_reads == []
    await forget([Event(type=EventType.ASSET_TRASHED, account_id=owner.account_id, data={"asset_id": asset.id})])
    assert engine.render.hot.get(again.content.blob_key, again.derivative_id) is None
