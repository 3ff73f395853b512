"""Image tool limits and the operator's model files (``PICSHA_IMAGING__...``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class ModelPaths(BaseModel):
    """One ONNX file per model; unset means the tools that need it are unavailable."""

    u2net: Path | None = Field(default=None, description="U2-Net (rembg's u2net.onnx): remove-background.")
    birefnet: Path | None = Field(default=None, description="BiRefNet ONNX export: remove-background model=birefnet.")
    realesrgan: Path | None = Field(default=None, description="Real-ESRGAN ONNX (x4plus or x2plus): upscale.")
    lama: Path | None = Field(default=None, description="LaMa ONNX (inputs image and mask): erase-object.")
    ddcolor: Path | None = Field(default=None, description="DDColor ONNX: colorize.")
    gfpgan: Path | None = Field(default=None, description="GFPGAN 1.4 ONNX: enhance-faces.")
    codeformer: Path | None = Field(default=None, description="CodeFormer ONNX: enhance-faces model=codeformer.")


class ImagingSettings(BaseModel):
    max_batch_files: int = Field(default=200, ge=1, le=10_000, description="Files in one batch request.")
    max_batch_mb: int = Field(default=500, ge=1, description="Total upload size of one batch request.")
    max_asset_inputs: int = Field(default=50, ge=1, le=1000, description="Assets one tool call may take.")
    models: ModelPaths = Field(default_factory=ModelPaths)
    model_threads: int = Field(
        default=2, ge=1, le=64,
        description="Intra-op threads of each model session: one AI tool call uses at most this many cores.",
    )
    upscale_tile_px: int = Field(
        default=256, ge=32, le=2048,
        description="upscale works on tiles of this many input pixels a side, so memory stays bounded.",
    )

    def model_paths(self) -> dict[str, str]:
        """What ``Workbench.models`` carries: the configured models by key."""
        return {key: str(path) for key, path in self.models.model_dump().items() if path is not None}
