"""Read what a file is (dimensions, pages, EXIF, GPS) from its header, before anything is decoded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyvips

from engine.assets.models import AssetType
from engine.assets.taken import parse_moment, parse_offset
from engine.errors import InvalidInput
from engine.ingest.sniff import FileKind
from engine.documents.metadata import document_properties
from engine.media.archive import ArchiveLimits, UnreadableArchive
from engine.media.decoders import register_pillow_plugins, vips_load
from engine.media.pdf import UnreadablePdf, open_pdf

# EXIF tag numbers (TIFF/EXIF 2.3).
_IFD_EXIF, _IFD_GPS = 0x8769, 0x8825
_MAKE, _MODEL, _ORIENTATION, _SOFTWARE, _DATETIME, _ARTIST = 0x010F, 0x0110, 0x0112, 0x0131, 0x0132, 0x013B
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004  # exiftool's DateTimeOriginal and CreateDate
_OFFSET_TIME, _OFFSET_ORIGINAL, _OFFSET_DIGITIZED = 0x9010, 0x9011, 0x9012  # their UTC offsets (EXIF 2.31)


@dataclass
class Probe:
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    exif: dict[str, Any] = field(default_factory=dict)
    gps: tuple[float, float] | None = None


def corrupt(kind: FileKind, reason: object) -> InvalidInput:
    return InvalidInput(
        f"The file looks like {kind.format} but cannot be read: {reason}", code="asset_file_corrupt"
    )


def _image_size(path: Path, kind: FileKind) -> tuple[int, int, int]:
    if kind.format == "heic":
        register_pillow_plugins()
        from PIL import Image

        try:
            with Image.open(path) as image:
                return image.width, image.height, getattr(image, "n_frames", 1)
        except RuntimeError as error:  # libheif's own limits and parse errors
            raise corrupt(kind, error) from error
    image = vips_load(str(path), kind.format, access="sequential")
    pages = image.get("n-pages") if image.get_typeof("n-pages") else 1
    return image.width, image.height, pages


def _ratio(value: Any) -> float:
    return float(value[0]) / float(value[1]) if isinstance(value, tuple) else float(value)


def _gps(gps_ifd: dict[int, Any]) -> tuple[float, float] | None:
    try:
        lat = sum(_ratio(v) / 60**i for i, v in enumerate(gps_ifd[2]))
        lon = sum(_ratio(v) / 60**i for i, v in enumerate(gps_ifd[4]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    lat = -lat if str(gps_ifd.get(1, "N")).upper().startswith("S") else lat
    lon = -lon if str(gps_ifd.get(3, "E")).upper().startswith("W") else lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return round(lat, 6), round(lon, 6)


def _clean(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value.strip("\x00 ").strip() if isinstance(value, str) else value


def _image_exif(path: Path) -> tuple[dict[str, Any], tuple[float, float] | None]:
    register_pillow_plugins()
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            exif = image.getexif()
            base = {tag: _clean(exif.get(tag)) for tag in (_MAKE, _MODEL, _ORIENTATION, _SOFTWARE, _DATETIME, _ARTIST)}
            extra = exif.get_ifd(_IFD_EXIF)
            gps = _gps(exif.get_ifd(_IFD_GPS))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        return {}, None  # EXIF is optional: a header Pillow will not read gives none
    make, model = base[_MAKE], base[_MODEL]
    camera = " ".join(p for p in (make, model) if p) if make and model and not str(model).startswith(str(make)) else model or make
    result = {
        "camera": camera or None,
        "make": make or None,
        "model": model or None,
        "author": base[_ARTIST] or None,
        "created": _taken(extra, base[_DATETIME]),
        "orientation": int(base[_ORIENTATION]) if base[_ORIENTATION] else None,
        "software": base[_SOFTWARE] or None,
    }
    return {k: v for k, v in result.items() if v is not None}, gps


def _taken(extra: Any, modified: Any) -> str | None:
    """When the picture was taken: DateTimeOriginal, else CreateDate, else the file's DateTime, each with its
    own offset tag when the camera wrote one (the search's taken-at filters read it)."""
    for when, offset in ((extra.get(_DATETIME_ORIGINAL), extra.get(_OFFSET_ORIGINAL)),
                         (extra.get(_DATETIME_DIGITIZED), extra.get(_OFFSET_DIGITIZED)),
                         (modified, extra.get(_OFFSET_TIME))):
        found = _exif_date(_clean(when))
        if found and parse_moment(found) is not None:
            zone = _clean(offset)
            return found + zone.strip() if "T" in found and isinstance(zone, str) and parse_offset(zone) else found
    return None


def _exif_date(value: Any) -> str | None:
    """EXIF writes '2025:11:19 14:02:11'; the API speaks ISO 8601."""
    if not value or not isinstance(value, str) or len(value) < 10:
        return None
    date, _, clock = value.partition(" ")
    return date.replace(":", "-") + (f"T{clock}" if clock else "")


def _document(path: Path, kind: FileKind, limits: ArchiveLimits) -> Probe:
    """A document's properties (engine.documents.metadata); its page or slide count becomes ``pages``."""
    try:
        found = document_properties(path, kind.format, limits)
    except UnreadableArchive as error:
        raise corrupt(kind, error) from error
    pages = found.pop("pages", None) or found.get("slides")
    return Probe(pages=pages, exif=found)


def _pdf_date(value: Any) -> str | None:
    """PDF dates ('D:20240615103000+02'00'') in ISO 8601, like every other time in the API; kept as written
    when unreadable."""
    moment = parse_moment(value)
    return moment.isoformat() if moment is not None else value


def _pdf(path: Path, kind: FileKind) -> Probe:
    try:
        with open_pdf(path) as document:
            meta = document.get_metadata_dict(skip_empty=True)
            width, height = document.get_page_size(0) if len(document) else (None, None)
            pages = len(document)
    except UnreadablePdf as error:
        raise corrupt(kind, error) from error
    exif = {"author": meta.get("Author"), "title": meta.get("Title"), "created": _pdf_date(meta.get("CreationDate")),
            "modified": _pdf_date(meta.get("ModDate"))}
    return Probe(
        width=round(width) if width else None, height=round(height) if height else None,
        pages=pages, exif={k: v for k, v in exif.items() if v},
    )


def probe(path: Path, kind: FileKind, *, max_pixels: int, archive: ArchiveLimits = ArchiveLimits()) -> Probe:
    """Inspect a sniffed file; images over ``max_pixels`` are refused from their header alone, office files
    over the ``archive`` limits from their directory alone."""
    if kind.format == "pdf":
        return _pdf(path, kind)
    if kind.type is AssetType.DOCUMENT:
        return _document(path, kind, archive)
    if kind.type is not AssetType.IMAGE:
        return Probe()
    try:
        width, height, pages = _image_size(path, kind)
    except (pyvips.Error, OSError, ValueError) as error:
        raise corrupt(kind, str(error).splitlines()[0] if str(error) else error) from error
    if width * height > max_pixels:
        raise InvalidInput(
            f"The image is {width}x{height} = {width * height} pixels; the maximum is {max_pixels}.",
            code="asset_image_too_many_pixels", max_pixels=max_pixels, width=width, height=height,
        )
    exif, gps = _image_exif(path) if kind.format != "svg" else ({}, None)
    return Probe(width=width, height=height, pages=pages if pages > 1 else None, exif=exif, gps=gps)
