"""Step: decide what a cover crop centres on: the ``focus`` point, or the faces for ``gravity=face``.

Faces come from the asset's analysis when it has run (boxes in source pixels); otherwise the offline face
model looks at the already-shrunk image. No face leaves ``focus`` unset and the crop falls back to attention.
"""

from __future__ import annotations

import numpy as np

from engine.faces import FaceBox, detect_faces
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
    """Run the face model on square tiles: it sees a fixed 320 px square, so a wide image seen whole
    would shrink its faces below what it can find."""
    if not ctx.settings.face_detection:
        return []
    pixels = _rgb_array(ctx)
    found: list[tuple[float, Box]] = []
    for x, y, side in _tiles(pixels.shape[1], pixels.shape[0]):
        faces: list[FaceBox] = detect_faces(pixels[y : y + side, x : x + side])
        found += [(f.score, (f.x + x, f.y + y, f.x + f.w + x, f.y + f.h + y)) for f in faces]
    return _distinct([box for _score, box in sorted(found, reverse=True)])


def _distinct(boxes: list[Box]) -> list[Box]:
    """Drop boxes that mostly overlap a better one (the same face seen from two overlapping tiles)."""
    kept: list[Box] = []
    for box in boxes:
        if all(_overlap(box, other) < 0.5 for other in kept):
            kept.append(box)
    return kept


def _overlap(a: Box, b: Box) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height / max(smaller, 1e-9)


def _tiles(width: int, height: int, most: int = 5) -> list[tuple[int, int, int]]:
    """Square windows along the long side, overlapping by half, at most ``most`` of them."""
    side, length = min(width, height), max(width, height)
    count = min(most, max(1, 2 * -(-length // side) - 1))
    starts = [round(i * (length - side) / max(count - 1, 1)) for i in range(count)]
    return [(s, 0, side) if width >= height else (0, s, side) for s in starts]


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
