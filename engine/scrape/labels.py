"""ai_labeling: a file's name from its analysis (caption, else tags, else OCR text)."""

from __future__ import annotations

import re

from engine.assets.models import Asset

WORDS = 6


def label_of(asset: Asset) -> str | None:
    if asset.ai.tags:
        return ", ".join(tag.title() for tag in asset.ai.tags[:3])
    text = asset.ai.caption or asset.ai.summary or asset.ai.ocr_text
    return " ".join(text.split()[:WORDS]) if text else None


def filename_from(asset: Asset) -> str | None:
    """'sunset_beach_ocean_a1b2.jpg': the caption's (or tags', or OCR's) first words, a short id, the extension."""
    text = asset.ai.caption or " ".join(asset.ai.tags[:3]) or asset.ai.summary or asset.ai.ocr_text
    if not text:
        return None
    words = re.findall(r"[a-z0-9]+", text.lower())[:WORDS]
    if not words:
        return None
    suffix = asset.filename.rsplit(".", 1)[1].lower() if "." in asset.filename else (asset.meta.format or "bin")
    return f"{'_'.join(words)}_{asset.id[-4:]}.{suffix}"
