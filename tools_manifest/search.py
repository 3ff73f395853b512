"""Search tools: find assets by meaning, words and filters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

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


class SearchAssetsInput(SearchRequest, ViewOptions):
    preview: PreviewChoice = Field(default="none", description=f"{PREVIEW_HELP} For the first {MAX_PREVIEWS} hits.")


class SearchAssetsOutput(ToolOutput):
    results: list[dict[str, Any]] = Field(
        description="Best first: brief rows plus score (1 = best possible) and why (words, meaning, image, filters)."
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


async def search_assets(engine: Engine, principal: Principal, given: SearchAssetsInput) -> SearchAssetsOutput:
    request = SearchRequest(**given.model_dump(include=set(SearchRequest.model_fields)))
    async with engine.admission.searches.enter():  # the same places as REST searches: full is search_busy
        found = await engine.search.search(principal, request)
    assets = {asset.id: asset for asset in await engine.assets.get_many(principal, [hit.id for hit in found.results])}
    results = [
        view(assets[hit.id], given) | {"score": round(hit.score, 3), "why": _why(hit)}
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
            "are left out. preview: thumb adds small images of the first hits."
        ),
        example={"query": "photos of the team meeting in Cambridge", "limit": 5},
        input=SearchAssetsInput,
        output=SearchAssetsOutput,
        hints=Hints(read_only=True, destructive=False, idempotent=True, open_world=False),
        cost=Cost(billed_as=[UsageKind.RENDER], note="free; previews may render (and bill) a thumbnail once"),
        run=search_assets,
    ),
]
