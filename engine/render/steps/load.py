"""Step: decode with shrink-on-load straight to the scaled size (libvips ``thumbnail``), EXIF orientation applied.

A crop reads the file shrunk as far as the crop allows (JPEG/WebP load-time shrink), takes the region and
resizes it; so does a JPEG with ``fast_shrink_on_load`` (``thumbnail`` shrinks it at load only as far as
leaves a factor of two for the resize); PDF pages are rasterised at the scale needed; HEIC goes through Pillow.
"""

from __future__ import annotations

import pyvips

from engine.errors import PicshaError
from engine.render.context import RenderContext
from engine.render.pdf import rasterise
from engine.render.svg import svg_bytes


def load(ctx: RenderContext) -> None:
    fmt = ctx.source.format
    if ctx.source.image is not None:
        ctx.image = _region_then_resize(ctx, ctx.source.image)
    elif fmt == "pdf":
        ctx.image = _pdf(ctx)
    elif fmt == "heic":
        ctx.image = _region_then_resize(ctx, _pillow(ctx))
    elif ctx.params.crop is not None or (fmt == "jpeg" and ctx.settings.fast_shrink_on_load):
        ctx.image = _region_then_resize(ctx, _shrunk(ctx))
    else:
        ctx.image = _thumbnail(ctx)
    if ctx.image.get_typeof("page-height") and not ctx.animated:
        ctx.image = ctx.image.copy()
        ctx.image.remove("page-height")
    # The loader streams the file once, top to bottom; the later steps (rotate, smartcrop, overlays) read
    # the small scaled image in any order, so it is held in memory from here on.
    ctx.image = ctx.image.copy_memory()


def _thumbnail(ctx: RenderContext) -> pyvips.Image:
    width, height = ctx.scaled
    if ctx.source.format == "svg":
        data = svg_bytes(ctx.source.path)
        return pyvips.Image.thumbnail_buffer(data, width, height=height, size="force", option_string="unlimited=false")
    if ctx.scaled == ctx.full and not ctx.animated:  # the whole image at its own size: decode, no resampling
        return pyvips.Image.new_from_file(str(ctx.source.path)).autorot()
    name = f"{ctx.source.path}[n={ctx.frames}]" if ctx.animated else str(ctx.source.path)
    return pyvips.Image.thumbnail(name, width, height=height, size="force")


def jpeg_load_shrink(ratio: float) -> int:
    """The largest factor libjpeg can shrink by while decoding (1, 2, 4 or 8) that is no more than ``ratio``."""
    return max((s for s in (1, 2, 4, 8) if s <= ratio), default=1)


def _load_shrink(ctx: RenderContext) -> dict[str, object]:
    """Load-time shrink options that still leave the region at least as big as the output both ways."""
    ratio = min(ctx.src_w / max(ctx.scaled[0], 1), ctx.src_h / max(ctx.scaled[1], 1))
    if ctx.source.format == "jpeg":
        shrink = jpeg_load_shrink(ratio)
        return {"shrink": shrink} if shrink > 1 else {}
    if ctx.source.format == "webp" and ratio > 1 and not ctx.animated:
        return {"scale": 1 / ratio}
    return {}


def _shrunk(ctx: RenderContext) -> pyvips.Image:
    path, fmt = str(ctx.source.path), ctx.source.format
    if fmt == "svg":
        image = pyvips.Image.svgload_buffer(svg_bytes(ctx.source.path), unlimited=False)
    else:
        options = _load_shrink(ctx) | ({"n": ctx.frames} if ctx.animated else {})
        image = pyvips.Image.new_from_file(path, access="sequential", **options)
    return image.autorot()


def _pillow(ctx: RenderContext) -> pyvips.Image:
    from PIL import Image, ImageOps

    from engine.media.decoders import register_pillow_plugins

    register_pillow_plugins()
    try:
        with Image.open(ctx.source.path) as opened:
            rgb = ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, RuntimeError, ValueError, Image.DecompressionBombError) as error:
        # Pillow's decode errors (UnidentifiedImageError is an OSError); libheif's limits raise RuntimeError
        raise PicshaError("The image could not be decoded.", code="render_decode_failed", status=422) from error
    return pyvips.Image.new_from_memory(rgb.tobytes(), rgb.width, rgb.height, 3, "uchar").copy(interpretation="srgb")


def _pdf(ctx: RenderContext) -> pyvips.Image:
    scale = max(ctx.scaled[0] / ctx.src_w, ctx.scaled[1] / ctx.src_h)  # pixels per point of the region
    full_w, full_h = ctx.full
    cap = (ctx.settings.max_input_pixels / (full_w * full_h)) ** 0.5  # never rasterise past the input limit
    return _region_then_resize(ctx, rasterise(ctx.source.path, ctx.params.page or 1, min(scale, cap)))


def _region_then_resize(ctx: RenderContext, image: pyvips.Image) -> pyvips.Image:
    """Take the crop region (given in source pixels) out of an image of any scale, then resize exactly."""
    ctx.image = image
    crop = ctx.params.crop
    if crop is not None:
        factor = image.width / ctx.full[0]
        frame_w, frame_h = ctx.frame_size
        x, y = min(int(crop[0] * factor), frame_w - 1), min(int(crop[1] * factor), frame_h - 1)
        w = max(1, min(round(crop[2] * factor), frame_w - x))
        h = max(1, min(round(crop[3] * factor), frame_h - y))
        ctx.per_frame(lambda frame: frame.crop(x, y, w, h))
    width, height = ctx.scaled
    if ctx.frame_size != (width, height):  # a region already at its output size is not resampled
        ctx.per_frame(lambda frame: frame.thumbnail_image(width, height=height, size="force"))
    return ctx.img
