"""Step: cut a cover image down to the box: at the focus point, by gravity, or by libvips' smartcrop."""

from __future__ import annotations

from engine.render.context import RenderContext
from engine.render.geometry import compass_offset, focus_offset
from engine.render.params import Fit, Gravity

_SMART = {Gravity.ATTENTION: "attention", Gravity.ENTROPY: "entropy", Gravity.FACE: "attention"}


def crop(ctx: RenderContext) -> None:
    size, target = ctx.frame_size, ctx.target
    if ctx.params.fit is not Fit.COVER or size == target:
        return
    width, height = min(target[0], size[0]), min(target[1], size[1])
    gravity = ctx.params.gravity
    if ctx.focus is not None:
        x, y = focus_offset(ctx.focus, size, (width, height))
    elif gravity in _SMART and not ctx.animated:
        ctx.image = ctx.img.smartcrop(width, height, interesting=_SMART[gravity])
        return
    else:
        x, y = compass_offset(gravity if gravity not in _SMART else Gravity.CENTER, size, (width, height))
    ctx.per_frame(lambda frame: frame.crop(x, y, width, height))
