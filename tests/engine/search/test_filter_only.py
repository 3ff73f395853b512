"""Queries that are only filters ("photos", "photos from last week", no words at all): one page sorted and cut
inside the index, the total counted there, the same answers as sorting every match in Python."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from lancedb.query import AsyncQueryBase

from engine import Engine
from engine.assets.models import ListQuery
from engine.auth import Principal
from engine.search.filters import where_clause
from engine.search.index import SearchIndex
from engine.search.models import IndexRow, SearchFilters, SearchRequest
from engine.search.service import merge_filters

NOW = datetime.now(UTC).replace(microsecond=0)


def small_account(account_id: str) -> list[IndexRow]:
    """Every filter kind keeps some rows and drops others; creation times differ, so newest-first is one order."""
    specs: list[dict[str, Any]] = [
        dict(type="image", tags=["holiday", "sea"], place="Nice, Provence, FR", lat=43.70, lon=7.26, days=2),
        dict(type="image", tags=["holiday"], place="Paris, Ile-de-France, FR", lat=48.85, lon=2.35, days=5),
        dict(type="image", status="processing", tags=["work"], days=20),
        dict(type="document", tags=["work", "sea"], place="Nice, Provence, FR", lat=43.69, lon=7.25, days=1),
        dict(type="document", status="failed", days=400),
        dict(type="text", tags=["holiday"], days=40),
        dict(type="image", place="Cambridge, England, GB", lat=52.2, lon=0.12, days=3),
        dict(type="image", days=90),
    ]
    return [IndexRow(id=f"as_small{n}", account_id=account_id, type=spec["type"], status=spec.get("status", "ready"),
                     created_at=NOW - timedelta(days=spec["days"], minutes=n), filename=f"f{n}", tags=spec.get("tags", []),
                     place=spec.get("place"), lat=spec.get("lat"), lon=spec.get("lon"), text=f"item {n}")
            for n, spec in enumerate(specs)]


async def sorted_in_python(index: SearchIndex, account_id: str, filters: SearchFilters) -> list[str]:
    """What filter-only search did before: every match read out, then sorted newest first."""
    table = await index.table_for(account_id)
    where = where_clause(filters)
    query = table.query().where(where) if where else table.query()
    rows = await query.select(["id", "created_us"]).limit(await index.count(account_id, where) + 1).to_list()
    return [row["id"] for row in sorted(rows, key=lambda r: -r["created_us"])]


FILTERS: list[tuple[str, dict[str, Any]]] = [
    ("", {}),
    ("", {"type": "document"}),
    ("", {"status": "processing"}),
    ("", {"date_after": (NOW - timedelta(days=10)).date().isoformat()}),
    ("", {"date_before": (NOW - timedelta(days=10)).date().isoformat()}),
    ("", {"tags": ["Holiday"]}),
    ("", {"tags": ["holiday", "sea"]}),
    ("", {"place": "nice"}),
    ("", {"near": {"lat": 43.7, "lon": 7.25, "km": 10}}),
    ("", {"near": {"lat": 0.0, "lon": 0.0, "km": 10}}),
    ("photos", {}),
    ("photos from last week", {}),
    ("photos in Cambridge", {}),
    ("documents", {"tags": ["sea"]}),
]


@pytest.mark.parametrize(("query", "given"), FILTERS, ids=[f"{q or '-'}:{','.join(f) or '-'}" for q, f in FILTERS])
async def test_filter_only_pages_match_sorting_every_match(engine: Engine, owner: Principal, query: str,
                                                           given: dict[str, Any]) -> None:
    for row in small_account(owner.account_id):
        await engine.search.index.upsert(row)
    text, filters = merge_filters(SearchFilters.model_validate(given), query)
    assert text == ""
    expected = await sorted_in_python(engine.search.index, owner.account_id, filters)
    for offset, limit in ((0, 100), (0, 2), (1, 2), (3, 1), (len(expected), 5)):
        answer = await engine.search.search(owner, SearchRequest(query=query, filters=given, offset=offset, limit=limit))
        assert answer.total == len(expected) and answer.paths == ["filter"] and answer.query == ""
        assert [hit.id for hit in answer.results] == expected[offset : offset + limit], (offset, limit)
        assert all(hit.score == 1.0 and hit.filename for hit in answer.results)


class RowsRead:
    """Counts the rows every LanceDB query hands to Python (``to_list`` goes through ``to_arrow``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.reads: list[int] = []
        self.queries: list[AsyncQueryBase] = []
        original = AsyncQueryBase.to_arrow

        async def counted(query: AsyncQueryBase, *args: Any, **kwargs: Any) -> pa.Table:
            table = await original(query, *args, **kwargs)
            self.reads.append(table.num_rows)
            self.queries.append(query)
            return table

        monkeypatch.setattr(AsyncQueryBase, "to_arrow", counted)


async def test_a_filter_only_page_of_a_large_account_reads_only_the_page(engine: Engine, owner: Principal,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    index = engine.search.index
    kinds = ["image", "image", "document"]
    records = [index.to_record(IndexRow(id=f"as_big{n:05d}", account_id=owner.account_id, type=kinds[n % 3],
                                        status="ready", created_at=NOW - timedelta(minutes=(n * 7919) % 3001),
                                        filename=f"f{n}.jpg", text=f"row {n}"), None)
               for n in range(3_000)]
    await index.add_many(records[:1_500])
    await index.add_many(records[1_500:])
    images = sorted((r for r in records if r["type"] == "image"), key=lambda r: (-r["created_us"], r["id"]))
    spy = RowsRead(monkeypatch)

    answer = await engine.search.search(owner, SearchRequest(query="photos", offset=40, limit=20))
    assert answer.total == len(images) == 2_000
    assert [hit.id for hit in answer.results] == [r["id"] for r in images[40:60]]
    assert spy.reads and max(spy.reads) <= 20 and sum(spy.reads) <= 40 + 20
    # Structurally: the one query sorts inside LanceDB with a top-k of offset + limit, then skips the offset.
    assert len(spy.queries) == 1
    plan = await spy.queries[0].explain_plan()
    assert "TopK(fetch=60)" in plan and "skip=40, fetch=20" in plan

    spy.reads.clear()
    page = await engine.search.asset_page(owner, ListQuery(q="photos", page=4, page_size=25))
    assert page.total == 2_000 and page.items == []  # index rows only: the catalog has no such assets
    assert spy.reads and max(spy.reads) <= 25 and sum(spy.reads) <= 75 + 25

