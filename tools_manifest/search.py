"""Search tools: find assets by meaning, words and filters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from engine.search.models import SearchRequest, SearchResponse
from engine.usage import UsageKind
from tools_manifest.spec import Cost, Hints, ImageAttachment, ToolOutput, ToolSpec

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal

MAX_PREVIEWS = 5  # images a single answer may carry, each within the preview caps


class SearchAssetsInput(SearchRequest):
    include_previews: bool = Field(
        default=False, description=f"Also return small preview images of the first {MAX_PREVIEWS} results."
    )


class SearchAssetsOutput(SearchResponse, ToolOutput):
    pass


async def search_assets(engine: Engine, principal: Principal, given: SearchAssetsInput) -> SearchAssetsOutput:
    found = await engine.search.search(principal, SearchRequest(**given.model_dump(exclude={"include_previews"})))
    output = SearchAssetsOutput(**found.model_dump())
    if given.include_previews:
        for hit in found.results[:MAX_PREVIEWS]:
            if hit.url:
                preview = await engine.previews.of_asset(principal, hit.id)
                output.attach(ImageAttachment(data=preview.data, mime_type=preview.mime_type))
    return output


TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        id="search_assets",
        title="Search assets",
        description=(
            "Find the account's images and documents by meaning and by their words (OCR text, captions, "
            "summaries, tags, filenames, places). Write the query in plain language: filters such as "
            "'photos', 'last week' or 'in Cambridge' are lifted out of it; explicit filters (type, date_after, "
            "date_before, tags, near {lat, lon, km}, place, status) win over parsed ones. Returns ranked "
            "results with a signed thumbnail URL each; include_previews adds small preview images."
        ),
        example={"query": "photos of the team meeting in Cambridge", "limit": 5},
        input=SearchAssetsInput,
        output=SearchAssetsOutput,
        hints=Hints(read_only=True, destructive=False, idempotent=True, open_world=False),
        cost=Cost(billed_as=[UsageKind.RENDER], note="free; previews may render (and bill) a thumbnail once"),
        run=search_assets,
    ),
]
