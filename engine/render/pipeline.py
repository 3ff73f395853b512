"""The order of the render steps, written once. Each step reads and updates one ``RenderContext``."""

from __future__ import annotations

from collections.abc import Callable

from engine.render.context import RenderContext
from engine.render.steps.crop import crop
from engine.render.steps.effects import effects
from engine.render.steps.encode import encode
from engine.render.steps.flatten import flatten
from engine.render.steps.focus import find_focus
from engine.render.steps.inspect_overlay import inspect_overlay
from engine.render.steps.inspect_source import inspect_source
from engine.render.steps.load import load
from engine.render.steps.orient import orient
from engine.render.steps.pad import pad
from engine.render.steps.plan import plan
from engine.render.steps.watermark import watermark

Step = Callable[[RenderContext], None]

TRANSFORM: tuple[Step, ...] = (
    inspect_source,  # header only: allow-list, pixel and frame limits
    inspect_overlay,  # the watermark image: a raster format, the same header checks
    plan,  # sizes, output limit
    load,  # shrink-on-load to the scaled size, EXIF orientation
    find_focus,  # focus point or faces for a cover crop
    orient,  # rotate, flip
    crop,  # cover: cut to the box
    pad,  # contain: pad to the box
    effects,  # blur, sharpen
    watermark,
)
"""The steps that make the pixels; image tools run them per step and write the file once, at the end."""

FINISH: tuple[Step, ...] = (
    flatten,  # output format settled, alpha flattened for JPEG
    encode,
)
STEPS = TRANSFORM + FINISH


def _run(ctx: RenderContext, steps: tuple[Step, ...]) -> RenderContext:
    for step in steps:
        ctx.check_time()
        step(ctx)
    return ctx


def run(ctx: RenderContext) -> RenderContext:
    """Run every step in order, stopping between steps once the deadline has passed."""
    return _run(ctx, STEPS)


def transform(ctx: RenderContext) -> RenderContext:
    """Only the pixel steps: ``ctx.image`` holds the result, nothing is encoded."""
    return _run(ctx, TRANSFORM)


def finish(ctx: RenderContext) -> RenderContext:
    """Settle the format and encode ``ctx.image`` (already made) into ``ctx.data``."""
    return _run(ctx, FINISH)
