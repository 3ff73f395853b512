"""Search index latency and recall on a synthetic LanceDB table.

    python bench/search.py --rows 1000000

Builds (once per row and account count, kept in .bench-data/search-<rows>-<accounts>a/) rows with
Picsha's index schema: random unit 512-d (CLIP) and 384-d (MiniLM) vectors, generated text, 50 accounts
(``--accounts``), three types, tags and dates, written as the server writes them (one table per
account); then the same indexes the server keeps (native full-text, scalar indexes on the filter
columns, IVF_HNSW_SQ on both vector columns of each account's table). Queries go through
``engine.search`` (``SearchIndex`` and ``rrf``) as one account, with the query vectors given (model time
is measured by bench/enrich.py). Prints p50/p99 latency of vector, full-text, hybrid (both vector paths +
full text, fused) and filtered hybrid queries, and recall@10 of the vector index against exact search on
the same filters.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.search.filters import where_clause  # noqa: E402
from engine.search.fusion import rrf  # noqa: E402
from engine.search.index import SearchIndex, to_micros  # noqa: E402
from engine.search.models import SearchFilters  # noqa: E402
from engine.search.settings import SearchSettings  # noqa: E402

WORDS = ("harbour boat sunset beach mountain invoice receipt contract meeting team cat dog garden street "
         "market bridge river forest snow city night portrait family birthday wedding concert museum train "
         "airport kitchen recipe report budget quarter revenue slide poster menu ticket passport map").split()
TYPES = ["image", "image", "image", "document", "text"]
BATCH = 50_000
T = TypeVar("T")
CANDIDATES = SearchSettings().candidates  # rows each path hands to fusion, as the server asks


def unit_rows(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    matrix = rng.standard_normal((count, dim), dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def batch_records(rng: np.random.Generator, start: int, count: int, clip_dim: int, accounts: list[str]) -> list[dict[str, object]]:
    clip, text = unit_rows(rng, count, clip_dim), unit_rows(rng, count, 384)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    records = []
    for i in range(count):
        words = " ".join(random.choices(WORDS, k=12))
        records.append({
            "id": f"as_{start + i:010d}", "account_id": accounts[(start + i) % len(accounts)],
            "type": TYPES[(start + i) % len(TYPES)], "status": "ready",
            "created_us": to_micros(base + timedelta(minutes=start + i)), "filename": f"file_{start + i}.jpg",
            "tags": random.sample(WORDS[:10], 2), "place": None, "lat": None, "lon": None, "has_thumbnail": True,
            "text": words, "has_text_vec": True, "text_vec": text[i], "has_clip_vec": True, "clip_vec": clip[i],
        })
    return records


async def build(folder: Path, rows: int, accounts: list[str]) -> SearchIndex:
    marker = folder / "complete"
    if marker.exists():
        return await SearchIndex.open(str(folder), "assets", clip_dim=512)
    shutil.rmtree(folder, ignore_errors=True)
    index = await SearchIndex.open(str(folder), "assets", clip_dim=512, vector_index_threshold=0)
    rng, started = np.random.default_rng(7), time.perf_counter()
    random.seed(7)
    for start in range(0, rows, BATCH):
        await index.add_many(batch_records(rng, start, min(BATCH, rows - start), 512, accounts))
        print(f"  wrote {min(start + BATCH, rows):,} rows ({time.perf_counter() - started:.0f} s)", flush=True)
    written = time.perf_counter()
    await index.maintain()  # per account: compaction, full-text and scalar index refresh, IVF_HNSW_SQ on both vectors
    print(f"  indexed {len(accounts)} account tables in {time.perf_counter() - written:.0f} s "
          f"({time.perf_counter() - started:.0f} s total)", flush=True)
    marker.write_text(str(rows))
    return index


async def timed(fn: Callable[[T], Awaitable[object]], runs: list[T]) -> list[float]:
    out = []
    for item in runs:
        started = time.perf_counter()
        await fn(item)
        out.append((time.perf_counter() - started) * 1000)
    return out


async def hybrid(index: SearchIndex, account: str, query: tuple[str, np.ndarray, np.ndarray], where: str | None) -> list[str]:
    """The three paths side by side and fused, as ``SearchService.ranked`` runs them."""
    words, text_vec, clip_vec = query
    paths = await asyncio.gather(
        index.full_text(account, words, where, CANDIDATES),
        index.nearest(account, "text_vec", text_vec, where, CANDIDATES, -1.0),
        index.nearest(account, "clip_vec", clip_vec, where, CANDIDATES, -1.0),
    )
    return [i for i, _ in rrf([[i for i, _ in found] for found in paths])[:10]]


async def recall(index: SearchIndex, account: str, queries: list[np.ndarray], where: str | None) -> float:
    table, hits, total = await index.table_for(account), 0, 0
    for vector in queries:
        ann = {asset_id for asset_id, _ in await index.nearest(account, "clip_vec", vector, where, 10, -1.0)}
        exact_query = table.vector_search(vector).column("clip_vec").distance_type("cosine").bypass_vector_index()
        if where:
            exact_query = exact_query.where(where)
        exact = {row["id"] for row in await exact_query.select(["id"]).limit(10).to_list()}
        hits, total = hits + len(ann & exact), total + len(exact)
    return hits / max(total, 1)


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"p50 {statistics.median(ordered):7.2f} ms   p99 {ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]:7.2f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=50, help="accounts the rows are spread over")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data", type=Path, default=Path(".bench-data"))
    args = parser.parse_args()
    accounts = [f"acct_{n:02d}" for n in range(args.accounts)]
    account = accounts[min(3, len(accounts) - 1)]  # the account every query runs as
    print(f"building {args.rows:,} rows in {args.accounts} accounts")
    index = await build(args.data / f"search-{args.rows}-{args.accounts}a", args.rows, accounts)
    rng = np.random.default_rng(11)
    random.seed(11)
    table = await index.table_for(account)
    sample = await table.query().select(["text_vec", "clip_vec"]).limit(args.queries).to_list()
    # Queries near stored rows (a stored vector plus noise), as a real query is near its answers.
    noisy = [(" ".join(random.choices(WORDS, k=3)),
              _near(np.asarray(r["text_vec"]), rng), _near(np.asarray(r["clip_vec"]), rng)) for r in sample]
    halfway = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=args.rows // 2)  # rows are a minute apart
    filtered = where_clause(SearchFilters(type="document", date_after=halfway, tags=[WORDS[2]]))
    recent = where_clause(SearchFilters(date_after=halfway))  # about half of the account's rows
    await hybrid(index, account, noisy[0], None)  # warm caches once
    results = {
        "vector (CLIP, one account)": await timed(lambda q: index.nearest(account, "clip_vec", q[2], None, 10, -1.0), noisy),
        "full text (one account)": await timed(lambda q: index.full_text(account, q[0], None, 10), noisy),
        "hybrid (fts + 2 vectors, RRF)": await timed(lambda q: hybrid(index, account, q, None), noisy),
        "hybrid, date filter (~50%)": await timed(lambda q: hybrid(index, account, q, recent), noisy),
        "filtered hybrid (type+date+tag)": await timed(lambda q: hybrid(index, account, q, filtered), noisy),
    }
    print(f"\nrows {await index.count_all():,} in {len(await index.account_tables())} account tables; "
          f"queries {len(noisy)} as {account} ({await index.count(account):,} rows)")
    for name, samples in results.items():
        print(f"{name:34s} {percentiles(samples)}")
    queries = [q[2] for q in noisy[:50]]
    print(f"recall@10 vector index vs exact (one account): {await recall(index, account, queries, None):.3f}")
    print(f"recall@10 vector index vs exact (date filter): {await recall(index, account, queries, recent):.3f}")
    print(f"recall@10 vector index vs exact (filtered):    {await recall(index, account, queries, filtered):.3f}")


def _near(vector: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    moved = vector + rng.standard_normal(vector.shape).astype(np.float32) * 0.02
    return (moved / np.linalg.norm(moved)).astype(np.float32)


if __name__ == "__main__":
    asyncio.run(main())
