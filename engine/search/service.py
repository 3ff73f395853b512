"""Hybrid search: full-text and vector paths, each filtered inside the index, fused by RRF."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

import anyio
import sqlalchemy as sa

from engine.assets.links import AssetLinks
from engine.assets.models import Asset, AssetPage, ListQuery
from engine.assets.service import AssetService
from engine.assets.taken import joined
from engine.auth.keys import Principal
from engine.catalog import Catalog, tables
from engine.enrich import ModelStore
from engine.enrich.model_store import CLIP, TEXT
from engine.search.filters import where_clause
from engine.search.fusion import rrf
from engine.search.index import ROW_COLUMNS, SearchIndex, _and, _id_in, from_micros
from engine.search.models import DATE_PAIRS, SearchFilters, SearchHit, SearchRequest, SearchResponse
from engine.search.query_parser import parse_query
from engine.search.settings import SearchSettings

log = logging.getLogger("picsha.search")

T = TypeVar("T")
Refiner = Callable[[str, str, SearchFilters], Awaitable[SearchFilters]]
"""(account_id, query, filters parsed so far) -> refined filters."""


def merge_filters(given: SearchFilters, query: str) -> tuple[str, SearchFilters]:
    """Filters the caller gave win; the parser only fills the ones left empty. A date range is one filter:
    a caller who gave either bound of the taken (or uploaded) range keeps the whole range as given."""
    parsed = parse_query(query)
    update: dict[str, object] = {"type": given.type or parsed.type, "place": given.place or parsed.place}
    for after, before in DATE_PAIRS:
        if getattr(given, after) is None and getattr(given, before) is None:
            update |= {after: getattr(parsed, after), before: getattr(parsed, before)}
    return parsed.text, given.model_copy(update=update)


class Ranked(NamedTuple):
    hits: list[tuple[str, float]]  # asset id, fused score; best first
    paths: list[str]  # the paths that ran
    matched: dict[str, list[str]]  # asset id -> the paths that found it
    warming: list[str] = []  # paths skipped because their model is still loading in the background


class SearchService:
    def __init__(self, *, index: SearchIndex, settings: SearchSettings, models: ModelStore, links: AssetLinks,
                 catalog: Catalog, assets: AssetService, refiner: Refiner | None = None):
        self.index = index
        self.settings = settings
        self.models = models
        self.links = links
        self.catalog = catalog
        self.assets = assets
        self.refiner = refiner
        self.limiter = anyio.CapacityLimiter(4)
        self._vectors_seen: set[tuple[str, str]] = set()  # (account, flag) once any row has that vector
        # (account, hex colour, distance) -> ids of assets with it in their palette; set by the engine (library)
        self.colours: Callable[[str, str, float], Awaitable[list[str]]] | None = None

    async def _run(self, fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn, limiter=self.limiter)

    async def _where(self, account_id: str, filters: SearchFilters) -> str | None:
        """The index predicate; a colour filter becomes the ids whose stored palette has it (``colours``)."""
        where = where_clause(filters)
        if filters.color and self.colours is not None:
            ids = await self.colours(account_id, filters.color, filters.color_distance)
            where = _and(where, _id_in(ids) if ids else "id IS NULL")
        return where

    async def ranked(self, account_id: str, query: str, filters: SearchFilters) -> Ranked:
        """Every match (up to the candidate pool), best first, the paths that ran and which found each match."""
        where = await self._where(account_id, filters)
        if not query.strip():
            ids = await self.index.filtered(account_id, where, self.settings.candidates)
            return Ranked([(i, 1.0) for i in ids], ["filter"], {i: ["filter"] for i in ids})
        rankings: dict[str, list[str]] = {}
        warming: list[str] = []  # a model still loading is not waited for: the other paths answer now
        similarities: dict[str, dict[str, float]] = {}

        async def path(name: str, search: Callable[[], Awaitable[list[tuple[str, float]]]]) -> None:
            found = await search()
            rankings[name] = [asset_id for asset_id, _ in found]
            similarities[name] = dict(found)

        async with anyio.create_task_group() as group:  # the paths run side by side
            group.start_soon(path, "fts", lambda: self.index.full_text(account_id, query, where, self.settings.candidates))
            if await self._has_vectors(account_id, "has_text_vec"):
                if self.models.available(TEXT):
                    group.start_soon(path, "text_vector", lambda: self._text_path(account_id, query, where))
                else:
                    warming.append(TEXT)
            if await self._has_vectors(account_id, "has_clip_vec"):
                if not self.models.available(CLIP):
                    warming.append(CLIP)
                elif await self._run(self.models.clip) is not None:
                    group.start_soon(path, "clip", lambda: self._clip_path(account_id, query, where))
        names = [name for name in ("fts", "text_vector", "clip") if name in rankings]
        fused = rrf([rankings[n] for n in names if rankings[n]] or [[]], k=self.settings.rrf_k)
        fused = self._without_filler(fused, similarities)
        found_by = {n: set(rankings[n]) for n in names}
        return Ranked(fused, names, {i: [n for n in names if i in found_by[n]] for i, _ in fused}, warming)

    def _without_filler(self, fused: list[tuple[str, float]],
                        similarities: dict[str, dict[str, float]]) -> list[tuple[str, float]]:
        """``fused`` without hits found only by meaning whose similarity is far below the best on every vector
        path that found them (``min_relative_score``). Fused scores cannot tell: they are ranks, so a hit that
        one of two paths ranked third scores about half the top whether it is close or barely above the noise."""
        cut = self.settings.min_relative_score
        if cut <= 0 or len(fused) < 2:
            return fused
        floors = {"text_vector": self.settings.min_text_similarity, "clip": self.settings.min_clip_similarity}
        strength: dict[str, float] = {}
        for name, floor in floors.items():
            found = similarities.get(name) or {}
            best = max(found.values(), default=floor)
            for asset_id, similarity in found.items():
                share = (similarity - floor) / (best - floor) if best - floor > 1e-9 else 1.0
                strength[asset_id] = max(strength.get(asset_id, 0.0), share)
        by_words = similarities.get("fts") or {}
        return [hit for rank, hit in enumerate(fused)
                if rank == 0 or hit[0] in by_words or strength.get(hit[0], 1.0) >= cut]

    async def _has_vectors(self, account_id: str, flag: str) -> bool:
        """Vectors exist once any upload asked for them; until then the model need not even load."""
        key = (account_id, flag)
        if key not in self._vectors_seen and await self.index.count(account_id, flag) > 0:
            self._vectors_seen.add(key)
        return key in self._vectors_seen

    async def _text_path(self, account_id: str, query: str, where: str | None) -> list[tuple[str, float]]:
        vector = await self._run(lambda: self.models.embed_texts([query])[0])
        return await self.index.nearest(
            account_id, "text_vec", vector, where, self.settings.candidates, self.settings.min_text_similarity)

    async def _clip_path(self, account_id: str, query: str, where: str | None) -> list[tuple[str, float]]:
        clip = await self._run(self.models.clip)
        if clip is None:
            return []
        vector = await self._run(lambda: clip.embed_texts([query])[0])
        return await self.index.nearest(
            account_id, "clip_vec", vector, where, self.settings.candidates, self.settings.min_clip_similarity)

    async def search(self, principal: Principal, request: SearchRequest) -> SearchResponse:
        text, filters = merge_filters(request.filters, request.query)
        if self.refiner is not None and self.settings.refine_with_claude and request.query.strip():
            try:
                refined = await self.refiner(principal.account_id, request.query, filters)
                given = set(request.filters.model_dump(exclude_defaults=True))
                for pair in DATE_PAIRS:  # a range given in part is the caller's whole range
                    given |= set(pair) if given & set(pair) else set()
                filters = refined.model_copy(update={k: getattr(request.filters, k) for k in given})  # given wins
            except Exception:  # refinement is a nicety; the rule-based filters stand without it
                log.warning("query refinement failed; using the parsed filters", exc_info=True)
        if not text:
            rows, total = await self._filter_page(principal.account_id, filters, offset=request.offset,
                                                  limit=request.limit, columns=ROW_COLUMNS)
            hits = [self._hit(row, 1.0, ["filter"]) for row in rows]
            return SearchResponse(results=hits, total=total, query=text, filters=filters, paths=["filter"])
        ranked = await self.ranked(principal.account_id, text, filters)
        paths, matched = ranked.paths, ranked.matched
        page = ranked.hits[request.offset : request.offset + request.limit]
        rows = await self.index.rows(principal.account_id, [i for i, _ in page])
        hits = [self._hit(rows[i], score, matched.get(i, paths)) for i, score in page if i in rows]
        return SearchResponse(results=hits, total=len(ranked.hits), query=text, filters=filters, paths=paths,
                              warming=ranked.warming)

    def _hit(self, row: dict[str, Any], score: float, matched: list[str]) -> SearchHit:
        urls = self.links.for_asset(str(row["id"]), has_thumbnail=bool(row["has_thumbnail"]))
        return SearchHit(
            id=str(row["id"]), score=score, url=urls.thumbnail, filename=str(row["filename"]), type=row["type"],
            tags=list(row["tags"] or []), created_at=from_micros(int(row["created_us"])), status=row["status"],
            taken_at=joined(from_micros(int(row["taken_us"])), row["taken_tz"]), matched=matched,
        )

    async def asset_page(self, principal: Principal, query: ListQuery) -> AssetPage:
        """``GET /v1/assets?q=``: the same search, pages of full assets in relevance order."""
        filters = SearchFilters(type=query.type, status=query.status, taken_after=query.taken_after,
                                taken_before=query.taken_before)
        text, filters = merge_filters(filters, query.q or "")
        start = (query.page - 1) * query.page_size
        if not text:
            rows, total = await self._filter_page(principal.account_id, filters, offset=start, limit=query.page_size,
                                                  columns=["id"])
            ids = [str(row["id"]) for row in rows]
        else:
            ranked = (await self.ranked(principal.account_id, text, filters)).hits
            ids, total = [i for i, _ in ranked[start : start + query.page_size]], len(ranked)
        items = await self._assets(principal, ids)
        return AssetPage(items=items, total=total, page=query.page, page_size=query.page_size)

    async def _filter_page(self, account_id: str, filters: SearchFilters, *, offset: int, limit: int,
                           columns: list[str]) -> tuple[list[dict[str, Any]], int]:
        """A query that is only filters: one page, newest first, sorted and cut inside the index, and the
        total counted there; the other matches never leave it."""
        where = await self._where(account_id, filters)
        rows = await self.index.filtered_rows(account_id, where, limit=limit, offset=offset, columns=columns)
        return rows, await self.index.count(account_id, where)

    async def _assets(self, principal: Principal, ids: list[str]) -> list[Asset]:
        if not ids:
            return []
        a = tables.assets
        async with self.catalog.connect() as conn:
            rows = (await conn.execute(sa.select(a).where(a.c.id.in_(ids), a.c.account_id == principal.account_id))).all()
            models = {asset.id: asset for asset in await self.assets.to_models(conn, rows)}
        return [models[i] for i in ids if i in models]
