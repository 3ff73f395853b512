"""Image tools for agents: two meta-tools instead of one tool per image tool (the list stays short).

``list_image_tools`` names them (one line each, the settings schema of one on request); ``run_image_tool``
runs one, or a chain of them (a file pipeline, or a saved one), on stored assets and answers the new assets
with capped previews. Each image tool is also a pipeline action (``tools_manifest.pipelines``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from engine.auth.scopes import Scope
from engine.imaging.service import Derived
from engine.usage import UsageKind
from tools_manifest.image_tools import ImageToolSpec, image_tools
from tools_manifest.image_tools.steps import FilePipeline, ToolStep, label_of, steps_of, tool_or_404
from tools_manifest.gate import admit_tool
from tools_manifest.spec import Cost, Hints, ImageAttachment, ToolOutput, ToolSpec
from tools_manifest.views import PREVIEW_HELP, PreviewChoice, brief, preview_side

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal

TOOL_ID = Field(min_length=2, max_length=40, pattern=r"^[a-z0-9-]+$")
ASSET_IDS = Field(min_length=1, max_length=20, description="Input assets in order (a second one: watermark, target).")
MAX_PREVIEWS = 3


class ListImageToolsInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: str | None = Field(default=None, min_length=2, max_length=40, pattern=r"^[a-z0-9-]+$",
                             description="One tool id: adds its settings schema.")


class ImageToolLine(BaseModel):
    id: str
    category: str
    takes: str
    gives: str
    about: str
    enable_with: str | None = Field(default=None, exclude_if=lambda setting: setting is None,
                                    description="Unavailable until the operator sets this (the tool's model).")


class ListImageToolsOutput(BaseModel):
    tools: list[ImageToolLine]
    settings: dict[str, Any] | None = Field(default=None, description="With tool: its settings JSON schema.")
    example: dict[str, Any] | None = None


async def list_image_tools(engine: Engine, principal: Principal, given: ListImageToolsInput) -> ListImageToolsOutput:
    chosen = [tool_or_404(given.tool)] if given.tool else image_tools()
    lines = [ImageToolLine(id=tool.id, category=tool.category.value, takes=tool.operation.takes.value,
                           gives=tool.operation.gives.value, about=tool.description,
                           enable_with=engine.imaging.enabled_by(tool.operation)) for tool in chosen]
    if not given.tool:
        return ListImageToolsOutput(tools=lines)
    return ListImageToolsOutput(tools=lines, settings=chosen[0].settings_schema(), example=chosen[0].example)


class RunImageToolInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: str = Field(min_length=2, max_length=40, pattern=r"^[a-z0-9-]+$", description="Image tool id.")
    settings: dict[str, Any] = Field(default_factory=dict, description="The tool's settings.")
    asset_ids: list[str] = ASSET_IDS
    preview: PreviewChoice = Field(default="thumb", description=f"{PREVIEW_HELP} For the first {MAX_PREVIEWS} results.")


class ImageToolResult(ToolOutput):
    asset_ids: list[str] = Field(description="The new assets, in order.")
    assets: list[dict[str, Any]] = Field(description="Brief rows of the new assets.")
    result: dict[str, Any] | None = Field(default=None, description="A JSON tool's answer (info, ocr, ...).")


async def run_tools_on_assets(engine: Engine, principal: Principal, pipeline: FilePipeline, asset_ids: list[str],
                              preview: PreviewChoice = "none") -> ImageToolResult:
    """The chain on stored assets; new assets keep ``derived_from`` (which assets, tools and settings)."""
    for step in pipeline.steps:  # each tool turned on for the account, its work within quota and rate
        await admit_tool(engine, principal, tool_or_404(step.toolId))
    steps = steps_of(pipeline)
    settings = pipeline.steps[0].settings if len(pipeline.steps) == 1 else {
        "steps": [step.model_dump() for step in pipeline.steps]}
    made = await engine.imaging.run_assets(principal, steps, asset_ids, label=label_of(pipeline),
                                           derived=Derived(tool=label_of(pipeline), settings=settings))
    if isinstance(made, BaseModel):
        return ImageToolResult(asset_ids=[], assets=[], result=made.model_dump(mode="json"))
    output = ImageToolResult(asset_ids=[asset.id for asset in made], assets=[brief(asset) for asset in made])
    side = preview_side(preview)
    if side is not None:
        for asset in made[:MAX_PREVIEWS]:
            if asset.type.value == "image":
                shown = await engine.previews.of_asset(principal, asset.id, max_side=side)
                output.attach(ImageAttachment(data=shown.data, mime_type=shown.mime_type))
    return output


class ImageActionInput(BaseModel):
    """An image tool as a pipeline action: the assets and the tool's settings."""

    model_config = ConfigDict(extra="forbid")

    asset_ids: list[str] = ASSET_IDS
    settings: dict[str, Any] = Field(default_factory=dict, description="The tool's settings.")


