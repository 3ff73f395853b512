"""MCP resources: ``picsha://assets/{id}`` (JSON), ``.../preview`` and ``.../render?...`` (images sized for a
model), ``.../original`` and ``.../render?...&full=1`` (the file's own bytes, for clients that cannot fetch
the signed URLs; capped by ``PICSHA_MCP__RESOURCE_MAX_BYTES``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, urlsplit

from mcp_types import ListResourcesResult, Resource, ResourceTemplate

from engine import Engine
from engine.assets import ListQuery
from engine.assets.models import MAX_PAGE
from engine.auth import Principal
from engine.errors import InvalidInput, TooLarge
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
        uri_template="picsha://assets/{id}/render{?w,h,fit,gravity,format,full}", name="asset-render",
        title="Rendered asset",
        description="A render sized for a model; any render_asset parameter may be given in the query. "
        "full=1: the render's own bytes at the size asked (capped like original).",
    ),
    ResourceTemplate(
        uri_template="picsha://assets/{id}/original", name="asset-original", title="Original file",
        description="The file's bytes as uploaded, with its MIME type, up to a size cap (20 MiB by default); "
        "larger files only through the asset's urls.original.",
    ),
)


class View(StrEnum):
    ASSET = "asset"
    PREVIEW = "preview"
    RENDER = "render"
    ORIGINAL = "original"


@dataclass(frozen=True)
class Target:
    asset_id: str
    view: View
    query: dict[str, str]
    full: bool = False  # render: the file's bytes, not a model-sized image


FULL_VALUES = {"1": True, "true": True, "0": False, "false": False}


def asset_uri(asset_id: str) -> str:
    """The URI of an asset's JSON, the one clients subscribe to."""
    return f"picsha://assets/{asset_id}"


def parse_uri(uri: str) -> Target:
    parts = urlsplit(uri)
    segments = [segment for segment in parts.path.split("/") if segment]
    views = {"preview": View.PREVIEW, "render": View.RENDER, "original": View.ORIGINAL}
    if parts.scheme != "picsha" or parts.netloc != "assets" or not 1 <= len(segments) <= 2:
        raise _unknown(uri)
    if len(segments) == 2 and segments[1] not in views:
        raise _unknown(uri)
    view = views[segments[1]] if len(segments) == 2 else View.ASSET
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if query and view is not View.RENDER:
        raise InvalidInput(f"{uri!r} takes no query; only .../render does.", code="resource_uri_invalid")
    full = query.pop("full", "0")
    if full not in FULL_VALUES:
        raise InvalidInput(f"Invalid full={full!r} in {uri!r}. Valid: 1, true, 0, false.",
                           code="resource_uri_invalid", param="full", valid=list(FULL_VALUES))
    return Target(segments[0], view, query, full=FULL_VALUES[full])


def _unknown(uri: str) -> InvalidInput:
    return InvalidInput(
        f"Unknown resource {uri!r}. Resources: picsha://assets/{{id}}, picsha://assets/{{id}}/preview, "
        "picsha://assets/{id}/render?w=..&h=..(&full=1), picsha://assets/{id}/original", code="resource_not_found",
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
        if target.view is View.ORIGINAL:
            return await self._original(target.asset_id)
        if target.view is View.PREVIEW:
            preview = await self.engine.previews.of_asset(self.principal, target.asset_id)
            return preview.data, preview.mime_type
        params = RenderParams.from_query(target.query)
        if target.full:
            return await self._full_render(target.asset_id, params)
        preview = await self.engine.previews.of_render(self.principal, target.asset_id, params)
        return preview.data, preview.mime_type

    async def _original(self, asset_id: str) -> tuple[bytes, str]:
        content = await self.engine.assets.content(asset_id, self.principal)
        self._within_cap(content.size, f"The original of {asset_id}", lambda: self.engine.links.content(asset_id))
        # through the same stream as a download, so the bytes are billed as delivered bandwidth
        data = b"".join([chunk async for chunk in self.engine.assets.stream(content)])
        return data, content.content_type

    async def _full_render(self, asset_id: str, params: RenderParams) -> tuple[bytes, str]:
        render = self.engine.render
        result = await render.render(asset_id, params, principal=self.principal, accept=None)
        self._within_cap(result.content.size, f"This render of {asset_id}", lambda: render.signed_url(asset_id, params))
        data = await render.read(result)
        await render.delivered(result)
        return data, result.content.content_type

    def _within_cap(self, size: int, what: str, url: Callable[[], str]) -> None:
        """JSON-RPC carries resource bytes as base64 in one message: past the cap, the URL is the way."""
        cap = self.engine.settings.mcp.resource_max_bytes
        if size > cap:
            link = url()
            raise TooLarge(
                f"{what} is {size:,} bytes, over the {cap:,}-byte cap on resource reads "
                f"(PICSHA_MCP__RESOURCE_MAX_BYTES); fetch it from {link}",
                code="resource_too_large", size=size, limit=cap, setting="PICSHA_MCP__RESOURCE_MAX_BYTES", url=link,
            )
