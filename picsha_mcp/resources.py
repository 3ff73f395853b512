"""MCP resources: ``picsha://assets/{id}`` (JSON), ``.../preview`` and ``.../render?...`` (capped images)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, urlsplit

from mcp_types import ListResourcesResult, Resource, ResourceTemplate

from engine import Engine
from engine.assets import ListQuery
from engine.assets.models import MAX_PAGE
from engine.auth import Principal
from engine.errors import InvalidInput
from engine.numerals import ascii_int
from engine.render import RenderParams

PAGE_SIZE = 50
JSON = "application/json"

RESOURCE_TEMPLATES = (
    ResourceTemplate(
        uri_template="picsha://assets/{id}", name="asset", title="Asset JSON", mime_type=JSON,
        description="One asset's JSON (the same model as get_asset).",
    ),
    ResourceTemplate(
        uri_template="picsha://assets/{id}/preview", name="asset-preview", title="Asset preview",
        mime_type="image/webp",
        description="The asset as an image sized for a model (at most 1568 px and 800 KB).",
    ),
    ResourceTemplate(
        uri_template="picsha://assets/{id}/render{?w,h,fit,gravity,format}", name="asset-render",
        title="Rendered asset",
        description="A render sized for a model; any render_asset parameter may be given in the query.",
    ),
)


class View(StrEnum):
    ASSET = "asset"
    PREVIEW = "preview"
    RENDER = "render"


@dataclass(frozen=True)
class Target:
    asset_id: str
    view: View
    query: dict[str, str]


def parse_uri(uri: str) -> Target:
    parts = urlsplit(uri)
    segments = [segment for segment in parts.path.split("/") if segment]
    views = {"preview": View.PREVIEW, "render": View.RENDER}
    if parts.scheme != "picsha" or parts.netloc != "assets" or not 1 <= len(segments) <= 2:
        raise _unknown(uri)
    if len(segments) == 2 and segments[1] not in views:
        raise _unknown(uri)
    view = views[segments[1]] if len(segments) == 2 else View.ASSET
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if query and view is not View.RENDER:
        raise InvalidInput(f"{uri!r} takes no query; only .../render does.", code="resource_uri_invalid")
    return Target(segments[0], view, query)


def _unknown(uri: str) -> InvalidInput:
    return InvalidInput(
        f"Unknown resource {uri!r}. Resources: picsha://assets/{{id}}, picsha://assets/{{id}}/preview, "
        "picsha://assets/{id}/render?w=..&h=..", code="resource_not_found",
    )


class AssetResources:
    """The resource views of one caller's assets; every read goes through the engine with their principal."""

    def __init__(self, engine: Engine, principal: Principal):
        self.engine = engine
        self.principal = principal

    async def page(self, cursor: str | None) -> ListResourcesResult:
        page = 1 if cursor is None else ascii_int(cursor)
        if page is None or not 1 <= page <= MAX_PAGE:
            raise InvalidInput(f"Invalid cursor {cursor!r}: pass back a nextCursor as given.", code="cursor_invalid")
        found = await self.engine.assets.list(self.principal, ListQuery(page=page, page_size=PAGE_SIZE))
        resources = [
            Resource(uri=f"picsha://assets/{asset.id}", name=asset.filename, mime_type=JSON,
                     description=f"{asset.type.value} {asset.meta.format}, {asset.meta.size} bytes")
            for asset in found.items
        ]
        more = page * PAGE_SIZE < found.total
        return ListResourcesResult(resources=resources, next_cursor=str(page + 1) if more else None)

    async def read(self, target: Target) -> tuple[str | bytes, str]:
        if target.view is View.ASSET:
            asset = await self.engine.assets.get(self.principal, target.asset_id)
            return asset.model_dump_json(), JSON
        if target.view is View.PREVIEW:
            preview = await self.engine.previews.of_asset(self.principal, target.asset_id)
        else:
            params = RenderParams.from_query(target.query)
            preview = await self.engine.previews.of_render(self.principal, target.asset_id, params)
        return preview.data, preview.mime_type