async def run_image_tool(engine: Engine, principal: Principal, given: RunImageToolInput) -> ImageToolResult:
    spec = tool_or_404(given.tool)
    pipeline = FilePipeline(steps=[ToolStep(toolId=spec.id, settings=given.settings)])
    return await run_tools_on_assets(engine, principal, pipeline, given.asset_ids, given.preview)


def _required(model: type[BaseModel]) -> bool:
    return any(field.is_required() for field in model.model_fields.values())


def as_agent_tool(tool: ImageToolSpec) -> ToolSpec[Any, Any]:
    """One image tool as its own agent tool (``PICSHA_MCP__TOOLSETS``): its settings spelled out in the schema,
    for clients that prefer a tool per operation to ``run_image_tool``."""
    settings = (tool.settings, Field(description=tool.title)) if _required(tool.settings) else (
        tool.settings, Field(default_factory=tool.settings, description=tool.title))
    model = create_model(  # type: ignore[call-overload]
        f"{tool.settings.__name__}Call", __config__=ConfigDict(extra="forbid"),
        asset_ids=(list[str], ASSET_IDS), settings=settings,
        preview=(PreviewChoice, Field(default="thumb", description=PREVIEW_HELP)),
    )

    async def run(engine: Engine, principal: Principal, given: BaseModel) -> ImageToolResult:
        chosen = given.settings.model_dump(mode="json", exclude_unset=True)  # type: ignore[attr-defined]
        pipeline = FilePipeline(steps=[ToolStep(toolId=tool.id, settings=chosen)])
        return await run_tools_on_assets(engine, principal, pipeline, given.asset_ids, given.preview)  # type: ignore[attr-defined]

    return ToolSpec(
        id=tool.id, scope=Scope.TOOLS, title=tool.title, description=f"{tool.description} Results are new assets.",
        example={"asset_ids": ["as_2x9Kq"], "settings": tool.example}, input=model, output=ImageToolResult,
        hints=Hints(read_only=False, destructive=False, idempotent=False, open_world=False), cost=tool.cost, run=run,
    )


def toolset(ids: list[str]) -> list[ToolSpec[Any, Any]]:
    """The agent tools for the image tools an operator lists; an unknown id is an error naming the valid ones."""
    return [as_agent_tool(tool_or_404(tool_id)) for tool_id in ids]


TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        id="list_image_tools",
        scope=Scope.TOOLS,
        title="List image tools",
        description="The image tools (resize, compress, remove-background, qr-generate, collage, ...): id and one "
        "line each. Give tool for its settings schema and an example.",
        example={"tool": "compress"},
        input=ListImageToolsInput,
        output=ListImageToolsOutput,
        hints=Hints(read_only=True, destructive=False, idempotent=True, open_world=False),
        cost=Cost(note="free"),
        run=list_image_tools,
    ),
    ToolSpec(
        id="run_image_tool",
        scope=Scope.TOOLS,
        title="Run an image tool",
        description="Run an image tool on assets; results are stored as new assets (the originals are kept). "
        "Returns their ids, brief rows and previews, or a JSON tool's result. Chains and saved pipelines: "
        "run_pipeline.",
        example={"tool": "resize", "settings": {"width": 800}, "asset_ids": ["as_2x9Kq"]},
        input=RunImageToolInput,
        output=ImageToolResult,
        hints=Hints(read_only=False, destructive=False, idempotent=False, open_world=False),
        cost=Cost(billed_as=[UsageKind.RENDER, UsageKind.AI_OPERATION, UsageKind.STORAGE],
                  note="one render per result (AI tools: an AI operation), plus the new assets' storage"),
        run=run_image_tool,
    ),
]
