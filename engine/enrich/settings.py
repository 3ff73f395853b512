"""Enrichment settings: the default analysis flags and where the models come from."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

from engine.places.google import GoogleMapsSettings


class AnalysisDefaults(BaseModel):
    """Defaults for the per-upload ``config`` flags; each upload may turn any of them off (or on)."""

    auto_tag: bool = True
    auto_summarize: bool = True
    vectorize: bool = True
    location_lookup: bool = True
    pre_render_sizes: bool = False
    safe_search: bool = True
    ocr: bool = True


class ClipSettings(BaseModel):
    model: str = Field(default="ViT-B-32", description="open_clip model name.")
    pretrained: str = Field(default="laion2b_s34b_b79k", description="open_clip pretrained tag.")
    checkpoint: Path | None = Field(default=None, description="A local checkpoint file; wins over the tag.")
    cache_dir: Path | None = Field(default=None, description="Hugging Face cache to look in for the weights.")
    allow_download: bool = Field(default=False, description="Fetch the weights on first use (needs internet).")
    dim: int = Field(default=512, ge=8, le=4096, description="Embedding size of the model (the index column width).")
    tags_top_k: int = Field(default=5, ge=0, le=50)
    tags_min_probability: float = Field(default=0.08, ge=0, le=1)


class ClaudeSettings(BaseModel):
    api_key: SecretStr | None = Field(default=None, description="Falls back to ANTHROPIC_API_KEY.")
    model: str = "claude-sonnet-4-5"
    base_url: str | None = None
    max_tokens: int = Field(default=300, ge=16, le=4096)
    timeout_s: float = Field(default=60.0, gt=0)
    attempts: int = Field(default=3, ge=1, le=10)
    input_usd_per_mtok: float = Field(default=3.0, ge=0)
    output_usd_per_mtok: float = Field(default=15.0, ge=0)


class EnrichSettings(BaseModel):
    defaults: AnalysisDefaults = Field(default_factory=AnalysisDefaults)
    warm_up: bool = Field(
        default=True,
        description="Load the search models in the background when the engine starts, so no request waits for "
        "a load (a search during warm-up skips the meaning path and says so; an edit's vector follows). Off: "
        "each model loads on first use, on that request's path (deterministic; tests, one-shot commands).",
    )
    wait_timeout_s: float = Field(default=60.0, gt=0, le=600, description="Longest an upload with wait=true waits.")
    max_side_px: int = Field(default=1024, ge=64, le=4096, description="Analyzers see images scaled to this.")
    pdf_pages: int = Field(default=3, ge=1, le=50, description="PDF pages rendered for OCR.")
    nsfw_threshold: float = Field(default=0.7, ge=0, le=1)
    region_threshold: float = Field(default=0.5, ge=0, le=1)
    face_threshold: float = Field(default=0.4, ge=0, le=1)
    clip: ClipSettings = Field(default_factory=ClipSettings)
    claude: ClaudeSettings = Field(default_factory=ClaudeSettings)
    google_maps: GoogleMapsSettings = Field(default_factory=GoogleMapsSettings)
