"""Low-relevance filler: hits found only by a weak vector similarity are dropped, not padded to ``limit``.
A real LanceDB index with real MiniLM vectors of each row's words."""

from __future__ import annotations

from datetime import UTC, datetime

from engine import Engine
from engine.assets.models import ListQuery
from engine.auth import Principal
from engine.search.models import IndexRow, SearchRequest

STRONG = {"as_fetch": "golden retriever puppy playing fetch", "as_rug": "a golden retriever puppy asleep on a rug"}
# No word of the query, and a MiniLM similarity to it just above the noise floor (0.25 to 0.38).
WEAK = {"as_bowl": "a dog bowl", "as_leash": "dog leash and collar", "as_cub": "a lion cub",
        "as_receipt": "pet supplies store receipt", "as_vet": "veterinary clinic invoice",
        "as_kennel": "kennel club newsletter"}
UNRELATED = {"as_invoice": "tax invoice 2024", "as_car": "red sports car"}
QUERY = "golden retriever puppy"


async def index_words(engine: Engine, owner: Principal, rows: dict[str, str]) -> None:
    vectors = engine.search.models.embed_texts(list(rows.values()))
    for (asset_id, text), vector in zip(rows.items(), vectors, strict=True):
        await engine.search.index.upsert(IndexRow(
            id=asset_id, account_id=owner.account_id, type="image", status="ready", filename=f"{asset_id}.jpg",
            created_at=datetime(2025, 6, 1, tzinfo=UTC), text=text, text_vec=[float(v) for v in vector]))


async def test_weak_vector_hits_are_dropped_and_the_total_counts_what_is_returned(engine: Engine, owner: Principal) -> None:
    await index_words(engine, owner, STRONG | WEAK | UNRELATED)

    answer = await engine.search.search(owner, SearchRequest(query=QUERY, limit=10))
    assert [hit.id for hit in answer.results] == ["as_fetch", "as_rug"] and answer.total == 2
    assert answer.paths == ["fts", "text_vector"]
    second = await engine.search.search(owner, SearchRequest(query=QUERY, limit=1, offset=1))
    assert [hit.id for hit in second.results] == ["as_rug"] and second.total == 2
    assert (await engine.search.search(owner, SearchRequest(query=QUERY, limit=5, offset=2))).results == []
    page = await engine.search.asset_page(owner, ListQuery(q=QUERY, page_size=1))
    assert page.total == 2  # the same count through GET /v1/assets?q= (its items come from the catalog)

    # The weak ones were there to be found: with the cut off, the vector path pads the page with them.
    engine.search.settings.min_relative_score = 0.0
    padded = await engine.search.search(owner, SearchRequest(query=QUERY, limit=10))
    assert [hit.id for hit in padded.results][:2] == ["as_fetch", "as_rug"]
    assert {hit.id for hit in padded.results[2:]} == set(WEAK) and padded.total == 8


async def test_a_hit_the_words_match_stays_and_the_top_hit_always_stays(engine: Engine, owner: Principal) -> None:
    await index_words(engine, owner, STRONG | WEAK)
    # "collar" matches one weak row by its words: that row stays, however far its meaning is from the rest.
    mixed = await engine.search.search(owner, SearchRequest(query="golden retriever puppy collar", limit=10))
    found = {hit.id for hit in mixed.results}
    assert found >= {"as_fetch", "as_rug", "as_leash"} and not found & {"as_vet", "as_kennel", "as_receipt"}
    assert mixed.total == len(found)
    # Found only by meaning, all of them weak: the best of them is still an answer.
    alone = await engine.search.search(owner, SearchRequest(query="kitten", limit=10))
    assert alone.total == len(alone.results) >= 1 and "fts" in alone.paths
