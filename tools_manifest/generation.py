"""Generation tools: images from a prompt through the provider chain, stored as assets, shown as previews."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from engine.generation.models import MAX_COUNT, Orientation, Prompt, QueuedGenerate, Style
from engine.generation.settings import ProviderName
from engine.usage import UsageKind
from tools_manifest.calls import current_call
from engine.auth.scopes import Scope
from tools_manifest.spec import Cost, Hints, ImageAttachment, ToolOutput, ToolSpec
from tools_manifest.views import THUMB_PX

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal


class GenerateImageInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: Prompt = Field(description="What to draw.")
    style: Style = Style.PROFESSIONAL
    orientation: Orientation = Orientation.LANDSCAPE
    count: int = Field(default=1, ge=1, le=MAX_COUNT)


class GenerateImageOutput(ToolOutput):
    asset_ids: list[str]
    urls: list[str] = Field(description="Signed URLs of the new assets.")
    provider: ProviderName
    cost: str


async def generate_image(engine: Engine, principal: Principal, given: GenerateImageInput) -> GenerateImageOutput:
    progress = current_call().progress
    await progress(0, 2, "generating")
    request = QueuedGenerate(prompt=given.prompt, style=given.style, orientation=given.orientation, count=given.count)
    result = await engine.generation.generate(principal, request)
    output = GenerateImageOutput(asset_ids=result.asset_ids, urls=[image.url for image in result.images],
                                 provider=result.provider, cost=result.cost)
    await progress(1, 2, "making previews")
    for asset_id in result.asset_ids:
        preview = await engine.previews.of_asset(principal, asset_id, max_side=THUMB_PX)
        output.attach(ImageAttachment(data=preview.data, mime_type=preview.mime_type))
    await progress(2, 2, "done")
    return output


TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        id="generate_image",
        scope=Scope.GENERATE,
        title="Generate an image",
        description="Create images from a text prompt with a hosted model; each is stored as a new asset. "
        "Returns asset_ids, signed urls, the provider, the cost and a preview of each.",
        example={"prompt": "a lighthouse at dusk", "style": "cinematic", "count": 1},
        input=GenerateImageInput,
        output=GenerateImageOutput,
        hints=Hints(read_only=False, destructive=False, idempotent=False, open_world=True),
        cost=Cost(billed_as=[UsageKind.GENERATION, UsageKind.STORAGE], note="generation: the provider's charge per image"),
        run=generate_image,
        action="generate",
    ),
]
