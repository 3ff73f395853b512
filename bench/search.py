"""Search index latency and recall on a synthetic LanceDB table.

    python bench/search.py --rows 1000000

Builds (once per row count, kept in .bench-data/search-<rows>/) a table with Picsha's index schema:
random unit 512-d (CLIP) and 384-d (MiniLM) vectors, generated text, 50 accounts, three types, tags and
dates; then the same indexes the server keeps (native full-text, scalar indexes on the filter columns,
IVF_HNSW_SQ on both vector columns). Queries go through ``engine.search`` (``SearchIndex`` and ``rrf``),
with the query vectors given (model time is measured by bench/enrich.py). Prints p50/p99 latency of
vector, full-text, hybrid (both vector paths + full text, fused) and filtered hybrid queries, and
recall@10 of the vector index against exact search on the same filters.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.search.filters import where_clause  # noqa: E402
from engine.search.fusion import rrf  # noqa: E402
from engine.search.index import SearchIndex, to_micros  # noqa: E402
from engine.search.models import SearchFilters  # noqa: E402

WORDS = ("harbour boat sunset beach mountain invoice receipt contract meeting team cat dog garden street "
         "market bridge river forest snow city night portrait family birthday wedding concert museum train "
         "airport kitchen recipe report budget quarter revenue slide poster menu ticket passport map").split()
ACCOUNTS = [f"acct_{n:02d}" for n in range(50)]
TYPES = ["image", "image", "image", "document", "text"]
BATCH = 50_000


def unit_rows(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    matrix = rng.standard_normal((count, dim), dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def batch_records(rng: np.random.Generator, start: int, count: int, clip_dim: int) -> list[dict[str, object]]:
    clip, text = unit_rows(rng, count, clip_dim), unit_rows(rng, count, 384)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    records = []
    for i in range(count):
        words = " ".join(random.choices(WORDS, k=12))
        records.append({
            "id": f"as_{start + i:010d}", "account_id": ACCOUNTS[(start + i) % len(ACCOUNTS)],
            "type": TYPES[(start + i) % len(TYPES)], "status": "ready",
            "created_us": to_micros(base + timedelta(minutes=start + i)), "filename": f"file_{start + i}.jpg",
            "tags": random.sample(WORDS[:10], 2), "place": None, "lat": None, "lon": None, "has_thumbnail": True,
            "text": words, "has_text_vec": True, "text_vec": text[i], "has_clip_vec": True, "clip_vec": clip[i],
        })
    return records


def build(folder: Path, rows: int) -> SearchIndex:
    marker = folder / "complete"
    if marker.exists():
        return SearchIndex(str(folder), "assets", clip_dim=512)
    shutil.rmtree(folder, ignore_errors=True)
    index = SearchIndex(str(folder), "assets", clip_dim=512)
    rng, started = np.random.default_rng(7), time.perf_counter()
    random.seed(7)
    for start in range(0, rows, BATCH):
        index.add_many(batch_records(rng, start, min(BATCH, rows - start), 512))
        print(f"  wrote {min(start + BATCH, rows):,} rows ({time.perf_counter() - started:.0f} s)", flush=True)
    index.vector_index_threshold = 0
    index.maintain()  # compaction, full-text and scalar index refresh, IVF_HNSW_SQ on both vector columns
    print(f"  indexed in {time.perf_counter() - started:.0f} s total", flush=True)
    marker.write_text(str(rows))
    return index


def timed(fn: object, runs: list[object]) -> list[float]:
    out = []
    for item in runs:
        started = time.perf_counter()
        fn(item)  # type: ignore[operator]
        out.append((time.perf_counter() - started) * 1000)
    return out


def hybrid(index: SearchIndex, pool: ThreadPoolExecutor, query: tuple[str, np.ndarray, np.ndarray], where: str) -> list[str]:
    words, text_vec, clip_vec = query
    paths = [
        pool.submit(index.full_text, words, where, 50),
        pool.submit(index.nearest, "text_vec", text_vec, where, 50, -1.0),
        pool.submit(index.nearest, "clip_vec", clip_vec, where, 50, -1.0),
    ]
    return [i for i, _ in rrf([[i for i, _ in f.result()] for f in paths])[:10]]


def recall(index: SearchIndex, queries: list[np.ndarray], where: str) -> float:
    hits = total = 0
    for vector in queries:
        ann = {row["id"] for row in index.table.search(vector, vector_column_name="clip_vec").distance_type("cosine")
               .where(where, prefilter=True).select(["id"]).limit(10).to_list()}
        exact = {row["id"] for row in index.table.search(vector, vector_column_name="clip_vec").distance_type("cosine")
                 .where(where, prefilter=True).bypass_vector_index().select(["id"]).limit(10).to_list()}
        hits, total = hits + len(ann & exact), total + len(exact)
    return hits / max(total, 1)


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"p50 {statistics.median(ordered):7.2f} ms   p99 {ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]:7.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data", type=Path, default=Path(".bench-data"))
    args = parser.parse_args()
    print(f"building {args.rows:,} rows")
    index = build(args.data / f"search-{args.rows}", args.rows)
    rng = np.random.default_rng(11)
    random.seed(11)
    sample = index.table.search().select(["text_vec", "clip_vec"]).limit(args.queries).to_list()
    # Queries near stored rows (a stored vector plus noise), as a real query is near its answers.
    noisy = [(" ".join(random.choices(WORDS, k=3)),
              _near(np.asarray(r["text_vec"]), rng), _near(np.asarray(r["clip_vec"]), rng)) for r in sample]
    account = where_clause(ACCOUNTS[3], SearchFilters())
    halfway = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=args.rows // 2)  # rows are a minute apart
    filtered = where_clause(ACCOUNTS[3], SearchFilters(type="document", date_after=halfway, tags=[WORDS[2]]))
    with ThreadPoolExecutor(3) as pool:
        hybrid(index, pool, noisy[0], account)  # warm caches once
        results = {
            "vector (CLIP, account filter)": timed(lambda q: index.nearest("clip_vec", q[2], account, 10, -1.0), noisy),
            "full text (account filter)": timed(lambda q: index.full_text(q[0], account, 10), noisy),
            "hybrid (fts + 2 vectors, RRF)": timed(lambda q: hybrid(index, pool, q, account), noisy),
            "filtered hybrid (type+date+tag)": timed(lambda q: hybrid(index, pool, q, filtered), noisy),
        }
    print(f"\nrows {index.count():,}   queries {len(noisy)}")
    for name, samples in results.items():
        print(f"{name:34s} {percentiles(samples)}")
    print(f"recall@10 vector index vs exact (account filter): {recall(index, [q[2] for q in noisy[:50]], account):.3f}")
    print(f"recall@10 vector index vs exact (filtered):       {recall(index, [q[2] for q in noisy[:50]], filtered):.3f}")


def _near(vector: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    moved = vector + rng.standard_normal(vector.shape).astype(np.float32) * 0.02
    return (moved / np.linalg.norm(moved)).astype(np.float32)


if __name__ == "__main__":
    main()
