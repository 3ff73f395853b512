"""Step: a text watermark or another image asset laid over the output, with position and opacity."""

from __future__ import annotations

import html

import pyvips

from engine.render.context import RenderContext
from engine.render.geometry import compass_offset
from engine.render.params import Position

MARGIN = 0.02  # of the shorter side, between the watermark and the edge


def watermark(ctx: RenderContext) -> None:
    params = ctx.params
    if not params.has_watermark and ctx.source.overlay is None:
        return
    width, height = ctx.frame_size
    mark = _text(ctx, width, height) if params.watermark else _overlay(ctx, width)
    mark, x, y = placed(mark, (width, height), params.watermark_position, params.watermark_opacity)
    ctx.per_frame(lambda frame: _over(frame, mark, x, y))


def placed(mark: pyvips.Image, frame: tuple[int, int], position: Position, opacity: int) -> tuple[pyvips.Image, int, int]:
    """The RGBA mark at ``opacity`` percent, cut to the frame, and its top-left corner at a compass point
    inside the margin."""
    width, height = frame
    mark = mark.extract_band(0, n=3).bandjoin((mark.extract_band(3) * (opacity / 100)).cast("uchar"))
    margin = round(min(width, height) * MARGIN)
    inner = (min(mark.width, width), min(mark.height, height))
    mark = mark.crop(0, 0, *inner)
    x, y = compass_offset(position, (width - 2 * margin, height - 2 * margin), inner)
    return mark, max(0, x + margin), max(0, y + margin)


def _over(frame: pyvips.Image, mark: pyvips.Image, x: int, y: int) -> pyvips.Image:
    had_alpha = frame.hasalpha()
    if frame.interpretation != "srgb" or frame.format != "uchar":
        frame = frame.colourspace("srgb").cast("uchar")
    result = frame.composite2(mark, "over", x=x, y=y).cast("uchar")
    return result if had_alpha else result.extract_band(0, n=3)


def _text(ctx: RenderContext, width: int, height: int) -> pyvips.Image:
    size = ctx.params.watermark_size or max(8, round(min(width, height) * 0.05))
    return text_mark(ctx.params.watermark or "", size)


def text_mark(text: str, size: int, *, font: str = "sans bold", fill: list[int] | None = None) -> pyvips.Image:
    """Text as an RGBA image: in ``fill`` (RGBA values) when given, else white with a dark outline, so it
    reads on light and dark pictures."""
    mask = pyvips.Image.text(html.escape(text), font=f"{font} {size}px", dpi=72)
    mask = mask.embed(2, 2, mask.width + 4, mask.height + 4)
    if fill is not None:
        alpha = (mask * (fill[3] / 255)).cast("uchar")
        return (mask.new_from_image(fill[:3]).cast("uchar")).bandjoin(alpha).copy(interpretation="srgb")
    outline = mask.morph(pyvips.Image.new_from_list([[255] * 3] * 3), "dilate")
    alpha = (mask | outline).cast("uchar")
    grey = (mask > 0).ifthenelse(255, 30).cast("uchar")
    return grey.bandjoin([grey, grey, alpha]).copy(interpretation="srgb")


def _overlay(ctx: RenderContext, width: int) -> pyvips.Image:
    """The watermark image, checked by ``inspect_overlay`` (a raster format whose loader libvips' own pick
    matches, within the pixel limit), shrunk on load to its width on the output."""
    overlay = ctx.source.overlay
    assert overlay is not None  # the service resolves the watermark asset before rendering
    target = max(1, round(width * ctx.params.watermark_scale))
    image = pyvips.Image.thumbnail(str(overlay.path), target, height=100_000)
    if image.interpretation != "srgb" or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    if image.bands == 3:
        image = image.bandjoin_const([255])
    return image
