"""QR codes made (segno) and barcodes read (zxing-cpp): the utilities qr-generate and barcode-read."""

from __future__ import annotations

import math
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


class QrSettings(Settings):
    data: str = Field(min_length=1, max_length=MAX_QR_DATA, description="Text or URL to encode.")
    size: int = Field(default=512, ge=64, le=4096, description="Width and height, pixels.")
    margin: int = Field(default=4, ge=0, le=20, description="Quiet zone, in modules.")
    colorDark: str = Field(default="#000000", max_length=32)
    colorLight: str = Field(default="#ffffff", max_length=32, description="May be transparent.")
    errorCorrectionLevel: ErrorLevel = Field(default=ErrorLevel.M, description="H is used when a logo is given.")


def qr_generate(items: Sequence[Item], settings: QrSettings, bench: Workbench) -> Picture:
    logo = items[0] if items else None
    level = ErrorLevel.H if logo is not None else settings.errorCorrectionLevel
    try:
        code = segno.make(settings.data, error=level.value.lower(), micro=False)
    except segno.DataOverflowError as error:
        raise InvalidInput(f"data is too long for a QR code at level {level.value}; shorten it or use level L.",
                           code="tool_settings_invalid", field="data") from error
    modules = np.array(list(code.matrix_iter(scale=1, border=settings.margin)), dtype=np.uint8) * 255
    side = modules.shape[0]
    if settings.size < side:
        raise InvalidInput(f"size {settings.size} is below the {side} modules of this code; use at least {side}.",
                           code="tool_settings_invalid", field="size", valid=f"{side} to 4096")
    dark = pyvips.Image.new_from_memory(modules.tobytes(), side, side, 1, "uchar")
    zoomed = dark.zoom(math.ceil(settings.size / side), math.ceil(settings.size / side))
    dark = zoomed.resize(settings.size / zoomed.width, kernel="nearest") if zoomed.width != settings.size else zoomed
    ink, paper = rgba(colour(settings.colorDark, "colorDark")), rgba(colour(settings.colorLight, "colorLight"))
    image = (dark > 127).ifthenelse(ink, paper).cast("uchar").copy(interpretation="srgb")
    if ink[3] == 255 and paper[3] == 255:
        image = image[:3]
    if logo is not None:
        image = _with_logo(image, logo, paper, bench)
    return Picture(image, "qr.png", Encoding("png"))


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
