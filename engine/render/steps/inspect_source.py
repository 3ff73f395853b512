"""Step: read only the header and refuse what is not allowed before any pixel is decoded.

Checks the format against the allow-list (and that libvips would pick the loader the sniffed format
names), the pixel count (decompression bombs), the PDF page and the animation frames kept.
"""

from __future__ import annotations

import pyvips

from engine.errors import InvalidInput, PicshaError, UnsupportedMediaType
from engine.media.decoders import VIPS_LOADERS
from engine.render.context import RenderContext
from engine.render.pdf import page_size
from engine.render.svg import svg_bytes

RENDERABLE = ("jpeg", "png", "webp", "avif", "gif", "tiff", "svg", "heic", "pdf")
ANIMATED_OUTPUTS = ("gif", "webp")


def inspect_source(ctx: RenderContext) -> None:
    if ctx.source.image is not None:  # decoded and checked when it was first read
        ctx.src_w, ctx.src_h = ctx.source.image.width, ctx.source.image.height
        ctx.full = (ctx.src_w, ctx.src_h)
        _refuse_bombs(ctx)
        return
    fmt = ctx.source.format
    if fmt not in RENDERABLE:
        raise UnsupportedMediaType(
            f"Assets of format {fmt!r} cannot be rendered. Renderable formats: {', '.join(RENDERABLE)}.",
            code="render_format_unsupported", valid=list(RENDERABLE),
        )
    if ctx.params.page is not None and fmt != "pdf":
        raise InvalidInput("page applies to PDF assets only.", code="render_param_invalid", param="page", valid="PDF assets only")
    if fmt == "pdf":
        ctx.src_w, ctx.src_h = page_size(ctx.source.path, ctx.params.page or 1)
    elif fmt == "heic":  # HEVC decoding goes through Pillow (libvips may lack it)
        ctx.src_w, ctx.src_h = _pillow_size(ctx)
    else:
        _vips_header(ctx)
    ctx.full = (ctx.src_w, ctx.src_h)
    _refuse_bombs(ctx)


def _vips_header(ctx: RenderContext) -> None:
    fmt = ctx.source.format
    if fmt == "svg":
        header = pyvips.Image.svgload_buffer(svg_bytes(ctx.source.path), unlimited=False)
    else:
        header = pyvips.Image.new_from_file(str(ctx.source.path))  # lazy: header only
        loader = str(header.get("vips-loader")) if header.get_typeof("vips-loader") else ""
        if not loader.startswith(VIPS_LOADERS[fmt].removesuffix("load")):
            raise UnsupportedMediaType(
                f"The file does not decode as {fmt}.", code="render_format_unsupported", valid=list(RENDERABLE)
            )
    width, height = header.width, header.height
    pages = header.get("n-pages") if header.get_typeof("n-pages") else 1
    if fmt in ANIMATED_OUTPUTS and pages > 1:
        height = header.get("page-height") if header.get_typeof("page-height") else height
        if ctx.output_format in ANIMATED_OUTPUTS:
            ctx.frames = min(pages, ctx.settings.max_frames)
    orientation = header.get("orientation") if header.get_typeof("orientation") else 1
    ctx.src_w, ctx.src_h = (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _pillow_size(ctx: RenderContext) -> tuple[int, int]:
    from PIL import Image

    from engine.media.decoders import register_pillow_plugins

    register_pillow_plugins()
    try:
        with Image.open(ctx.source.path) as image:
            return image.size
    except (OSError, RuntimeError, ValueError, Image.DecompressionBombError) as error:
        raise PicshaError("The image could not be decoded.", code="render_decode_failed", status=422) from error


def _refuse_bombs(ctx: RenderContext) -> None:
    pixels = ctx.src_w * ctx.src_h * ctx.frames
    if pixels > ctx.settings.max_input_pixels or ctx.src_w < 1 or ctx.src_h < 1:
        raise PicshaError(
            f"The source has {ctx.src_w}x{ctx.src_h} pixels x {ctx.frames} frame(s), over the render limit of "
            f"{ctx.settings.max_input_pixels} pixels; it is not decoded.",
            code="render_input_too_large", status=422, limit=ctx.settings.max_input_pixels,
        )
