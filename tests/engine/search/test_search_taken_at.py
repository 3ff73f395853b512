"""Dates in a search mean when a photo was taken; upload times have filters of their own. Real uploads with
real EXIF, a real catalog and a real LanceDB index; and an index table made before taken times existed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import lancedb
import pyarrow as pa
import pytest
from pydantic import ValidationError

from engine import Engine
from engine.assets import Asset, IngestOptions
from engine.auth import Principal
from engine.search.filters import where_clause
from engine.search.index import ADDED_COLUMNS, SearchIndex, schema
from engine.search.models import IndexRow, SearchFilters, SearchRequest
from tests.factories import image_bytes, jpeg_with_exif, make_settings

JUNE_2024 = {"taken_after": "2024-06-01", "taken_before": "2024-07-01"}


async def upload(engine: Engine, owner: Principal, name: str, data: bytes) -> Asset:
    path = engine.work_dir / name
    path.write_bytes(data)
    return await engine.ingest.from_path(owner, path, IngestOptions())


async def found(engine: Engine, owner: Principal, query: str = "", **filters: object) -> set[str]:
    answer = await engine.search.search(owner, SearchRequest(query=query, filters=SearchFilters.model_validate(filters),
                                                             limit=100))
    assert answer.total == len(answer.results)
    return {hit.id for hit in answer.results}


async def test_photos_taken_in_june_2024_and_uploaded_today(engine: Engine, owner: Principal) -> None:
    june = [await upload(engine, owner, f"june{day:02d}.jpg", jpeg_with_exif(taken=f"2024:06:{day:02d} 12:00:00"))
            for day in range(2, 14)]
    # 00:30 on 1 June in Paris is 22:30 on 31 May in UTC: its own calendar says June.
    june.append(await upload(engine, owner, "paris.jpg", jpeg_with_exif(taken="2024:06:01 00:30:00", offset="+02:00")))
    # ... and 00:30 on 1 July there is still 30 June in UTC: it is not a June photo.
    july = await upload(engine, owner, "july.jpg", jpeg_with_exif(taken="2024:07:01 00:30:00", offset="+02:00"))
    older = await upload(engine, owner, "older.jpg", jpeg_with_exif(taken="2023:06:15 12:00:00"))
    undated = await upload(engine, owner, "undated.png", image_bytes(40, 30, "png"))  # taken = today's upload
    june_ids = {asset.id for asset in june}
    assert len(june_ids) == 13 and all(asset.created_at.date() > date(2024, 7, 1) for asset in june)

    assert await found(engine, owner, "photos taken in June 2024") == june_ids
    assert await found(engine, owner, "photos from June 2024") == june_ids
    assert await found(engine, owner, **JUNE_2024) == june_ids
    assert await found(engine, owner, "photos", **JUNE_2024) == june_ids
    assert await found(engine, owner, "pictures in 2024") == june_ids | {july.id}
    assert await found(engine, owner, taken_before="2024-01-01") == {older.id}
    # The upload time is another filter: nothing was uploaded before July 2024, everything since.
    assert await found(engine, owner, uploaded_before="2024-07-01") == set()
    assert await found(engine, owner, date_before="2024-07-01") == set()  # the spec's old name of uploaded_before
    everything = june_ids | {july.id, older.id, undated.id}
    assert await found(engine, owner, uploaded_after=(datetime.now(UTC) - timedelta(days=1)).date().isoformat()) == everything
    assert await found(engine, owner, "photos uploaded today") == everything
    assert await found(engine, owner, "photos taken today") == {undated.id}

    answer = await engine.search.search(owner, SearchRequest(query="photos taken in June 2024", limit=100))
    assert answer.query == "" and answer.filters.taken_after == date(2024, 6, 1) and answer.filters.uploaded_after is None
    paris = next(hit for hit in answer.results if hit.filename == "paris.jpg")
    assert paris.taken_at == datetime(2024, 6, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    assert paris.taken_at.utcoffset() == timedelta(hours=2) and paris.created_at > paris.taken_at
    # Words and a taken filter together: the words rank, the filter keeps June.
    ranked = await engine.search.search(owner, SearchRequest(query="june10 photos taken in June 2024"))
    assert [hit.filename for hit in ranked.results][:1] == ["june10.jpg"]
    assert {hit.id for hit in ranked.results} <= june_ids


def test_old_names_and_impossible_ranges_are_explained() -> None:
    folded = SearchFilters.model_validate({"date_after": "2025-10-01"})
    assert folded.uploaded_after == date(2025, 10, 1) and folded.date_after is None
    assert SearchFilters.model_validate({"date_after": "2025-10-01", "uploaded_after": "2025-10-01"}).uploaded_after
    with pytest.raises(ValidationError, match="date_after is the old name of uploaded_after"):
        SearchFilters.model_validate({"date_after": "2025-10-01", "uploaded_after": "2025-11-01"})
    with pytest.raises(ValidationError, match="taken_after .* is later than taken_before"):
        SearchFilters.model_validate({"taken_after": "2025-10-01", "taken_before": "2025-01-01"})
    with pytest.raises(ValidationError, match="taken_after"):
        SearchFilters.model_validate({"taken_after": "June"})
    # A taken bound compares wall clocks: an offset it names is dropped, not converted.
    assert where_clause(SearchFilters(taken_after=datetime(2024, 6, 1, 10, tzinfo=timezone(timedelta(hours=5))))) == \
        where_clause(SearchFilters(taken_after=datetime(2024, 6, 1, 10)))
    assert where_clause(SearchFilters(uploaded_after=datetime(2024, 6, 1, 10, tzinfo=timezone(timedelta(hours=5))))) == \
        where_clause(SearchFilters(uploaded_after=datetime(2024, 6, 1, 5, tzinfo=UTC)))


def without_taken_columns(folder: Path, table_name: str) -> None:
    """Rewrite one index table as a version before taken times wrote it: same rows, no taken columns."""
    db = lancedb.connect(folder)
    rows = db.open_table(table_name).to_arrow().drop_columns(list(ADDED_COLUMNS))
    db.drop_table(table_name)
    old = pa.schema([f for f in schema(512) if f.name not in ADDED_COLUMNS])
    table = db.create_table(table_name, rows.cast(old), schema=old)
    table.create_fts_index("text", with_position=False)
    for column, kind in (("id", "BTREE"), ("created_us", "BTREE"), ("type", "BITMAP"), ("status", "BITMAP"),
                         ("tags", "LABEL_LIST")):  # the indexes that version made
        table.create_scalar_index(column, index_type=kind)


async def test_an_index_table_from_before_taken_times_is_upgraded_on_open(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with Engine.open(settings) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        june = await upload(engine, owner, "june.jpg", jpeg_with_exif(taken="2024:06:15 12:00:00", offset="-04:00"))
        undated = await upload(engine, owner, "undated.png", image_bytes(40, 30, "png"))
        name = engine.search.index.table_name(owner.account_id)
    folder = settings.data_dir / "index"
    without_taken_columns(folder, name)
    assert "taken_us" not in lancedb.connect(folder).open_table(name).schema.names

    async with Engine.open(settings) as engine:  # a new version starting on the old index
        assert await found(engine, owner, "photos taken in June 2024") == {june.id}  # the catalog's time, filled in
        assert await found(engine, owner, "photos taken today") == {undated.id}
        assert await found(engine, owner, "june") == {june.id}  # words still find it
        hit = (await engine.search.search(owner, SearchRequest(query="june"))).results[0]
        assert hit.taken_at == datetime(2024, 6, 15, 12, tzinfo=timezone(timedelta(hours=-4)))
        table = await engine.search.index.table_for(owner.account_id)
        assert {"taken_us", "taken_tz"} <= set((await table.schema()).names)
        assert "taken_us_idx" in {index.name for index in await table.list_indices()}
        # New rows are written in the new shape beside the upgraded ones.
        later = await upload(engine, owner, "later.jpg", jpeg_with_exif(taken="2024:06:20 09:00:00"))
        assert await found(engine, owner, **JUNE_2024) == {june.id, later.id}


async def test_an_old_table_read_without_a_catalog_counts_taken_as_uploaded(tmp_path: Path) -> None:
    folder = tmp_path / "index"
    maker = await SearchIndex.open(str(folder), "assets", clip_dim=512)
    uploaded = datetime(2025, 3, 4, 5, 6, tzinfo=UTC)
    await maker.upsert(IndexRow(id="as_1", account_id="acct_a", type="image", status="ready", filename="a.jpg",
                                created_at=uploaded, taken_at=datetime(2020, 1, 1, tzinfo=UTC), text="harbour"))
    without_taken_columns(folder, maker.table_name("acct_a"))

    index = await SearchIndex.open(str(folder), "assets", clip_dim=512)
    upgraded: list[str] = []

    async def remember(account_id: str) -> None:
        upgraded.append(account_id)

    index.on_upgrade = remember
    march = where_clause(SearchFilters(taken_after="2025-03-01", taken_before="2025-04-01"))
    assert await index.filtered("acct_a", march, 10) == ["as_1"] and upgraded == ["acct_a"]
    assert [i for i, _ in await index.full_text("acct_a", "harbour", march, 10)] == ["as_1"]
    await index.set_taken("acct_a", [("as_1", datetime(2020, 1, 1, tzinfo=UTC), 60), ("as_gone", uploaded, None)])
    assert await index.filtered("acct_a", march, 10) == []
    row = (await index.rows("acct_a", ["as_1"]))["as_1"]
    assert (row["taken_tz"], await index.count("acct_a")) == (60, 1)  # an unknown id adds no row
    # A second open finds the columns there and upgrades nothing.
    again = await SearchIndex.open(str(folder), "assets", clip_dim=512)
    again.on_upgrade = remember
    assert await again.count("acct_a") == 1 and upgraded == ["acct_a"]
