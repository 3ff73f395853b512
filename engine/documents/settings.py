"""Document settings: the LibreOffice pool that makes PDF views, and how much text is kept."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DocumentSettings(BaseModel):
    convert: bool = Field(
        default=True, description="Make a PDF view (and from it a thumbnail and renders) of office files."
    )
    soffice: str = Field(default="soffice", min_length=1, description="The LibreOffice program (name or path).")
    uno_python: str = Field(
        default="/usr/bin/python3", min_length=1,
        description="A Python that imports LibreOffice's 'uno' module (Debian: python3-uno); it drives the pool.",
    )
    instances: int = Field(default=2, ge=1, le=16, description="Warm LibreOffice instances kept running.")
    timeout_s: float = Field(
        default=60.0, gt=0, le=3600, description="Longest one conversion may take; a hung instance is killed and replaced."
    )
    start_timeout_s: float = Field(default=60.0, gt=0, le=600, description="Longest an instance may take to start.")
