"""Pipelines over REST.

Action pipelines (``POST /v1/pipeline``, the same as ``run_pipeline``): named steps of registry tools with
``$step.field`` references. File pipelines (the image-tools API's): ``POST /v1/pipeline/execute`` runs a
list of ``{toolId, settings}`` on one file (or stored assets), ``/batch`` on many files into a ZIP; saved
pipelines are kept per account and run by ``pipelineId``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine import Engine
from engine.auth import Principal
from engine.errors import InvalidInput
from engine.imaging.chain import Step
from engine.imaging.service import Derived
from engine.pipeline import Pipeline
from engine.pipeline.saved import SavedPipeline
from picsha_mcp.rest.deps import EngineDep, PrincipalDep
from picsha_mcp.rest.errors import validation_error
from picsha_mcp.rest.image_tools import (
    batch_of_form, file_response, is_multipart, json_body, json_field, run_on_assets, uploaded_files,
)
from tools_manifest.image_tools import image_tools
from tools_manifest.gate import admit_tool
from tools_manifest.image_tools.steps import FilePipeline, label_of, steps_of, tool_or_404
from tools_manifest.pipelines import PipelineAnswer, action_catalogue, run_pipeline
from engine.auth.scopes import Scope
from picsha_mcp.rest.access import needs

router = APIRouter(prefix="/v1/pipeline", tags=["pipelines"])


@router.post("", response_model=PipelineAnswer)
@needs(Scope.TOOLS)
async def run(pipeline: Pipeline, engine: EngineDep, principal: PrincipalDep) -> PipelineAnswer:
    """Run the steps in order; a step's params may hold ``$step.field`` references to earlier outputs.

    Bad references are a 400 before anything runs; a step that fails is reported in the answer (200).
    """
    return await run_pipeline(engine, principal, pipeline)


@router.get("/actions")
@needs(Scope.TOOLS)
async def actions(principal: PrincipalDep) -> dict[str, Any]:
    """Each action: its params (the tool's input schema) and the output fields references may use."""
    return {"actions": action_catalogue()}


@router.get("/tools")
@needs(Scope.TOOLS)
async def tools(engine: EngineDep, principal: PrincipalDep) -> dict[str, Any]:
    """The image tools a file pipeline step (``toolId``) may use, with their settings schemas; a tool whose
    model is not configured is ``available: false`` with the setting that enables it."""
    entries = []
    for tool in image_tools():
        setting = engine.imaging.enabled_by(tool.operation)
        entries.append(tool.entry(available=setting is None, enable_with=setting))
    return {"tools": entries}


class SavePipeline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    steps: list[dict[str, Any]] = Field(min_length=1, description='[{"toolId": "resize", "settings": {...}}, ...]')


@router.post("/save", status_code=201, response_model=SavedPipeline)
@needs(Scope.TOOLS)
async def save(given: SavePipeline, engine: EngineDep, principal: PrincipalDep) -> SavedPipeline:
    """Save a named file pipeline; its steps are checked now, as a run would check them."""
    pipeline = _file_pipeline(given.steps)
    steps_of(pipeline)
    return await engine.pipelines.save(principal, name=given.name, description=given.description,
                                       steps=[step.model_dump() for step in pipeline.steps])


@router.get("/list")
@needs(Scope.TOOLS)
async def list_saved(engine: EngineDep, principal: PrincipalDep) -> dict[str, list[SavedPipeline]]:
    return {"pipelines": await engine.pipelines.list(principal)}


@router.delete("/{pipeline_id}", response_model=SavedPipeline)
@needs(Scope.TOOLS)
async def delete(pipeline_id: str, engine: EngineDep, principal: PrincipalDep) -> SavedPipeline:
    return await engine.pipelines.delete(principal, pipeline_id)


def _file_pipeline(steps: Any) -> FilePipeline:
    try:
        return FilePipeline.model_validate({"steps": steps})
    except ValidationError as error:
        raise validation_error(error) from error


async def _chosen(engine: Engine, principal: Principal, steps: Any, pipeline_id: Any) -> FilePipeline:
    """The steps given, or a saved pipeline's (exactly one of them)."""
    if (steps is None) == (pipeline_id is None):
        raise InvalidInput("Give pipeline (a JSON list of {toolId, settings}) or pipelineId (a saved one), one of them.",
                           code="invalid_request")
    if pipeline_id is not None:
        pipeline = _file_pipeline((await engine.pipelines.get(principal, str(pipeline_id))).steps)
    else:
        pipeline = _file_pipeline(steps)
    steps_of(pipeline)  # every step valid (a bad one is a 400 naming it) before any is admitted
    for step in pipeline.steps:  # each tool turned on for the account, its work within quota and rate
        await admit_tool(engine, principal, tool_or_404(step.toolId))
    return pipeline


class AssetPipelineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset_id: str | None = Field(default=None, pattern=r"^as_[A-Za-z0-9]+$")
    asset_ids: list[str] | None = Field(default=None, min_length=1, max_length=200)
    pipeline: list[dict[str, Any]] | None = None
    pipelineId: str | None = None
    save: bool = True

    @model_validator(mode="after")
    def _one_source(self) -> AssetPipelineRequest:
        if (self.asset_id is None) == (self.asset_ids is None):
            raise ValueError("give asset_id or asset_ids (one of them)")
        return self


@router.post("/execute")
@needs(Scope.TOOLS)
async def execute(request: Request, engine: EngineDep, principal: PrincipalDep) -> Response:
    """Each step's output is the next one's input: multipart ``file`` + ``pipeline`` (or ``pipelineId``)
    answers the final file; JSON on stored assets saves the result as new assets."""
    if is_multipart(request):
        async with uploaded_files(request, engine, max_files=engine.settings.imaging.max_batch_files) as (fields, files):
            pipeline = await _chosen(engine, principal, json_field(fields, "pipeline", None), fields.get("pipelineId"))
            return file_response(await engine.imaging.run_files(principal, steps_of(pipeline), files,
                                                                label=label_of(pipeline)))
    try:
        given = AssetPipelineRequest.model_validate(await json_body(request, engine))
    except ValidationError as error:
        raise validation_error(error) from error
    pipeline = await _chosen(engine, principal, given.pipeline, given.pipelineId)
    ids = [given.asset_id] if given.asset_id else list(given.asset_ids or [])
    derived = Derived(tool=label_of(pipeline), settings={"steps": [step.model_dump() for step in pipeline.steps]})
    steps = steps_of(pipeline)
    return await run_on_assets(engine, principal, steps, ids, save=given.save, gives=steps[-1][0].gives, derived=derived)


@router.post("/batch", response_class=StreamingResponse)
@needs(Scope.TOOLS)
async def batch(request: Request, engine: EngineDep, principal: PrincipalDep) -> StreamingResponse:
    """Multipart ``files`` + ``pipeline`` (or ``pipelineId``): every file through the steps, as a ZIP."""
    async def chosen_steps(fields: dict[str, str]) -> tuple[Sequence[Step], str]:
        pipeline = await _chosen(engine, principal, json_field(fields, "pipeline", None), fields.get("pipelineId"))
        return steps_of(pipeline), label_of(pipeline)

    return await batch_of_form(request, engine, principal, chosen_steps, fields_help="pipeline (JSON) or pipelineId")

