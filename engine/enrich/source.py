"""What analyzers read: the asset's catalog row, its pixels (scaled) and its text, loaded once per job."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyvips

from engine.documents.formats import OFFICE_FORMATS
from engine.documents.text import extract_text
from engine.media.archive import ArchiveLimits
from engine.media.decoders import register_pillow_plugins, vips_can_decode, vips_load
from engine.media.pdf import open_pdf

TEXT_LIMIT = 200_000  # characters of document text kept for summaries and the index
TEXT_PAGES = 1000  # PDF pages read for text (a file of many empty pages would otherwise be walked to the end)
RECORD_FIELDS = ("id", "account_id", "type", "format", "filename", "status", "created_at", "tags", "description",
                 "alt_text", "exif", "location", "metadata", "ai", "config", "blob_key", "taken_at", "taken_offset", "trashed_at")


@dataclass
class AssetRecord:
    """The catalog fields analyzers and the index use."""

    id: str
    account_id: str
    type: str
    format: str
    filename: str
    status: str
    created_at: Any
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    alt_text: str | None = None
    exif: dict[str, Any] = field(default_factory=dict)
    location: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    ai: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    blob_key: str = ""
    taken_at: Any = None  # the wall clock where it was taken (engine.assets.taken); none: when uploaded
    taken_offset: int | None = None
    trashed_at: Any = None  # in the trash: the index keeps it (and its vectors) but no search finds it


@dataclass
class Source:
    record: AssetRecord
    pages: list[np.ndarray] = field(default_factory=list)  # RGB uint8 rasters (an image, or PDF pages)
    text: str | None = None  # a document's or text file's own words
    scale: float = 1.0  # original pixels per analysed pixel (boxes are stored in the original's pixels)

    @property
    def image(self) -> np.ndarray | None:
        return self.pages[0] if self.pages else None


def _to_array(image: pyvips.Image) -> np.ndarray:
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
    image = image.colourspace("srgb") if image.interpretation != "srgb" else image
    if image.bands == 1:
        image = image.bandjoin([image, image])
    return np.ndarray(buffer=image[:3].cast("uchar").write_to_memory(), dtype=np.uint8,
                      shape=[image.height, image.width, 3])


def load_image(path: Path, fmt: str, max_side: int) -> tuple[np.ndarray, float]:
    """Decode with the sniffed format's loader only, upright (EXIF orientation applied, as render does),
    scaled so the longer side is at most ``max_side``.

    Returns the pixels and the factor from them back to the upright original's pixels.
    """
    if vips_can_decode(fmt):
        image = vips_load(str(path), fmt, access="sequential")
    else:
        from PIL import Image, ImageOps

        register_pillow_plugins()
        with Image.open(path) as opened:
            rgb = ImageOps.exif_transpose(opened).convert("RGB")
        image = pyvips.Image.new_from_array(np.asarray(rgb)).copy(interpretation="srgb")
    original_side = max(image.width, image.height)
    scale = min(1.0, max_side / original_side)
    if scale < 1.0:
        image = image.resize(scale)
    # Rotating needs the pixels in any order, which a sequential load cannot give: do it on the small copy.
    image = image.copy_memory().autorot()
    return _to_array(image), original_side / max(image.width, image.height)


def load_pdf(path: Path, pages: int, max_side: int) -> tuple[list[np.ndarray], str]:
    with open_pdf(path) as document:
        rasters: list[np.ndarray] = []
        texts: list[str] = []
        for index in range(min(len(document), TEXT_PAGES)):
            page = document[index]
            texts.append(page.get_textpage().get_text_range())
            if index < pages:
                width, height = page.get_size()
                scale = min(4.0, max_side / max(width, height, 1))
                rasters.append(np.asarray(page.render(scale=scale).to_pil().convert("RGB")))
            if sum(len(t) for t in texts) > TEXT_LIMIT:
                break
    return rasters, "\n".join(texts)[:TEXT_LIMIT]


def load_text(path: Path) -> str:
    with path.open("rb") as handle:
        return handle.read(TEXT_LIMIT * 4).decode("utf-8", errors="replace")[:TEXT_LIMIT]


def load_source(
    record: AssetRecord, path: Path, *, max_side: int, pdf_pages: int, archive: ArchiveLimits = ArchiveLimits()
) -> Source:
    source = Source(record=record)
    if record.type == "image":
        image, source.scale = load_image(path, record.format, max_side)
        source.pages = [image]
    elif record.format == "pdf":
        source.pages, source.text = load_pdf(path, pdf_pages, max_side)
    elif record.type == "text":
        source.text = load_text(path)
    elif record.format in OFFICE_FORMATS:  # none for doc, xls, ppt: their job hands over its PDF view's words
        source.text = extract_text(path, record.format, limits=archive, limit=TEXT_LIMIT)
    return source
