"""QR codes made (segno) and barcodes read (zxing-cpp): the utilities qr-generate and barcode-read."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import pyvips
import segno
import zxingcpp
from pydantic import BaseModel, Field

from engine.errors import InvalidInput
from engine.imaging.chain import render_on
from engine.imaging.essentials import Settings, colour, size_of
from engine.imaging.items import Encoding, Gives, Item, Picture, Takes
from engine.imaging.operation import Operation, Wants, Workbench
from engine.imaging.utilities import still
from engine.render.colour import rgba
from engine.render.params import Fit, RenderParams

MAX_QR_DATA = 2953  # bytes a version-40 code holds at level L
LOGO_SHARE = 0.22  # of the code's side: level H restores up to 30% of the modules
MAX_READ_SIDE = 4096  # barcodes are found on a copy at most this large


class ErrorLevel(StrEnum):
    L = "L"
    M = "M"
    Q = "Q"
    H = "H"


class DotStyle(StrEnum):
    SQUARE = "square"
    ROUNDED = "rounded"
    DOTS = "dots"


class CornerStyle(StrEnum):
    SQUARE = "square"
    ROUNDED = "rounded"
    CIRCLE = "circle"


class QrSettings(Settings):
    data: str = Field(min_length=1, max_length=MAX_QR_DATA, description="Text or URL to encode.")
    size: int = Field(default=512, ge=64, le=4096, description="Width and height, pixels.")
    margin: int = Field(default=4, ge=0, le=20, description="Quiet zone, in modules.")
    colorDark: str = Field(default="#000000", max_length=32)
    colorLight: str = Field(default="#ffffff", max_length=32, description="May be transparent.")
    errorCorrectionLevel: ErrorLevel = Field(default=ErrorLevel.M, description="H is used when a logo is given.")
    dotStyle: DotStyle = Field(default=DotStyle.SQUARE, description="Shape of the data modules.")
    cornerStyle: CornerStyle = Field(default=CornerStyle.SQUARE, description="Shape of the three corner eyes.")


def qr_generate(items: Sequence[Item], settings: QrSettings, bench: Workbench) -> Picture:
    logo = items[0] if items else None
    level = ErrorLevel.H if logo is not None else settings.errorCorrectionLevel
    try:
        code = segno.make(settings.data, error=level.value.lower(), micro=False)
    except segno.DataOverflowError as error:
        raise InvalidInput(f"data is too long for a QR code at level {level.value}; shorten it or use level L.",
                           code="tool_settings_invalid", field="data") from error
    modules = np.array(code.matrix, dtype=bool)  # the symbol, without its quiet zone
    side = modules.shape[0] + 2 * settings.margin
    if settings.size < side:
        raise InvalidInput(f"size {settings.size} is below the {side} modules of this code; use at least {side}.",
                           code="tool_settings_invalid", field="size", valid=f"{side} to 4096")
    ink, paper = rgba(colour(settings.colorDark, "colorDark")), rgba(colour(settings.colorLight, "colorLight"))
    # grey on grey (the usual black on white) is written as a one-channel PNG: a third of the work
    channels = 1 if logo is None and len({*ink[:3]}) == len({*paper[:3]}) == 1 and ink[3] == paper[3] == 255 else 4
    if settings.dotStyle is DotStyle.SQUARE and settings.cornerStyle is CornerStyle.SQUARE:
        image = _pixel_code(modules, settings, ink[:channels], paper[:channels])
    else:
        image = _drawn_code(modules, settings, ink, paper)
        image = image[0] if channels == 1 else image
    if channels == 1:
        image = image.copy(interpretation="b-w")
    elif ink[3] == 255 and paper[3] == 255:
        image = image[:3]
    if logo is not None:
        image = _with_logo(image, logo, paper, bench)
    return Picture(image, "qr.png", Encoding("png"))


def _pixel_code(modules: np.ndarray, settings: QrSettings, ink: list[int], paper: list[int]) -> pyvips.Image:
    """Square modules, one pixel each, enlarged without smoothing: crisp edges at any size."""
    framed = np.pad(modules, settings.margin).astype(np.uint8) * 255
    nearest = np.arange(settings.size) * framed.shape[0] // settings.size  # the module under each pixel
    sampled = np.ascontiguousarray(framed[np.ix_(nearest, nearest)])
    dark = pyvips.Image.new_from_memory(sampled.tobytes(), settings.size, settings.size, 1, "uchar")
    return (dark > 127).ifthenelse(ink, paper).cast("uchar").copy(interpretation="srgb" if len(ink) > 1 else "b-w")


_DOTS = {DotStyle.SQUARE: '<rect x="{x}" y="{y}" width="1" height="1"/>',
         DotStyle.ROUNDED: '<rect x="{x}.05" y="{y}.05" width="0.9" height="0.9" rx="0.3"/>',
         DotStyle.DOTS: '<circle cx="{x}.5" cy="{y}.5" r="0.45"/>'}
_EYES = {  # ring (stroke 1 on the 7x7 outline) and the 3x3 ball, from the eye's corner
    CornerStyle.SQUARE: ('<rect x="{x}.5" y="{y}.5" width="6" height="6"/>',
                         '<rect x="{x2}" y="{y2}" width="3" height="3"/>'),
    CornerStyle.ROUNDED: ('<rect x="{x}.5" y="{y}.5" width="6" height="6" rx="1.8"/>',
                          '<rect x="{x2}" y="{y2}" width="3" height="3" rx="0.9"/>'),
    CornerStyle.CIRCLE: ('<circle cx="{x}.5" cy="{y}.5" r="3" transform="translate(3 3)"/>',
                         '<circle cx="{x2}.5" cy="{y2}.5" r="1.5" transform="translate(1 1)"/>'),
}


def _drawn_code(modules: np.ndarray, settings: QrSettings, ink: list[int], paper: list[int]) -> pyvips.Image:
    """Styled modules and eyes as SVG shapes (no external reference), rasterised by libvips at the size."""
    count, margin = modules.shape[0], settings.margin
    eyes = [(0, 0), (count - 7, 0), (0, count - 7)]
    in_eye = np.zeros_like(modules)
    for x, y in eyes:
        in_eye[y : y + 7, x : x + 7] = True
    dot = _DOTS[settings.dotStyle]
    shapes = [dot.format(x=x + margin, y=y + margin) for y, x in zip(*np.nonzero(modules & ~in_eye), strict=True)]
    ring, ball = _EYES[settings.cornerStyle]
    rings = [ring.format(x=x + margin, y=y + margin) for x, y in eyes]
    shapes += [ball.format(x2=x + margin + 2, y2=y + margin + 2) for x, y in eyes]
    side = count + 2 * margin
    red, green, blue, alpha = ink
    hex_ink = f"#{red:02x}{green:02x}{blue:02x}"
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{settings.size}" height="{settings.size}" '
           f'viewBox="0 0 {side} {side}"><rect width="{side}" height="{side}" fill="#{paper[0]:02x}{paper[1]:02x}'
           f'{paper[2]:02x}" fill-opacity="{paper[3] / 255:.3f}"/>'
           f'<g fill="{hex_ink}" fill-opacity="{alpha / 255:.3f}">{"".join(shapes)}</g>'
           f'<g fill="none" stroke="{hex_ink}" stroke-opacity="{alpha / 255:.3f}" stroke-width="1">{"".join(rings)}</g>'
           '</svg>')
    image = pyvips.Image.svgload_buffer(svg.encode(), unlimited=False)
    return image.colourspace("srgb").cast("uchar") if image.interpretation != "srgb" else image


def _with_logo(code: pyvips.Image, logo: Item, paper: list[int], bench: Workbench) -> pyvips.Image:
    """The logo centred on a pad of the light colour, within ``LOGO_SHARE`` of the side."""
    box = max(1, round(code.width * LOGO_SHARE))
    mark = still(render_on(logo, RenderParams(w=box, h=box, fit=Fit.INSIDE), bench).image)
    if mark.interpretation != "srgb" or mark.format != "uchar":
        mark = mark.colourspace("srgb").cast("uchar")
    if not mark.hasalpha():
        mark = mark.bandjoin_const([255])
    pad = max(2, code.width // 100)
    backing = (pyvips.Image.black(mark.width + 2 * pad, mark.height + 2 * pad, bands=4) + paper).cast("uchar")
    backing = backing.copy(interpretation="srgb").composite2(mark, "over", x=pad, y=pad)
    base = code if code.bands == 4 else code.bandjoin_const([255])
    placed = base.composite2(backing, "over", x=(code.width - backing.width) // 2, y=(code.height - backing.height) // 2)
    placed = placed.cast("uchar")
    return placed if code.bands == 4 else placed[:3]


QR_GENERATE = Operation(settings=QrSettings, takes=Takes.NONE, gives=Gives.FILE, apply=qr_generate)


# -- barcode-read --------------------------------------------------------------------------------


class BarcodeReadSettings(Settings):
    pass


class FoundCode(BaseModel):
    text: str
    format: str = Field(description="QR Code, EAN-13, Code 128, DataMatrix, ...")
    x: int = Field(description="Bounding box in the image's pixels (EXIF orientation applied).")
    y: int
    width: int
    height: int


class FoundCodes(BaseModel):
    codes: list[FoundCode]
    count: int


def barcode_read(items: Sequence[Item], settings: BarcodeReadSettings, bench: Workbench) -> FoundCodes:
    item = items[0]
    large = max(size_of(item, bench)) > MAX_READ_SIDE
    image = still(render_on(item, RenderParams(w=MAX_READ_SIDE, h=MAX_READ_SIDE, fit=Fit.INSIDE) if large
                            else RenderParams(), bench).image)
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1)).cast("uchar")
    grey = image.colourspace("b-w")[0] if image.bands > 1 else image
    pixels = np.ndarray(buffer=grey.write_to_memory(), dtype=np.uint8, shape=(grey.height, grey.width))
    found = []
    for code in zxingcpp.read_barcodes(pixels):
        corners = code.position
        xs = [corners.top_left.x, corners.top_right.x, corners.bottom_left.x, corners.bottom_right.x]
        ys = [corners.top_left.y, corners.top_right.y, corners.bottom_left.y, corners.bottom_right.y]
        found.append(FoundCode(text=code.text, format=str(code.format), x=min(xs), y=min(ys),
                               width=max(xs) - min(xs) + 1, height=max(ys) - min(ys) + 1))
    return FoundCodes(codes=found, count=len(found))


BARCODE_READ = Operation(settings=BarcodeReadSettings, takes=Takes.ONE, gives=Gives.JSON, apply=barcode_read,
                         wants=Wants.ANY)
