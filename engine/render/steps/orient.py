"""Step: the asked rotation (clockwise) and flip; the focus point and output box turn with the image."""

from __future__ import annotations

from engine.render.context import RenderContext
from engine.render.geometry import turn_focus


def orient(ctx: RenderContext) -> None:
    params = ctx.params
    flip = params.flip.value if params.flip else None
    if params.rotate == 0 and flip is None:
        return
    rotations = {90: "d90", 180: "d180", 270: "d270"}
    if params.rotate:
        ctx.per_frame(lambda frame: frame.rot(rotations[params.rotate]))
    if flip in ("h", "both"):
        ctx.per_frame(lambda frame: frame.fliphor())
    if flip in ("v", "both"):
        ctx.per_frame(lambda frame: frame.flipver())
    if params.rotate in (90, 270):
        ctx.target = (ctx.target[1], ctx.target[0])
    if ctx.focus is not None:
        ctx.focus = turn_focus(ctx.focus, params.rotate, flip)
