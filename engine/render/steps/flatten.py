"""Step: settle the output format (``legacy`` -> PNG with alpha, JPEG without) and make the pixels fit it:
8-bit sRGB, alpha flattened onto ``bg`` (white by default) for JPEG."""

from __future__ import annotations

from engine.render.colour import rgba
from engine.render.context import RenderContext


def flatten(ctx: RenderContext) -> None:
    image = ctx.img
    if ctx.output_format == "legacy":
        ctx.output_format = "png" if image.hasalpha() else "jpeg"
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    if ctx.output_format == "jpeg" and image.hasalpha():
        colour = rgba(ctx.params.bg)[:3] if ctx.params.bg else [255, 255, 255]
        image = image.flatten(background=colour if image.bands > 2 else colour[:1]).cast("uchar")
    ctx.image = image
