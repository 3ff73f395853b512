"""Hybrid search on a real LanceDB folder with hand-made vectors: filters, fusion order, paging, isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from engine.search.filters import where_clause
from engine.search.fusion import rrf
from engine.search.index import SearchIndex
from engine.search.models import IndexRow, SearchFilters

DIM = 384


def unit(*hot: int) -> list[float]:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[list(hot)] = 1.0
    return list(vector / np.linalg.norm(vector))


def row(asset_id: str, text: str, *, account: str = "acct_a", vec: list[float] | None = None, **fields: object) -> IndexRow:
    base: dict[str, object] = dict(id=asset_id, account_id=account, type="image", status="ready", filename=f"{asset_id}.jpg",
                                   created_at=datetime(2025, 6, 1, tzinfo=UTC), text=text, text_vec=vec)
    return IndexRow(**(base | fields))  # type: ignore[arg-type]


async def split_at_a_thousand_rows(tmp_path: Path, *, nprobes: int) -> SearchIndex:
    """An index whose ANN index is built past 300 rows and split into partitions of 500 past 1,000."""
    from engine.search.settings import SearchSettings

    settings = SearchSettings(vector_index_split_rows=1_000, vector_index_partition_rows=500,
                              vector_search_nprobes=nprobes, vector_search_partition_ef=50)
    return await SearchIndex.open(str(tmp_path / "index"), "assets", clip_dim=8, vector_index_threshold=300,
                                  settings=settings)


async def vector_indexes(index: SearchIndex, account_id: str = "acct_a") -> set[str]:
    table = await index.table_for(account_id)
    return {i.name for i in await table.list_indices() if i.name.startswith(("text_vec", "clip_vec"))}


def unit_rows(seed: int, count: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture
async def index(tmp_path: Path) -> AsyncIterator[SearchIndex]:
    built = await SearchIndex.open(str(tmp_path / "index"), "assets", clip_dim=8)
    for item in [
        row("as_beach", "sunny beach with palm trees", vec=unit(0), tags=["holiday"], place="Nice, Provence, FR",
            lat=43.70, lon=7.26),
        row("as_dunes", "sand dunes in the desert", vec=unit(0, 1)),
        row("as_report", "quarterly revenue report beach resort", type="document", vec=unit(5),
            created_at=datetime(2025, 10, 2, tzinfo=UTC)),
        row("as_other", "sunny beach with palm trees", account="acct_b", vec=unit(0)),
        row("as_plain", "a beach", vec=None),
    ]:
        await built.upsert(item)
    yield built


def test_fusion_prefers_what_both_paths_rank_high() -> None:
    fused = rrf([["a", "b", "c"], ["b", "a", "d"]], k=60)
    assert [i for i, _ in fused] == ["a", "b", "c", "d"] and fused[0][1] == fused[1][1]  # ties break by id
    fused = rrf([["a", "b", "c"], ["c", "b"]], k=1)  # a: 1/2, b: 1/3 + 1/3, c: 1/4 + 1/2
    assert [i for i, _ in fused] == ["c", "b", "a"]
    assert rrf([["x"], ["x"]])[0] == ("x", 1.0)


async def test_full_text_and_vector_paths_stay_inside_the_account(index: SearchIndex) -> None:
    assert where_clause(SearchFilters()) == "status <> 'trashed'"  # trashed assets stay indexed, never found
    assert "as_other" not in {i for i, _ in await index.full_text("acct_a", "beach", None, 50)}
    nearest = await index.nearest("acct_a", "text_vec", np.array(unit(0)), None, 50, min_similarity=0.5)
    assert [i for i, _ in nearest] == ["as_beach", "as_dunes"]  # as_plain has no vector; as_other is acct_b
    assert [i for i, _ in await index.nearest("acct_b", "text_vec", np.array(unit(0)), None, 50, 0.5)] == ["as_other"]
    assert (await index.rows("acct_b", ["as_beach", "as_other"])).keys() == {"as_other"}
    # Each account has a table of its own, and an account without one finds nothing.
    assert set(await index.account_tables()) == {"assets-acct_a", "assets-acct_b"}
    assert await index.full_text("acct_c", "beach", None, 50) == [] and await index.count("acct_c") == 0


async def test_filters_are_applied_inside_the_index_query(index: SearchIndex) -> None:
    async def ids(**filters: object) -> set[str]:
        where = where_clause(SearchFilters(**filters))  # type: ignore[arg-type]
        return {i for i, _ in await index.full_text("acct_a", "beach", where, 1)} | set(await index.filtered("acct_a", where, 50))

    assert await ids(type="document") == {"as_report"}
    assert await ids(date_after="2025-09-01") == {"as_report"}
    before = await ids(date_before="2025-09-01")
    assert before >= {"as_beach", "as_plain"} and "as_report" not in before
    assert await ids(tags=["Holiday"]) == {"as_beach"}
    assert await ids(place="nice") == {"as_beach"}
    assert await ids(near={"lat": 43.7, "lon": 7.25, "km": 10}) == {"as_beach"}
    assert await ids(near={"lat": 48.85, "lon": 2.35, "km": 10}) == set()
    # A limit of one still finds the only document: the filter runs before the top-k cut.
    assert [i for i, _ in await index.full_text("acct_a", "beach", where_clause(SearchFilters(type="document")), 1)] == ["as_report"]


async def test_quotes_in_filter_values_cannot_escape_the_literal(index: SearchIndex) -> None:
    where = where_clause(SearchFilters(tags=["x') OR true OR ('"], place="' OR '1'='1"))
    assert await index.filtered("acct_a", where, 50) == []
    # An account id that is not a plain name cannot name (or escape into) another account's table.
    odd = "acct_a/../acct_b' OR 'x"
    assert index.table_name(odd) != index.table_name("acct_b") and "/" not in index.table_name(odd)
    assert await index.filtered(odd, None, 50) == []


async def test_upsert_keeps_vectors_and_delete_removes_rows(index: SearchIndex) -> None:
    await index.upsert(row("as_beach", "renamed lagoon", vec=None))
    assert [i for i, _ in await index.full_text("acct_a", "lagoon", None, 5)] == ["as_beach"]
    assert (await index.nearest("acct_a", "text_vec", np.array(unit(0)), None, 5, 0.99))[0][0] == "as_beach"  # vector kept
    await index.delete("acct_b", ["as_beach"])  # another account's delete does not reach acct_a's rows
    assert await index.count("acct_a") == 4
    await index.delete("acct_a", ["as_beach", "as_dunes"])
    assert await index.count("acct_a") == 2 and await index.count("acct_b") == 1
    await index.maintain()
    assert {i for i, _ in await index.full_text("acct_a", "beach", None, 5)} == {"as_report", "as_plain"}


async def test_new_assets_rows_are_appended_or_written_only_where_none_is_indexed_yet(index: SearchIndex) -> None:
    """``insert_new``: a contested row (an analysis was queued, and indexed its fuller row first: words and
    vector) keeps what the analysis wrote; the others are appended; a later upsert still replaces words and
    keeps the vector."""
    analysed = row("as_fresh", "a red kite over the hill", vec=unit(7), tags=["kite"])
    await index.upsert(analysed)
    await index.insert_new([row("as_fresh", "upload.jpg", vec=None), row("as_new", "another upload", vec=None),
                            row("as_third", "third upload", vec=None)], contested={"as_fresh", "as_third"})
    assert await index.count("acct_a") == 7  # four from the fixture, three new, no duplicate
    assert [i for i, _ in await index.full_text("acct_a", "kite", None, 5)] == ["as_fresh"]  # the analysis's words
    assert (await index.nearest("acct_a", "text_vec", np.array(unit(7)), None, 5, 0.99))[0][0] == "as_fresh"
    assert [i for i, _ in await index.full_text("acct_a", "another", None, 5)] == ["as_new"]
    assert [i for i, _ in await index.full_text("acct_a", "third", None, 5)] == ["as_third"]
    await index.upsert(row("as_fresh", "renamed kite", vec=None))
    await index.upsert(row("as_new", "renamed zebra", vec=None))
    assert await index.count("acct_a") == 7
    assert [i for i, _ in await index.full_text("acct_a", "zebra", None, 5)] == ["as_new"]
    assert (await index.nearest("acct_a", "text_vec", np.array(unit(7)), None, 5, 0.99))[0][0] == "as_fresh"


async def test_maintenance_runs_in_the_background_after_many_writes(tmp_path: Path) -> None:
    from engine import Engine
    from engine.assets import IngestOptions
    from engine.auth import Principal
    from engine.search import index as index_module
    from tests.factories import image_bytes, make_settings

    async with Engine.open(make_settings(tmp_path)) as engine:
        owner = Principal(account_id=engine.owner_account_id)
        index_module.WRITES_PER_MAINTENANCE, before = 3, index_module.WRITES_PER_MAINTENANCE
        try:
            for n in range(4):
                path = engine.work_dir / f"{n}.png"
                path.write_bytes(image_bytes(10, 10, "png"))
                await engine.ingest.from_path(owner, path, IngestOptions(description=f"note {n}"))
            task = engine.enrich._maintenance
            assert task is not None
            await task
        finally:
            index_module.WRITES_PER_MAINTENANCE = before
        table = await engine.search.index.table_for(owner.account_id)
        fts = next(i for i in await table.list_indices() if i.index_type == "FTS")
        stats = await table.index_stats(fts.name)
        assert stats.num_indexed_rows >= 3  # the rows written before maintenance started are folded in
        assert await engine.search.index.count(owner.account_id) == 4


async def test_the_vector_index_is_built_past_the_threshold_and_search_still_works(tmp_path: Path) -> None:
    built = await SearchIndex.open(str(tmp_path / "index"), "assets", clip_dim=8, vector_index_threshold=300)
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((320, DIM)).astype(np.float32)
    await built.add_many([built.to_record(row(f"as_{n:04d}", f"note {n}", vec=list(v / np.linalg.norm(v))), None)
                    for n, v in enumerate(vectors)])
    await built.add_many([built.to_record(row("as_small", "note", account="acct_b", vec=unit(3)), None)])
    await built.maintain()
    names = {index.name for index in await (await built.table_for("acct_a")).list_indices()}
    assert "text_vec_idx" in names and "clip_vec_idx" not in names  # no row has a CLIP vector
    assert "text_vec_idx" not in {index.name for index in await (await built.table_for("acct_b")).list_indices()}  # 1 row: exact
    assert (await built.nearest("acct_a", "text_vec", vectors[17], None, 1, 0.5))[0][0] == "as_0017"
    built.search_ef = 10  # a breadth set below the rows asked for is raised to them (LanceDB refuses less)
    assert len(await built.nearest("acct_a", "text_vec", vectors[17], None, 50, -1.0)) == 50
    assert (await built.nearest("acct_b", "text_vec", np.array(unit(3)), None, 1, 0.5))[0][0] == "as_small"


async def test_a_shared_table_from_before_is_split_by_account(tmp_path: Path) -> None:
    import lancedb
    import pyarrow as pa

    from engine.search.index import schema

    folder = str(tmp_path / "index")
    maker = await SearchIndex.open(folder, "scratch", clip_dim=8)
    records = [maker.to_record(row("as_1", "harbour at dusk", vec=unit(1)), None),
               maker.to_record(row("as_2", "harbour at dawn", account="acct_b", vec=unit(2)), None)]
    lancedb.connect(folder).create_table("assets", pa.Table.from_pylist(records, schema=schema(8)))
    moved = await SearchIndex.open(folder, "assets", clip_dim=8)
    assert "assets" not in (await moved.db.list_tables()).tables
    assert [i for i, _ in await moved.full_text("acct_a", "harbour", None, 5)] == ["as_1"]
    assert [i for i, _ in await moved.nearest("acct_b", "text_vec", np.array(unit(2)), None, 5, 0.9)] == ["as_2"]


async def test_a_filtered_vector_query_scales_its_search_breadth_to_the_rows_the_filter_keeps(index: SearchIndex) -> None:
    assert index.search_ef == 1_000
    assert index._breadth(1.0, 10) == 1_000
    assert index._breadth(0.5, 10) == 500
    assert index._breadth(0.01, 10) == 200  # never below the floor
    assert index._breadth(0.01, 300) == 300  # nor below the rows asked for
    place = where_clause(SearchFilters(place="nowhere at all"))
    assert await index.nearest("acct_a", "text_vec", np.array(unit(0)), place, 5, -1.0) == []
    nice = where_clause(SearchFilters(place="nice"))
    assert [i for i, _ in await index.nearest("acct_a", "text_vec", np.array(unit(1)), nice, 5, -1.0)] == ["as_beach"]


def test_an_index_is_split_by_table_size_and_rebuilt_once_outgrown() -> None:
    from engine.search.settings import SearchSettings
    from engine.search.vector_plan import VectorIndexPlan, needs_rebuild, parse_name, plan_for

    settings = SearchSettings(vector_index_split_rows=100_000, vector_index_partition_rows=10_000,
                              vector_index_rebuild_growth=2.0, vector_index_m=24, vector_index_ef_construction=150)
    assert plan_for(20_000, settings) == VectorIndexPlan()  # a small account keeps its single graph
    big = plan_for(1_000_000, settings)
    assert (big.partitions, big.m, big.ef_construction) == (100, 24, 150)
    assert plan_for(100_001, settings).partitions == 11
    assert parse_name(big.name("clip_vec")) == ("clip_vec", VectorIndexPlan(partitions=100))
    assert parse_name("text_vec_idx") == ("text_vec", VectorIndexPlan())
    assert parse_name("text_idx") is None and parse_name("created_us_idx") is None
    single, split = VectorIndexPlan(), VectorIndexPlan(partitions=10)
    assert not needs_rebuild(single, 99_999, settings) and needs_rebuild(single, 100_000, settings)
    assert not needs_rebuild(split, 199_999, settings)  # folded into the partitions until twice their size
    assert needs_rebuild(split, 200_000, settings)
    assert not needs_rebuild(VectorIndexPlan(partitions=20), 200_000, settings)  # already the layout wanted


async def test_a_table_that_outgrows_its_vector_index_gets_a_split_one_in_the_background(tmp_path: Path) -> None:
    built = await split_at_a_thousand_rows(tmp_path, nprobes=2)
    vectors = unit_rows(5, 1_200)

    async def add(start: int, end: int) -> None:
        await built.add_many([built.to_record(row(f"as_{n:05d}", f"note {n}", vec=list(vectors[n])), None)
                              for n in range(start, end)])

    await add(0, 400)
    await built.maintain()
    assert await vector_indexes(built) == {"text_vec_idx"}  # below the split: the single graph small accounts keep
    await add(400, 1_100)
    await built.maintain(wait_for_builds=False)  # the build runs as its own task; writes and queries go on
    await add(1_100, 1_150)
    for n in (1_050, 1_120):  # written before and during the build
        assert (await built.nearest("acct_a", "text_vec", vectors[n], None, 1, 0.5))[0][0] == f"as_{n:05d}"
    await built.wait_for_builds()
    assert await vector_indexes(built) == {"text_vec_idx_p3"}  # 1,100 rows / 500 per partition; the old one dropped
    built._layouts.clear()
    for n in (3, 500, 1_099, 1_149):  # found through the split index: a few partitions, a small breadth in each
        assert (await built.nearest("acct_a", "text_vec", vectors[n], None, 1, 0.5))[0][0] == f"as_{n:05d}"
    assert len(await built.nearest("acct_a", "text_vec", vectors[7], None, 60, -1.0)) == 60
    await built.maintain()
    assert await vector_indexes(built) == {"text_vec_idx_p3"}  # not outgrown: no second rebuild


async def test_a_filtered_query_searches_more_partitions_of_a_split_index(tmp_path: Path) -> None:
    from engine.search.settings import SearchSettings

    built = await SearchIndex.open(str(tmp_path / "index"), "assets", clip_dim=8,
                                   settings=SearchSettings(vector_search_nprobes=10))
    assert built._probes(1.0, 50) == 10
    assert built._probes(0.25, 50) == 20  # a quarter of the rows: twice the partitions
    assert built._probes(0.04, 50) == 50  # never more than there are
    assert built._probes(0.5, 4) == 4


async def test_rows_without_the_vector_are_never_vector_hits_whatever_the_index(tmp_path: Path) -> None:
    """An unfiltered vector query checks no flag: a row without the vector holds zeros, which have no cosine
    distance, so LanceDB leaves it out of exact search, of the single graph, of a split index and of the rows
    written after an index was built. A filtered query keeps the flag in its row mask."""
    built = await split_at_a_thousand_rows(tmp_path, nprobes=3)
    vectors = unit_rows(9, 1_600)
    written = 0

    async def add(end: int) -> None:  # every fifth row is a document without a text vector
        nonlocal written
        await built.add_many([built.to_record(
            row(f"as_{n:05d}", f"note {n}", type="document", vec=None) if n % 5 == 0
            else row(f"as_{n:05d}", f"note {n}", vec=list(vectors[n])), None) for n in range(written, end)])
        written = end

    async def check(layout: set[str]) -> None:
        built._layouts.clear()
        assert await vector_indexes(built) == layout
        with_vector = written - (written + 4) // 5
        found = [a for a, _ in await built.nearest("acct_a", "text_vec", vectors[7], None, written, -1.0)]
        assert [a for a in found if int(a[3:]) % 5 == 0] == []  # asked for every row: still none without one
        assert with_vector * 0.8 <= len(found) <= with_vector
        nearest = await built.nearest("acct_a", "text_vec", vectors[written - 2], None, 1, 0.5)
        assert nearest[0][0] == f"as_{written - 2:05d}"
        assert await built.nearest("acct_a", "text_vec", vectors[7], "type = 'document'", 10, -1.0) == []

    await add(200)
    await check(set())  # exact search below the threshold
    await add(400)
    await built.maintain()
    await add(420)  # written after the build: searched exactly beside the graph
    await check({"text_vec_idx"})
    await add(1_500)
    await built.maintain()
    await add(1_510)
    await check({"text_vec_idx_p3"})  # built on 1,200 rows with the vector, 500 per partition


async def test_the_vector_flags_are_indexed_and_an_older_table_gets_their_indexes_at_its_next_maintenance(
        index: SearchIndex) -> None:
    """A filtered vector query's row mask joins the filter with the vector's flag: both flags have bitmap
    indexes, made with the table, or at the next maintenance of a table made before they were."""
    table = await index.table_for("acct_a")

    async def indexed() -> dict[str, str]:
        return {config.columns[0]: config.index_type for config in await table.list_indices()}

    assert {column: kind for column, kind in (await indexed()).items() if column.startswith("has_")} == {
        "has_text_vec": "Bitmap", "has_clip_vec": "Bitmap"}
    for config in await table.list_indices():
        if config.columns[0].startswith("has_"):
            await table.drop_index(config.name)
    assert not {c for c in await indexed() if c.startswith("has_")}
    before = await index.nearest("acct_a", "text_vec", np.array(unit(0)), "type = 'image'", 10, -1.0)
    index._pending["acct_a"] += 1
    await index.maintain()
    assert {c for c in await indexed() if c.startswith("has_")} == {"has_text_vec", "has_clip_vec"}
    after = await index.nearest("acct_a", "text_vec", np.array(unit(0)), "type = 'image'", 10, -1.0)
    assert [i for i, _ in after] == [i for i, _ in before] == ["as_beach", "as_dunes"]  # as_plain has no vector
