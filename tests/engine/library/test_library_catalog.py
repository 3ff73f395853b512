"""The library's catalog work on SQLite and PostgreSQL: folders, collections, trash and its expiry, versions
holding blobs, share tokens, bulk jobs, duplicate groups."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image, ImageDraw

from engine import Engine, Settings
from engine.assets.models import IngestOptions, ListQuery
from engine.auth import Principal
from engine.catalog import tables
from engine.catalog.database import now
from engine.errors import Conflict, NotFound
from engine.library.models import (
    BulkAction, BulkRequest, CollectionCreate, FolderCreate, FolderPatch, LibraryFilter, ShareCreate, ShareTarget,
)
from tests.conftest import in_own_task
from tests.factories import image_bytes


@pytest.fixture
async def engine(shared_settings: Settings) -> AsyncIterator[Engine]:
    async with in_own_task(Engine.open(shared_settings)) as opened:
        yield opened


async def add(engine: Engine, principal: Principal, data: bytes, name: str) -> str:
    async def chunks() -> AsyncIterator[bytes]:
        yield data

    return (await engine.ingest.from_stream(principal, name, chunks(), IngestOptions())).id


async def test_folders_collections_and_trash(engine: Engine) -> None:
    me = Principal(account_id=await engine.keys.create_account("me"))
    library = engine.library
    ids = [await add(engine, me, image_bytes(30 + n, 20), f"{n}.jpg") for n in range(3)]
    top = await library.folders.create(me, FolderCreate(name="Top"))
    inner = await library.folders.create(me, FolderCreate(name="Inner", parent_id=top.id))
    with pytest.raises(Conflict):
        await library.folders.update(me, top.id, FolderPatch(parent_id=inner.id))
    assert await library.folders.move(me, ids[:2], inner.id) == ids[:2]
    page = await library.list(me, ListQuery(), LibraryFilter(folder_id=inner.id))
    assert sorted(a.id for a in page.items) == sorted(ids[:2]) and page.total == 2

    col = await library.collections.create(me, CollectionCreate(name="C"))
    for _ in range(3):  # inserting at the front again and again keeps the order right
        await library.collections.add(me, col.id, [ids[2]], position=0)
        await library.collections.add(me, col.id, [ids[0]], position=0)
    await library.collections.add(me, col.id, [ids[1]], position=1)
    assert (await library.collections.get(me, col.id)).asset_ids == [ids[0], ids[1], ids[2]]

    assert await library.trash.trash(me, ids[:1]) == ids[:1]
    assert (await engine.assets.list(me, ListQuery())).total == 2
    assert [a.id for a in (await library.trash.page(me, ListQuery())).items] == ids[:1]
    assert (await library.collections.get(me, col.id)).asset_ids == ids[1:]
    a = tables.assets
    async with engine.catalog.begin() as conn:
        await conn.execute(a.update().where(a.c.id == ids[0]).values(trashed_at=now() - timedelta(days=31)))
    assert await library.trash.purge_expired() == 1
    with pytest.raises(NotFound):
        await library.trash.restore_one(me, ids[0])
    await library.folders.delete(me, top.id)
    assert [f.name for f in (await library.folders.list(me)).items] == ["Inner"]


async def test_versions_hold_their_blobs_until_purged(engine: Engine) -> None:
    me = Principal(account_id=await engine.keys.create_account("me"))
    first, second = image_bytes(40, 30), image_bytes(41, 30)
    asset_id = await add(engine, me, first, "v.jpg")
    original = (await engine.assets.get(me, asset_id)).meta.sha256
    await engine.library.versions.replace_bytes(me, asset_id, second, "v2.jpg")
    assert [v.version for v in (await engine.library.versions.list(me, asset_id)).items] == [2, 1]
    await engine.assets.blobs.collect_due()
    assert await engine.store.exists(f"originals/{original[:2]}/{original}"), "version 1 holds its bytes"
    await engine.library.trash.purge(me, [asset_id])
    await engine.assets.blobs.collect_due()
    assert not await engine.store.exists(f"originals/{original[:2]}/{original}")
    v = tables.asset_versions
    async with engine.catalog.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(v)) == 0


async def test_a_blob_shared_by_a_version_and_another_asset_stays(engine: Engine) -> None:
    me = Principal(account_id=await engine.keys.create_account("me"))
    shared = image_bytes(50, 30)
    keeper = await add(engine, me, shared, "keeper.jpg")
    changing = await add(engine, me, shared, "changing.jpg")
    await engine.library.versions.replace_bytes(me, changing, image_bytes(51, 30), "new.jpg")
    await engine.library.trash.purge(me, [keeper])
    await engine.assets.blobs.collect_due()
    sha = (await engine.library.versions.list(me, changing)).items[1].sha256
    assert await engine.store.exists(f"originals/{sha[:2]}/{sha}"), "still held by the version"
    restored = await engine.library.versions.restore(me, changing, 1)
    assert restored.meta.sha256 == sha and restored.version == 3


async def test_share_tokens_and_bulk_jobs(engine: Engine) -> None:
    me = Principal(account_id=await engine.keys.create_account("me"))
    asset_id = await add(engine, me, image_bytes(30, 30), "s.jpg")
    share = await engine.library.shares.create(me, ShareCreate(target_type=ShareTarget.ASSET, target_id=asset_id,
                                                                password="letmein"))
    token = share.url.rsplit("/", 1)[1]
    assert await engine.library.shares.needs_password(token, None)
    cookie = await engine.library.shares.unlock(token, "letmein")
    assert [a.id for a in (await engine.library.shares.view(token, cookie)).assets] == [asset_id]
    await engine.library.shares.delete(me, share.id)
    with pytest.raises(NotFound):
        await engine.library.shares.view(token, cookie)

    many = BulkRequest(action=BulkAction.TAG, asset_ids=[asset_id] + [f"as_x{n}" for n in range(150)], tags=["t"])
    started = await engine.library.bulk.run(me, many)
    assert started.job_id and await engine.jobs.wait(started.job_id, 60)
    job = await engine.jobs.get(me.account_id, started.job_id)
    assert job.result and job.result["done"] == 1 and len(job.result["failed"]) == 150
    assert (await engine.assets.get(me, asset_id)).tags == ["t"]


def _picture(size: tuple[int, int], box: tuple[float, float, float, float]) -> bytes:
    image = Image.new("RGB", size, (20, 120, 40))
    w, h = size
    ImageDraw.Draw(image).rectangle((box[0] * w, box[1] * h, box[2] * w, box[3] * h), fill=(240, 240, 240))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_duplicate_groups(engine: Engine) -> None:
    me = Principal(account_id=await engine.keys.create_account("me"))
    ids = [await add(engine, me, _picture(size, box), f"{n}.png") for n, (size, box) in enumerate([
        ((200, 150), (0.1, 0.1, 0.5, 0.6)), ((100, 75), (0.1, 0.1, 0.5, 0.6)), ((200, 150), (0.55, 0.4, 0.9, 0.95))])]
    for asset_id in ids:
        assert (await engine.enrich.run_skill(me, asset_id, "colors")).succeeded
    assert await engine.library.similar.duplicate_groups(me) == [sorted(ids[:2])]


async def test_many_inserts_at_one_place_keep_their_order(engine: Engine) -> None:
    me = Principal(account_id=await engine.keys.create_account("me"))
    ids = [await add(engine, me, image_bytes(20 + n, 20), f"{n}.jpg") for n in range(3)]
    col = await engine.library.collections.create(me, CollectionCreate(name="C"))
    await engine.library.collections.add(me, col.id, [ids[0], ids[2]])
    for _ in range(60):  # each halves the gap after the first: past float precision without renumbering
        await engine.library.collections.add(me, col.id, [ids[1]], position=1)
        await engine.library.collections.add(me, col.id, [ids[2]], position=1)
    assert (await engine.library.collections.get(me, col.id)).asset_ids == [ids[0], ids[2], ids[1]]
