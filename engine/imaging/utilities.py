"""Utilities: info, compare, find-duplicates, color-palette, image-to-base64 (QR and barcodes: ``codes``)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from enum import StrEnum

import numpy as np
import pyvips
from pydantic import BaseModel, Field

from engine.enrich.colors import describe_colors, perceptual_hash
from engine.errors import InvalidInput, PicshaError, TooLarge
from engine.imaging.chain import decode, encode, render_on
from engine.imaging.essentials import Settings, size_of
from engine.imaging.items import MEDIA_TYPES, Gives, Item, Picture, Takes, ToolFile
from engine.imaging.operation import Operation, Wants, Workbench
from engine.media.decoders import register_pillow_plugins, vips_load
from engine.render.params import Fit, RenderParams

MAX_EXIF_FIELDS = 100
MAX_EXIF_VALUE = 200


def still(image: pyvips.Image) -> pyvips.Image:
    """The first frame of an animation (frames are stacked, ``page-height`` apart); a still image as it is."""
    if not image.get_typeof("page-height") or image.get("page-height") >= image.height:
        return image
    first = image.crop(0, 0, image.width, image.get("page-height")).copy()
    first.remove("page-height")
    return first


def rgb_pixels(image: pyvips.Image) -> np.ndarray:
    """An 8-bit sRGB copy of the first frame as a height x width x 3 array (transparency flattened onto white)."""
    image = still(image)
    if image.interpretation not in ("srgb", "b-w") or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1)).cast("uchar")
    if image.bands == 1:
        image = image.bandjoin([image, image])
    return np.ndarray(buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, 3))


# -- info ----------------------------------------------------------------------------------------


class InfoSettings(Settings):
    pass


class ImageInfo(BaseModel):
    width: int = Field(description="Pixels, as shown (EXIF orientation applied).")
    height: int
    format: str
    size: int = Field(description="File size, bytes.")
    channels: int
    hasAlpha: bool
    dpi: float | None = Field(description="Horizontal resolution the file declares; null when it declares none.")
    orientation: int = Field(description="EXIF orientation, 1 = upright.")
    pages: int = Field(description="Frames of an animation, else 1.")
    exif: dict[str, str] = Field(description="Readable EXIF fields by tag name.")


def info(items: Sequence[Item], settings: InfoSettings, bench: Workbench) -> ImageInfo:
    file = items[0]
    assert isinstance(file, ToolFile)
    width, height = size_of(file, bench)  # header only; refuses a file whose bytes are not its sniffed format
    read = _pillow_header if file.format == "heic" else _vips_header
    channels, alpha, dpi, orientation, pages, exif = read(file)
    return ImageInfo(width=width, height=height, format=file.format, size=file.path.stat().st_size, channels=channels,
                     hasAlpha=alpha, dpi=dpi, orientation=orientation, pages=pages, exif=exif)


Header = tuple[int, bool, float | None, int, int, dict[str, str]]


def _vips_header(file: ToolFile) -> Header:
    header = vips_load(str(file.path), file.format)  # lazy: no pixel is decoded
    fields = header.get_fields()
    exif: dict[str, str] = {}
    for name in fields:
        if name.startswith("exif-ifd") and len(exif) < MAX_EXIF_FIELDS:
            # libvips gives "value (value, format, count)": the part before the parenthesis is the value
            value = str(header.get(name)).rsplit(" (", 1)[0]
            exif.setdefault(name.split("-", 2)[2], value[:MAX_EXIF_VALUE])
    dpi = None if abs(header.xres - 1.0) < 1e-6 else round(header.xres * 25.4, 2)  # 1 px/mm: libvips' "none said"
    orientation = int(header.get("orientation")) if "orientation" in fields else 1
    pages = int(header.get("n-pages")) if "n-pages" in fields else 1
    return header.bands, bool(header.hasalpha()), dpi, orientation, pages, exif


def _pillow_header(file: ToolFile) -> Header:
    from PIL import ExifTags, Image

    register_pillow_plugins()
    try:
        with Image.open(file.path) as image:
            exif = image.getexif()
            named = {ExifTags.TAGS.get(tag, str(tag)): str(value)[:MAX_EXIF_VALUE] for tag, value in exif.items()}
            dpi = image.info.get("dpi")
            return (len(image.getbands()), "A" in image.getbands(), float(dpi[0]) if dpi else None,
                    int(exif.get(0x0112, 1)), getattr(image, "n_frames", 1), dict(list(named.items())[:MAX_EXIF_FIELDS]))
    except (OSError, RuntimeError, ValueError) as error:
        raise PicshaError("The image could not be read.", code="tool_input_unreadable", status=422) from error


INFO = Operation(settings=InfoSettings, takes=Takes.ONE, gives=Gives.JSON, apply=info, wants=Wants.FILE)


# -- compare -------------------------------------------------------------------------------------


class CompareMode(StrEnum):
    SIDE_BY_SIDE = "side-by-side"
    OVERLAY = "overlay"  # the second at half opacity over the first
    DIFF = "diff"  # the first dimmed to grey, pixels that differ in red
    SCORE = "score"  # JSON: the similarity numbers only


class CompareSettings(Settings):
    mode: CompareMode = Field(default=CompareMode.DIFF)
    diffThreshold: int = Field(default=16, ge=0, le=255,
                               description="A pixel differs when a channel differs by more than this (0-255).")


class Similarity(BaseModel):
    similarity: float = Field(description="Percent of pixels that match within diffThreshold.")
    meanDifference: float = Field(description="Mean absolute channel difference, 0-255.")
    differentPixels: int
    width: int = Field(description="The size compared at (the first image's; the second is resized to it).")
    height: int
    sameSize: bool


def compare(items: Sequence[Item], settings: CompareSettings, bench: Workbench) -> Picture | Similarity:
    first, second = items[0], items[1]
    assert isinstance(first, Picture) and isinstance(second, Picture)
    a, b = _comparable(still(first.image)), _comparable(still(second.image))
    resized = b.thumbnail_image(a.width, height=a.height, size="force") if (a.width, a.height) != (b.width, b.height) else b
    difference = (a - resized).abs()
    largest = difference[0]
    for band in range(1, difference.bands):
        largest = (difference[band] > largest).ifthenelse(difference[band], largest)
    changed = largest > settings.diffThreshold
    changed_share = changed.avg() / 255
    if settings.mode is CompareMode.SCORE:
        return Similarity(similarity=round(100 * (1 - changed_share), 3), meanDifference=round(difference.avg(), 3),
                          differentPixels=round(changed_share * a.width * a.height), width=a.width, height=a.height,
                          sameSize=(a.width, a.height) == (b.width, b.height))
    if settings.mode is CompareMode.OVERLAY:
        return first.with_image((a * 0.5 + resized * 0.5).cast("uchar"))
    if settings.mode is CompareMode.DIFF:
        grey = (a.colourspace("b-w")[0] * 0.4 + 140).cast("uchar")
        faint = grey.bandjoin([grey, grey]).copy(interpretation="srgb")
        return first.with_image(changed.ifthenelse([255, 0, 0], faint)).with_encoding(format="png")
    return first.with_image(_side_by_side(a, b, bench))


def _comparable(image: pyvips.Image) -> pyvips.Image:
    if image.interpretation != "srgb" or image.format != "uchar":
        image = image.colourspace("srgb").cast("uchar")
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255]).cast("uchar")
    return image


def _side_by_side(a: pyvips.Image, b: pyvips.Image, bench: Workbench) -> pyvips.Image:
    gap = max(2, a.height // 100)
    b = b.thumbnail_image(100_000, height=a.height) if b.height != a.height else b
    width = a.width + gap + b.width
    if width * a.height > bench.render.max_output_pixels:
        raise InvalidInput(f"Side by side, the images would make {width}x{a.height} pixels, over the output limit of "
                           f"{bench.render.max_output_pixels}. Use overlay or diff.", code="tool_settings_invalid",
                           valid=["overlay", "diff", "score"])
    return a.embed(0, 0, width, a.height, extend="white").insert(b, a.width + gap, 0)


COMPARE = Operation(settings=CompareSettings, takes=Takes.TWO, gives=Gives.FILE, apply=compare)


# -- find-duplicates -----------------------------------------------------------------------------


class FindDuplicatesSettings(Settings):
    threshold: int = Field(default=8, ge=0, le=64, description="Largest perceptual-hash distance (bits of 64) of a match.")


class HashedFile(BaseModel):
    index: int = Field(description="Position in the files given, from 0.")
    filename: str
    hash: str = Field(description="64-bit DCT perceptual hash, hex.")


class DuplicateGroup(BaseModel):
    files: list[int] = Field(description="Indexes of files that look alike.")
    filenames: list[str]
    maxDistance: int = Field(description="Largest hash distance between two files of the group.")


class Duplicates(BaseModel):
    groups: list[DuplicateGroup]
    files: list[HashedFile]
    threshold: int


def find_duplicates(items: Sequence[Item], settings: FindDuplicatesSettings, bench: Workbench) -> Duplicates:
    hashes: list[int] = []
    for number, item in enumerate(items):
        small = render_on(item, RenderParams(w=32, h=32, fit=Fit.FILL), bench)  # shrink-on-load: never the whole
        hashes.append(int(perceptual_hash(rgb_pixels(small.image)), 16))
        bench.progress((number + 1) / len(items), f"hashed {number + 1} of {len(items)}")
    parent = list(range(len(items)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for i in range(len(hashes)):
        for j in range(i + 1, len(hashes)):
            if (hashes[i] ^ hashes[j]).bit_count() <= settings.threshold:
                parent[root(j)] = root(i)
    members: dict[int, list[int]] = {}
    for index in range(len(items)):
        members.setdefault(root(index), []).append(index)
    groups = [
        DuplicateGroup(files=group, filenames=[items[i].filename for i in group],
                       maxDistance=max((hashes[i] ^ hashes[j]).bit_count() for i in group for j in group))
        for group in members.values() if len(group) > 1
    ]
    return Duplicates(groups=groups, threshold=settings.threshold,
                      files=[HashedFile(index=i, filename=item.filename, hash=f"{hashes[i]:016x}")
                             for i, item in enumerate(items)])


FIND_DUPLICATES = Operation(settings=FindDuplicatesSettings, takes=Takes.MANY, gives=Gives.JSON,
                            apply=find_duplicates, wants=Wants.ANY)


# -- color-palette -------------------------------------------------------------------------------


class ColorFormat(StrEnum):
    HEX = "hex"
    RGB = "rgb"


class PaletteSettings(Settings):
    count: int = Field(default=5, ge=1, le=16, description="How many dominant colours.")
    format: ColorFormat = Field(default=ColorFormat.HEX, description="hex = #rrggbb, rgb = rgb(r, g, b).")


class PaletteColor(BaseModel):
    color: str
    name: str = Field(description="Nearest basic colour name.")
    fraction: float = Field(description="Share of the image, 0-1.")


class Palette(BaseModel):
    colors: list[PaletteColor] = Field(description="Most to least common.")


def color_palette(items: Sequence[Item], settings: PaletteSettings, bench: Workbench) -> Palette:
    small = render_on(items[0], RenderParams(w=128, h=128, fit=Fit.INSIDE), bench)
    found = describe_colors(rgb_pixels(small.image), k=settings.count)["colors"]
    colors = []
    for entry in found:
        hex_value = entry["hex"]
        red, green, blue = (int(hex_value[i : i + 2], 16) for i in (1, 3, 5))
        shown = hex_value if settings.format is ColorFormat.HEX else f"rgb({red}, {green}, {blue})"
        colors.append(PaletteColor(color=shown, name=entry["name"], fraction=entry["fraction"]))
    return Palette(colors=colors)


COLOR_PALETTE = Operation(settings=PaletteSettings, takes=Takes.ONE, gives=Gives.JSON, apply=color_palette,
                          wants=Wants.ANY)


# -- image-to-base64 -----------------------------------------------------------------------------

MAX_BASE64_SOURCE = 8 * 1024 * 1024  # JSON answers stay small enough to hold and parse


class Base64Format(StrEnum):
    DATA_URI = "data-uri"
    PLAIN = "plain"


class MimeType(StrEnum):
    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"
    AVIF = "image/avif"
    GIF = "image/gif"


class Base64Settings(Settings):
    format: Base64Format = Field(default=Base64Format.DATA_URI)
    mimeType: MimeType | None = Field(default=None, description="Convert first; default: the file as it is.")


class Base64Image(BaseModel):
    data: str = Field(description="data:<type>;base64,... or plain base64.")
    mimeType: str
    bytes: int = Field(description="Size of the encoded file.")


def image_to_base64(items: Sequence[Item], settings: Base64Settings, bench: Workbench) -> Base64Image:
    file = items[0]
    assert isinstance(file, ToolFile)
    media = MEDIA_TYPES[file.format]
    if settings.mimeType is not None and settings.mimeType.value != media:
        fmt = next(name for name, value in MEDIA_TYPES.items() if value == settings.mimeType.value)
        written = encode(decode(file, bench).with_encoding(format=fmt))
        data, media = written.data, written.media_type
    else:
        if file.path.stat().st_size > MAX_BASE64_SOURCE:
            raise _too_large(file.path.stat().st_size)
        size_of(file, bench)  # the bytes are what they claim, within the pixel limit
        data = file.path.read_bytes()
    if len(data) > MAX_BASE64_SOURCE:
        raise _too_large(len(data))
    text = base64.b64encode(data).decode("ascii")
    return Base64Image(data=f"data:{media};base64,{text}" if settings.format is Base64Format.DATA_URI else text,
                       mimeType=media, bytes=len(data))


def _too_large(size: int) -> TooLarge:
    return TooLarge(f"The image is {size} bytes; image-to-base64 encodes files up to {MAX_BASE64_SOURCE} bytes. "
                    "Compress or resize it first.", code="tool_output_too_large", limit=MAX_BASE64_SOURCE)


IMAGE_TO_BASE64 = Operation(settings=Base64Settings, takes=Takes.ONE, gives=Gives.JSON, apply=image_to_base64,
                            wants=Wants.FILE)
