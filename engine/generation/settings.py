"""Generation settings: the chain's order, and per provider its key, address, model and price table.

Environment: ``PICSHA_GENERATE__ORDER='["fal","openai"]'``, ``PICSHA_GENERATE__OPENAI__API_KEY=...``,
``PICSHA_GENERATE__IMAGEN__MODEL=...``. Prices are USD list prices; they order the chain by default and price
a call when the provider reports no usage of its own.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class ProviderName(StrEnum):
    OPENAI = "openai"
    IMAGEN = "imagen"
    FAL = "fal"
    REPLICATE = "replicate"


class ProviderSettings(BaseModel):
    enabled: bool = Field(default=True, description="Off: never tried, even with a key.")
    api_key: SecretStr | None = Field(default=None, description="Without one (here or in the request) it is skipped.")
    base_url: str
    model: str
    timeout_s: float = Field(default=60.0, gt=0, description="Longest one HTTP request to the provider may take.")
    attempts: int = Field(default=3, ge=1, le=10, description="Tries of one request on a timeout, 429 or 5xx.")
    retry_wait_s: float = Field(default=1.0, ge=0, description="First wait between tries (doubling).")
    price_per_image_usd: float = Field(ge=0, description="List price of one image; orders the chain.")


class OpenAISettings(ProviderSettings):
    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-image-1-mini"
    quality: Literal["low", "medium", "high", "auto"] = "medium"
    price_per_image_usd: float = Field(default=0.011, ge=0, description="gpt-image-1-mini, medium, 1024x1024.")
    price_input_per_million_usd: float = Field(default=2.0, ge=0, description="Text input tokens.")
    price_output_per_million_usd: float = Field(default=8.0, ge=0, description="Image output tokens.")


class ImagenSettings(ProviderSettings):
    base_url: str = "https://generativelanguage.googleapis.com/v1beta"
    model: str = "imagen-4.0-fast-generate-001"
    price_per_image_usd: float = Field(default=0.02, ge=0, description="Imagen 4 Fast.")


class PollingSettings(ProviderSettings):
    """Providers that answer with a handle to poll and result URLs to fetch."""

    poll_interval_s: float = Field(default=1.0, gt=0, le=30)
    deadline_s: float = Field(default=120.0, gt=0, description="Longest a whole call (submit, polls, results) may take.")


class FalSettings(PollingSettings):
    base_url: str = "https://queue.fal.run"
    model: str = "fal-ai/flux/schnell"
    price_per_image_usd: float = Field(default=0.003, ge=0, description="One megapixel of FLUX.1 [schnell].")
    price_per_megapixel_usd: float = Field(default=0.003, ge=0, description="fal bills FLUX by output megapixels.")


class ReplicateSettings(PollingSettings):
    base_url: str = "https://api.replicate.com/v1"
    model: str = "black-forest-labs/flux-schnell"
    price_per_image_usd: float = Field(default=0.003, ge=0, description="FLUX.1 [schnell], per output image.")
    wait_s: int = Field(default=30, ge=1, le=60, description="Prefer: wait=N, how long Replicate holds the answer.")


class GenerateSettings(BaseModel):
    order: list[ProviderName] | None = Field(
        default=None, description="Providers to try, in order; default: cheapest first by price_per_image_usd."
    )
    fallback_on_refusal: bool = Field(
        default=False, description="A provider's content refusal passes to the next provider instead of answering.",
    )
    max_parallel_per_provider: int = Field(default=4, ge=1, le=64, description="Calls one provider runs at once.")
    max_image_bytes: int = Field(default=40 * 1024 * 1024, ge=1024, description="Largest image a provider may return.")
    openai: OpenAISettings = Field(default_factory=OpenAISettings)
    imagen: ImagenSettings = Field(default_factory=ImagenSettings)
    fal: FalSettings = Field(default_factory=FalSettings)
    replicate: ReplicateSettings = Field(default_factory=ReplicateSettings)

    def provider(self, name: ProviderName) -> ProviderSettings:
        return getattr(self, name.value)
