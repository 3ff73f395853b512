"""Render tools: one asset at the size and format asked, as a signed URL, a resource link and a preview."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from engine.assets import AssetType
from engine.render.params import OutputFormat, RenderParams
from engine.usage import UsageKind
from tools_manifest.assets import ASSET_ID
from tools_manifest.calls import current_call
from engine.auth.scopes import Scope
from tools_manifest.spec import Cost, Hints, ImageAttachment, LinkAttachment, ToolOutput, ToolSpec
from tools_manifest.views import PREVIEW_HELP, PreviewChoice, preview_side

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal


# MCP has no Accept header: format=auto renders WebP, which every browser and every MCP host that shows
# images reads (AVIF is smaller but not every host decodes it; ask for it by name).
AUTO_FORMAT = OutputFormat.WEBP


# Accepted but not spelled out in the schema a model reads every turn: the description names them (and the
# image tools do the same work: rotate, watermark-text, ...). REST's render query documents all of them.
ADVANCED = ("focus", "rotate", "flip", "blur", "sharpen", "bg", "strip", "watermark", "watermark_asset",
            "watermark_position", "watermark_opacity", "watermark_size", "watermark_scale")


def _name_advanced_only(schema: dict[str, Any]) -> None:
    for name in ADVANCED:
        schema["properties"].pop(name, None)


class RenderAssetInput(RenderParams):
    """The asset id plus every render parameter (the same model as the REST render query)."""

    model_config = ConfigDict(json_schema_extra=_name_advanced_only)

    id: str = ASSET_ID
    format: OutputFormat = Field(default=OutputFormat.AUTO, description="auto = webp here (no Accept header).")
    download: SkipJsonSchema[bool] = False  # an HTTP answer's disposition: nothing to a tool
    preview: PreviewChoice = Field(default="thumb", description=PREVIEW_HELP)


class AssetSummary(BaseModel):
    id: str
    filename: str
    type: AssetType
    width: int | None = None
    height: int | None = None


class RenderAssetOutput(ToolOutput):
    asset: AssetSummary
    url: str = Field(description="Signed URL of the render; works without a key until it expires.")
    resource_uri: str = Field(description="picsha:// URI of this render's bytes (for clients that cannot fetch url).")
    format: str
    width: int | None = None
    height: int | None = None
    size: int = Field(description="Bytes of the render at url.")


def render_uri(asset_id: str, params: RenderParams, *, full: bool = False) -> str:
    """The resource URI of a render: a model-sized view, or with ``full`` the render's own bytes."""
    query = urlencode(params.to_query() | ({"full": "1"} if full else {}))
    return f"picsha://assets/{asset_id}/render" + (f"?{query}" if query else "")


async def render_asset(engine: Engine, principal: Principal, given: RenderAssetInput) -> RenderAssetOutput:
    values = given.model_dump(exclude={"id", "preview", "download"}, exclude_unset=True)
    params = RenderParams.parse(values)
    if params.format is OutputFormat.AUTO:
        params = params.model_copy(update={"format": AUTO_FORMAT})
    side = preview_side(given.preview)
    progress = current_call().progress
    await progress(0, 3, "rendering")
    result = await engine.render.render(given.id, params, principal=principal, accept=None)
    asset = await engine.assets.get(principal, given.id)
    uri = render_uri(given.id, params, full=True)
    output = RenderAssetOutput(
        asset=AssetSummary(
            id=asset.id, filename=asset.filename, type=asset.type, width=asset.meta.width, height=asset.meta.height
        ),
        url=engine.render.signed_url(given.id, params), resource_uri=uri, format=result.format,
        width=result.width, height=result.height, size=result.content.size,
    )
    output.attach(LinkAttachment(uri=uri, name=result.download_name, mime_type=result.content.content_type,
                                 description="This render's bytes."))
    if side is not None:
        await progress(1, 3, "making the preview")
        preview = await engine.previews.of_render(principal, given.id, params, max_side=side)
        output.attach(ImageAttachment(data=preview.data, mime_type=preview.mime_type))
    await progress(3, 3, "done")
    return output


TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        id="render_asset",
        scope=Scope.RENDER,
        title="Render an asset",
        description=(
            "Resize, crop, convert or watermark an image (or a PDF page) on the fly. Returns a signed URL of the "
            "render, its size and format, a picsha:// resource link and a preview (preview: none for just the "
            "link). Also takes rotate, flip (h|v|both), blur, sharpen, bg, strip, focus [x,y] and watermark "
            "(text; watermark_asset, _position, _opacity, _size, _scale)."
        ),
        example={"id": "as_2x9Kq", "w": 256, "h": 256, "fit": "cover", "format": "webp"},
        input=RenderAssetInput,
        output=RenderAssetOutput,
        hints=Hints(read_only=False, destructive=False, idempotent=True, open_world=False),
        cost=Cost(billed_as=[UsageKind.RENDER], note="render: one per new derivative; cached renders are free"),
        run=render_asset,
    ),
]
