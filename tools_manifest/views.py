"""How much of an asset a tool answer carries: a brief row by default, more when the caller asks.

A model reads every token of a result. A full asset is ~500 tokens (two signed URLs, sha256, palette,
perceptual hash, EXIF); a list of 20 of them drowns the conversation. Lists and search hits are brief
rows (~40 tokens: what it is, its size, when and where it was taken, one line about it); ``fields`` adds
named parts of the full asset and ``detail: "full"`` gives all of it. ``get_asset`` stays complete.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from engine.assets import Asset

ABOUT_CHARS = 72  # one line: enough to tell a receipt from a cat
THUMB_PX = 512  # a thumb costs a model ~260 image tokens; the 1568 px cap costs ~2,400
MAX_PREVIEW_PX = 1568

PreviewChoice = Literal["none", "thumb"] | Annotated[int, Field(ge=64, le=MAX_PREVIEW_PX)]
PREVIEW_HELP = f"Image to attach: none, thumb ({THUMB_PX} px) or a longest side in px."


def preview_side(choice: PreviewChoice) -> int | None:
    """The longest side of the preview to attach, or ``None`` for no image."""
    if choice == "none":
        return None
    return THUMB_PX if choice == "thumb" else int(choice)


class Detail(StrEnum):
    BRIEF = "brief"
    FULL = "full"


class AssetField(StrEnum):
    """Parts of the full asset a brief row can add (``fields``)."""

    TAGS = "tags"
    URLS = "urls"
    META = "meta"
    AI = "ai"
    LOCATION = "location"
    METADATA = "metadata"
    DESCRIPTION = "description"
    ALT_TEXT = "alt_text"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    IS_PUBLIC = "is_public"
    COST = "cost"
    ANALYSIS = "analysis"


class ViewOptions(BaseModel):
    """The two fields every listing tool takes."""

    detail: Detail = Field(default=Detail.BRIEF, description="brief rows (default) or full assets.")
    fields: list[AssetField] = Field(
        default_factory=list, max_length=len(AssetField), description="Add these parts of the asset to brief rows."
    )


def about(asset: Asset) -> str | None:
    """One line about the asset: its caption, summary, description or first words of its text."""
    text = asset.ai.caption or asset.ai.summary or asset.description or asset.ai.ocr_text
    if not text:
        return None
    line = " ".join(text.split())
    return line if len(line) <= ABOUT_CHARS else line[: ABOUT_CHARS - 1].rstrip() + "…"


def brief(asset: Asset) -> dict[str, Any]:
    """The brief row: only what is known (no nulls), status only while it is not ready."""
    row: dict[str, Any] = {"id": asset.id, "filename": asset.filename, "type": asset.type.value}
    if asset.meta.width and asset.meta.height:
        row["px"] = f"{asset.meta.width}x{asset.meta.height}"
    if asset.meta.pages:
        row["pages"] = asset.meta.pages
    row["taken"] = asset.taken_at.strftime("%Y-%m-%d %H:%M")
    if asset.location is not None and asset.location.label:
        row["place"] = asset.location.label
    if asset.status.value != "ready":
        row["status"] = asset.status.value
    if (line := about(asset)) is not None:
        row["about"] = line
    return row


def view(asset: Asset, options: ViewOptions) -> dict[str, Any]:
    if options.detail is Detail.FULL:
        return asset.model_dump(mode="json")
    row = brief(asset)
    if options.fields:
        row |= asset.model_dump(mode="json", include={field.value for field in options.fields})
    return row
