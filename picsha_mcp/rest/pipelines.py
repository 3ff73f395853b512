"""Action pipelines over REST: ``POST /v1/pipeline`` and ``GET /v1/pipeline/actions`` (the same as ``run_pipeline``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from engine.pipeline import Pipeline
from picsha_mcp.rest.deps import EngineDep, PrincipalDep
from tools_manifest.pipelines import PipelineAnswer, action_catalogue, run_pipeline

router = APIRouter(prefix="/v1/pipeline", tags=["pipelines"])


@router.post("", response_model=PipelineAnswer)
async def run(pipeline: Pipeline, engine: EngineDep, principal: PrincipalDep) -> PipelineAnswer:
    """Run the steps in order; a step's params may hold ``$step.field`` references to earlier outputs.

    Bad references are a 400 before anything runs; a step that fails is reported in the answer (200).
    """
    return await run_pipeline(engine, principal, pipeline)


@router.get("/actions")
async def actions(principal: PrincipalDep) -> dict[str, Any]:
    """Each action: its params (the tool's input schema) and the output fields references may use."""
    return {"actions": action_catalogue()}
