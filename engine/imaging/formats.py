"""Format & Conversion: svg-to-raster, vectorize, gif-tools, pdf-to-image.

SVG and PDF are read through the render's own loaders (the SVG parsed from a buffer, so no reference
reaches a file or a host; PDF pages rasterised under the pixel limits); animations keep their frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Literal

import pyvips
import vtracer
from pydantic import Field, model_validator

from engine.errors import InvalidInput, PicshaError
from engine.imaging.chain import decode, encode, render_on
from engine.imaging.essentials import MAX_SIDE, Settings, colour, size_of
from engine.imaging.items import MEDIA_TYPES, Encoding, Gives, ImageFile, Item, Picture, Takes, ToolFile, with_extension
from engine.imaging.operation import Operation, Wants, Workbench
from engine.imaging.utilities import still
from engine.media.pdf import UnreadablePdf, open_pdf
from engine.render.colour import rgba
from engine.render.params import Fit, Position, RenderParams
from engine.render.pdf import page_size, rasterise


class RasterFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"
    AVIF = "avif"
    TIFF = "tiff"
    GIF = "gif"


# -- svg-to-raster -------------------------------------------------------------------------------


class SvgSettings(Settings):
    format: RasterFormat = Field(default=RasterFormat.PNG)
    width: int | None = Field(default=None, ge=1, le=MAX_SIDE, description="Pixels; with height, fits inside both.")
    height: int | None = Field(default=None, ge=1, le=MAX_SIDE, description="Pixels.")
    scale: float = Field(default=1, gt=0, le=20, description="Times the SVG's own size (without width/height).")
    dpi: int = Field(default=72, ge=18, le=1200, description="The SVG's units at this resolution (72 = 1:1).")
    background: str | None = Field(default=None, max_length=32, description="Fill behind; default transparent.")


def svg_to_raster(items: Sequence[Item], settings: SvgSettings, bench: Workbench) -> Picture:
    file = items[0]
    width, height = settings.width, settings.height
    if width is None and height is None:
        natural_w, natural_h = size_of(file, bench)  # header only, checked against the input pixel limit
        factor = settings.scale * settings.dpi / 72
        width, height = max(1, round(natural_w * factor)), max(1, round(natural_h * factor))
        _within_side(width, height, "lower scale or dpi, or give width/height")
    # the render rasterises the SVG at the output size (vector sharp), refusing outputs over the pixel limit
    picture = render_on(file, RenderParams(w=width, h=height, fit=Fit.INSIDE), bench)
    image = picture.image
    fill = rgba(colour(settings.background, "background")) if settings.background is not None else None
    if fill is not None and fill[3] > 0 and image.hasalpha():  # "transparent" leaves the alpha as it is
        image = image.flatten(background=fill[: image.bands - 1] if image.bands > 2 else fill[:1]).cast("uchar")
    return picture.with_image(image).with_encoding(format=settings.format.value)


def _within_side(width: int, height: int, advice: str) -> None:
    if max(width, height) > MAX_SIDE:
        raise InvalidInput(f"The output would be {width}x{height} pixels; at most {MAX_SIDE} a side: {advice}.",
                           code="tool_settings_invalid", valid=f"at most {MAX_SIDE} pixels a side")


SVG_TO_RASTER = Operation(settings=SvgSettings, takes=Takes.ONE, gives=Gives.FILE, apply=svg_to_raster,
                          wants=Wants.FILE, formats=("svg",))


# -- vectorize -----------------------------------------------------------------------------------

MAX_TRACE_SIDE = 1024  # tracing time and SVG size grow fast with pixels (a noisy 2048 px photo: a minute, 60 MB)


class ColorMode(StrEnum):
    BW = "bw"
    COLOR = "color"


class PathMode(StrEnum):
    NONE = "none"  # pixel edges
    POLYGON = "polygon"
    SPLINE = "spline"


class VectorizeSettings(Settings):
    colorMode: ColorMode = Field(default=ColorMode.COLOR)
    threshold: int = Field(default=128, ge=0, le=255, description="bw: pixels darker than this become black.")
    colorPrecision: int = Field(default=6, ge=1, le=8, description="color: bits per channel kept (fewer = flatter).")
    filterSpeckle: int = Field(default=4, ge=0, le=128, description="Drop patches smaller than this many pixels.")
    pathMode: PathMode = Field(default=PathMode.SPLINE)


def vectorize(items: Sequence[Item], settings: VectorizeSettings, bench: Workbench) -> ImageFile:
    item = items[0]
    large = max(size_of(item, bench)) > MAX_TRACE_SIDE
    params = RenderParams(w=MAX_TRACE_SIDE, h=MAX_TRACE_SIDE, fit=Fit.INSIDE) if large else RenderParams()
    image = still(render_on(item, params, bench).image)
    if image.interpretation != "srgb" or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    if settings.colorMode is ColorMode.BW:
        flat = image.flatten(background=[255, 255, 255]) if image.hasalpha() else image
        image = (flat.colourspace("b-w")[0] < settings.threshold).ifthenelse(0, 255).cast("uchar")
    svg = vtracer.convert_raw_image_to_svg(
        image.write_to_buffer(".png", compression=1), img_format="png",
        colormode="binary" if settings.colorMode is ColorMode.BW else "color", mode=settings.pathMode.value,
        filter_speckle=settings.filterSpeckle, color_precision=settings.colorPrecision,
    )
    return ImageFile(svg.encode(), with_extension(item.filename, "svg"), MEDIA_TYPES["svg"])


VECTORIZE = Operation(settings=VectorizeSettings, takes=Takes.ONE, gives=Gives.FILE, apply=vectorize, wants=Wants.ANY)


# -- gif-tools -----------------------------------------------------------------------------------

MIN_DELAY_MS = 20  # browsers slow shorter frame delays down to 100 ms


class GifAction(StrEnum):
    RESIZE = "resize"
    OPTIMIZE = "optimize"
    REVERSE = "reverse"
    SPEED = "speed"
    EXTRACT_FRAMES = "extract-frames"
    ROTATE = "rotate"
    ADD_TEXT = "add-text"


class GifSettings(Settings):
    action: GifAction
    width: int | None = Field(default=None, ge=1, le=MAX_SIDE, description="resize: pixels (fits inside with height).")
    height: int | None = Field(default=None, ge=1, le=MAX_SIDE, description="resize: pixels.")
    colors: int = Field(default=128, ge=2, le=256, description="optimize: palette size (rounded up to a power of two).")
    lossy: int = Field(default=0, ge=0, le=32, description="optimize: pixel change allowed between frames.")
    speed: float = Field(default=1, ge=0.1, le=10, description="speed: 2 = twice as fast.")
    angle: Literal[90, 180, 270] = Field(default=90, description="rotate: degrees clockwise.")
    text: str | None = Field(default=None, min_length=1, max_length=200, description="add-text: the text.")
    fontSize: int | None = Field(default=None, ge=6, le=400, description="add-text: pixels (default 5% of the side).")
    position: Position = Field(default=Position.SOUTH, description="add-text: compass point.")

    @model_validator(mode="after")
    def _action_params(self) -> GifSettings:
        if self.action is GifAction.RESIZE and self.width is None and self.height is None:
            raise ValueError("resize needs width and/or height")
        if self.action is GifAction.ADD_TEXT and self.text is None:
            raise ValueError("add-text needs text")
        return self


def gif_tools(items: Sequence[Item], settings: GifSettings, bench: Workbench) -> Picture | ImageFile | list[ImageFile]:
    file = items[0]
    action = settings.action
    if action is GifAction.RESIZE:  # the render's resize, frame by frame, with shrink-on-load
        fit = Fit.INSIDE if settings.width and settings.height else Fit.COVER
        picture = render_on(file, RenderParams(w=settings.width, h=settings.height, fit=fit), bench)
    elif action is GifAction.ROTATE:
        picture = render_on(file, RenderParams(rotate=settings.angle), bench)
    elif action is GifAction.ADD_TEXT:
        picture = render_on(file, RenderParams(watermark=settings.text, watermark_size=settings.fontSize,
                                               watermark_position=settings.position, watermark_opacity=100), bench)
    else:
        picture = decode(file, bench)
    frames, delays = _frames(picture.image)
    if action is GifAction.EXTRACT_FRAMES:
        stem = Path(file.filename).stem or "frame"
        return [encode(Picture(frame, f"{stem}-frame-{number:03d}.png", Encoding("png")))
                for number, frame in enumerate(frames, start=1)]
    if action is GifAction.REVERSE:
        picture = picture.with_image(_animation(frames[::-1], delays[::-1], picture.image))
    elif action is GifAction.SPEED:
        picture = picture.with_image(_animation(frames, [max(MIN_DELAY_MS, round(d / settings.speed)) for d in delays],
                                                picture.image))
    elif action is GifAction.OPTIMIZE:
        bitdepth = max(1, (settings.colors - 1).bit_length())
        data = picture.image.write_to_buffer(".gif", bitdepth=bitdepth, interframe_maxerror=settings.lossy, effort=10,
                                             keep=pyvips.enums.ForeignKeep.NONE)
        return ImageFile(data, with_extension(file.filename, "gif"), MEDIA_TYPES["gif"])
    return picture.with_encoding(format="gif")


def _frames(image: pyvips.Image) -> tuple[list[pyvips.Image], list[int]]:
    """The frames of an animation (one for a still image) and their delays in milliseconds."""
    height = image.get("page-height") if image.get_typeof("page-height") else image.height
    count = max(1, image.height // height)
    frames = [image.crop(0, index * height, image.width, height) for index in range(count)]
    delays = list(image.get("delay")) if image.get_typeof("delay") else []
    return frames, (delays + [100] * count)[:count]


def _animation(frames: list[pyvips.Image], delays: list[int], like: pyvips.Image) -> pyvips.Image:
    joined = pyvips.Image.arrayjoin(frames, across=1).copy()
    joined.set_type(pyvips.GValue.gint_type, "page-height", frames[0].height)
    joined.set_type(pyvips.GValue.array_int_type, "delay", delays)
    joined.set_type(pyvips.GValue.gint_type, "loop", like.get("loop") if like.get_typeof("loop") else 0)
    return joined


GIF_TOOLS = Operation(settings=GifSettings, takes=Takes.ONE, gives=Gives.FILE, apply=gif_tools, wants=Wants.FILE,
                      formats=("gif", "webp"))


# -- pdf-to-image --------------------------------------------------------------------------------

MAX_PDF_PAGES = 100  # pages made by one call
PAGES_PATTERN = r"^(all|\d{1,6}(-\d{1,6})?(,\d{1,6}(-\d{1,6})?)*)$"


class PdfImageFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"
    AVIF = "avif"
    TIFF = "tiff"


class PdfToImageSettings(Settings):
    pages: str = Field(default="all", max_length=200, pattern=PAGES_PATTERN, description='"all" or e.g. "1-3,5".')
    format: PdfImageFormat = Field(default=PdfImageFormat.PNG)
    dpi: int = Field(default=150, ge=36, le=600, description="Pixels per inch of the page.")
    quality: int = Field(default=85, ge=1, le=100, description="jpeg, webp, avif quality.")


def pdf_to_image(items: Sequence[Item], settings: PdfToImageSettings, bench: Workbench) -> list[ImageFile]:
    file = items[0]
    assert isinstance(file, ToolFile)
    pages = _pages(settings.pages, _page_count(file.path))
    stem = Path(file.filename).stem or "page"
    images: list[ImageFile] = []
    for done, page in enumerate(pages, start=1):
        width_pt, height_pt = page_size(file.path, page)
        _page_fits(width_pt, height_pt, settings.dpi, bench.render.max_output_pixels)
        image = rasterise(file.path, page, settings.dpi / 72)  # the render's PDF raster: sRGB on white
        named = Picture(image, f"{stem}-{page}.pdf", Encoding(settings.format.value, quality=settings.quality))
        images.append(encode(named))  # written at once: one page's pixels held at a time
        bench.progress(done / len(pages), f"page {page} ({done} of {len(pages)})")
    return images


def _page_fits(width_pt: int, height_pt: int, dpi: int, max_pixels: int) -> None:
    """Refuse a page whose raster at ``dpi`` would pass a side or pixel limit, naming the dpi that fits."""
    width, height = round(width_pt * dpi / 72), round(height_pt * dpi / 72)
    if max(width, height) <= MAX_SIDE and width * height <= max_pixels:
        return
    fits = min(MAX_SIDE * 72 // max(width_pt, height_pt), int(72 * (max_pixels / (width_pt * height_pt)) ** 0.5))
    raise InvalidInput(f"At {dpi} dpi a page would be {width}x{height} pixels, over the limit ({MAX_SIDE} a side, "
                       f"{max_pixels} pixels): use dpi {max(1, fits)} or less.", code="tool_settings_invalid",
                       field="dpi", valid=f"at most {max(1, fits)}")


def _page_count(path: Path) -> int:
    try:
        with open_pdf(path) as document:
            return len(document)
    except UnreadablePdf as error:
        raise PicshaError(f"The PDF could not be opened: {error}.", code="tool_input_unreadable", status=422) from error


def _pages(wanted: str, count: int) -> list[int]:
    """Page numbers in the order asked, each once; every range checked against the PDF before any is listed."""
    spans = [(1, count)] if wanted == "all" else []
    for part in wanted.split(",") if wanted != "all" else []:
        first, _, last = part.partition("-")
        span = (int(first), int(last or first))
        if not 1 <= span[0] <= span[1] <= count:
            raise InvalidInput(f"pages {wanted!r}: this PDF has pages 1 to {count}; ranges go low to high.",
                               code="tool_settings_invalid", field="pages", valid=f"1 to {count}")
        spans.append(span)
    numbers: dict[int, None] = {}
    for first, last in spans:
        for number in range(first, last + 1):
            numbers[number] = None
            if len(numbers) > MAX_PDF_PAGES:
                raise InvalidInput(f"More than {MAX_PDF_PAGES} pages asked; at most {MAX_PDF_PAGES} per call. Give a "
                                   f'range, e.g. "1-{MAX_PDF_PAGES}".', code="tool_settings_invalid", field="pages",
                                   valid=f"at most {MAX_PDF_PAGES} pages")
    return list(numbers)


PDF_TO_IMAGE = Operation(settings=PdfToImageSettings, takes=Takes.ONE, gives=Gives.FILES, apply=pdf_to_image,
                         wants=Wants.FILE, formats=("pdf",))
