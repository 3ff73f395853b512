"""The generation contract: what a caller asks, what it gets back, shared by REST, MCP and jobs."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from engine.assets.models import Metadata
from engine.generation.settings import ProviderName

PROMPT_MAX = 2000
MAX_COUNT = 4
MAX_BATCH = 10
KEY_MAX = 500


class Style(StrEnum):
    PROFESSIONAL = "professional"
    CINEMATIC = "cinematic"
    MINIMALIST = "minimalist"
    CYBERPUNK = "cyberpunk"
    PHOTOREALISTIC = "photorealistic"
    ILLUSTRATION = "illustration"
    WATERCOLOR = "watercolor"
    NONE = "none"


STYLE_SUFFIX = {
    Style.PROFESSIONAL: "professional, clean composition, soft even lighting, sharp detail",
    Style.CINEMATIC: "cinematic film still, dramatic lighting, shallow depth of field, wide aspect",
    Style.MINIMALIST: "minimalist, simple shapes, generous negative space, restrained palette",
    Style.CYBERPUNK: "cyberpunk, neon light, rain-slick streets, high-tech dystopia",
    Style.PHOTOREALISTIC: "photorealistic, natural light, true-to-life textures, DSLR photograph",
    Style.ILLUSTRATION: "digital illustration, clean lines, vibrant flat colours",
    Style.WATERCOLOR: "watercolour painting, soft washes, visible paper texture",
    Style.NONE: "",
}


def styled(prompt: str, style: Style) -> str:
    suffix = STYLE_SUFFIX[style]
    return f"{prompt.strip()}, {suffix}" if suffix else prompt.strip()


class Orientation(StrEnum):
    LANDSCAPE = "landscape"
    PORTRAIT = "portrait"
    SQUARE = "square"


class ImageFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"


def _prompt(value: str) -> str:
    if not value.strip():
        raise ValueError("the prompt is empty; describe the image to generate")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the prompt is not valid Unicode text (it holds unpaired surrogates)") from None
    return value


def _header_safe(value: SecretStr) -> SecretStr:
    # a key travels in an HTTP header: printable ASCII only (the message never repeats the key)
    if not all("!" <= ch <= "~" for ch in value.get_secret_value()):
        raise ValueError("a key may hold only printable ASCII characters without spaces")
    return value


Prompt = Annotated[str, Field(min_length=1, max_length=PROMPT_MAX), AfterValidator(_prompt)]
ProviderKey = Annotated[SecretStr, Field(min_length=1, max_length=KEY_MAX), AfterValidator(_header_safe)]


class GenerateOptions(BaseModel):
    """Everything but the prompt and the keys: shared by single, queued and batch requests."""

    model_config = ConfigDict(extra="forbid")

    style: Style = Field(default=Style.PROFESSIONAL, description="A look added to the prompt.")
    orientation: Orientation = Field(default=Orientation.LANDSCAPE, description="Mapped to each provider's sizes.")
    count: int = Field(default=2, ge=1, le=MAX_COUNT, description="Variations to generate.")
    provider: ProviderName | None = Field(default=None, description="Use only this provider; default: the chain.")
    format: ImageFormat | None = Field(default=None, description="Ask for this format where the provider offers it.")
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list, max_length=100)
    metadata: Metadata = Field(default_factory=dict, description="Your own JSON fields, stored on each asset.")


class QueuedGenerate(GenerateOptions):
    """The queued form: no per-request keys (a job is stored, a key must not be)."""

    prompt: Prompt = Field(validation_alias=AliasChoices("prompt", "description"), description="What to generate.")

    @model_validator(mode="before")
    @classmethod
    def _no_stored_keys(cls, data: Any) -> Any:
        if cls is QueuedGenerate and isinstance(data, dict) and {"api_key", "gemini_key"} & data.keys():
            raise ValueError("a queued request cannot carry api_key or gemini_key (its job is stored and "
                             "a key never is): configure the key in PICSHA_GENERATE__<PROVIDER>__API_KEY, or use "
                             "POST /v1/generate")
        return data


class GenerateRequest(QueuedGenerate):
    inline: bool = Field(default=False, description="Answer each url as a data: URI of the image instead of a signed URL.")
    api_key: ProviderKey | None = Field(
        default=None, description="A key for the chosen provider, for this request only (needs provider).",
    )
    gemini_key: ProviderKey | None = Field(
        default=None, description="A Gemini API key for Imagen, for this request only.",
    )


class BatchRequest(GenerateOptions):
    prompts: list[Prompt] = Field(
        min_length=1, max_length=MAX_BATCH, validation_alias=AliasChoices("prompts", "descriptions"),
        description=f"Up to {MAX_BATCH} prompts, generated in parallel.",
    )
    count: int = Field(default=1, ge=1, le=MAX_COUNT, description="Variations per prompt.")


class Attempt(BaseModel):
    provider: ProviderName
    outcome: Literal["used", "failed", "refused", "not_configured"]
    reason: str | None = Field(default=None, description="Why it was skipped.")


class GeneratedImage(BaseModel):
    index: int
    title: str
    provider: ProviderName
    url: str = Field(description="Signed URL of the stored asset (a data: URI with inline=true).")
    asset_id: str
    width: int | None = None
    height: int | None = None
    seed: int | None = None


class GenerateResult(BaseModel):
    success: bool = True
    prompt: str
    count: int
    provider: ProviderName
    model: str
    images: list[GeneratedImage]
    asset_ids: list[str]
    tried: list[Attempt] = Field(description="Providers asked, in order, and why any was skipped.")
    cost: str = Field(description="What this call cost, in USD, as written to the usage ledger.")
    _micros: int = PrivateAttr(default=0)  # the same cost, to add up without parsing ``cost``

    @property
    def cost_micros(self) -> int:
        return self._micros

    def priced(self, micros: int) -> "GenerateResult":
        self._micros = micros
        return self


class BatchItem(BaseModel):
    index: int
    prompt: str
    result: GenerateResult | None = None
    error: dict[str, object] | None = Field(default=None, description="The error ({code, message, ...}) when it failed.")


class BatchResult(BaseModel):
    items: list[BatchItem]
    succeeded: int
    failed: int
    cost: str
