"""Search tools: find assets by meaning, words and filters."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import Field

from engine.assets.models import ListQuery, SortField, SortOrder
from engine.errors import InvalidInput
from engine.library.models import LibraryFilter
from engine.search.models import SearchHit, SearchRequest
from engine.usage import UsageKind
from engine.auth.scopes import Scope
from tools_manifest.spec import Cost, Hints, ImageAttachment, ToolOutput, ToolSpec
from tools_manifest.views import PREVIEW_HELP, PreviewChoice, ViewOptions, preview_side, view

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal

MAX_PREVIEWS = 5  # images a single answer may carry, each within the preview caps
WHY = {"fts": "words", "text_vector": "meaning", "clip": "image", "filter": "filters"}


class Order(StrEnum):
    RELEVANCE = "relevance"
    NEWEST = "newest"
    OLDEST = "oldest"
    LARGEST = "largest"
    SMALLEST = "smallest"


ORDERS = {Order.NEWEST: (SortField.TAKEN_AT, SortOrder.DESC), Order.OLDEST: (SortField.TAKEN_AT, SortOrder.ASC),
          Order.LARGEST: (SortField.SIZE, SortOrder.DESC), Order.SMALLEST: (SortField.SIZE, SortOrder.ASC)}
LISTED_FILTERS = {"type", "status", "taken_after", "taken_before", "color", "color_distance"}


class SearchAssetsInput(SearchRequest, ViewOptions):
    preview: PreviewChoice = Field(default="none", description=f"{PREVIEW_HELP} For the first {MAX_PREVIEWS} hits.")
    sort: Order = Field(default=Order.RELEVANCE, description="Else by taken time or size; query matches names.")


class SearchAssetsOutput(ToolOutput):
    results: list[dict[str, Any]] = Field(
        description="Best first: brief rows, with query words also score (1 = best) and why (words, meaning, image)."
    )
    total: int = Field(description="Matches before paging.")
    query: str = Field(description="The words searched for after filters were lifted out.")
    filters: dict[str, Any] = Field(description="The filters applied (given plus parsed from the query).")
    warming: list[str] = Field(
        default_factory=list, exclude_if=lambda skipped: not skipped,  # present only while a model loads
        description="Meaning paths skipped while their model loads (seconds after start): search again for them.",
    )


def _why(hit: SearchHit) -> str:
    return "+".join(WHY.get(path, path) for path in hit.matched)


async def _sorted(engine: Engine, principal: Principal, given: SearchAssetsInput) -> SearchAssetsOutput:
    """The library in one order (what list_assets did): filters the catalog holds, ``query`` as words of the
    filename, description and alt text."""
    filters = given.filters.model_dump(exclude_defaults=True)
    if set(filters) - LISTED_FILTERS or given.offset % given.limit:
        raise InvalidInput(f"sort {given.sort.value} works with the filters {', '.join(sorted(LISTED_FILTERS))} and "
                           "an offset that is a multiple of limit; use sort: relevance for the others.",
                           code="search_sort_filters")
    sort, order = ORDERS[given.sort]
    f = given.filters
    query = ListQuery(page=given.offset // given.limit + 1, page_size=given.limit, q=given.query or None, type=f.type,
                      status=f.status, taken_after=f.taken_after, taken_before=f.taken_before, sort=sort, order=order)
    page = await engine.library.list(principal, query, LibraryFilter(color=f.color, color_distance=f.color_distance))
    results = [view(asset, given) for asset in page.items]
    return SearchAssetsOutput(results=results, total=page.total, query=given.query, filters=filters)


async def search_assets(engine: Engine, principal: Principal, given: SearchAssetsInput) -> SearchAssetsOutput:
    if given.sort is not Order.RELEVANCE:
        return await _sorted(engine, principal, given)
    request = SearchRequest(**given.model_dump(include=set(SearchRequest.model_fields)))
    async with engine.admission.searches.enter():  # the same places as REST searches: full is search_busy
        found = await engine.search.search(principal, request)
    assets = {asset.id: asset for asset in await engine.assets.get_many(principal, [hit.id for hit in found.results])}
    ranked = bool(found.query)  # without words every row is a plain filter match: no score to tell
    results = [
        view(assets[hit.id], given) | ({"score": round(hit.score, 3), "why": _why(hit)} if ranked else {})
        for hit in found.results if hit.id in assets
    ]
    output = SearchAssetsOutput(
        results=results, total=found.total, query=found.query,
        filters=found.filters.model_dump(mode="json", exclude_defaults=True), warming=found.warming,
    )
    side = preview_side(given.preview)
    if side is not None:
        for hit in found.results[:MAX_PREVIEWS]:
            if hit.url:
                preview = await engine.previews.of_asset(principal, hit.id, max_side=side)
                output.attach(ImageAttachment(data=preview.data, mime_type=preview.mime_type))
    return output


TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        id="search_assets",
        scope=Scope.SEARCH,
        action="search",
        title="Search assets",
        description=(
            "Find images and documents by meaning and by their words (OCR text, captions, tags, filenames, "
            "places). Plain-language filters ('photos', 'taken last summer', 'in Cambridge') are lifted out of "
            "the query; explicit filters win. Returns brief rows, best first, with score and why; weak matches "
            "are left out. preview: thumb adds small images of the first hits. No query: everything, by filters."
        ),
        example={"query": "photos of the team meeting in Cambridge", "limit": 5},
        input=SearchAssetsInput,
        output=SearchAssetsOutput,
        hints=Hints(read_only=True, destructive=False, idempotent=True, open_world=False),
        cost=Cost(billed_as=[UsageKind.RENDER], note="free; previews may render (and bill) a thumbnail once"),
        run=search_assets,
    ),
]
