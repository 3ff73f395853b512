"""Optimization: optimize-for-web, strip-metadata, edit-metadata, bulk-rename, image-to-pdf, favicon."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import img2pdf
import pyvips
from PIL import Image
from pydantic import Field

from engine.errors import InvalidInput, PicshaError
from engine.imaging.chain import decode, encode, render_on
from engine.imaging.essentials import MAX_SIDE, CropShape, Settings, colour, shape_mask, size_of
from engine.imaging.items import EXTENSIONS, MEDIA_TYPES, Gives, ImageFile, Item, Picture, Takes, ToolFile
from engine.imaging.metadata import Fields, write_fields
from engine.imaging.operation import Operation, Wants, Workbench
from engine.imaging.utilities import still
from engine.render.colour import rgba
from engine.render.params import Fit, RenderParams

# -- optimize-for-web ----------------------------------------------------------------------------


class WebFormat(StrEnum):
    AUTO = "auto"
    JPEG = "jpeg"
    WEBP = "webp"
    AVIF = "avif"


class OptimizeSettings(Settings):
    format: WebFormat = Field(default=WebFormat.AUTO, description="auto = webp (small, read by every browser).")
    quality: int = Field(default=80, ge=1, le=100, description="Encoder quality.")
    maxWidthPx: int | None = Field(default=None, ge=16, le=MAX_SIDE, description="Shrink wider images to this width.")
    stripMetadata: bool = Field(default=True, description="Drop EXIF and XMP (the colour profile is kept).")


def optimize_for_web(items: Sequence[Item], settings: OptimizeSettings, bench: Workbench) -> Picture:
    item = items[0]
    width, _ = size_of(item, bench)
    limit = settings.maxWidthPx if settings.maxWidthPx is not None and width > settings.maxWidthPx else None
    picture = render_on(item, RenderParams(w=limit), bench)
    fmt = "webp" if settings.format is WebFormat.AUTO else settings.format.value
    return picture.with_encoding(format=fmt, quality=settings.quality, strip=settings.stripMetadata)


OPTIMIZE_FOR_WEB = Operation(settings=OptimizeSettings, takes=Takes.ONE, gives=Gives.FILE, apply=optimize_for_web,
                             wants=Wants.ANY)


# -- strip-metadata and edit-metadata ------------------------------------------------------------


class StripSettings(Settings):
    pass


def strip_metadata(items: Sequence[Item], settings: StripSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    return picture.with_encoding(strip=True)


STRIP_METADATA = Operation(settings=StripSettings, takes=Takes.ONE, gives=Gives.FILE, apply=strip_metadata)

METADATA_FORMATS = ("jpeg", "png", "webp", "avif")  # libvips writes EXIF and XMP into these


class Gps(Settings):
    lat: float = Field(ge=-90, le=90, description="Latitude, degrees (south negative).")
    lon: float = Field(ge=-180, le=180, description="Longitude, degrees (west negative).")


class EditMetadataSettings(Settings):
    title: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=2000)
    author: str | None = Field(default=None, max_length=200)
    copyright: str | None = Field(default=None, max_length=500)
    keywords: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(default=None, max_length=50)
    gps: Gps | None = None
    dateTime: datetime | None = Field(default=None, description="When the photo was taken, ISO 8601.")


def edit_metadata(items: Sequence[Item], settings: EditMetadataSettings, bench: Workbench) -> Picture:
    picture = items[0]
    assert isinstance(picture, Picture)
    fields = Fields(title=settings.title, description=settings.description, author=settings.author,
                    copyright=settings.copyright, keywords=settings.keywords, taken=settings.dateTime,
                    latitude=settings.gps.lat if settings.gps else None,
                    longitude=settings.gps.lon if settings.gps else None)
    fmt = picture.encoding.format if picture.encoding.format in METADATA_FORMATS else "png"
    return picture.with_image(write_fields(picture.image, fields)).with_encoding(format=fmt, strip=False)


EDIT_METADATA = Operation(settings=EditMetadataSettings, takes=Takes.ONE, gives=Gives.FILE, apply=edit_metadata)


# -- bulk-rename ---------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
PLACEHOLDERS = ("n", "date", "original")
_UNSAFE = re.compile(r"[^\w .()+-]")


class BulkRenameSettings(Settings):
    pattern: str = Field(default="{original}-{n}", min_length=1, max_length=200,
                         description="New name without extension: {n} number, {date} today, {original} old name.")
    startIndex: int = Field(default=1, ge=0, le=1_000_000, description="The first {n}.")
    padding: int = Field(default=1, ge=1, le=10, description="Digits of {n}, zero-padded.")


def bulk_rename(items: Sequence[Item], settings: BulkRenameSettings, bench: Workbench) -> list[ImageFile]:
    unknown = sorted({name for name in PLACEHOLDER.findall(settings.pattern) if name not in PLACEHOLDERS})
    if unknown or PLACEHOLDER.sub("", settings.pattern).count("{") or PLACEHOLDER.sub("", settings.pattern).count("}"):
        raise InvalidInput(f"pattern: unknown placeholder(s) {unknown or 'unbalanced braces'}. Valid: {{n}}, {{date}}, "
                           "{original}.", code="tool_settings_invalid", field="pattern", valid=list(PLACEHOLDERS))
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    taken: set[str] = set()
    renamed: list[ImageFile] = []
    for number, item in enumerate(items, start=settings.startIndex):
        assert isinstance(item, ToolFile)
        values = {"n": str(number).zfill(settings.padding), "date": today, "original": Path(item.filename).stem}
        stem = _UNSAFE.sub("_", PLACEHOLDER.sub(lambda match: values[match.group(1)], settings.pattern)).strip(" .")
        name = _unique(f"{stem or 'image'}.{EXTENSIONS.get(item.format, item.format)}", taken)
        renamed.append(ImageFile(item.path.read_bytes(), name, MEDIA_TYPES[item.format]))
    return renamed


def _unique(name: str, taken: set[str]) -> str:
    stem, dot, ext = name.rpartition(".")
    candidate, count = name, 1
    while candidate.lower() in taken:
        count += 1
        candidate = f"{stem}-{count}{dot}{ext}"
    taken.add(candidate.lower())
    return candidate


BULK_RENAME = Operation(settings=BulkRenameSettings, takes=Takes.MANY, gives=Gives.FILES, apply=bulk_rename,
                        wants=Wants.FILE, min_files=1)


# -- image-to-pdf --------------------------------------------------------------------------------


class PageSize(StrEnum):
    A3 = "A3"
    A4 = "A4"
    A5 = "A5"
    LETTER = "Letter"
    LEGAL = "Legal"
    TABLOID = "Tabloid"
    FIT = "fit"  # each page the size of its image


PAGE_POINTS = {PageSize.A3: (841.89, 1190.55), PageSize.A4: (595.28, 841.89), PageSize.A5: (419.53, 595.28),
               PageSize.LETTER: (612.0, 792.0), PageSize.LEGAL: (612.0, 1008.0), PageSize.TABLOID: (792.0, 1224.0)}


class Orientation(StrEnum):
    PORTRAIT = "portrait"
    LANDSCAPE = "landscape"
    AUTO = "auto"  # landscape pages for wide images


class PdfFit(StrEnum):
    CONTAIN = "contain"  # the whole image, as large as the page allows
    COVER = "cover"  # the page filled, the image's overflow cut by the page edge
    FILL = "fill"  # stretched to the page
    SHRINK = "shrink"  # only images larger than the page are made smaller


_FIT_MODES = {PdfFit.CONTAIN: img2pdf.FitMode.into, PdfFit.COVER: img2pdf.FitMode.fill,
              PdfFit.FILL: img2pdf.FitMode.exact, PdfFit.SHRINK: img2pdf.FitMode.shrink}
_EMBEDDED_AS_IS = ("jpeg", "png")  # img2pdf copies JPEG data untouched; PNG stays lossless (a TIFF may hide pages)


class ImageToPdfSettings(Settings):
    pageSize: PageSize = Field(default=PageSize.A4, description="Paper size, or fit = each page the image's size.")
    orientation: Orientation = Field(default=Orientation.AUTO)
    margin: float = Field(default=0, ge=0, le=144, description="Margin on every side, points (1/72 inch).")
    fitMode: PdfFit = Field(default=PdfFit.CONTAIN)


def image_to_pdf(items: Sequence[Item], settings: ImageToPdfSettings, bench: Workbench) -> ImageFile:
    pages = [_pdf_ready(item, bench) for item in items]
    if settings.pageSize is PageSize.FIT:
        layout = _fit_layout(settings.margin)
    else:
        short, long = PAGE_POINTS[settings.pageSize]
        page = (long, short) if settings.orientation is Orientation.LANDSCAPE else (short, long)
        border = (settings.margin, settings.margin) if settings.margin else None
        layout = img2pdf.get_layout_fun(pagesize=page, border=border, fit=_FIT_MODES[settings.fitMode],
                                        auto_orient=settings.orientation is Orientation.AUTO)
    try:
        data = img2pdf.convert(pages, layout_fun=layout, rotation=img2pdf.Rotation.ifvalid)
    except (img2pdf.PdfTooLargeError, img2pdf.NegativeDimensionError) as error:
        raise InvalidInput(f"The PDF could not be laid out: {error}. Try a smaller margin or another fitMode.",
                           code="tool_settings_invalid") from error
    except Exception as error:  # img2pdf's parsers raise plain exceptions on files they cannot embed
        raise PicshaError("An image could not be put into the PDF; it may be damaged.", code="tool_input_unreadable",
                          status=422, detail=str(error)[:200]) from error
    first = items[0]
    return ImageFile(data, f"{Path(first.filename).stem or 'images'}.pdf", MEDIA_TYPES["pdf"])


def _fit_layout(margin: float) -> Callable[..., tuple[float, float, float, float]]:
    """Pages the image's size, one point per pixel (as PDF renders read them), whatever DPI the file claims."""
    def layout(width_px: int, height_px: int, _dpi: object) -> tuple[float, float, float, float]:
        return width_px + 2 * margin, height_px + 2 * margin, float(width_px), float(height_px)
    return layout


