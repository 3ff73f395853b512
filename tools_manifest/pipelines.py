"""Pipeline tools: run registry tools as the steps of one action pipeline.

Every other registry tool is an action, by its id and by its short ``action`` name where it declares one;
a step's output is the tool's JSON output, so references are checked against the tool's output model.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from engine.pipeline import Action, Pipeline, PipelineRun, run
from engine.pipeline.saved import SavedPipeline
from tools_manifest import schema
from tools_manifest.gate import admit_tool
from tools_manifest.calls import calling, current_call
from tools_manifest.image_tools import ImageToolSpec, image_tools
from tools_manifest.image_tools.steps import FilePipeline, ToolStep
from tools_manifest.imaging import ImageActionInput, ImageToolResult, run_tools_on_assets
from engine.auth.scopes import Scope, require
from tools_manifest.spec import Cost, Hints, ToolSpec

if TYPE_CHECKING:
    from engine import Engine
    from engine.auth import Principal

RUN_PIPELINE = "run_pipeline"


class PipelineAnswer(BaseModel):
    success: bool = Field(description="Every step succeeded.")
    pipeline: PipelineRun


def _action_specs() -> dict[str, ToolSpec[Any, Any]]:
    from tools_manifest.registry import all_tools  # the registry imports this module

    specs: dict[str, ToolSpec[Any, Any]] = {}
    for spec in all_tools():
        if spec.id == RUN_PIPELINE:
            continue
        specs[spec.id] = spec
        if spec.action:
            specs[spec.action] = spec
    return specs


async def _quiet(_done: float, _total: float | None, _message: str | None) -> None:
    return None


def _bound(spec: ToolSpec[Any, Any], name: str, engine: Engine, principal: Principal) -> Action:
    async def call(params: dict[str, Any]) -> BaseModel:
        require(principal, spec.scope)
        given = spec.parse(params)
        await admit_tool(engine, principal, spec)
        with calling(replace(current_call(), progress=_quiet)):  # the pipeline reports per step, in one scale
            return await spec.run(engine, principal, given)

    return Action(name=name, input=spec.input, output=spec.output, call=call)


def _image_action(tool: ImageToolSpec, engine: Engine, principal: Principal) -> Action:
    async def call(params: dict[str, Any]) -> BaseModel:
        given = ImageActionInput.model_validate_json(json.dumps(params), strict=True)
        pipeline = FilePipeline(steps=[ToolStep(toolId=tool.id, settings=given.settings)])
        return await run_tools_on_assets(engine, principal, pipeline, given.asset_ids)

    return Action(name=tool.id, input=ImageActionInput, output=ImageToolResult, call=call)


def actions_for(engine: Engine, principal: Principal) -> dict[str, Action]:
    """The actions a pipeline may use, each bound to this caller: registry tools and image tools."""
    actions = {name: _bound(spec, name, engine, principal) for name, spec in _action_specs().items()}
    return actions | {tool.id: _image_action(tool, engine, principal) for tool in image_tools()}


def action_catalogue() -> list[dict[str, Any]]:
    """``GET /v1/pipeline/actions``: each action's params (its input schema) and the fields it gives."""
    entries = []
    for name, spec in _action_specs().items():
        if name != spec.id:
            continue
        entries.append({
            "action": spec.id, "alias": spec.action, "title": spec.title, "description": spec.description,
            "params": spec.input_schema(), "output": spec.output_schema(),
        })
    result = schema.output_schema(ImageToolResult.model_json_schema(mode="serialization"))
    for tool in image_tools():
        params = schema.input_schema(ImageActionInput.model_json_schema())
        params["properties"]["settings"] = tool.settings_schema()
        entries.append({"action": tool.id, "alias": None, "title": tool.title, "description": tool.description,
                        "params": params, "output": result})
    return entries


class SavedPipelineInput(BaseModel):
    """A saved file pipeline as an action: the assets it runs on."""

    model_config = ConfigDict(extra="forbid")

    asset_ids: list[str] = Field(min_length=1, max_length=20)


def _saved_action(saved: SavedPipeline, engine: Engine, principal: Principal) -> Action:
    async def call(params: dict[str, Any]) -> BaseModel:
        given = SavedPipelineInput.model_validate_json(json.dumps(params), strict=True)
        pipeline = FilePipeline.model_validate({"steps": saved.steps})
        return await run_tools_on_assets(engine, principal, pipeline, given.asset_ids)

    return Action(name=saved.id, input=SavedPipelineInput, output=ImageToolResult, call=call)


async def run_pipeline(engine: Engine, principal: Principal, given: Pipeline) -> PipelineAnswer:
    actions = actions_for(engine, principal)
    for step in given.steps:  # a saved file pipeline (pl_...) is an action too
        if step.action.startswith("pl_") and step.action not in actions:
            actions[step.action] = _saved_action(await engine.pipelines.get(principal, step.action), engine, principal)
    done = await run(given, actions, progress=current_call().progress)
    return PipelineAnswer(success=done.steps_failed == 0 and done.steps_skipped == 0, pipeline=done)


TOOLS: list[ToolSpec[Any, Any]] = [
    ToolSpec(
        id=RUN_PIPELINE,
        scope=Scope.TOOLS,
        title="Run a pipeline",
        description=(
            "Run tools in order in one call. A param may be an earlier step's output, \"$name.field\" (list "
            "items by index), checked before anything runs. Actions: tool ids, search, scrape, generate, image "
            "tools (params asset_ids, settings) and saved pipelines (pl_..., params asset_ids). Returns each "
            "step's status and output; result is the last."
        ),
        example={"steps": [{"name": "f", "action": "search", "params": {"query": "red car", "limit": 1}},
                           {"name": "s", "action": "render_asset", "params": {"id": "$f.results.0.id", "w": 400}}]},
        input=Pipeline,
        output=PipelineAnswer,
        hints=Hints(read_only=False, destructive=True, idempotent=False, open_world=True),
        cost=Cost(note="the sum of its steps' costs"),
        run=run_pipeline,
    ),
]
