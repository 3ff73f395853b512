"""What image tools take and give: files on disk in, decoded pictures between steps, files (or JSON) out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import pyvips
from pydantic import BaseModel

RASTER_FORMATS = ("jpeg", "png", "webp", "avif", "gif", "tiff", "heic")
"""Formats a picture can be decoded from (sniffed, never trusted from a name)."""

MEDIA_TYPES = {
    "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif", "gif": "image/gif",
    "tiff": "image/tiff", "heic": "image/heic", "svg": "image/svg+xml", "pdf": "application/pdf",
    "ico": "image/vnd.microsoft.icon", "zip": "application/zip", "json": "application/json",
    "webmanifest": "application/manifest+json", "txt": "text/plain",
}
EXTENSIONS = {"jpeg": "jpg", "heic": "heic", "tiff": "tiff"}


class Takes(StrEnum):
    ONE = "one"  # one file
    TWO = "two"  # the file plus a second one (a watermark, a comparison target)
    ONE_OR_TWO = "one-or-two"  # the file, and optionally a second one (erase-object's mask, else in settings)
    MANY = "many"  # two or more files, used together (collage, stitch, find-duplicates)
    NONE = "none"  # no file needed; at most one optional file (qr-generate's logo)


class Gives(StrEnum):
    FILE = "file"
    FILES = "files"  # several files (favicon set, split tiles, PDF pages): a ZIP over REST
    JSON = "json"


@dataclass(frozen=True)
class ToolFile:
    """An input: a local file whose format was sniffed from its bytes."""

    path: Path
    filename: str
    format: str


@dataclass(frozen=True)
class Encoding:
    """How a picture will be written: the format and the encoder options tools before the end chose."""

    format: str
    quality: int | None = None  # None: the format's default
    target_kb: int | None = None  # search the quality so the file fits (compress)
    strip: bool = True  # drop EXIF/XMP (an ICC profile is kept)
    palette: bool = False  # PNG: quantise to a palette at ``quality`` (a smaller file, still PNG)


@dataclass(frozen=True)
class Picture:
    """A decoded image between steps (a libvips image held in memory) and how it will be written."""

    image: pyvips.Image
    filename: str
    encoding: Encoding
    metadata: dict[str, str] = field(default_factory=dict)  # EXIF/XMP fields a step wants written (edit-metadata)
    sequential: bool = False  # streamed from its file: read once, top to bottom (``chain.materialized`` copies it)

    def with_image(self, image: pyvips.Image) -> Picture:
        return replace(self, image=image)

    def with_encoding(self, **changes: object) -> Picture:
        return replace(self, encoding=replace(self.encoding, **changes))  # type: ignore[arg-type]


@dataclass(frozen=True)
class ImageFile:
    """An output file, in memory (outputs are bounded by the output pixel limit)."""

    data: bytes
    filename: str
    media_type: str


Item = ToolFile | Picture
Result = Picture | ImageFile | list[ImageFile | Picture] | BaseModel
"""What an operation gives: one picture or file, several, or a JSON model."""


def with_extension(filename: str, fmt: str) -> str:
    stem = Path(filename).stem or "image"
    return f"{stem}.{EXTENSIONS.get(fmt, fmt)}"