def _pdf_ready(item: Item, bench: Workbench) -> bytes:
    """JPEG and PNG files as they are (checked against the pixel limit); anything else as lossless PNG."""
    if isinstance(item, ToolFile) and item.format in _EMBEDDED_AS_IS:
        size_of(item, bench)  # header only: refuses a decompression bomb before img2pdf reads it
        data = item.path.read_bytes()
        if item.format != "png" or not _has_alpha(item):
            return data
    picture = decode(item, bench) if isinstance(item, ToolFile) else item
    image = picture.image
    if image.hasalpha():  # PDF pages are opaque: transparent areas become white paper
        image = image.flatten(background=[255] * (image.bands - 1))
    return encode(picture.with_image(image).with_encoding(format="png", quality=None, strip=True)).data


def _has_alpha(file: ToolFile) -> bool:
    return bool(pyvips.Image.pngload(str(file.path)).hasalpha())


IMAGE_TO_PDF = Operation(settings=ImageToPdfSettings, takes=Takes.MANY, gives=Gives.FILE, apply=image_to_pdf,
                         wants=Wants.ANY, min_files=1)


# -- favicon -------------------------------------------------------------------------------------

MASTER = 512
ICON_PNGS = {
    "favicon-16x16.png": 16, "favicon-32x32.png": 32, "favicon-48x48.png": 48, "favicon-64x64.png": 64,
    "favicon-96x96.png": 96, "favicon-128x128.png": 128, "favicon-256x256.png": 256,
    "apple-touch-icon.png": 180, "android-chrome-192x192.png": 192, "android-chrome-512x512.png": 512,
}
ICO_SIZES = (16, 32, 48)


