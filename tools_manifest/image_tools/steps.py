"""File pipelines (the image-tools API's form): ``[{"toolId": "resize", "settings": {...}}, ...]`` checked into
engine steps, each error naming the step, the tool and the field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import InvalidInput, NotFound, invalid_fields
from engine.imaging.chain import Step
from engine.pipeline import MAX_STEPS
from tools_manifest.image_tools import ImageToolSpec, get_image_tool, image_tools


class ToolStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    toolId: str = Field(min_length=1, max_length=64, description="Image tool id.")
    settings: dict[str, Any] = Field(default_factory=dict)


class FilePipeline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[ToolStep] = Field(min_length=1, max_length=MAX_STEPS)


def tool_or_404(tool_id: str) -> ImageToolSpec:
    spec = get_image_tool(tool_id)
    if spec is None:
        valid = [tool.id for tool in image_tools()]
        raise NotFound(f"No image tool {tool_id!r}. Tools: {', '.join(valid)}.", code="tool_not_found", valid=valid)
    return spec


def settings_of(spec: ImageToolSpec, settings: dict[str, Any], *, where: str = "settings") -> BaseModel:
    """The tool's settings, strictly checked; a 400 naming each field (``where`` prefixes it)."""
    try:
        return spec.parse(settings)
    except ValidationError as error:
        invalid = invalid_fields(error.errors())
        raise InvalidInput(f"{spec.id} {where}: {invalid.message.removeprefix('Invalid request: ')}",
                           code="tool_settings_invalid", tool=spec.id, fields=invalid.details["fields"]) from error


def steps_of(pipeline: FilePipeline) -> list[Step]:
    steps: list[Step] = []
    for number, step in enumerate(pipeline.steps, start=1):
        spec = get_image_tool(step.toolId)
        if spec is None:
            valid = [tool.id for tool in image_tools()]
            raise InvalidInput(f"Step {number}: no image tool {step.toolId!r}. Tools: {', '.join(valid)}.",
                               code="pipeline_step_invalid", step=number, valid=valid)
        steps.append((spec.operation, settings_of(spec, step.settings, where=f"(step {number}) settings")))
    return steps


def label_of(pipeline: FilePipeline) -> str:
    return " > ".join(step.toolId for step in pipeline.steps)
