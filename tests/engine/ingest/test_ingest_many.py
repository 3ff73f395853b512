"""Many files through ingest at once (``from_staged_many``, which ``IngestGroups`` and scrape feed): each is
checked and answered alone, they are stored together, and a group whose transaction fails loses no file but
the one that failed, with nothing half-written."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import pyvips
import sqlalchemy as sa

from engine import Engine
from engine.assets import Asset, IngestOptions
from engine.assets.models import OnDuplicate
from engine.auth import Principal
from engine.catalog import tables
from engine.errors import PicshaError
from engine.events import Event, EventType
from engine.ingest.groups import IngestGroups
from engine.ingest.service import Incoming
from engine.ingest.staging import StagedFile
from engine.render.params import RenderParams
from engine.settings import CatalogSettings
from tests.factories import image_bytes, make_settings


async def staged(engine: Engine, data: bytes) -> StagedFile:
    writer = engine.ingest.staging_writer()
    await writer.write(data)
    return writer.finish()


async def incoming(engine: Engine, data: bytes, name: str, **options: object) -> Incoming:
    return Incoming(await staged(engine, data), name, IngestOptions(**options))


async def rows_named(engine: Engine, owner: Principal, name: str) -> dict[str, int]:
    a, d, u = tables.assets, tables.derivatives, tables.usage_events
    async with engine.catalog.connect() as conn:
        ids = list((await conn.execute(sa.select(a.c.id).where(a.c.account_id == owner.account_id,
                                                                   a.c.filename == name))).scalars())
        derivatives = await conn.scalar(sa.select(sa.func.count()).select_from(d).where(d.c.asset_id.in_(ids)))
        usage = await conn.scalar(sa.select(sa.func.count()).select_from(u).where(u.c.asset_id.in_(ids)))
    return {"assets": len(ids), "derivatives": int(derivatives or 0), "usage": int(usage or 0)}


async def test_each_file_is_answered_alone_and_the_good_ones_are_stored(engine: Engine, owner: Principal) -> None:
    ready: list[Event] = []

    async def heard(events: list[Event]) -> None:
        ready.extend(e for e in events if e.type == EventType.ASSET_READY)

    engine.events.listen(heard)
    red, blue = image_bytes(40, 30, "png"), image_bytes(50, 20, "jpeg")
    files = [await incoming(engine, red, "red.png"), await incoming(engine, bytes(range(256)) * 8, "fake.jpg"),
             await incoming(engine, blue, "blue.jpg"), await incoming(engine, red, "red-again.png")]
    outcomes = await engine.ingest.from_staged_many(owner, files)
    first, refused, second, again = outcomes
    assert isinstance(first, Asset) and isinstance(second, Asset) and isinstance(again, Asset)
    assert isinstance(refused, PicshaError) and refused.code == "asset_content_type_not_allowed"
    assert (first.filename, first.meta.format, first.meta.width) == ("red.png", "png", 40)
    assert (second.meta.format, second.meta.height) == ("jpeg", 20)
    assert first.urls.thumbnail and second.urls.thumbnail  # previews made and linked in the answer
    # the same bytes twice in one group: the second is stored after the first and names it (on_duplicate keep)
    assert again.id != first.id and again.duplicate_of == first.id and first.duplicate_of is None
    assert {e.data["asset_id"] for e in ready} == {first.id, second.id, again.id}
    assert not any(f.staged.path.exists() for f in files)  # every staged file consumed, the refused one too
    assert (await rows_named(engine, owner, "fake.jpg"))["assets"] == 0
    table = await engine.enrich.index.table_for(owner.account_id)
    assert table is not None and await table.count_rows() == 3  # indexed, findable by their words at once


async def test_a_group_charges_each_file_and_moves_the_storage_meter_by_their_sum(
        engine: Engine, owner: Principal) -> None:
    """One insert of the group's storage rows and one meter move: each stored file still has its own row (its
    size, its asset), the refused one none, and the meter holds exactly the stored bytes."""
    before = await engine.ledger.stored_bytes(owner.account_id)
    datas = [image_bytes(20 + n, 15, "png") for n in range(3)]
    files = [await incoming(engine, data, f"m{n}.png") for n, data in enumerate(datas)]
    files.append(await incoming(engine, b"\x00\x01" * 300, "junk.png"))
    outcomes = await engine.ingest.from_staged_many(owner, files)
    stored = [o for o in outcomes if isinstance(o, Asset)]
    assert len(stored) == 3 and isinstance(outcomes[3], PicshaError)
    u = tables.usage_events
    async with engine.catalog.connect() as conn:
        rows = dict((await conn.execute(sa.select(u.c.asset_id, u.c.quantity).where(
            u.c.asset_id.in_([a.id for a in stored]), u.c.kind == "storage"))).tuples().all())
    assert rows == {a.id: a.meta.size for a in stored}
    assert await engine.ledger.stored_bytes(owner.account_id) == before + sum(len(d) for d in datas)


async def test_reuse_answers_the_earlier_asset(engine: Engine, owner: Principal) -> None:
    data = image_bytes(30, 30, "png")
    kept = await engine.ingest.from_staged(owner, await staged(engine, data), "one.png", IngestOptions())
    files = [await incoming(engine, data, "two.png", on_duplicate=OnDuplicate.REUSE),
             await incoming(engine, image_bytes(31, 30, "png"), "three.png", on_duplicate=OnDuplicate.REUSE)]
    reused, new = await engine.ingest.from_staged_many(owner, files)
    assert isinstance(reused, Asset) and reused.id == kept.id and reused.duplicate_of == kept.id
    assert isinstance(new, Asset) and new.id != kept.id and new.duplicate_of is None
    assert (await rows_named(engine, owner, "two.png"))["assets"] == 0


async def test_a_failed_group_transaction_costs_only_the_file_that_failed(engine: Engine, owner: Principal) -> None:
    """A row the catalog refuses (here a trigger) rolls the group back; the others are then written one by
    one, and the refused file leaves no asset, preview or charge behind."""
    async with engine.catalog.begin() as conn:
        if conn.dialect.name != "sqlite":
            pytest.skip("the refusing trigger is written for SQLite")
        await conn.execute(sa.text("CREATE TRIGGER refuse_bad BEFORE INSERT ON assets WHEN NEW.filename = 'bad.png' "
                                   "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"))
    files = [await incoming(engine, image_bytes(20 + n, 20, "png"), name)
             for n, name in enumerate(["a.png", "bad.png", "b.png"])]
    a, bad, b = await engine.ingest.from_staged_many(owner, files)
    assert isinstance(a, Asset) and isinstance(b, Asset) and isinstance(bad, Exception)
    assert (await engine.assets.get(owner, a.id)).urls.thumbnail
    assert await rows_named(engine, owner, "bad.png") == {"assets": 0, "derivatives": 0, "usage": 0}
    assert await rows_named(engine, owner, "b.png") == {"assets": 1, "derivatives": 1, "usage": 1}


async def test_groups_answer_each_caller_with_its_own_file(engine: Engine, owner: Principal) -> None:
    groups = IngestGroups(engine.ingest, owner, max_group=3)
    names = [f"g{n}.png" for n in range(7)]
    datas = [image_bytes(10 + n, 10, "png") for n in range(7)]
    stageds = [await staged(engine, data) for data in datas]
    adds = [groups.add(s, name, IngestOptions()) for s, name in zip(stageds, names, strict=True)]
    adds.append(groups.add(await staged(engine, b"\x00\x01" * 300), "junk.png", IngestOptions()))
    answers = await asyncio.gather(*adds, return_exceptions=True)
    await groups.aclose()
    assert [a.filename for a in answers[:7] if isinstance(a, Asset)] == names
    assert [a.meta.width for a in answers[:7] if isinstance(a, Asset)] == [10 + n for n in range(7)]
    assert isinstance(answers[7], PicshaError)
    assert groups.running == 0 and not groups.waiting


async def test_a_group_on_postgresql_holds_new_and_known_blobs(postgres_url: str, tmp_path: Path) -> None:
    """The group's hold (rows locked in one order, new ones inserted with RETURNING) and its release, on
    PostgreSQL: bytes another account already stored and new ones in one group."""
    settings = make_settings(tmp_path, catalog=CatalogSettings(url=postgres_url))
    async with Engine.open(settings) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        other = Principal(account_id=await engine.keys.create_account("other"))
        known = image_bytes(33, 21, "png")
        await engine.ingest.from_staged(other, await staged(engine, known), "theirs.png", IngestOptions())
        files = [await incoming(engine, known, "known.png"), await incoming(engine, image_bytes(34, 21, "png"), "new.png")]
        outcomes = await engine.ingest.from_staged_many(owner, files)
        assert all(isinstance(outcome, Asset) for outcome in outcomes), outcomes
        b = tables.blobs
        async with engine.catalog.connect() as conn:
            held = dict((await conn.execute(sa.select(b.c.sha256, b.c.collect_after))).tuples().all())
        # every hold given back: nothing left due while assets hold the bytes
        assert {outcome.meta.sha256 for outcome in outcomes if isinstance(outcome, Asset)} <= set(held)
        assert all(held[o.meta.sha256] is None for o in outcomes if isinstance(o, Asset))


async def test_the_thumbnail_made_at_its_own_effort_is_the_render_of_its_link(engine: Engine,
                                                                               owner: Principal) -> None:
    """The ingest thumbnail's WebP effort is its own setting; its size, format and key are those of the render
    its link asks for (a cache hit), and by default its bytes are what that render makes by URL."""
    data = image_bytes(320, 240, "jpeg")
    made: dict[int | None, bytes] = {}
    for effort in (0, None):
        engine.ingest.settings.thumbnail_webp_effort = effort
        (asset,) = await engine.ingest.from_staged_many(owner, [await incoming(engine, data, f"e{effort}.jpg")])
        assert isinstance(asset, Asset) and asset.urls.thumbnail
        query = dict(parse_qsl(urlsplit(asset.urls.thumbnail).query))
        runs = engine.render.pool.runs
        hit = await engine.render.render(asset.id, RenderParams.from_query(query), principal=owner, accept=None)
        assert hit.cached and engine.render.pool.runs == runs
        made[effort] = await engine.render.read(hit)
        image = pyvips.Image.new_from_buffer(made[effort], "")
        assert (image.get("vips-loader"), image.width, image.height) == ("webpload_buffer", 256, 192)
    source = engine.ingest.work_dir / "same.jpg"
    source.write_bytes(data)
    (by_pipeline,) = engine.render.previews(source, "jpeg", width=320, pre_render=False)  # the render's own encode
    source.unlink()
    assert by_pipeline.data == made[None] and made[0] != made[None]
