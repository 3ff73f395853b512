"""Image tool limits and the operator's model files (``PICSHA_IMAGING__...``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ImagingSettings(BaseModel):
    max_batch_files: int = Field(default=200, ge=1, le=10_000, description="Files in one batch request.")
    max_batch_mb: int = Field(default=500, ge=1, description="Total upload size of one batch request.")
    max_asset_inputs: int = Field(default=50, ge=1, le=1000, description="Assets one tool call may take.")
    models: dict[str, str] = Field(default_factory=dict, description="Model files (ONNX) by name, for the AI tools.")
