"""Hybrid search on a real LanceDB folder with hand-made vectors: filters, fusion order, paging, isolation."""

from __future__ import annotations

from collections.abc import Iterator
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


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SearchIndex]:
    built = SearchIndex(str(tmp_path / "index"), "assets", clip_dim=8)
    for item in [
        row("as_beach", "sunny beach with palm trees", vec=unit(0), tags=["holiday"], place="Nice, Provence, FR",
            lat=43.70, lon=7.26),
        row("as_dunes", "sand dunes in the desert", vec=unit(0, 1)),
        row("as_report", "quarterly revenue report beach resort", type="document", vec=unit(5),
            created_at=datetime(2025, 10, 2, tzinfo=UTC)),
        row("as_other", "sunny beach with palm trees", account="acct_b", vec=unit(0)),
        row("as_plain", "a beach", vec=None),
    ]:
        built.upsert(item)
    yield built


def test_fusion_prefers_what_both_paths_rank_high() -> None:
    fused = rrf([["a", "b", "c"], ["b", "a", "d"]], k=60)
    assert [i for i, _ in fused] == ["a", "b", "c", "d"] and fused[0][1] == fused[1][1]  # ties break by id
    fused = rrf([["a", "b", "c"], ["c", "b"]], k=1)  # a: 1/2, b: 1/3 + 1/3, c: 1/4 + 1/2
    assert [i for i, _ in fused] == ["c", "b", "a"]
    assert rrf([["x"], ["x"]])[0] == ("x", 1.0)


def test_full_text_and_vector_paths_stay_inside_the_account(index: SearchIndex) -> None:
    where = where_clause("acct_a", SearchFilters())
    assert "as_other" not in {i for i, _ in index.full_text("beach", where, 50)}
    nearest = index.nearest("text_vec", np.array(unit(0)), where, 50, min_similarity=0.5)
    assert [i for i, _ in nearest] == ["as_beach", "as_dunes"]  # as_plain has no vector; as_other is acct_b
    assert index.nearest("text_vec", np.array(unit(0)), where_clause("acct_b", SearchFilters()), 50, 0.5)[0][0] == "as_other"


def test_filters_are_applied_inside_the_index_query(index: SearchIndex) -> None:
    def ids(**filters: object) -> set[str]:
        where = where_clause("acct_a", SearchFilters(**filters))  # type: ignore[arg-type]
        return {i for i, _ in index.full_text("beach", where, 1)} | set(index.filtered(where, 50))

    assert ids(type="document") == {"as_report"}
    assert ids(date_after="2025-09-01") == {"as_report"}
    assert ids(date_before="2025-09-01") >= {"as_beach", "as_plain"} and "as_report" not in ids(date_before="2025-09-01")
    assert ids(tags=["Holiday"]) == {"as_beach"}
    assert ids(place="nice") == {"as_beach"}
    assert ids(near={"lat": 43.7, "lon": 7.25, "km": 10}) == {"as_beach"}
    assert ids(near={"lat": 48.85, "lon": 2.35, "km": 10}) == set()
    # A limit of one still finds the only document: the filter runs before the top-k cut.
    assert [i for i, _ in index.full_text("beach", where_clause("acct_a", SearchFilters(type="document")), 1)] == ["as_report"]


def test_quotes_in_filter_values_cannot_escape_the_literal(index: SearchIndex) -> None:
    where = where_clause("acct_a' OR account_id = 'acct_b", SearchFilters(tags=["x') OR true OR ('"]))
    assert index.filtered(where, 50) == []


def test_upsert_keeps_vectors_and_delete_removes_rows(index: SearchIndex) -> None:
    index.upsert(row("as_beach", "renamed lagoon", vec=None))
    where = where_clause("acct_a", SearchFilters())
    assert [i for i, _ in index.full_text("lagoon", where, 5)] == ["as_beach"]
    assert index.nearest("text_vec", np.array(unit(0)), where, 5, 0.99)[0][0] == "as_beach"  # vector kept
    index.delete(["as_beach", "as_dunes"])
    assert index.count("account_id = 'acct_a'") == 2
    index.maintain()
    assert {i for i, _ in index.full_text("beach", where, 5)} == {"as_report", "as_plain"}


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
        fts = next(i for i in engine.search.index.table.list_indices() if i.index_type == "FTS")
        stats = engine.search.index.table.index_stats(fts.name)
        assert stats.num_indexed_rows >= 3  # the rows written before maintenance started are folded in
        assert engine.search.index.count() == 4


def test_the_vector_index_is_built_past_the_threshold_and_search_still_works(tmp_path: Path) -> None:
    built = SearchIndex(str(tmp_path / "index"), "assets", clip_dim=8, vector_index_threshold=300)
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((320, DIM)).astype(np.float32)
    built.add_many([built.to_record(row(f"as_{n:04d}", f"note {n}", vec=list(v / np.linalg.norm(v))), None)
                    for n, v in enumerate(vectors)])
    built.maintain()
    names = {index.name for index in built.table.list_indices()}
    assert "text_vec_idx" in names and "clip_vec_idx" not in names  # no row has a CLIP vector
    where = where_clause("acct_a", SearchFilters())
    assert built.nearest("text_vec", vectors[17], where, 1, 0.5)[0][0] == "as_0017"
