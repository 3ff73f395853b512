"""Step: encode to the output format, with ``q`` (or a per-format default) and metadata kept or stripped."""

from __future__ import annotations

from typing import Any

import pyvips

from engine.render.context import RenderContext

AUTO_QUALITY = {"webp": 80, "avif": 55, "jpeg": 82}
CONTENT_TYPES = {
    "webp": "image/webp", "avif": "image/avif", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
}


def encode(ctx: RenderContext) -> None:
    fmt = ctx.output_format
    keep = pyvips.enums.ForeignKeep.ICC if ctx.params.strip else pyvips.enums.ForeignKeep.ALL
    options: dict[str, Any] = {"keep": keep}
    quality = ctx.params.q if ctx.params.q != "auto" else AUTO_QUALITY.get(fmt)
    if fmt in AUTO_QUALITY:
        options["Q"] = quality
    if fmt == "avif":
        options["compression"] = "av1"
    options |= ctx.settings.encoder_options(fmt)
    if fmt == "png":
        options["compression"] = 6
    suffix = {"avif": ".avif", "jpeg": ".jpg"}.get(fmt, f".{fmt}")
    image = ctx.img
    if not ctx.animated and image.get_typeof("page-height"):
        image = image.copy()
        image.remove("page-height")
    ctx.data = image.write_to_buffer(suffix, **options)
    ctx.content_type = CONTENT_TYPES[fmt]
