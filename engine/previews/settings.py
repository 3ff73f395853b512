"""Caps for images shown to a model (Anthropic's vision guidance: at most 1568 px on the long side)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class PreviewFormat(StrEnum):
    WEBP = "webp"
    JPEG = "jpeg"


class PreviewSettings(BaseModel):
    max_side: int = Field(default=1568, ge=64, le=8192, description="Longest side of a model preview, in pixels.")
    max_bytes: int = Field(default=800_000, ge=10_000, description="Largest encoded model preview, in bytes.")
    format: PreviewFormat = Field(default=PreviewFormat.WEBP, description="Encoding of model previews.")
    quality: int = Field(default=80, ge=20, le=100, description="First encoder quality tried.")
