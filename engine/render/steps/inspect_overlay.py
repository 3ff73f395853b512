"""Step: the watermark image gets the same header-only checks as the source, before any pixel is decoded.

A watermark must be a raster image in a format libvips reads itself. Not SVG: its look depends on fonts
and references that are never loaded here, and a logo is easily stored once as PNG. Not PDF, HEIC or text.
The file then goes through ``inspect_source`` as if it were the source: the loader libvips would pick must
be the one the sniffed format names, and its pixel count must be within the render limit.
"""

from __future__ import annotations

from engine.errors import InvalidInput, PicshaError
from engine.render.context import RenderContext, Source
from engine.render.params import RenderParams
from engine.render.steps.inspect_source import inspect_source

WATERMARK_FORMATS = ("png", "jpeg", "webp", "avif", "gif", "tiff")


def require_watermark_format(fmt: str, asset_id: str | None) -> None:
    if fmt not in WATERMARK_FORMATS:
        named = f"The watermark asset {asset_id}" if asset_id else "The watermark asset"
        raise InvalidInput(
            f"{named} is {fmt}; a watermark must be a raster image ({', '.join(WATERMARK_FORMATS)}).",
            code="watermark_asset_not_image", param="watermark_asset", valid=list(WATERMARK_FORMATS),
        )


def inspect_overlay(ctx: RenderContext) -> None:
    overlay = ctx.source.overlay
    if overlay is None:
        return
    require_watermark_format(overlay.format, ctx.params.watermark_asset)
    probe = RenderContext(
        params=RenderParams(), source=Source(path=overlay.path, format=overlay.format), settings=ctx.settings,
        output_format="png",  # a still image: one frame is read
    )
    try:
        inspect_source(probe)
    except PicshaError as error:
        raise PicshaError(
            f"The watermark asset: {error.message}", code=error.code, status=error.status,
            **(error.details | {"param": "watermark_asset"}),
        ) from error