class FaviconSettings(Settings):
    padding: int = Field(default=0, ge=0, le=40, description="Space around the image, percent of the side.")
    backgroundColor: str = Field(default="transparent", max_length=32, description="Behind the image.")
    borderRadius: int = Field(default=0, ge=0, le=50, description="Corner radius, percent of the side (50 = circle).")


def favicon(items: Sequence[Item], settings: FaviconSettings, bench: Workbench) -> list[ImageFile]:
    background = rgba(colour(settings.backgroundColor, "backgroundColor"))
    master = _icon(items[0], settings, background, bench)
    files = [ImageFile(_icon_png(master, size, name == "apple-touch-icon.png"), name, MEDIA_TYPES["png"])
             for name, size in ICON_PNGS.items()]
    ico = io.BytesIO()
    Image.open(io.BytesIO(master.write_to_buffer(".png"))).save(ico, "ICO", sizes=[(s, s) for s in ICO_SIZES])
    files.append(ImageFile(ico.getvalue(), "favicon.ico", MEDIA_TYPES["ico"]))
    files.append(ImageFile(_manifest(background), "site.webmanifest", MEDIA_TYPES["webmanifest"]))
    return files


def _icon(item: Item, settings: FaviconSettings, background: list[int], bench: Workbench) -> pyvips.Image:
    """The 512-pixel square: the image fitted inside the padding, centred on the background, corners cut."""
    inner = max(1, round(MASTER * (1 - 2 * settings.padding / 100)))
    image = still(render_on(item, RenderParams(w=inner, h=inner, fit=Fit.INSIDE), bench).image)
    if image.interpretation != "srgb" or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    if not image.hasalpha():
        image = image.bandjoin_const([255])
    canvas = (pyvips.Image.black(MASTER, MASTER, bands=4) + background).cast("uchar").copy(interpretation="srgb")
    icon = canvas.composite2(image, "over", x=(MASTER - image.width) // 2, y=(MASTER - image.height) // 2)
    icon = icon.cast("uchar")
    if settings.borderRadius:
        icon = shape_mask(icon, CropShape.ROUNDED, round(MASTER * settings.borderRadius / 100))
    return icon.copy_memory()


def _icon_png(master: pyvips.Image, size: int, opaque: bool) -> bytes:
    icon = master.thumbnail_image(size, height=size) if size != MASTER else master
    if opaque:  # iOS shows a transparent touch icon on black
        icon = icon.flatten(background=[255, 255, 255])
    return bytes(icon.write_to_buffer(".png", compression=9))


def _manifest(background: list[int]) -> bytes:
    solid = "#" + "".join(f"{band:02x}" for band in background[:3]) if background[3] else "#ffffff"
    icons = [{"src": f"/android-chrome-{s}x{s}.png", "sizes": f"{s}x{s}", "type": "image/png"} for s in (192, 512)]
    manifest = {"name": "", "short_name": "", "icons": icons, "theme_color": solid, "background_color": solid,
                "display": "standalone"}
    return json.dumps(manifest, indent=2).encode()


FAVICON = Operation(settings=FaviconSettings, takes=Takes.ONE, gives=Gives.FILES, apply=favicon, wants=Wants.ANY)
