"""Step: work out the sizes (scaled, then final) before decoding, and refuse outputs over the limit."""

from __future__ import annotations

from engine.errors import InvalidInput
from engine.render.context import RenderContext
from engine.render.geometry import final_size, scaled_size


def plan(ctx: RenderContext) -> None:
    params = ctx.params
    if params.crop is not None:
        x, y, w, h = params.crop
        if x + w > ctx.src_w or y + h > ctx.src_h:
            raise InvalidInput(
                f"crop {x},{y},{w},{h} falls outside the {ctx.src_w}x{ctx.src_h} source.",
                code="render_param_invalid", param="crop",
                valid=f"x+w <= {ctx.src_w} and y+h <= {ctx.src_h} (source pixels, after EXIF orientation)",
            )
        ctx.src_w, ctx.src_h = w, h
    box_w = round(params.w * params.dpr) if params.w else None
    box_h = round(params.h * params.dpr) if params.h else None
    if params.rotate in (90, 270):  # w and h describe the output, so size the unrotated image for a swapped box
        box_w, box_h = box_h, box_w
    ctx.scaled = scaled_size(ctx.src_w, ctx.src_h, box_w, box_h, params.fit)
    ctx.target = final_size(ctx.scaled, box_w, box_h, params.fit)
    biggest = max(ctx.scaled[0] * ctx.scaled[1], ctx.target[0] * ctx.target[1])
    if biggest > ctx.settings.max_output_pixels:
        raise InvalidInput(
            f"The output would have {biggest} pixels, over the limit of {ctx.settings.max_output_pixels}. "
            "Ask for a smaller w, h or dpr.",
            code="render_output_too_large", limit=ctx.settings.max_output_pixels,
        )
