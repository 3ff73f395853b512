"""Step: ``fit=contain`` pads the scaled image out to the box with ``bg`` (default: transparent if the
image has alpha, else white), placed by a compass gravity."""

from __future__ import annotations

import pyvips

from engine.render.colour import rgba
from engine.render.context import RenderContext
from engine.render.geometry import compass_offset
from engine.render.params import Fit, Gravity


def pad(ctx: RenderContext) -> None:
    size, target = ctx.frame_size, ctx.target
    if ctx.params.fit is not Fit.CONTAIN or size == target:
        return
    image = _srgb(ctx.img)
    colour = rgba(ctx.params.bg) if ctx.params.bg else ([0, 0, 0, 0] if image.hasalpha() else [255, 255, 255, 255])
    if colour[3] < 255 and not image.hasalpha():
        image = image.bandjoin_const([255])
    background = colour if image.hasalpha() else colour[:3]
    ctx.image = image
    gravity = ctx.params.gravity
    where = Gravity.CENTER if gravity in (Gravity.ATTENTION, Gravity.ENTROPY, Gravity.FACE) else gravity
    x, y = compass_offset(where, target, size)
    ctx.per_frame(lambda frame: frame.embed(x, y, target[0], target[1], extend="background", background=background))


def _srgb(image: pyvips.Image) -> pyvips.Image:
    if image.interpretation != "srgb" or image.format != "uchar":
        return image.colourspace("srgb").cast("uchar")
    return image
