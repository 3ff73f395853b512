"""The words an asset is found by: what the user gave, what analyzers found, and where/when it was made."""

from __future__ import annotations

from engine.assets.models import WORDS_KEY
from engine.enrich.source import AssetRecord

EXIF_FIELDS = ("camera", "created", "author", "title", "software")  # the keys engine.media.probe writes


def derived_text(record: AssetRecord, max_chars: int = 20_000) -> str:
    """Entry point: one text of filename, tags, description, OCR, caption, summary, place, EXIF and, last,
    the start of a document's own words."""
    ai = record.ai or {}
    location = record.location or {}
    exif = record.exif or {}
    stem = record.filename.rsplit(".", 1)[0].replace("_", " ").replace("-", " ")
    parts: list[str] = [record.filename, stem]
    parts += list(record.tags or []) + list(ai.get("tags") or [])
    parts += [record.description or "", record.alt_text or "", ai.get("caption") or "", ai.get("summary") or ""]
    parts += [location.get("label") or ""]
    parts += [str(exif[key]) for key in EXIF_FIELDS if exif.get(key)]
    parts += [color["name"] for color in (ai.get("colors") or [])[:2]]
    parts += [ai.get("ocr_text") or "", ai.get(WORDS_KEY) or ""]
    return "\n".join(part for part in parts if part)[:max_chars]
