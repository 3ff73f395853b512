"""Step: Gaussian ``blur`` and ``sharpen``, on the colour bands only (alpha is left as it is)."""

from __future__ import annotations

from collections.abc import Callable

import pyvips

from engine.render.context import RenderContext


def effects(ctx: RenderContext) -> None:
    blur, sharpen = ctx.params.blur, ctx.params.sharpen
    if blur:
        ctx.per_frame(_colour_only(lambda image: image.gaussblur(blur)))
    if sharpen:
        ctx.per_frame(_colour_only(lambda image: image.sharpen(sigma=sharpen)))


def _colour_only(operation: Callable[[pyvips.Image], pyvips.Image]) -> Callable[[pyvips.Image], pyvips.Image]:
    def apply(image: pyvips.Image) -> pyvips.Image:
        if not image.hasalpha():
            return operation(image).cast(image.format)
        colour, alpha = image.extract_band(0, n=image.bands - 1), image.extract_band(image.bands - 1)
        return operation(colour).cast(image.format).bandjoin(alpha)

    return apply
