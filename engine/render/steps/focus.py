"""Step: decide what a cover crop centres on: the ``focus`` point, or the faces for ``gravity=face``.

Faces come from the asset's analysis when it has run (boxes in source pixels); otherwise the offline face
model looks at the already-shrunk image. No face leaves ``focus`` unset and the crop falls back to attention.
"""

from __future__ import annotations

import numpy as np

from engine.faces import detect_faces_tiled
from engine.render.context import RenderContext
from engine.render.params import Fit, Gravity

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in the pixels of the current image


def find_focus(ctx: RenderContext) -> None:
    params = ctx.params
    if not _will_crop(ctx):
        return
    if params.focus is not None:
        ctx.focus = params.focus
    elif params.gravity is Gravity.FACE:
        boxes = _stored_boxes(ctx) if ctx.source.faces is not None else _detected_boxes(ctx)
        ctx.faces_found = len(boxes)
        if boxes:
            ctx.focus = _centre(boxes, ctx.frame_size)


def _will_crop(ctx: RenderContext) -> bool:
    return ctx.params.fit is Fit.COVER and ctx.scaled != ctx.target


def _stored_boxes(ctx: RenderContext) -> list[Box]:
    """Analysis boxes (whole source, source pixels) mapped into the current image; boxes outside a crop drop."""
    offset_x, offset_y = (ctx.params.crop[0], ctx.params.crop[1]) if ctx.params.crop else (0, 0)
    factor = ctx.frame_size[0] / ctx.src_w
    mapped = []
    for box in ctx.source.faces or []:
        x0, y0 = max(0, box.x - offset_x), max(0, box.y - offset_y)
        x1, y1 = min(ctx.src_w, box.x + box.w - offset_x), min(ctx.src_h, box.y + box.h - offset_y)
        if x1 > x0 and y1 > y0:
            mapped.append((x0 * factor, y0 * factor, x1 * factor, y1 * factor))
    return mapped


def _detected_boxes(ctx: RenderContext) -> list[Box]:
    if not ctx.settings.face_detection:
        return []
    return [(f.x, f.y, f.x + f.w, f.y + f.h) for f in detect_faces_tiled(_rgb_array(ctx))]


def _rgb_array(ctx: RenderContext) -> np.ndarray:
    width, height = ctx.frame_size
    image = ctx.img.crop(0, 0, width, height)
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    if image.bands == 1:
        image = image.bandjoin([image, image])
    image = image.extract_band(0, n=3)
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, 3))


def _centre(boxes: list[Box], size: tuple[int, int]) -> tuple[float, float]:
    """Centre of the box around every face, as fractions of the image."""
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return min(1.0, max(0.0, (x0 + x1) / 2 / size[0])), min(1.0, max(0.0, (y0 + y1) / 2 / size[1]))
